"""e-prop on LIF/ALIF networks (Bellec et al. 2020), in float64: the exact factorisation of eq. (1)
(Σ_t (dE/dz_j^t) e_ji^t = BPTT), e-prop = BPTT with stop-gradient on z^{t−1} in the recurrent
input and the reset, and the W_rec = 0 case.

Setup after the official verification script: 3 inputs (Poisson-like, 10% per step), LIF and
ALIF neurons, v_th = 0.62, n_ref = 2, τ_v = τ_out = 20, 50 steps, MSE to a random target.
"""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns
from tests.helpers import rel_err

REC = ["layer0.W_in", "layer0.W_rec"]


def net(kind="alif", detach=(), **kw):
    opts = dict(n_in=3, n_out=2, n_hidden=8, v_th=0.62, n_ref=2, detach=detach)
    if kind == "alif":
        opts.update(n_alif=4, tau_a=50.0, beta=0.07)
    opts.update(kw)
    model = ns.models.make(kind, **opts)
    params = model.init(1)
    params["layer0.W_in"] *= 3.0
    rng = np.random.default_rng(0)
    xs = (rng.random((50, 2, 3)) < 0.1).astype(float)
    ys = rng.normal(size=(50, 2, 2))
    return model, params, xs, ys


def grad(rule, model, params, xs, ys, **kw):
    return ns.rules.total_gradient(ns.rules.make(rule, **kw), model, params, xs, ys)


def test_setup_spikes_and_is_not_saturated():
    model, params, xs, _ = net()
    _, z, _ = model.run(params, xs, record=True)
    assert 0.02 < z.mean() < 0.3
    assert z[:, :, model.alif].sum() > 0 and z[:, :, model.lif].sum() > 0


@pytest.mark.parametrize("kind", ["lif", "alif"])
@pytest.mark.parametrize("detach", [(), ("reset",), ("recurrent", "reset")])
def test_exact_factorisation_equals_bptt(kind, detach):
    """The exact factorisation (eq. 1): Σ_t (dE/dz_j^t) e_ji^t = dE/dW_ji, with the exact eligibility."""
    model, params, xs, ys = net(kind, detach)
    ref = grad("bptt", model, params, xs, ys)
    fact = ns.rules.exact_factorisation(model, params, xs, ys)
    assert rel_err(fact, ref, REC) < 1e-12


def test_factorisation_without_the_reset_derivative_differs_from_full_bptt():
    """Negative control: the official eligibility ignores the reset; full BPTT does not."""
    model, params, xs, ys = net("alif")
    ref = grad("bptt", model, params, xs, ys)
    e_in, e_rec = ns.rules.exact_eligibility(model, params, xs, reset=False)
    fact = ns.rules.exact_factorisation(model, params, xs, ys)
    e_full = ns.rules.exact_eligibility(model, params, xs)
    assert not np.allclose(e_rec, e_full[1])
    assert rel_err(fact, ref, REC) < 1e-12  # with the reset derivative: exact
    # and e-prop's convention (no reset derivative) against full BPTT: not exact
    assert rel_err(grad("eprop", model, params, xs, ys), ref, REC) > 1e-3


@pytest.mark.parametrize("kind", ["lif", "alif"])
def test_eprop_equals_bptt_with_stop_gradient_on_recurrent_input_and_reset(kind):
    """The hand-written rule = BPTT with z^{t−1} detached in W_rec z and in the reset."""
    model, params, xs, ys = net(kind, ("recurrent", "reset"))
    ref = grad("bptt", model, params, xs, ys)
    g = grad("eprop", model, params, xs, ys)
    assert rel_err(g, ref) < 1e-12  # every parameter, readout included
    # negative controls: full BPTT, and BPTT that also cuts the neuron's own adaptation path
    full = grad("bptt", *net(kind)[:2], xs, ys)
    assert rel_err(g, full, REC) > 1e-3
    if kind == "alif":
        m3, p3, _, _ = net(kind, ("recurrent", "reset", "adaptation"))
        assert rel_err(g, grad("bptt", m3, p3, xs, ys), REC) > 1e-3


