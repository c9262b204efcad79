"""Pair-based STDP in the event-driven simulator (``populations.projection(..., stdp=STDP(...))``)
against Brian2's canonical STDP synapses (numpy target): the same spikes and the same final
weights (1e-9 relative) of a Poisson-driven population with a plastic input projection and a
plastic recurrent one with heterogeneous delays; the same-step pre/post order (Brian2 runs every
on_pre pathway before any on_post one); negative controls that must differ; bad parameters
refused by name; static networks unchanged (and the STDP loop with zero amplitudes gives the
static loop's spikes and state exactly)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import brian2_numpy_scope

from neurosim.snn import populations as P

b2 = pytest.importorskip("brian2")

DT = 0.1
SYN = """w : volt
dapre/dt = -apre/taupre : volt (event-driven)
dapost/dt = -apost/taupost : volt (event-driven)"""
ON_PRE = """{target} += w
apre += Apre
w = clip(w + apost, wmin, wmax)"""
ON_POST = """apost += Apost
w = clip(w + apre, wmin, wmax)"""


@pytest.fixture()
def brian():
    yield from brian2_numpy_scope(DT)


def _b2_stdp(brian, src, tgt, rule: P.STDP, i, j, w, delay_ms=0.0, target="ge_post"):
    ms, mV = brian.ms, brian.mV
    ns = dict(taupre=rule.tau_pre * ms, taupost=rule.tau_post * ms, Apre=rule.A_pre * mV, Apost=rule.A_post * mV,
              wmin=rule.w_min * mV, wmax=rule.w_max * mV)  # fmt: skip
    S = brian.Synapses(src, tgt, SYN, on_pre=ON_PRE.format(target=target), on_post=ON_POST, namespace=ns)
    S.connect(i=i, j=j)
    S.w = w * mV
    S.delay = delay_ms * ms
    return S


def _pairs(rng, n_pre, n_post, p):
    return np.nonzero(rng.random((n_pre, n_post)) < p)  # row-major: Brian2's order for connect(i=, j=)


def _spikes_b2(mon):
    return set(zip(np.rint(np.asarray(mon.t / b2.ms) / DT).astype(int).tolist(), np.asarray(mon.i).tolist()))


def _ours(res):
    return set(zip(res.spike_step.tolist(), res.spike_i.tolist()))


N, N_IN, T_MS = 100, 200, 500.0
RULE_IN = P.STDP(tau_pre=20.0, tau_post=20.0, A_pre=0.15, A_post=-0.16, w_min=0.0, w_max=3.0)
RULE_REC = P.STDP(tau_pre=15.0, tau_post=30.0, A_pre=0.4, A_post=-0.2, w_min=0.0, w_max=2.0)
EQS = """dv/dt = (ge - (v - El)) / taum : volt (unless refractory)
dge/dt = -ge / taue : volt"""


def _plastic_network(rule_in=RULE_IN, rule_rec=RULE_REC):
    rng = np.random.default_rng(1)
    drive = P.poisson("drive", N_IN, 40.0, T_MS, dt=DT, seed=3)
    i, j = _pairs(rng, N_IN, N, 0.25)
    wx = rng.uniform(0.5, 2.5, i.size)
    ri, rj = _pairs(rng, N, N, 0.1)
    wr = rng.uniform(0.0, 1.5, ri.size)
    dr = rng.integers(0, 11, ri.size) * DT  # 0 … 1 ms, heterogeneous
    v0 = -60.0 + 10.0 * rng.random(N)
    pop = P.Population("p", N, E_l=-60.0, channels={"e": 5.0})
    projs = [P.projection("drive", "p", i, j, wx, "e", dt=DT, stdp=rule_in),
             P.projection("p", "p", ri, rj, wr, "e", delay_ms=dr, dt=DT, stdp=rule_rec)]  # fmt: skip
    return P.build([pop], projs, [drive], dt=DT), drive, (i, j, wx), (ri, rj, wr, dr), v0


@pytest.fixture(scope="module")
def brian2_run():
    """Brian2's spikes and final weights for ``_plastic_network`` (500 ms, run once for the module)."""
    b2.start_scope()
    target, dt = b2.prefs.codegen.target, b2.defaultclock.dt
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = DT * b2.ms
    try:
        ms, mV = b2.ms, b2.mV
        net, drive, (i, j, wx), (ri, rj, wr, dr), v0 = _plastic_network()
        consts = dict(El=-60 * mV, Vt=-50 * mV, Vr=-60 * mV, taum=20 * ms, taue=5 * ms)
        G = b2.NeuronGroup(N, EQS, threshold="v > Vt", reset="v = Vr", refractory=5 * ms, method="exact",
                           namespace=consts)  # fmt: skip
        G.v = v0 * mV
        gen = P.to_brian2_generator(drive, b2)
        Sx = _b2_stdp(b2, gen, G, RULE_IN, i, j, wx)
        Sr = _b2_stdp(b2, G, G, RULE_REC, ri, rj, wr, delay_ms=dr)
        mon = b2.SpikeMonitor(G)
        from neurosim.snn.brian2_network import from_brian2_network

        imported = from_brian2_network([G, gen, Sx, Sr], namespace={})  # before the run: its start state
        b2.Network(G, gen, Sx, Sr, mon).run(T_MS * ms)
        return _spikes_b2(mon), np.asarray(Sx.w / mV), np.asarray(Sr.w / mV), imported
    finally:
        b2.prefs.codegen.target, b2.defaultclock.dt = target, dt
        b2.start_scope()


