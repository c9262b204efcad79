"""e-prop event by event (``snn.eprop_gradient_events``): the dense rule's gradient
(``ns.rules.total_gradient`` of ``ns.rules.make("eprop", ...)``) to 1e-12 for LIF and ALIF, with and
without the κ-filtered eligibility; the numba kernel equals its numpy twin bit for bit; a lazy decay
with a wrong exponent, no decay, or no flush within a long sequence does not match; the counted
events equal counts made from the spike raster, far below the dense rule's on sparse input."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns
from neurosim.snn import eprop_events as ev
from tests.helpers import rel_err

REC = ["layer0.W_in", "layer0.W_rec"]


def net(kind="alif", n_in=3, n_hidden=8, T=60, B=2, seed=0, rate=0.1, **kw):
    """test_eprop's setup (the official verification script's): Poisson-like inputs, v_th = 0.62."""
    opts = dict(n_in=n_in, n_out=2, n_hidden=n_hidden, v_th=0.62, n_ref=2)
    if kind == "alif":
        opts.update(n_alif=n_hidden // 2, tau_a=50.0, beta=0.07)
    opts.update(kw)
    model = ns.models.make(kind, **opts)
    params = model.init(seed)
    params["layer0.W_in"] *= 3.0
    rng = np.random.default_rng(seed)
    xs = (rng.random((T, B, n_in)) < rate).astype(float)
    ys = rng.normal(size=(T, B, 2))
    return model, params, xs, ys


def dense_and_events(model, params, xs, ys, rule_kw=None, **kw):
    rule = ns.rules.make("eprop", **(rule_kw or {}))
    ref = ns.rules.total_gradient(rule, model, params, xs, ys, mask=kw.get("mask"))
    g, counts = ns.snn.eprop_gradient_events(model, params, xs, ys, rule, **kw)
    return ref, g, counts


@pytest.mark.parametrize("kind", ["lif", "alif"])
@pytest.mark.parametrize("filt", [False, True])
@pytest.mark.parametrize("n_in,n_hidden,T,B,seed", [(3, 8, 120, 2, 0), (10, 20, 150, 3, 1)])
def test_equals_the_dense_rule(kind, filt, n_in, n_hidden, T, B, seed):
    model, params, xs, ys = net(kind, n_in, n_hidden, T, B, seed)
    _, z, _ = model.run(params, xs, record=True)
    assert 0.01 < z.mean() < 0.3  # spiking, not saturated
    ref, g, counts = dense_and_events(model, params, xs, ys, dict(filter=filt))
    assert counts["flushes"] >= 2 * B  # several epochs a sample: the carry across a flush is used
    assert set(g) == set(ref) and all(g[k].dtype == ref[k].dtype for k in g)
    assert rel_err(g, ref) < 1e-12
    assert rel_err(g, ref, REC) < 1e-12


@pytest.mark.parametrize(
    "kind,model_kw,rule_kw,masked",
    [
        ("alif", {}, dict(feedback="random", seed=3), False),
        ("lif", {}, dict(reg_coeff=1.0, reg_rate=5.0, reg_tau=5.0), False),
        ("alif", dict(n_alif=8), dict(filter=False, reg_coeff=0.5), True),  # every neuron ALIF
        ("alif", dict(tau_out=0.0), {}, False),  # κ = 0: ē = e, readout epochs of one step
        ("lif", dict(readout_bias=False), {}, True),
    ],
)
def test_every_option_of_the_dense_rule(kind, model_kw, rule_kw, masked):
    model, params, xs, ys = net(kind, T=90, B=2, seed=2, **model_kw)
    mask = (np.arange(90) % 30 >= 24).astype(float) if masked else None  # the loss at the ends only
    ref, g, counts = dense_and_events(model, params, xs, ys, rule_kw, mask=mask)
    assert rel_err(g, ref) < 1e-12
    if masked:  # L = 0 while masked: fewer neurons do row work than have ψ ≠ 0
        full = dense_and_events(model, params, xs, ys, rule_kw)[2]
        assert counts["row_events"] <= full["row_events"]


def test_float32_model_agrees_to_float32_precision():
    model, params, xs, ys = net("alif", dtype="float32")
    ref, g, _ = dense_and_events(model, params, xs, ys)
    assert all(g[k].dtype == np.float32 for k in g)
    assert rel_err(g, ref) < 5e-5


@pytest.mark.parametrize("kind", ["lif", "alif"])
@pytest.mark.parametrize("filt", [False, True])
def test_numba_kernel_equals_numpy_twin(kind, filt):
    model, params, xs, ys = net(kind, n_in=6, n_hidden=12, T=100, B=2, seed=4)
    rule = ns.rules.make("eprop", filter=filt, reg_coeff=0.3)
    fast, c_fast = ns.snn.eprop_gradient_events(model, params, xs, ys, rule, backend="numba")
    slow, c_slow = ns.snn.eprop_gradient_events(model, params, xs, ys, rule, backend="numpy")
    assert c_fast == c_slow
    for k in fast:
        np.testing.assert_array_equal(fast[k], slow[k])


def _w_in(model, params, xs, ys, rule, mode, backend):
    """W_in's gradient from the kernel itself, its lazy decay in ``mode``."""
    _, post, _ = ev._signals(model, params, rule, xs, ys, "mse", None)
    filt = rule.filter and model.kappa > 0
    opts = np.array([model.n - model.n_alif, filt, ev.epoch_length(model, rule), 0, mode], np.int64)
    g, counts = np.zeros((model.n, model.n_in)), np.zeros(7, np.int64)
    run = ev.events_kernel if backend == "numba" else ev.events_reference
    run(xs, post, model.beta.astype(float), ev._tables(model.alpha, model.kappa, model.rho, len(xs)), opts, g, counts)
    return {"layer0.W_in": g}


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("kind,filt", [("lif", False), ("alif", True)])
def test_a_wrong_lazy_decay_does_not_match(backend, kind, filt):
    """Negative controls: α^(t − t_last − 1) or no decay of z̄ is not e-prop (and the exact mode is)."""
    model, params, xs, ys = net(kind, T=100, seed=5)
    rule = ns.rules.make("eprop", filter=filt)
    ref = ns.rules.total_gradient(rule, model, params, xs, ys)
    assert rel_err(_w_in(model, params, xs, ys, rule, ev.DECAY_EXACT, backend), ref, ["layer0.W_in"]) < 1e-12
    for mode in (ev.DECAY_LAG, ev.DECAY_NONE):
        assert rel_err(_w_in(model, params, xs, ys, rule, mode, backend), ref, ["layer0.W_in"]) > 1e-3