def test_unfiltered_traces_equal_bptt_only_without_readout_leak():
    model, params, xs, ys = net("lif", ("recurrent", "reset"), tau_out=0.0)
    assert model.kappa == 0.0
    ref = grad("bptt", model, params, xs, ys)
    assert rel_err(grad("eprop", model, params, xs, ys, filter=False), ref) < 1e-12
    model, params, xs, ys = net("lif", ("recurrent", "reset"))
    ref = grad("bptt", model, params, xs, ys)
    assert rel_err(grad("eprop", model, params, xs, ys, filter=False), ref, REC) > 1e-3


def test_random_feedback_with_b_equal_to_w_out_is_symmetric():
    model, params, xs, ys = net("alif")
    sym = grad("eprop", model, params, xs, ys)
    same = grad("eprop", model, params, xs, ys, feedback="random", feedback_matrix=params["dec.W"])
    assert rel_err(same, sym) < 1e-14
    rnd = grad("eprop", model, params, xs, ys, feedback="random", seed=3)
    assert rel_err(rnd, sym, REC) > 0.1
    np.testing.assert_array_equal(rnd["dec.W"], sym["dec.W"])  # the readout's gradient is exact in both


def test_w_in_zero_rec_and_symmetric_feedback_equals_bptt_without_reset_path():
    """With W_rec = 0 only the reset path separates e-prop from BPTT."""
    model, params, xs, ys = net("alif", ("reset",))
    params["layer0.W_rec"][:] = 0
    ref = grad("bptt", model, params, xs, ys)
    assert rel_err(grad("eprop", model, params, xs, ys), ref) < 1e-12


def test_rate_regulariser_pushes_rates_towards_the_target():
    model, params, xs, ys = net("lif")
    _, z0, _ = model.run(params, xs, record=True)
    rate0 = z0.mean() * 1000.0  # Hz at dt = 1 ms
    for target, sign in ((rate0 / 4, -1), (rate0 * 4, +1)):
        rule = ns.rules.make("eprop", reg_coeff=1.0, reg_rate=target, reg_tau=5.0)
        g_reg = ns.rules.total_gradient(rule, model, params, xs, np.zeros_like(ys))
        g_0 = grad("eprop", model, params, xs, np.zeros_like(ys))
        p = {k: v - 2.0 * (g_reg[k] - g_0[k]) for k, v in params.items()}
        _, z1, _ = model.run(p, xs, record=True)
        assert sign * (z1.mean() * 1000.0 - rate0) > 0.05 * rate0


def test_state_is_per_neuron_for_lif_and_matches_the_formula():
    n, m = 8, 3
    cases = [
        ("lif", dict(tau_out=0.0), dict(filter=False), n + m),  # e-prop LIF, κ = 0: n + m
        ("lif", {}, dict(filter=False), n + m + n),  # + the κ-filtered readout trace z̃
        ("lif", {}, {}, n + m + n * (n + m) + n),  # + ē per synapse
        ("alif", {}, {}, n + m + 4 + 4 * (n + m) + n * (n + m) + n),  # + ψ, ε^a for 4 ALIF neurons
    ]
    for kind, mkw, rkw, floats in cases:
        model, params, xs, ys = net(kind, **mkw)
        rule = ns.rules.make("eprop", **rkw)
        state = rule.init(model, params, 2)
        for _ in range(5):
            state, _, _ = rule.step(model, params, state, xs[0], ys[0])
        tr = state.traces[0]
        per_sample = 0
        for spec in rule.state_spec(model):
            arr = getattr(tr, spec.name)
            assert arr.shape == ((2,) if spec.per_sample else ()) + spec.shape, spec.name
            per_sample += spec.floats if spec.per_sample else 0
        assert per_sample == rule.memory_floats(model) == floats
        if rkw.get("filter") is False:
            assert all(s.belongs == "neuron" for s in rule.state_spec(model))