def test_plastic_input_and_recurrent_projections_as_brian2(brian2_run):
    theirs, w_in, w_rec, _ = brian2_run
    net, *_, v0 = _plastic_network()
    w_before = (net.weights.copy(), net.in_weights.copy())
    res = P.simulate(net, int(round(T_MS / DT)), v0=v0)
    assert len(theirs) > 1000
    assert _ours(res) == theirs
    assert set(res.weights) == {0, 1}
    np.testing.assert_allclose(res.weights[0], w_in, rtol=1e-9, atol=0)
    np.testing.assert_allclose(res.weights[1], w_rec, rtol=1e-9, atol=0)
    # plasticity did something, and the clip bounds were reached (both bounds of the input projection)
    _, _, (_, _, wx), (_, _, wr, _), _ = _plastic_network()
    assert np.abs(res.weights[0] - wx).max() > 0.5 and np.abs(res.weights[1] - wr).max() > 0.5
    assert (res.weights[0] == 0.0).sum() > 5 and (res.weights[0] == 3.0).sum() > 5 and (res.weights[1] == 0.0).sum() > 5
    # the network is not changed: a second run starts from the same weights and gives the same result
    assert np.array_equal(net.weights, w_before[0]) and np.array_equal(net.in_weights, w_before[1])
    again = P.simulate(net, int(round(T_MS / DT)), v0=v0, chunk=777)  # other chunk boundaries: the same
    assert _ours(again) == theirs and np.array_equal(again.weights[1], res.weights[1])


def test_stdp_imported_from_brian2_synapses(brian2_run):
    """The same plastic network imported from the Brian2 objects (``Synapses`` with event-driven
    traces and on_post): Brian2's spikes and its final weights."""
    theirs, w_in, w_rec, (imported, v_imp) = brian2_run
    assert [r for _, r in imported.stdp] == [RULE_IN, RULE_REC]
    res = P.simulate(imported, int(round(T_MS / DT)), v0=v_imp)
    assert _ours(res) == theirs
    np.testing.assert_allclose(res.weights[0], w_in, rtol=1e-9, atol=0)
    np.testing.assert_allclose(res.weights[1], w_rec, rtol=1e-9, atol=0)


def test_stdp_import_refusals(brian):
    from neurosim.snn.brian2_network import from_brian2_network

    ms, mV = brian.ms, brian.mV
    G = brian.NeuronGroup(3, EQS, threshold="v > Vt", reset="v = Vr", method="exact",
                          namespace=dict(El=-60 * mV, Vt=-50 * mV, Vr=-60 * mV, taum=20 * ms, taue=5 * ms))  # fmt: skip
    ns = dict(taupre=20 * ms, taupost=20 * ms, Apre=0.1 * mV, Apost=-0.1 * mV, wmin=0 * mV, wmax=3 * mV)
    cases = [
        # the weight updated before it is delivered
        (ON_PRE.format(target="ge_post").split("\n")[::-1], ON_POST, "on_pre"),
        # a multiplicative rule
        ("ge_post += w\napre += Apre\nw = clip(w * (1 + apost/mV), wmin, wmax)", ON_POST, "on_pre"),
        # the traces swapped on the post pathway
        (
            "ge_post += w\napre += Apre\nw = clip(w + apost, wmin, wmax)",
            "apre += Apost\nw = clip(w + apost, wmin, wmax)",
            "traces|on_post",
        ),
    ]
    for on_pre, on_post, msg in cases:
        on_pre = "\n".join(on_pre) if isinstance(on_pre, list) else on_pre
        S = brian.Synapses(G, G, SYN, on_pre=on_pre, on_post=on_post, namespace=ns)
        S.connect(i=[0], j=[1])
        S.w = 1 * mV
        with pytest.raises(ValueError, match=msg):
            from_brian2_network([G, S], namespace={})


