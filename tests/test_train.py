"""Training: learns, is deterministic, detects divergence, resumes from checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns


def _setup(**task_kw):
    task = ns.tasks.make("copy", seed=0, pattern_len=5, pad=2, **task_kw)
    model = ns.models.make("lru", n_in=8, n_out=7, n_hidden=16, width=16, n_layers=1)
    return model, ns.rules.make("online_lru"), task


def test_training_is_deterministic_for_a_seed():
    model, rule, task = _setup()
    a = ns.train(model, rule, task, ns.optim.adam(3e-3), steps=5, batch_size=4, progress=False)
    b = ns.train(model, rule, task, ns.optim.adam(3e-3), steps=5, batch_size=4, progress=False)
    np.testing.assert_array_equal(a.losses, b.losses)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


def test_quickstart_style_run_learns_above_chance():
    """A short online_lru run on a small copy task ends clearly above chance (0.5)."""
    model, rule, task = _setup()
    res = ns.train(model, rule, task, ns.optim.adam(1e-2, rec_lr_factor=0.5), steps=150, batch_size=16, progress=False)
    assert res.metric("bit_accuracy")[-10:].mean() > 0.65
    assert res.losses[-10:].mean() < res.losses[:10].mean() - 0.1


def test_divergence_names_the_step_and_last_finite_loss():
    model, rule, task = _setup()
    params = model.init(0)
    calls = {"n": 0}

    def poison(it, p, m):  # corrupt a parameter after the second iteration
        calls["n"] += 1
        if it == 1:
            p["dec.W"][0, 0] = np.nan

    with pytest.raises(
        ns.TrainingDiverged, match=r"in iteration 3, timestep 1: loss is nan; last finite loss [0-9.]+ in iteration 2"
    ):
        ns.train(
            model,
            rule,
            task,
            ns.optim.adam(1e-3),
            steps=5,
            batch_size=2,
            params=params,
            progress=False,
            callback=poison,
        )


def test_online_updates_every_step_and_every_k():
    model, rule, task = _setup()
    r1 = ns.train(model, rule, task, ns.optim.sgd(1e-2), steps=1, batch_size=2, update_every=1, progress=False)
    rs = ns.train(model, rule, task, ns.optim.sgd(1e-2), steps=1, batch_size=2, progress=False)
    assert r1.opt_state.count == task.T and rs.opt_state.count == 1
    r4 = ns.train(model, rule, task, ns.optim.sgd(1e-2), steps=1, batch_size=2, update_every=4, progress=False)
    assert r4.opt_state.count == -(-task.T // 4)


def test_checkpoint_resume_gives_the_same_result(tmp_path):
    model, rule, task = _setup()
    full = ns.train(model, rule, task, ns.optim.adam(3e-3), steps=6, batch_size=3, progress=False)
    ck = str(tmp_path / "run" / "ck.npz")
    ns.train(
        model, rule, task, ns.optim.adam(3e-3), steps=3, batch_size=3, progress=False, checkpoint=ck, checkpoint_every=1
    )
    resumed = ns.train(model, rule, task, ns.optim.adam(3e-3), steps=6, batch_size=3, progress=False, checkpoint=ck)
    np.testing.assert_array_equal(resumed.losses, full.losses)
    for k in full.params:
        np.testing.assert_array_equal(resumed.params[k], full.params[k])
    assert not [p for p in (tmp_path / "run").iterdir() if "tmp" in p.name]


def test_continuing_stream_carries_state_and_resumes(tmp_path):
    task = ns.tasks.make("anbn", seed=0, T=16)
    model = ns.models.make("gru", n_in=3, n_out=3, n_hidden=6)
    full = ns.train(model, ns.rules.make("snap1"), task, ns.optim.adam(1e-2), steps=4, batch_size=2, progress=False)
    ck = str(tmp_path / "ck.npz")
    t2 = ns.tasks.make("anbn", seed=0, T=16)
    ns.train(
        model, ns.rules.make("snap1"), t2, ns.optim.adam(1e-2), steps=2, batch_size=2, progress=False, checkpoint=ck
    )
    res = ns.train(
        model, ns.rules.make("snap1"), t2, ns.optim.adam(1e-2), steps=4, batch_size=2, progress=False, checkpoint=ck
    )
    np.testing.assert_allclose(res.losses, full.losses, rtol=1e-12)


@pytest.mark.slow
def test_full_quickstart_learns():
    """The built-in quickstart (about 2 minutes): bit accuracy ends clearly above chance."""
    from neurosim import config

    cfg = config.validate(config.QUICKSTART)
    model, rule, task, opt, kw = config.build(cfg)
    steps = kw.pop("steps")
    res = ns.train(model, rule, task, opt, steps, progress=False, **kw)
    assert res.metric("bit_accuracy")[-50:].mean() > 0.75


def test_starting_weights_are_checked_and_copied():
    """``params=`` (``train.start_params``): weights off a structural mask, a wrong shape or a
    complex value for a real parameter are refused before training; the caller's arrays are not
    changed by the run."""
    task = ns.tasks.make("copy", seed=1, pattern_len=3, pad=1)
    model = ns.models.make("rnn", n_in=task.n_in, n_out=task.n_out, n_hidden=9, density=0.4, dtype="float64")
    rule = ns.rules.make("snap1")
    name, mask = next(iter(model.param_masks().items()))
    start = model.init(0)
    for given, match in (({**start, name: np.ones_like(start[name])}, "outside the structural mask"),
                         ({**start, name: start[name][:1]}, "shape"),
                         ({**start, name: start[name] * 1j}, "real values")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            ns.train(model, rule, task, steps=1, params=given, progress=False)
    kept = {k: v.copy() for k, v in start.items()}
    res = ns.train(model, rule, task, steps=2, params=start, progress=False)
    assert all(np.array_equal(start[k], kept[k]) for k in start)  # not trained in place
    assert any(not np.array_equal(res.params[k], kept[k]) for k in start)  # negative control: it trained
    assert not np.any(res.params[name][~np.asarray(mask, bool)])  # still on the mask


@pytest.mark.parametrize("rule,kind", [("online_lru", "rnn"), ("eprop", "gru"), ("rtrl", "lif"), ("uoro", "lif")])
def test_a_rule_on_a_model_it_cannot_train_is_refused_by_name(rule, kind):
    """Not an AttributeError from the memory check (which reads the rule's state on the model)."""
    task = ns.tasks.make("copy", pattern_len=2, pad=1)
    model = ns.models.make(kind, n_in=task.n_in, n_out=task.n_out, n_hidden=4)
    with pytest.raises(ValueError, match=f"rule '{rule}' cannot train model '{kind}': allowed models"):
        ns.train(model, ns.rules.make(rule), task, ns.optim.sgd(0.1), 1, batch_size=1)