def test_eprop_trains_only_spiking_models_and_bad_options():
    rnn = ns.models.make("rnn", n_in=3, n_out=2, n_hidden=4)
    with pytest.raises(ValueError, match="cannot train model 'rnn'.*'lif'"):
        ns.rules.make("eprop").init(rnn, rnn.init(0), 2)
    lif = ns.models.make("lif", n_in=3, n_out=2, n_hidden=4)
    with pytest.raises(ValueError, match="cannot train model 'lif'"):
        ns.rules.make("rtrl").init(lif, lif.init(0), 2)
    with pytest.raises(ValueError, match=r"feedback='mirror'.*'random', 'symmetric'"):
        ns.rules.make("eprop", feedback="mirror")
    with pytest.raises(ValueError, match="reg_coeff=-1"):
        ns.rules.make("eprop", reg_coeff=-1)
    with pytest.raises(ValueError, match="feedback_matrix"):
        ns.rules.make("eprop", feedback_matrix=np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"feedback_matrix=\(3, 3\).*\(2, 4\)"):
        rule = ns.rules.make("eprop", feedback="random", feedback_matrix=np.zeros((3, 3)))
        rule.init(lif, lif.init(0), 1)
        rule.step(lif, lif.init(0), rule.init(lif, lif.init(0), 1), np.zeros((1, 3)), np.zeros((1, 2)))


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(tau_v=0), "tau_v=0 is invalid"),
        (dict(tau_v=-5.0), "tau_v=-5.0"),
        (dict(v_th=float("nan")), "v_th=nan"),
        (dict(n_ref=-1), "n_ref=-1"),
        (dict(n_ref=1.5), "n_ref=1.5"),
        (dict(n_alif=2), "n_alif=2 is invalid: allowed only for 'alif' models; 'lif' takes"),
        (dict(n_layers=2), "n_layers=2.*1 for 'lif'"),
        (dict(detach="everything"), "detach='everything'"),
        (dict(gamma_pd=0), "gamma_pd=0"),
    ],
)
def test_bad_spiking_model_options(kw, match):
    with pytest.raises(ValueError, match=match):
        ns.models.make("lif", n_in=3, n_out=2, n_hidden=4, **kw)


def test_alif_n_alif_bounds():
    with pytest.raises(ValueError, match=r"n_alif=9 is invalid: allowed an integer in \[0, n_hidden=4\]"):
        ns.models.make("alif", n_in=3, n_out=2, n_hidden=4, n_alif=9)


def test_refractoriness_and_no_autapses():
    model = ns.models.make("lif", n_in=1, n_out=1, n_hidden=2, n_ref=3, v_th=0.5)
    params = model.init(0)
    params["layer0.W_in"][:] = 10.0  # drive far above threshold
    params["layer0.W_rec"][:] = 5.0
    _, z, _ = model.run(params, np.ones((20, 1, 1)), record=True)
    spikes = np.flatnonzero(z[:, 0, 0])
    assert np.all(np.diff(spikes) == 4)  # a spike, then n_ref = 3 silent steps
    assert model.no_autapse[0, 0] == 0 and model.no_autapse[0, 1] == 1
    g = grad("bptt", model, params, np.ones((20, 1, 1)), np.ones((20, 1, 1)))
    assert g["layer0.W_rec"][0, 0] == 0 and g["layer0.W_rec"][1, 1] == 0


@pytest.mark.parametrize("v_th,scale,what", [(50.0, 1.0, "fell silent"), (0.01, 30.0, "saturated")])
def test_silent_or_saturated_network_is_reported_with_iteration_and_layer(v_th, scale, what):
    model = ns.models.make("lif", n_in=40, n_out=2, n_hidden=10, v_th=v_th, n_ref=1)
    task = ns.tasks.make("evidence", n_cues=1, delay_ms=10, recall_ms=10, cue_ms=20, gap_ms=5)
    params = model.init(0)
    params["layer0.W_in"] = np.abs(params["layer0.W_in"]) * scale
    params["layer0.W_rec"] = np.abs(params["layer0.W_rec"]) * scale
    with pytest.raises(ns.NetworkActivityError, match=f"spiking layer 0 {what} in iteration 1"):
        ns.train(model, ns.rules.make("eprop"), task, steps=2, batch_size=2, params=params, progress=False)
    with pytest.warns(RuntimeWarning, match=what):
        res = ns.train(
            model, ns.rules.make("eprop"), task, steps=1, batch_size=2, params=params, progress=False, activity="warn"
        )
    assert "rate_hz" in res.metrics[0] and "silent_frac" in res.metrics[0]