@pytest.mark.parametrize(
    "rule_in,rule_rec",
    [
        (RULE_IN, P.STDP(15.0, 30.0, 0.4, +0.2, 0.0, 2.0)),  # A_post with the wrong sign
        (P.STDP(20.0, 20.0, 0.15, -0.16, -np.inf, np.inf), RULE_REC),  # no clipping
        (P.STDP(20.0, 20.0, 0.15, -0.16, 0.0, 3.0), P.STDP(30.0, 15.0, 0.4, -0.2, 0.0, 2.0)),  # taus swapped
    ],
)
def test_negative_controls_differ_from_brian2(brian2_run, rule_in, rule_rec):
    theirs, w_in, w_rec, _ = brian2_run
    net, *_, v0 = _plastic_network(rule_in, rule_rec)
    res = P.simulate(net, int(round(T_MS / DT)), v0=v0)
    same_w = np.allclose(res.weights[0], w_in, rtol=1e-6) and np.allclose(res.weights[1], w_rec, rtol=1e-6)
    assert not same_w and _ours(res) != theirs


def test_pre_and_post_in_the_same_step_as_brian2(brian):
    """Brian2 runs every on_pre pathway (order −1) before any on_post one (order +1): a pre spike
    and a post spike in the same step give ``w += apost`` (without this step's A_post), then
    ``apost += A_post; w += apre`` (with this step's A_pre) — potentiation. A delayed arrival in
    the step of a post spike likewise. Checked by hand and against Brian2 over several pairings."""
    ms, mV = brian.ms, brian.mV
    rule = P.STDP(tau_pre=10.0, tau_post=10.0, A_pre=0.5, A_post=-0.3, w_min=0.0, w_max=5.0)
    # the post neuron fires in the step after a kick (a delta synapse adds to v in the synapses slot)
    post_steps = np.array([10, 60, 100, 210, 300, 305])
    pre_steps = np.array([10, 50, 110, 200, 300, 305])  # same, pre first, post first, delayed, same ×2
    kick = P.generator("kick", 1, np.zeros(post_steps.size, int), (post_steps - 1) * DT, dt=DT)
    pre = P.generator("pre", 2, [0, 0, 0, 1, 0, 0], pre_steps * DT, dt=DT)
    pop = P.Population("p", 1, E_l=-60.0, refractory=0.0, channels={"e": 5.0, "d": 0.0})
    projs = [P.projection("kick", "p", [0], [0], 20.0, "d", dt=DT),
             P.projection("pre", "p", [0, 1], [0, 0], [1.0, 1.0], "e", delay_ms=[0.0, 1.0], dt=DT,
                          stdp=rule)]  # fmt: skip
    net = P.build([pop], projs, [kick, pre], dt=DT)
    res = P.simulate(net, 400)
    assert res.spike_step.tolist() == post_steps.tolist()
    first = P.simulate(net, 11)  # after the first, same-step pair: on_pre (w += 0), then on_post (w += 0.5)
    assert first.weights[1][0] == pytest.approx(1.5, abs=1e-12)  # the reverse order would give 0.7

    G = brian.NeuronGroup(1, "dv/dt = (ge - (v - El)) / taum : volt\ndge/dt = -ge / taue : volt",
                          threshold="v > Vt", reset="v = Vr", method="exact",
                          namespace=dict(El=-60 * mV, Vt=-50 * mV, Vr=-60 * mV, taum=20 * ms, taue=5 * ms))  # fmt: skip
    G.v = -60 * mV
    gk, gp = P.to_brian2_generator(kick, brian), P.to_brian2_generator(pre, brian)
    Sk = brian.Synapses(gk, G, on_pre="v_post += 20*mV")
    Sk.connect(i=0, j=0)
    Sp = _b2_stdp(brian, gp, G, rule, [0, 1], [0, 0], np.array([1.0, 1.0]), delay_ms=np.array([0.0, 1.0]))
    mon = brian.SpikeMonitor(G)
    brian.Network(G, gk, gp, Sk, Sp, mon).run(40 * ms)
    assert _spikes_b2(mon) == _ours(res)
    np.testing.assert_allclose(res.weights[1], np.asarray(Sp.w / mV), rtol=1e-12)
    assert abs(res.weights[1][0] - 1.0) > 0.1  # the pairings moved the weight