def test_without_flushes_a_long_sequence_loses_precision():
    """The dense term is needed: one epoch of 800 steps lets α^−k κ^−k grow to e^80."""
    model, params, xs, ys = net("lif", T=800, B=1, seed=6)
    ref, g, counts = dense_and_events(model, params, xs, ys)
    assert rel_err(g, ref, REC) < 1e-12 and counts["flushes"] > 10
    _, g_one, c_one = dense_and_events(model, params, xs, ys, epoch=800)
    assert c_one["flushes"] == 1
    assert rel_err(g_one, ref, REC) > 1e-3


def test_event_counts_equal_counts_from_the_raster_and_are_far_below_dense():
    n_in, n, T, B, epoch = 60, 40, 200, 2, 50
    model = ns.models.make("lif", n_in=n_in, n_out=2, n_hidden=n, v_th=1.0, n_ref=2)
    params = model.init(3)
    params["layer0.W_in"] *= 2.0
    rng = np.random.default_rng(3)
    xs = (rng.random((T, B, n_in)) < 0.01).astype(float)  # 10 Hz inputs at dt = 1 ms
    ys = rng.normal(size=(T, B, 2))
    ref, g, c = dense_and_events(model, params, xs, ys, dict(filter=False), epoch=epoch)
    assert rel_err(g, ref) < 1e-12
    # the raster and ψ, from the model alone
    state, zs, psis = model.initial_state(B), [], []
    for x in xs:
        state, _, cache = model.forward(params, state, x)
        zs.append(state.z.copy())
        psis.append(cache[2])
    z, psi = np.array(zs) != 0, np.array(psis)
    assert 0 < z.mean() < 0.03  # sparse spikes
    x_ev = xs != 0
    z_pre = np.concatenate([np.zeros((1, B, n), bool), z[:-1]])  # z^{t−1} arrives at step t
    # every event visits its fan-out: all n neurons for an input, n − 1 for a neuron (no autapse)
    assert c["pre_events"] == x_ev.sum() + z_pre.sum()
    assert c["synapse_event_ops"] == x_ev.sum() * n + z_pre.sum() * (n - 1)
    # a flush at each epoch's end visits the synapses of every source that has had an event
    ends = np.arange(epoch - 1, T, epoch)
    act_in = np.array([x_ev[: te + 1].any(0).sum() for te in ends])
    act_rec = np.array([z_pre[: te + 1].any(0).sum() for te in ends])
    assert c["flushes"] == B * len(ends) and c["trace_reads"] == act_in.sum() + act_rec.sum()
    assert c["synapse_flush_ops"] == act_in.sum() * n + act_rec.sum() * (n - 1)
    assert c["trace_decays"] == c["pre_events"] + c["trace_reads"]
    assert c["row_events"] == (psi != 0).sum()  # without filter: the neurons with ψ ≠ 0
    assert c["readout_synapse_event_ops"] == z.sum() * 2  # a spike reaches both outputs
    assert c["dense_synapse_ops"] == T * B * n * (n + n_in)
    assert c["synapse_ops"] < 0.1 * c["dense_synapse_ops"]


