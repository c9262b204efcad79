"""O13: online application with a tiny learning rate ≈ offline BPTT (Marschall et al. 2020's
test: add task (t1, t2) = (4, 6), n_h = 16, one 400-step sequence, SGD).

Online RTRL updates after every step, with influence matrices built from stale parameters, so
its end point differs from the single offline BPTT update by O(lr) relative to the move. The
test checks the weights move, the gap is small, and it shrinks linearly with the learning rate.
"""

from __future__ import annotations

import numpy as np

import neurosim as ns


def _run(rule_name, update_every, lr):
    task = ns.tasks.make("add", seed=0, t1=4, t2=6, T=400)
    model = ns.models.make("rnn", n_in=2, n_out=2, n_hidden=16, dtype="float64")
    p0 = model.init(0)
    res = ns.train(
        model,
        ns.rules.make(rule_name),
        task,
        ns.optim.sgd(lr),
        steps=1,
        batch_size=1,
        update_every=update_every,
        progress=False,
    )
    return p0["layer0.W"], res.params["layer0.W"]


def _gap(rule, lr):
    w0, online = _run(rule, 1, lr)
    _, offline = _run("bptt", "sequence", lr)
    moved = np.linalg.norm(offline - w0)
    return moved, np.linalg.norm(online - offline) / moved


def test_online_rtrl_tiny_lr_ends_at_offline_bptt_weights():
    moved, rel = _gap("rtrl", 1e-5)
    assert moved > 1e-3  # W really moved (not isclose to its initial value)
    assert rel < 1e-2
    # First-order convergence: ten times the learning rate, about ten times the relative gap.
    _, rel_big = _gap("rtrl", 1e-4)
    assert 8 < rel_big / rel < 12
    # Negative control: one-step truncation, applied online the same way, ends elsewhere.
    _, rel_trunc = _gap("trunc1", 1e-5)
    assert rel_trunc > 0.1
