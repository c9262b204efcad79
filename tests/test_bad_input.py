"""Bad input gets a ValueError naming the argument, the value and what is allowed."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns


def _tiny():
    task = ns.tasks.make("copy", pattern_len=2, pad=1)
    return ns.models.make("rnn", n_in=task.n_in, n_out=task.n_out, n_hidden=3), ns.rules.make("rtrl"), task


@pytest.mark.parametrize(
    "call,pattern",
    [
        (lambda: ns.models.make("lstm", n_in=2, n_out=1), r"name='lstm'.*'alif', 'gru', 'lif', 'lru', 'rnn'"),
        (lambda: ns.rules.make("backprop"), r"name='backprop'.*'bptt'"),
        (lambda: ns.tasks.make("mnist"), r"name='mnist'.*'copy'"),
        (lambda: ns.rules.make("tbptt", k=0), r"k=0.*integer >= 1"),
        (lambda: ns.rules.make("rtrl", rank=2), r"rank=2.*no option 'rank' for rule 'rtrl'"),
        (lambda: ns.tasks.make("copy", length=3), r"length=3.*no option 'length'"),
        (lambda: ns.optim.adam(-1e-3), r"lr=-0.001.*\[0.0, inf\]"),
        (lambda: ns.optim.sgd(float("nan")), r"lr=nan"),
        (lambda: ns.models.make("lru", n_in=2, n_out=1, r_min=0.9, r_max=0.5), r"r_min=0.9.*<= r_max=0.5"),
        (lambda: ns.models.make("rnn", n_in=2, n_out=1, density=0.0), r"density=0.0.*\(0.0, 1.0\]"),
        (lambda: ns.models.make("rnn", n_in=2, n_out=1, density=1.5), r"density=1.5"),
        (lambda: ns.models.make("rnn", n_in=2, n_out=1, alpha=0.0), r"alpha=0.0"),
        (lambda: ns.models.make("rnn", n_in=0, n_out=1), r"n_in=0.*integer >= 1"),
        (lambda: ns.models.make("rnn", n_in=2, n_out=1, dtype="float16"), r"dtype='float16'"),
        (
            lambda: ns.models.make("rnn", n_in=2, n_out=1, n_hidden=3, mask=np.ones((2, 2))),
            r"mask='<array of shape \(2, 2\), dtype float64>' is invalid: allowed a boolean array of shape \(3, 3\)",
        ),
        (lambda: ns.losses.get("hinge"), r"loss='hinge'.*'bce', 'ce', 'mse'"),
        # training options from Python are checked as a configuration's are
        (lambda: ns.train(*_tiny(), clip=-1.0), r"clip=-1.0.*\(0.0, inf\]"),
        (lambda: ns.train(_tiny()[0], "rtrl", _tiny()[2]), r"rule='rtrl' is invalid: allowed a rule object, e\.g\."),
        (lambda: ns.train(*_tiny(), "adam"), r"optimizer='adam' is invalid: allowed an optimizer object"),
        (lambda: ns.train(*_tiny(), clip="1"), r"clip='1'.*a number > 0"),
        (lambda: ns.train(*_tiny(), seed=-3), r"seed=-3.*integer >= 0"),
        (lambda: ns.train(*_tiny(), update_every=0), r"update_every=0.*'sequence' or an integer >= 1"),
        # a string is not a boolean ("false" would read as true)
        (lambda: ns.models.make("lru", n_in=2, n_out=1, norm="false"), r"norm='false'.*True or False"),
        (lambda: ns.models.make("lru", n_in=2, n_out=1, encoder="no"), r"encoder='no'.*True or False or None"),
        (lambda: ns.models.make("lif", n_in=2, n_out=1, readout_bias=0), r"readout_bias=0.*True or False"),
    ],
)
def test_bad_arguments_are_named(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_wrong_shapes_and_non_finite_inputs():
    model = ns.models.make("rnn", n_in=3, n_out=2, n_hidden=4)
    params = model.init(0)
    rule = ns.rules.make("rtrl")
    with pytest.raises(ValueError, match=r"xs has shape \(5, 2, 4\): allowed shape \(\*, \*, 3\)"):
        ns.rules.total_gradient(rule, model, params, np.zeros((5, 2, 4)), np.zeros((5, 2, 2)))
    with pytest.raises(ValueError, match=r"ys has shape \(5, 2, 3\): allowed shape \(5, 2, 2\)"):
        ns.rules.total_gradient(rule, model, params, np.zeros((5, 2, 3)), np.zeros((5, 2, 3)))
    xs = np.zeros((5, 2, 3))
    xs[2, 1, 0] = np.inf
    with pytest.raises(ValueError, match=r"xs contains a non-finite value at index \(2, 1, 0\)"):
        ns.rules.total_gradient(rule, model, params, xs, np.zeros((5, 2, 2)))
    state = rule.init(model, params, 2)
    with pytest.raises(ValueError, match=r"x_t contains a non-finite value"):
        rule.step(model, params, state, np.full((2, 3), np.nan), np.zeros((2, 2)))


def test_rule_model_mismatch_and_task_model_mismatch():
    rnn = ns.models.make("rnn", n_in=3, n_out=2)
    with pytest.raises(ValueError, match=r"rule 'online_lru' cannot train model 'rnn': allowed models 'lru'"):
        ns.rules.make("online_lru").init(rnn, rnn.init(0), 1)
    with pytest.raises(ValueError, match=r"task 'copy' needs n_in=8, n_out=7"):
        ns.train(rnn, ns.rules.make("rtrl"), ns.tasks.make("copy"), steps=1, progress=False)
    with pytest.raises(ValueError, match=r"update_every='often'"):
        m = ns.models.make("rnn", n_in=8, n_out=7)
        ns.train(m, ns.rules.make("rtrl"), ns.tasks.make("copy"), steps=1, update_every="often", progress=False)


def test_mask_of_the_wrong_shape_is_named():
    model = ns.models.make("rnn", n_in=3, n_out=2, n_hidden=4)
    with pytest.raises(ValueError, match=r"mask=\(4,\).*shape \(5,\) or \(5, 2\)"):
        ns.rules.total_gradient(
            ns.rules.make("rtrl"), model, model.init(0), np.zeros((5, 2, 3)), np.zeros((5, 2, 2)), mask=np.ones(4)
        )


def test_from_brian2_without_brian2_says_how_to_install_it(monkeypatch):
    import sys

    import neurosim.snn as snn

    monkeypatch.setitem(sys.modules, "brian2", None)  # as if Brian2 were not installed
    with pytest.raises(ImportError, match=r"pip install 'neurosim\[brian2\]'"):
        snn.from_brian2(object())
