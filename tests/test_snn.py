"""The event-driven LIF simulator: exact integration, refractoriness, delays, and spike-for-spike
agreement with a real Brian2 (numpy target: no compiler, no fastmath)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import brian2_numpy_scope

import neurosim.snn as snn


def test_exact_integration_matches_the_closed_form():
    # one neuron, one synapse from a silent neuron: inject g0 and compare v(t) with the formula
    net = snn.from_edges(2, [1], [0], [0.0], E_l=-70.0, V_t=0.0, V_r=-70.0, tau_m=20.0, tau_syn=(5.0,), dt=0.1)
    res = snn.simulate(net, 300, v0=[-65.0, -70.0], g0=[[3.0, 0.0]], record=[0])
    t = 0.1 * np.arange(1, 301)
    A = 3.0 * 5.0 / (5.0 - 20.0)
    v = -70.0 + (5.0 - A) * np.exp(-t / 20.0) + A * np.exp(-t / 5.0)
    np.testing.assert_allclose(res.v[:, 0], v, rtol=0, atol=1e-11)
    assert res.spike_i.size == 0


def test_equal_time_constants_use_the_limit():
    net = snn.from_edges(1, [], [], [], E_l=0.0, V_t=100.0, tau_m=10.0, tau_syn=(10.0,), dt=0.5)
    res = snn.simulate(net, 40, v0=[0.0], g0=[[2.0]], record=[0])
    t = 0.5 * np.arange(1, 41)
    np.testing.assert_allclose(res.v[:, 0], 2.0 * t / 10.0 * np.exp(-t / 10.0), atol=1e-12)


def test_refractoriness_and_reset():
    # E_l far above threshold: the neuron fires as soon as it may
    net = snn.from_edges(1, [], [], [], E_l=100.0, V_t=-50.0, V_r=-60.0, refractory=2.0, dt=0.1)
    res = snn.simulate(net, 200, v0=[-60.0], record=[0])
    isi = np.diff(res.spike_step)
    assert res.spike_i.size > 5 and np.all(isi == isi[0]) and isi[0] >= 20
    held = res.v[res.spike_step[0] : res.spike_step[0] + 20, 0]
    assert np.all(held == -60.0)  # v is held at V_r while refractory


def test_delays_arrive_exactly_d_steps_later():
    # neuron 0 fires at step 0; synapses to 1 and 2 with delays 0 and 7 steps
    net = snn.from_edges(3, [0, 0], [1, 2], [5.0, 5.0], delay=[0, 7], E_l=-70.0, V_t=-50.0, tau_syn=(5.0,))
    res = snn.simulate(net, 20, v0=[-40.0, -70.0, -70.0], record=[1, 2])
    assert res.spike_step[0] == 0 and res.spike_i[0] == 0
    dv1 = np.flatnonzero(res.v[:, 0] > -70.0 + 1e-12)
    dv2 = np.flatnonzero(res.v[:, 1] > -70.0 + 1e-12)
    assert dv1[0] == 1 and dv2[0] == 8  # g rises in the synapse slot, v moves at the next update


def test_chunks_and_a_full_spike_buffer_change_nothing():
    net, v0 = snn.cuba(400, seed=2, p=0.05)
    a = snn.simulate(net, 1500, v0=v0, chunk=10_000)
    b = snn.simulate(net, 1500, v0=v0, chunk=37)
    assert a.spike_i.size > 100
    np.testing.assert_array_equal(a.spike_i, b.spike_i)
    np.testing.assert_array_equal(a.spike_step, b.spike_step)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(pre=[0, 5], post=[1, 1], weight=1.0), "pre=5 is invalid: allowed indices in \\[0, 3\\)"),
        (dict(pre=[0], post=[1, 2], weight=1.0), "post="),
        (dict(pre=[0], post=[1], weight=1.0, delay=-1), "delay=-1"),
        (dict(pre=[0], post=[1], weight=np.nan), "weight="),
        (dict(pre=[0], post=[1], weight=1.0, channel=2), "channel=2 is invalid"),
    ],
)
def test_bad_networks_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        snn.from_edges(3, **kw)


# --- Brian2 ------------------------------------------------------------------------------------

b2 = pytest.importorskip("brian2")


@pytest.fixture()
def brian():
    yield from brian2_numpy_scope(0.1, seed=11)


CUBA_EQS = """dv/dt = (ge+gi-(v-El))/taum : volt (unless refractory)
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt"""


def _spikes_b2(mon):
    steps = np.rint(np.asarray(mon.t[:] / b2.ms) / 0.1).astype(int)
    return set(zip(steps.tolist(), np.asarray(mon.i[:]).tolist()))


def _spikes(res):
    return set(zip(res.spike_step.tolist(), res.spike_i.tolist()))


def test_cuba_gives_brian2s_spike_trains_exactly(brian):
    """CUBA, 4000 neurons, the same initial v and connectivity: identical spikes for 300 ms."""
    net, v0 = snn.cuba(4000, seed=1, p=0.02)
    ms, mV = brian.ms, brian.mV
    ns_ = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, Vt=-50 * mV, Vr=-60 * mV, El=-49 * mV)
    P = brian.NeuronGroup(4000, CUBA_EQS, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact",
                          namespace=ns_)  # fmt: skip
    P.v = v0 * mV
    pre = np.repeat(np.arange(4000), np.diff(net.indptr))
    post = net.indices
    exc = pre < 3200
    Ce = brian.Synapses(P, P, on_pre="ge += 1.62*mV")
    Ci = brian.Synapses(P, P, on_pre="gi += -9*mV")
    Ce.connect(i=pre[exc], j=post[exc])
    Ci.connect(i=pre[~exc], j=post[~exc])
    mon = brian.SpikeMonitor(P)
    brian.Network(P, Ce, Ci, mon).run(300 * ms)
    ours = snn.simulate(net, 3000, v0=v0)
    assert len(ours.spike_i) > 5000  # ≈ 5.4 Hz × 4000 × 0.3 s
    assert _spikes(ours) == _spikes_b2(mon)
    # negative control: the first neuron to fire starts 2 mV lower, and the spike trains differ
    v1 = v0.copy()
    v1[ours.spike_i[0]] -= 2.0
    assert _spikes(snn.simulate(net, 3000, v0=v1)) != _spikes_b2(mon)


def test_imported_network_with_weights_and_delays_runs_spike_for_spike(brian):
    ms, mV = brian.ms, brian.mV
    tau_m, tau_s, E_rest, theta, v_reset = 15 * ms, 4 * ms, -48 * mV, -50 * mV, -65 * mV  # noqa: F841
    eqs = """dv/dt = (2*I_syn - v + E_rest)/tau_m : volt (unless refractory)
    dI_syn/dt = -I_syn/tau_s : volt"""
    G = brian.NeuronGroup(600, eqs, threshold="v > theta", reset="v = v_reset", refractory=3 * ms, method="exact")
    G.v = "v_reset + rand()*(theta - v_reset)"
    S = brian.Synapses(G, G, "w : volt", on_pre="I_syn += w")
    S.connect(p=0.05)
    S.w = "(rand() - 0.6) * 3*mV"
    S.delay = "rand()*2*ms"
    net, v0, g0 = snn.from_brian2(G, [S])
    assert (net.n, net.n_synapses, net.tau_m, net.ref_steps) == (600, len(S), 15.0, 30)
    assert np.isclose(net.E_l, -48.0) and np.isclose(net.V_t, -50.0) and np.isclose(net.V_r, -65.0)
    assert net.delay.max() > 10 and np.unique(net.weights).size > 100
    mon = brian.SpikeMonitor(G)
    brian.Network(G, S, mon).run(300 * ms)
    ours = snn.simulate(net, 3000, v0=v0, g0=g0)
    assert len(ours.spike_i) > 500
    assert _spikes(ours) == _spikes_b2(mon)
    # negative control: the delays matter
    pre = np.repeat(np.arange(600), np.diff(net.indptr))
    kw = dict(tau_m=15.0, E_l=net.E_l, V_t=net.V_t, V_r=net.V_r, refractory=3.0, tau_syn=(4.0,))
    plain = snn.from_edges(600, pre, net.indices, net.weights, **kw)
    assert _spikes(snn.simulate(plain, 3000, v0=v0, g0=g0)) != _spikes_b2(mon)


@pytest.mark.parametrize(
    "eqs,kw,syn,match",
    [
        ("dv/dt = (ge*(0*mV - v) + El - v)/taum : volt (unless refractory)\ndge/dt = -ge/taue : 1", {}, None,
         "conductance-based"),
        (CUBA_EQS, {"method": "euler"}, None, "integration method 'euler'"),
        (CUBA_EQS + "\nVt2 : volt", {}, None, "per-neuron parameter 'Vt2'"),
        (CUBA_EQS, {"reset": "v = Vr; ge = 0*mV"}, None, "reset"),
        (CUBA_EQS, {}, dict(model="w : volt\ndapre/dt = -apre/taue : 1 (event-driven)", on_pre="ge += w"),
         "plasticity"),
        (CUBA_EQS, {}, dict(on_pre="ge += we", on_post="v += 0*mV"), "on_post"),
        (CUBA_EQS, {}, dict(on_pre="v += we"), "delta synapse"),
        (CUBA_EQS, {"threshold": "v > Vt and ge > 0*mV"}, None, "threshold"),
    ],
)  # fmt: skip
def test_unsupported_brian2_features_are_refused_by_name(brian, eqs, kw, syn, match):
    ms, mV = brian.ms, brian.mV
    namespace = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, Vt=-50 * mV, Vr=-60 * mV, El=-49 * mV, we=1 * mV)
    opts = dict(threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact")
    opts.update(kw)
    G = brian.NeuronGroup(10, eqs, namespace=namespace, **opts)
    syns = []
    if syn is not None:
        S = brian.Synapses(G, G, namespace=namespace, **syn)
        S.connect(p=0.5)
        syns.append(S)
    from neurosim.snn.brian2_import import Brian2ImportError

    with pytest.raises(Brian2ImportError, match=match):
        snn.from_brian2(G, syns, namespace=namespace)


def test_a_non_finite_start_state_is_refused():
    net, v0 = snn.cuba(400)
    v0 = np.array(v0, float)
    v0[3] = np.nan
    with pytest.raises(ValueError, match=r"v0 contains a non-finite value at index \(3,\)"):
        snn.simulate(net, 5, v0=v0)


def test_the_compact_synapse_storage_changes_nothing():
    """CUBA's two constant weights: the compact path (a spike reads its targets only) gives the
    same spikes and state as the general one; a network with per-synapse weights has no compact
    form (control)."""
    net, v0 = snn.cuba(2000, seed=3)
    assert net.cptr is not None and net.cw.tolist() == [60 * 0.27 / 10, -20 * 4.5 / 10]
    a = snn.simulate(net, 1500, v0=v0, record=[0, 7])
    b = snn.simulate(net, 1500, v0=v0, record=[0, 7], compact=False)
    assert len(a.spike_i) > 1000
    assert np.array_equal(a.spike_i, b.spike_i) and np.array_equal(a.spike_step, b.spike_step)
    assert np.array_equal(a.v, b.v) and np.array_equal(a.g_final, b.g_final)
    pre = np.repeat(np.arange(net.n), np.diff(net.indptr))
    varied = snn.from_edges(net.n, pre, net.indices, net.weights * (1 + 1e-9 * np.arange(pre.size)),
                            channel=net.channel)  # fmt: skip
    assert varied.cptr is None