def test_errors_name_what_is_supported():
    model, params, xs, ys = net("lif")
    events = ns.snn.eprop_gradient_events
    rnn = ns.models.make("rnn", n_in=3, n_out=2, n_hidden=4)
    with pytest.raises(ValueError, match=r"model='rnn' is invalid: allowed a spiking model, 'lif' or 'alif'"):
        events(rnn, rnn.init(0), xs, ys)
    with pytest.raises(ValueError, match=r"rule=.*bptt.* allowed an e-prop rule.*feedback, seed, filter, reg_coeff"):
        events(model, params, xs, ys, ns.rules.make("bptt"))
    rule = ns.rules.make("eprop")
    rule.options["window"] = 4  # an option this path does not know
    with pytest.raises(ValueError, match=r"options feedback, seed, .*feedback_matrix on the event-driven path.*window"):
        events(model, params, xs, ys, rule)
    strong = ns.models.make("alif", n_in=3, n_out=2, n_hidden=4, tau_a=50.0, beta=3.0, v_th=0.62)
    with pytest.raises(ValueError, match=r"beta=3.0 is invalid: allowed beta < rho·v_th/gamma_pd = 2.0"):
        events(strong, strong.init(0), xs, ys)
    with pytest.raises(ValueError, match=r"backend='cuda' is invalid: allowed one of 'numba', 'numpy'"):
        events(model, params, xs, ys, backend="cuda")
    with pytest.raises(ValueError, match=r"epoch=0 is invalid: allowed an integer >= 1"):
        events(model, params, xs, ys, epoch=0)
    with pytest.raises(ValueError, match=r"xs has shape \(60, 2, 4\): allowed shape \(\*, \*, 3\)"):
        events(model, params, np.zeros((60, 2, 4)), ys)
    with pytest.raises(ValueError, match=r"mask=\(7,\) is invalid"):
        events(model, params, xs, ys, mask=np.ones(7))
