"""Which parameters each rule computes exactly, as ``Rule.exact_parameters`` declares, checked
against BPTT: every declared parameter equal (relative error ≤ 1e-10, float64), every other one
different (> 1e-6: the negative control). Random parameters and inputs, fixed during the check."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns

MODELS = {
    "rnn": dict(name="rnn", n_hidden=5),
    "rnn 2 layers": dict(name="rnn", n_hidden=5, n_layers=2),
    "rnn diagonal mask": dict(name="rnn", n_hidden=5, mask=np.eye(5, dtype=bool), alpha=0.5),
    "gru": dict(name="gru", n_hidden=4),
    "lru defaults (encoder, pre-norm, GLU)": dict(name="lru", n_hidden=4, width=6),
    "lru without encoder or norm": dict(name="lru", n_hidden=4, width=3, encoder=False, norm=False),
    "lru 2 layers": dict(name="lru", n_hidden=3, width=4, n_layers=2, mix="mlp"),
}
RULES = {
    "rtrl": {},
    "snap1": {},
    "snap2": {},
    "online_lru": {},
    "rflo": {},
    "rflo random": dict(feedback="random"),
    "uoro": dict(seed=3),
    "spatial": {},
    "trunc1": {},
    "tbptt": dict(k=7),
}


def _errors(model, rule, T=25, B=3, seed=0):
    rng = np.random.default_rng(seed)
    params = model.init(seed + 1)
    xs, ys = rng.normal(size=(T, B, model.n_in)), rng.normal(size=(T, B, model.n_out))
    g = ns.rules.total_gradient(rule, model, params, xs, ys)
    ref = ns.rules.total_gradient(ns.rules.make("bptt"), model, params, xs, ys)
    return {k: np.linalg.norm(g[k] - ref[k]) / np.linalg.norm(ref[k]) for k in ref}


@pytest.mark.parametrize("model_key", MODELS)
@pytest.mark.parametrize("rule_key", RULES)
def test_declared_exact_parameters_equal_bptt_and_no_others(model_key, rule_key):
    kw = dict(MODELS[model_key])
    model = ns.models.make(kw.pop("name"), n_in=3, n_out=2, dtype="float64", **kw)
    rule = ns.rules.make(rule_key.split()[0], **RULES[rule_key])
    if not rule.accepts(model) or (rule_key == "rflo random" and model.n_layers > 1):
        pytest.skip(f"{rule_key} does not train {model_key}")
    exact = rule.exact_parameters(model)
    err = _errors(model, rule)
    assert exact <= set(err)
    wrong = {k: f"{e:.1e}" for k, e in err.items() if k in exact and e > 1e-10}
    assert not wrong, f"declared exact but not: {wrong}"
    same = {k: f"{e:.1e}" for k, e in err.items() if k not in exact and e <= 1e-6}
    assert not same, f"exact but not declared (or a trivial check): {same}"


def test_the_readme_case_rtrl_on_a_default_lru_is_not_exact_below_the_recurrence():
    """With the defaults (encoder, pre-norm), rtrl on a one-layer LRU equals BPTT for the cell, its
    readout and the decoder — not for the encoder or the LayerNorm that feed the recurrence."""
    model = ns.models.make("lru", n_in=3, n_out=2, n_hidden=4, width=6, dtype="float64")
    exact = ns.rules.make("rtrl").exact_parameters(model)
    assert {"layer0.nu_log", "layer0.B_re", "layer0.C_re", "layer0.mix.W1", "dec.W"} <= exact
    assert not exact & {"enc.W", "enc.b", "layer0.norm.g", "layer0.norm.b"}
    assert ns.rules.make("bptt").exact_parameters(model) == set(model.shapes())


@pytest.mark.parametrize("rule", ["eprop", "bptt", "tbptt"])
def test_spiking_readout_is_exact_for_every_rule_and_the_synapses_for_bptt_only(rule):
    from test_eprop import net  # the e-prop verification network: it spikes, not saturated

    model, params, xs, ys = net("alif")
    r = ns.rules.make(rule, **({"k": 7} if rule == "tbptt" else {}))
    g = ns.rules.total_gradient(r, model, params, xs, ys)
    ref = ns.rules.total_gradient(ns.rules.make("bptt"), model, params, xs, ys)
    err = {k: np.linalg.norm(g[k] - ref[k]) / np.linalg.norm(ref[k]) for k in ref}
    exact = r.exact_parameters(model)
    assert all(err[k] <= 1e-10 for k in exact) and all(err[k] > 1e-6 for k in set(err) - exact), err