@pytest.mark.parametrize(
    "make,said",
    [
        (lambda: P.STDP(0.0, 20.0, 0.1, -0.1, 0.0, 1.0), "stdp.tau_pre"),
        (lambda: P.STDP(20.0, -1.0, 0.1, -0.1, 0.0, 1.0), "stdp.tau_post"),
        (lambda: P.STDP(20.0, 20.0, float("nan"), -0.1, 0.0, 1.0), "stdp.A_pre"),
        (lambda: P.STDP(20.0, 20.0, 0.1, "x", 0.0, 1.0), "stdp.A_post"),
        (lambda: P.STDP(20.0, 20.0, 0.1, -0.1, 2.0, 1.0), "w_min <= w_max"),
        (lambda: P.STDP(20.0, 20.0, 0.1, -0.1, float("nan"), 1.0), "stdp.w_min"),
        (
            lambda: P.projection("a", "a", [0, 1], [1, 0], [0.5, 1.5], stdp=P.STDP(20.0, 20.0, 0.1, -0.1, 0.0, 1.0)),
            "within [w_min, w_max]",
        ),
        (lambda: P.projection("a", "a", [0], [1], 0.5, stdp={"tau_pre": 20.0}), "a populations.STDP"),
    ],
)
def test_bad_stdp_parameters_are_refused_by_name(make, said):
    with pytest.raises(ValueError) as e:
        make()
    assert said in str(e.value)


def _mixed_network(stdp):
    """Two populations (one conductance-based, one with adaptation and a delta channel), delays,
    an input; ``stdp`` on every projection or none."""
    rng = np.random.default_rng(4)
    a = P.Population("a", 60, E_l=-52.0, channels={"e": 5.0, "d": 0.0, "w": 50.0}, reset_add={"w": -1.0})
    c = P.Population("c", 40, tau_m=15.0, E_l=-55.0, channels={"ge": 5.0, "gi": 10.0},
                     reversal={"ge": 0.0, "gi": -80.0})  # fmt: skip
    drive = P.poisson("drive", 50, 30.0, 100.0, dt=DT, seed=1)
    projs = []
    spec = (("drive", "a", "e", 2.0, 0.3), ("drive", "c", "ge", 0.2, 0.2), ("a", "a", "d", 0.5, 0.1),
            ("a", "c", "ge", 0.1, 0.2), ("c", "a", "e", -1.0, 0.2), ("c", "c", "gi", 0.5, 0.1))  # fmt: skip
    for pre, post, ch, w, p in spec:
        n_pre = {"drive": 50, "a": 60, "c": 40}[pre]
        i, j = _pairs(rng, n_pre, 60 if post == "a" else 40, p)
        d = rng.integers(0, 6, i.size) * DT if pre != "drive" else 0.0
        projs.append(P.projection(pre, post, i, j, w * (0.5 + rng.random(i.size)), ch, delay_ms=d, dt=DT, stdp=stdp))
    v0 = -60.0 + 10.0 * rng.random(100)
    cur = 2.0 * rng.random(100)
    return P.build([a, c], projs, [drive], dt=DT), v0, cur, projs


def test_static_networks_are_unchanged_and_zero_amplitudes_give_the_static_loop():
    static, v0, cur, _ = _mixed_network(None)
    assert static.stdp == () and (static.plastic == -1).all() and (static.in_plastic == -1).all()
    ref = P.simulate(static, 1000, v0=v0, record=[0, 70], current=cur)
    assert type(ref) is P.SimResult and not hasattr(ref, "weights")
    assert len(ref.spike_i) > 200
    zero = P.STDP(20.0, 20.0, 0.0, 0.0, -np.inf, np.inf)
    plastic, _, _, projs = _mixed_network(zero)
    out = P.simulate(plastic, 1000, v0=v0, record=[0, 70], current=cur)
    assert np.array_equal(out.spike_i, ref.spike_i) and np.array_equal(out.spike_step, ref.spike_step)
    assert np.array_equal(out.v, ref.v) and np.array_equal(out.v_final, ref.v_final)
    assert np.array_equal(out.g_final, ref.g_final)
    for k, pr in enumerate(projs):
        assert np.array_equal(out.weights[k], pr.weight)  # unchanged, in the order the synapses were given
    # and a real rule changes the trains (the plastic loop is not a no-op)
    learning, *_ = _mixed_network(P.STDP(20.0, 20.0, 0.3, -0.2, -np.inf, np.inf))
    assert _ours(P.simulate(learning, 1000, v0=v0, current=cur)) != _ours(ref)
