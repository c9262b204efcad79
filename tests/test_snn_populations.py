"""Several populations, inputs and delta synapses in the event-driven simulator
(``neurosim.snn.populations``), spike for spike against Brian2 (numpy target) on the same network
and inputs: two populations with different τ and heterogeneous delays on a 0.05 ms grid;
Poisson-driven (the same spikes through a ``SpikeGeneratorGroup`` export); delta synapses
(``v += w``, refractory targets included); per-neuron τ_m (a Brian2 parameter). Each paired with
a negative control that must differ; bad networks refused by name."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import brian2_numpy_scope

from neurosim.snn import populations as P

b2 = pytest.importorskip("brian2")

EQS2 = """dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)
dge/dt = -ge / taue : volt
dgi/dt = -gi / taui : volt"""


@pytest.fixture()
def brian():
    yield from brian2_numpy_scope(0.05)


def _b2_spikes(mons, offsets):
    out = set()
    for mon, off in zip(mons, offsets):
        steps = np.rint(np.asarray(mon.t[:] / b2.ms) / 0.05).astype(int)
        out |= set(zip(steps.tolist(), (np.asarray(mon.i[:]) + off).tolist()))
    return out


def _ours(res):
    return set(zip(res.spike_step.tolist(), res.spike_i.tolist()))


def _pairs(rng, n_pre, n_post, p):
    m = rng.random((n_pre, n_post)) < p
    i, j = np.nonzero(m)  # row-major: Brian2's order for connect(i=, j=)
    return i, j


def test_two_populations_with_their_own_tau_and_heterogeneous_delays(brian):
    ms, mV = brian.ms, brian.mV
    rng = np.random.default_rng(3)
    ne, ni = 240, 60
    pops = [P.Population("exc", ne, tau_m=20.0, channels={"e": 5.0, "i": 10.0}),
            P.Population("inh", ni, tau_m=10.0, channels={"e": 3.0, "i": 8.0})]  # fmt: skip
    projs, b2_syn = [], []
    spec = [("exc", "exc", "e", 1.1), ("exc", "inh", "e", 1.4), ("inh", "exc", "i", -4.0), ("inh", "inh", "i", -2.5)]
    conn = {}
    for pre, post, ch, w in spec:
        n_pre, n_post = (ne if pre == "exc" else ni), (ne if post == "exc" else ni)
        i, j = _pairs(rng, n_pre, n_post, 0.08)
        d = rng.integers(0, 41, i.size) * 0.05  # 0 … 2 ms on the 0.05 ms grid
        ww = w * (0.5 + rng.random(i.size))
        projs.append(P.projection(pre, post, i, j, ww, ch, delay_ms=d, dt=0.05))
        conn[pre, post, ch] = (i, j, ww, d)
    v0 = -60.0 + 10.0 * rng.random(ne + ni)
    net = P.build(pops, projs, dt=0.05)
    ours = P.simulate(net, 1200, v0=v0)

    consts = dict(El=-49 * mV, Vt=-50 * mV, Vr=-60 * mV)
    E = brian.NeuronGroup(ne, EQS2, threshold="v > Vt", reset="v = Vr", refractory=5 * ms, method="exact",
                          namespace={**consts, "taum": 20 * ms, "taue": 5 * ms, "taui": 10 * ms})  # fmt: skip
    I_ = brian.NeuronGroup(ni, EQS2, threshold="v > Vt", reset="v = Vr", refractory=5 * ms, method="exact",
                           namespace={**consts, "taum": 10 * ms, "taue": 3 * ms, "taui": 8 * ms})  # fmt: skip
    E.v, I_.v = v0[:ne] * mV, v0[ne:] * mV
    groups = {"exc": E, "inh": I_}
    for (pre, post, ch), (i, j, ww, d) in conn.items():
        S = brian.Synapses(groups[pre], groups[post], "w : volt", on_pre=f"g{ch}_post += w")
        S.connect(i=i, j=j)
        S.w = ww * mV
        S.delay = d * ms
        b2_syn.append(S)
    mons = [brian.SpikeMonitor(E), brian.SpikeMonitor(I_)]
    brian.Network(E, I_, *b2_syn, *mons).run(60 * ms)
    theirs = _b2_spikes(mons, [0, ne])
    assert len(theirs) > 100
    assert _ours(ours) == theirs
    # control: the inhibitory population with the excitatory one's τ_m gives other trains
    pops[1] = P.Population("inh", ni, tau_m=20.0, channels={"e": 3.0, "i": 8.0})
    assert _ours(P.simulate(P.build(pops, projs, dt=0.05), 1200, v0=v0)) != theirs


def test_a_poisson_drive_exported_as_a_spike_generator_gives_the_same_trains(brian):
    ms, mV = brian.ms, brian.mV
    rng = np.random.default_rng(5)
    n, n_in = 200, 100
    pop = P.Population("p", n, E_l=-60.0, channels={"x": 2.0, "i": 10.0})  # silent without the drive
    drive = P.poisson("drive", n_in, 100.0, 60.0, dt=0.05, seed=9)
    i, j = _pairs(rng, n_in, n, 0.2)
    wx = 4.0 + rng.random(i.size)
    ri, rj = _pairs(rng, n, n, 0.05)
    wi = -2.0 * np.ones(ri.size)
    recurrent = P.projection("p", "p", ri, rj, wi, "i", delay_ms=0.5, dt=0.05)
    net = P.build([pop], [P.projection("drive", "p", i, j, wx, "x", dt=0.05), recurrent], [drive], dt=0.05)
    v0 = -60.0 + 10.0 * rng.random(n)
    ours = P.simulate(net, 1200, v0=v0)

    eqs = """dv/dt = (gx + gi - (v - El)) / taum : volt (unless refractory)
    dgx/dt = -gx / taux : volt
    dgi/dt = -gi / taui : volt"""
    G = brian.NeuronGroup(n, eqs, threshold="v > Vt", reset="v = Vr", refractory=5 * ms, method="exact",
                          namespace=dict(El=-60 * mV, Vt=-50 * mV, Vr=-60 * mV, taum=20 * ms, taux=2 * ms,
                                         taui=10 * ms))  # fmt: skip
    G.v = v0 * mV
    gen = P.to_brian2_generator(drive, brian)
    Sx = brian.Synapses(gen, G, "w : volt", on_pre="gx_post += w")
    Sx.connect(i=i, j=j)
    Sx.w = wx * mV
    Si = brian.Synapses(G, G, "w : volt", on_pre="gi_post += w", delay=0.5 * ms)
    Si.connect(i=ri, j=rj)
    Si.w = wi * mV
    mon = brian.SpikeMonitor(G)
    brian.Network(G, gen, Sx, Si, mon).run(60 * ms)
    theirs = _b2_spikes([mon], [0])
    assert len(theirs) > 100 and len(drive.steps) > 400
    assert _ours(ours) == theirs
    other = P.poisson("drive", n_in, 100.0, 60.0, dt=0.05, seed=10)  # control: another seed's drive
    net2 = P.build([pop], [P.projection("drive", "p", i, j, wx, "x", dt=0.05), recurrent], [other], dt=0.05)
    assert _ours(P.simulate(net2, 1200, v0=v0)) != theirs


def test_delta_synapses_and_per_neuron_tau_as_brian2(brian):
    """``v += w`` on delivery (dropped when the target is refractory, as Brian2 drops it; a target
    that fired this step is reset after), and τ_m one per neuron (Brian2 ``taum : second``)."""
    ms, mV = brian.ms, brian.mV
    rng = np.random.default_rng(7)
    n, n_in = 150, 60
    taum = 10.0 + 20.0 * rng.random(n)
    pop = P.Population("p", n, tau_m=taum, E_l=-55.0, refractory=2.0, channels={"d": 0.0})
    drive = P.poisson("drive", n_in, 50.0, 50.0, dt=0.05, seed=2)
    i, j = _pairs(rng, n_in, n, 0.15)
    wd = 1.5 + rng.random(i.size)
    ri, rj = _pairs(rng, n, n, 0.05)
    wr = 0.8 * rng.random(ri.size) - 0.6
    dr = rng.integers(0, 11, ri.size) * 0.05
    projs = [P.projection("drive", "p", i, j, wd, "d", dt=0.05),
             P.projection("p", "p", ri, rj, wr, "d", delay_ms=dr, dt=0.05)]  # fmt: skip
    v0 = -60.0 + 10.0 * rng.random(n)
    ours = P.simulate(P.build([pop], projs, [drive], dt=0.05), 1000, v0=v0)

    G = brian.NeuronGroup(n, "dv/dt = -(v - El) / taum : volt (unless refractory)\ntaum : second",
                          threshold="v > Vt", reset="v = Vr", refractory=2 * ms, method="exact",
                          namespace=dict(El=-55 * mV, Vt=-50 * mV, Vr=-60 * mV))  # fmt: skip
    G.v = v0 * mV
    G.taum = taum * ms
    gen = P.to_brian2_generator(drive, brian)
    Sd = brian.Synapses(gen, G, "w : volt", on_pre="v_post += w")
    Sd.connect(i=i, j=j)
    Sd.w = wd * mV
    Sr = brian.Synapses(G, G, "w : volt", on_pre="v_post += w")
    Sr.connect(i=ri, j=rj)
    Sr.w = wr * mV
    Sr.delay = dr * ms
    mon = brian.SpikeMonitor(G)
    brian.Network(G, gen, Sd, Sr, mon).run(50 * ms)
    theirs = _b2_spikes([mon], [0])
    assert len(theirs) > 200
    assert _ours(ours) == theirs
    # controls: one shared τ_m (the mean) instead of one per neuron; refractory targets' increments kept
    pop.tau_m = float(taum.mean())
    assert _ours(P.simulate(P.build([pop], projs, [drive], dt=0.05), 1000, v0=v0)) != theirs
    pop.tau_m = taum
    pop.refractory = 0.0  # no refractory period: every increment lands (Brian2 with refractory=2 ms differs)
    assert _ours(P.simulate(P.build([pop], projs, [drive], dt=0.05), 1000, v0=v0)) != theirs


@pytest.mark.parametrize(
    "make,said",
    [
        (lambda: P.build([P.Population("a", 3), P.Population("a", 2)]), "distinct population and input names"),
        (lambda: P.build([P.Population("a", 3)], [P.projection("a", "b", [0], [0], 1.0)]), "a population: one of"),
        (lambda: P.build([P.Population("a", 3)], [P.projection("a", "a", [0], [5], 1.0)]), "indices in [0, 3)"),
        (lambda: P.build([P.Population("a", 3)], [P.projection("a", "a", [0], [1], 1.0, "x")]), "a channel of a"),
        (lambda: P.build([P.Population("a", 3, tau_m=[1.0, 2.0])]), "one number or 3"),
        (lambda: P.projection("a", "a", [0], [1], 1.0, delay_ms=0.07, dt=0.05), "delays on the grid"),
        (lambda: P.generator("g", 2, [0, 0], [1.0, 1.0]), "one spike per source and step"),
        (lambda: P.poisson("p", 2, 20000.0, 10.0, dt=0.1), "rate · dt <= 1"),
    ],
)
def test_bad_networks_are_refused_by_name(make, said):
    with pytest.raises(ValueError) as e:
        make()
    assert said in str(e.value)


# --- the importer: several groups, generators, delta synapses, per-neuron parameters -------------------
def _two_group_network(brian, rng):
    """A Brian2 network as a user writes it: two groups with their own τ (one of them a per-neuron
    parameter), a spike-generator drive, current and delta synapses between them with delays."""
    ms, mV = brian.ms, brian.mV
    ne, ni, n_in = 160, 40, 50
    E = brian.NeuronGroup(ne, EQS2, threshold="v > Vt", reset="v = Vr", refractory=5 * ms, method="exact",
                          namespace=dict(El=-55 * mV, Vt=-50 * mV, Vr=-60 * mV, taum=20 * ms, taue=5 * ms,
                                         taui=10 * ms), name="exc")  # fmt: skip
    I_ = brian.NeuronGroup(ni, "dv/dt = -(v - El) / taum : volt (unless refractory)\ntaum : second",
                           threshold="v > Vt", reset="v = Vr", refractory=2 * ms, method="exact",
                           namespace=dict(El=-52 * mV, Vt=-50 * mV, Vr=-60 * mV), name="inh")  # fmt: skip
    I_.taum = (5 + 10 * rng.random(ni)) * ms
    E.v = (-60 + 10 * rng.random(ne)) * mV
    I_.v = (-60 + 10 * rng.random(ni)) * mV
    drive = P.poisson("drive", n_in, 80.0, 60.0, dt=0.05, seed=4)
    gen = P.to_brian2_generator(drive, brian)
    syn = []
    for src, tgt, code, p, w, dmax in (
        (gen, E, "ge_post += w", 0.2, 3.0, 0),
        (E, E, "ge_post += w", 0.05, 1.0, 20),
        (E, I_, "v_post += w", 0.1, 1.5, 10),
        (I_, E, "gi_post += w", 0.2, -3.0, 0),
    ):
        i, j = _pairs(rng, len(src), len(tgt), p)
        S = brian.Synapses(src, tgt, "w : volt", on_pre=code)
        S.connect(i=i, j=j)
        S.w = w * (0.5 + rng.random(i.size)) * mV
        if dmax:
            S.delay = rng.integers(0, dmax + 1, i.size) * 0.05 * ms
        syn.append(S)
    mons = [brian.SpikeMonitor(E), brian.SpikeMonitor(I_)]
    return brian.Network(E, I_, gen, *syn, *mons), mons, ne


def test_a_brian2_network_of_several_groups_imports_and_runs_spike_for_spike(brian):
    from neurosim.snn.brian2_network import from_brian2_network

    rng = np.random.default_rng(11)
    net_b2, mons, ne = _two_group_network(brian, rng)
    ours_net, v0 = from_brian2_network(net_b2, namespace={})
    assert ours_net.names == ("exc", "inh") and ours_net.input_names == ("drive",)
    assert ours_net.tau_m[ne:].std() > 0  # the per-neuron parameter came through
    ours = P.simulate(ours_net, 1200, v0=v0)
    net_b2.run(60 * brian.ms)
    theirs = _b2_spikes(mons, [0, ne])
    assert len(theirs) > 100
    assert _ours(ours) == theirs
    v1 = v0.copy()  # control: one neuron that fires early starts 2 mV lower
    v1[ours.spike_i[0]] -= 2.0
    assert _ours(P.simulate(ours_net, 1200, v0=v1)) != theirs


def test_what_the_network_importer_cannot_take_is_refused_by_name(brian):
    from neurosim.snn.brian2_import import Brian2ImportError
    from neurosim.snn.brian2_network import from_brian2_network

    ms, mV = brian.ms, brian.mV
    G = brian.NeuronGroup(5, EQS2, threshold="v > Vt", reset="v = Vr", refractory=5 * ms, method="exact",
                          namespace=dict(El=-49 * mV, Vt=-50 * mV, Vr=-60 * mV, taum=20 * ms, taue=5 * ms,
                                         taui=10 * ms))  # fmt: skip
    cases = [
        ([G, brian.PoissonGroup(3, 10 * brian.Hz)], "PoissonGroup"),
        ([G, brian.PoissonInput(G, "ge", 5, 10 * brian.Hz, weight=1 * mV)], "PoissonInput"),
        ([G, brian.NetworkOperation(lambda: None)], "NetworkOperation"),
        ([G, brian.SpikeGeneratorGroup(2, [0], [1] * ms, period=5 * ms)], "periodic SpikeGeneratorGroup"),
        ([G[:2]], "subgroup"),
    ]
    H = brian.NeuronGroup(3, "dv/dt = -(v - El) / taum : volt (unless refractory)\ndge/dt = -ge / tau_s : volt\n"
                          "tau_s : second\ntaum : second", threshold="v > Vt", reset="v = Vr", method="exact",
                          namespace=dict(El=-49 * mV, Vt=-50 * mV, Vr=-60 * mV))  # fmt: skip
    H.taum, H.tau_s = 20 * ms, [1, 2, 3] * ms
    cases.append(([H], "synaptic equation dge/dt"))
    K = brian.NeuronGroup(3, EQS2, threshold="v > Vt", reset="v = Vr", method="euler",
                          namespace=dict(El=-49 * mV, Vt=-50 * mV, Vr=-60 * mV, taum=20 * ms, taue=5 * ms,
                                         taui=10 * ms))  # fmt: skip
    cases.append(([K], "method='euler' for AdEx neurons"))
    mixed = "dv/dt = (ge * (Ee - v) + gi - (v - El)) / taum : volt (unless refractory)\n"
    mixed += "dge/dt = -ge / taue : 1\ndgi/dt = -gi / taui : volt"
    consts = dict(El=-60 * mV, Vt=-50 * mV, Vr=-60 * mV, Ee=0 * mV, taum=20 * ms, taue=5 * ms, taui=10 * ms)
    M = brian.NeuronGroup(3, mixed, threshold="v > Vt", reset="v = Vr", method="exponential_euler", namespace=consts)
    cases.append(([M], "the gi term of the conductance-based"))  # a current beside conductances
    for objs, said in cases:
        with pytest.raises(Brian2ImportError, match=said):
            from_brian2_network(objs, namespace={})


def test_adaptation_imports_and_runs_as_brian2(brian):
    """Spike-frequency adaptation: ``dw/dt = −w/τ_w``, ``−w`` in the membrane equation, ``reset:
    v = V_r; w += b`` — a channel with a spike increment (``reset_add``), integrated exactly with v."""
    from neurosim.snn.brian2_network import from_brian2_network

    ms, mV = brian.ms, brian.mV
    rng = np.random.default_rng(13)
    n = 120
    eqs = """dv/dt = (ge - w - (v - El)) / taum : volt (unless refractory)
    dge/dt = -ge / taue : volt
    dw/dt = -w / tauw : volt"""
    G = brian.NeuronGroup(n, eqs, threshold="v > Vt", reset="v = Vr\nw += b", refractory=2 * ms, method="exact",
                          namespace=dict(El=-45 * mV, Vt=-50 * mV, Vr=-60 * mV, taum=20 * ms, taue=5 * ms,
                                         tauw=100 * ms, b=3 * mV), name="alif")  # fmt: skip
    G.v = (-60 + 10 * rng.random(n)) * mV
    i, j = _pairs(rng, n, n, 0.05)
    S = brian.Synapses(G, G, "w_syn : volt", on_pre="ge_post += w_syn")
    S.connect(i=i, j=j)
    S.w_syn = 0.5 * rng.random(i.size) * mV
    mon = brian.SpikeMonitor(G)
    net_b2 = brian.Network(G, S, mon)
    net, v0 = from_brian2_network([G, S, mon], namespace={})
    k = net.channel_names.index(("alif", "w"))
    assert np.allclose(net.reset_add[:, k], -3.0)  # the increment of −w, in mV
    ours = P.simulate(net, 2000, v0=v0)
    net_b2.run(100 * ms)
    theirs = _b2_spikes([mon], [0])
    busiest = np.bincount(ours.spike_i).argmax()
    isi = np.diff(np.sort(ours.spike_step[ours.spike_i == busiest]))
    assert len(theirs) > 200 and isi.size >= 2 and isi[-1] > isi[0]  # adapting: intervals lengthen
    assert _ours(ours) == theirs
    # control: without the increment (no adaptation) the trains differ, and are denser
    plain = P.build([P.Population("alif", n, tau_m=20.0, E_l=-45.0, refractory=2.0, channels={"ge": 5.0, "w": 100.0})],
                    [P.projection("alif", "alif", i, j, np.asarray(S.w_syn[:] / mV), "ge", dt=0.05)],
                    dt=0.05)  # fmt: skip
    free = P.simulate(plain, 2000, v0=v0)
    assert _ours(free) != theirs and len(free.spike_i) > len(theirs)


def test_coba_with_exponential_euler_as_brian2(brian):
    """Brette et al.'s COBA neuron (conductances relative to the leak, E_e = 0, E_i = −80 mV),
    integrated as Brian2's ``method="exponential_euler"``: the same spikes, driven by the same
    Poisson input (the first 50 ms, and the whole 200 ms); the firing rate and the CV of the
    inter-spike intervals over the whole run."""
    ms, mV = brian.ms, brian.mV
    brian.defaultclock.dt = 0.1 * ms
    rng = np.random.default_rng(17)
    n, n_in, ne = 800, 200, 640
    eqs = """dv/dt = (ge * (Ee - v) + gi * (Ei - v) - (v - El)) / taum : volt (unless refractory)
    dge/dt = -ge / taue : 1
    dgi/dt = -gi / taui : 1"""
    G = brian.NeuronGroup(n, eqs, threshold="v > Vt", reset="v = Vr", refractory=5 * ms, method="exponential_euler",
                          namespace=dict(Ee=0 * mV, Ei=-80 * mV, El=-60 * mV, taum=20 * ms, taue=5 * ms,
                                         taui=10 * ms, Vt=-50 * mV, Vr=-60 * mV))  # fmt: skip
    v0 = -60.0 + 10.0 * rng.random(n)
    G.v = v0 * mV
    drive = P.poisson("drive", n_in, 30.0, 200.0, dt=0.1, seed=3)
    gen = P.to_brian2_generator(drive, brian)
    xi, xj = _pairs(rng, n_in, n, 0.05)
    ei, ej = _pairs(rng, ne, n, 0.02)
    ii, ij = _pairs(rng, n - ne, n, 0.02)
    syn = []
    for src, (i, j), code in ((gen, (xi, xj), "ge_post += 0.3"), (G, (ei, ej), "ge_post += 0.6"),
                              (G, (ii, ij), "gi_post += 6.7")):  # fmt: skip
        S = brian.Synapses(src, G, on_pre=code)
        S.connect(i=i if src is gen or code.startswith("ge") else i + ne, j=j)
        syn.append(S)
    mon = brian.SpikeMonitor(G)
    brian.Network(G, gen, *syn, mon).run(200 * ms)
    pop = P.Population("p", n, tau_m=20.0, E_l=-60.0, channels={"ge": 5.0, "gi": 10.0},
                       reversal={"ge": 0.0, "gi": -80.0})  # fmt: skip
    projs = [P.projection("drive", "p", xi, xj, 0.3, "ge"), P.projection("p", "p", ei, ej, 0.6, "ge"),
             P.projection("p", "p", ii + ne, ij, 6.7, "gi")]  # fmt: skip
    ours = P.simulate(P.build([pop], projs, [drive]), 2000, v0=v0)
    steps = np.rint(np.asarray(mon.t / ms) / 0.1).astype(int)
    theirs = set(zip(steps.tolist(), np.asarray(mon.i).tolist()))
    mine = _ours(ours)
    assert len(theirs) > 500
    early = {x for x in theirs if x[0] < 500}  # the first 50 ms: identical
    assert {x for x in mine if x[0] < 500} == early and len(early) > 50
    assert mine == theirs  # and, measured here, all 200 ms of them (7669 spikes): the same arithmetic

    def stats(pairs):
        by = {}
        for t, i in sorted(pairs):
            by.setdefault(i, []).append(t)
        isis = [np.diff(ts) for ts in by.values() if len(ts) > 2]
        cv = np.mean([d.std() / d.mean() for d in isis]) if isis else 0.0
        return len(pairs) / n / 0.2, cv

    (r1, c1), (r2, c2) = stats(mine), stats(theirs)
    assert abs(r1 - r2) <= 0.02 * r2 and abs(c1 - c2) <= 0.05 * max(c2, 1e-9), (r1, r2, c1, c2)
    cuba = P.Population("p", n, tau_m=20.0, E_l=-60.0, channels={"ge": 5.0, "gi": 10.0})  # control: no reversal
    assert {x for x in _ours(P.simulate(P.build([cuba], projs, [drive]), 2000, v0=v0)) if x[0] < 500} != early
    # the same network imported from the Brian2 objects themselves
    from neurosim.snn.brian2_network import from_brian2_network

    G.v, G.ge, G.gi = v0 * mV, 0, 0  # the state Brian2 started from (it has run since)
    imported, v_imp = from_brian2_network([G, gen, *syn], namespace={})
    assert imported.coba.all() and sorted(imported.e_rev.tolist()) == [-80.0, 0.0]
    assert _ours(P.simulate(imported, 2000, v0=v_imp)) == theirs


def test_an_injected_current_constant_or_per_step_as_brian2(brian):
    """``dv/dt = (I − (v − E_l)) / τ_m`` with I a per-neuron constant plus a sine set at the start
    of every step (Brian2: a parameter and ``run_regularly(..., when="start")``)."""
    ms, mV = brian.ms, brian.mV
    rng = np.random.default_rng(19)
    n, steps = 100, 1000
    off = 8.0 + 6.0 * rng.random(n)  # mV
    G = brian.NeuronGroup(n, "dv/dt = (I - (v - El)) / taum : volt (unless refractory)\nI : volt\noff : volt",
                          threshold="v > Vt", reset="v = Vr", refractory=2 * ms, method="exact",
                          namespace=dict(El=-60 * mV, Vt=-50 * mV, Vr=-60 * mV, taum=15 * ms, a0=4 * mV,
                                         f=40 * brian.Hz))  # fmt: skip
    G.off = off * mV
    G.run_regularly("I = off + a0 * sin(2 * pi * f * t)", when="start")
    v0 = -60.0 + 10.0 * rng.random(n)
    G.v = v0 * mV
    mon = brian.SpikeMonitor(G)
    brian.Network(G, mon).run(steps * 0.05 * ms)
    t = np.arange(steps) * 0.05e-3  # s, as Brian2's t at the start of each step
    cur = off[None, :] + 1e3 * 4e-3 * np.sin(2 * np.pi * 40.0 * t)[:, None]
    net = P.build([P.Population("p", n, tau_m=15.0, E_l=-60.0, refractory=2.0, channels={"e": 5.0})], dt=0.05)
    ours = P.simulate(net, steps, v0=v0, current=cur)
    theirs = _b2_spikes([mon], [0])
    assert len(theirs) > 100
    assert _ours(ours) == theirs
    steady = P.simulate(net, steps, v0=v0, current=off)  # control: the constant part alone
    assert _ours(steady) != theirs
    with pytest.raises(ValueError, match="allowed finite values of shape"):
        P.simulate(net, steps, current=np.zeros((steps, n + 1)))


ALPHA_EQS = """dv/dt = (I - (v - El)) / taum : volt (unless refractory)
dI/dt = (x - I) / taus : volt
dx/dt = -x / taus : volt"""


def _alpha_brian2(brian, n, v0, drive, xi, xj, wi, ri, rj, rw, taus_ms, steps):
    ms, mV = brian.ms, brian.mV
    G = brian.NeuronGroup(n, ALPHA_EQS, threshold="v > Vt", reset="v = Vr", refractory=2 * ms, method="exact",
                          namespace=dict(El=-60 * mV, taum=20 * ms, taus=taus_ms * ms, Vt=-50 * mV,
                                         Vr=-60 * mV))  # fmt: skip
    G.v = v0 * mV
    gen = P.to_brian2_generator(drive, brian)
    S_in = brian.Synapses(gen, G, "w : volt", on_pre="x_post += w")
    S_in.connect(i=xi, j=xj)
    S_in.w = wi * mV
    S_rec = brian.Synapses(G, G, "w : volt", on_pre="x_post += w", delay=0.3 * ms)
    S_rec.connect(i=ri, j=rj)
    S_rec.w = rw * mV
    mon = brian.SpikeMonitor(G)
    from neurosim.snn.brian2_network import from_brian2_network

    imported = from_brian2_network([G, gen, S_in, S_rec], namespace={})  # before the run: its start state
    brian.Network(G, gen, S_in, S_rec, mon).run(steps * brian.defaultclock.dt)
    return set(zip(np.rint(np.asarray(mon.t / ms) / 0.1).astype(int).tolist(), np.asarray(mon.i).tolist())), imported


@pytest.mark.parametrize("taus_ms", [5.0, 12.0])
def test_alpha_currents_as_brian2(brian, taus_ms):
    """Alpha-shaped synaptic currents (Brian2: dI/dt = (x − I)/τ_s, dx/dt = −x/τ_s, x += w) with
    a Poisson drive and delayed recurrent synapses: Brian2's spikes (numpy target, exact
    integration) for 200 ms; the same weights as exponential currents (no alpha) must differ."""
    brian.defaultclock.dt = 0.1 * brian.ms
    rng = np.random.default_rng(5)
    n, n_in, steps = 300, 100, 2000
    v0 = -60.0 + 10.0 * rng.random(n)
    drive = P.poisson("drive", n_in, 40.0, steps * 0.1, dt=0.1, seed=8)
    xi, xj = _pairs(rng, n_in, n, 0.1)
    wi = rng.uniform(4.0, 10.0, xi.size)
    ri, rj = _pairs(rng, n, n, 0.05)
    rw = rng.uniform(-2.0, 2.0, ri.size)
    theirs, (imported, v_imp) = _alpha_brian2(brian, n, v0, drive, xi, xj, wi, ri, rj, rw, taus_ms, steps)

    def ours(alpha):
        pop = P.Population("p", n, tau_m=20.0, E_l=-60.0, refractory=2.0, channels={"x": taus_ms},
                           alpha=("x",) if alpha else ())  # fmt: skip
        projs = [P.projection("drive", "p", xi, xj, wi, "x"), P.projection("p", "p", ri, rj, rw, "x", delay_ms=0.3)]
        return _ours(P.simulate(P.build([pop], projs, [drive]), steps, v0=v0))

    assert len(theirs) > 300
    assert ours(True) == theirs
    assert ours(False) != theirs  # negative control: exponential currents
    # imported from the Brian2 objects: x is the channel the spikes reach, its current alpha-shaped
    assert imported.alpha_feed().max() >= 0
    assert _ours(P.simulate(imported, steps, v0=v_imp)) == theirs


@pytest.mark.parametrize("ts", [5.0, 20.0])
def test_alpha_single_spike_is_the_alpha_function(ts):
    """One input spike of weight w: the current is w (t/τ_s) e^{−t/τ_s}, so v − E_l is its
    leaky integral, computed here by quadrature, at every step — also at τ_s = τ_m, where Brian2's
    exact integrator gives NaN (its closed form divides by τ_m − τ_s; measured, Brian2 2.9)."""
    from scipy.integrate import quad

    tm, w = 20.0, 3.0
    gen = P.generator("in", 1, [0], [0.0], dt=0.1)
    pop = P.Population("p", 1, tau_m=tm, E_l=0.0, V_t=np.inf, V_r=0.0, refractory=0.0, channels={"x": ts}, alpha=("x",))
    res = P.simulate(P.build([pop], [P.projection("in", "p", [0], [0], w, "x")], [gen]), 400, v0=[0.0], record=[0])

    def v_exact(t):  # u' = (I − u)/τ_m, I(s) = w (s/τ_s) e^{−s/τ_s}
        return quad(lambda s: np.exp(-(t - s) / tm) / tm * w * (s / ts) * np.exp(-s / ts), 0.0, t)[0]

    t = (np.arange(400)) * 0.1  # the spike lands at the end of step 0; v after step k is v(k·dt)
    np.testing.assert_allclose(res.v[:, 0], [v_exact(x) for x in t], rtol=1e-9, atol=1e-12)


def test_alpha_errors():
    with pytest.raises(ValueError, match=r"p.alpha.*'y'.*a current channel"):
        P.build([P.Population("p", 2, channels={"x": 5.0}, alpha=("y",))])
    with pytest.raises(ValueError, match=r"p.alpha.*current-based"):
        P.build([P.Population("p", 2, channels={"x": 5.0}, alpha=("x",), reversal={"x": 0.0})])
    with pytest.raises(ValueError, match=r"p.reset_add.*not alpha-shaped"):
        P.build([P.Population("p", 2, channels={"x": 5.0}, alpha=("x",), reset_add={"x": -1.0})])


def test_alpha_import_refusals(brian):
    from neurosim.snn.brian2_network import from_brian2_network

    ms, mV = brian.ms, brian.mV
    ns = dict(El=-60 * mV, taum=20 * ms, taus=5 * ms, tauy=7 * ms, Vt=-50 * mV, Vr=-60 * mV)
    G = brian.NeuronGroup(4, ALPHA_EQS, threshold="v > Vt", reset="v = Vr", method="exact", namespace=ns)
    S = brian.Synapses(G, G, on_pre="I_post += 1*mV")  # onto the current itself, not its feeder
    S.connect(i=[0], j=[1])
    with pytest.raises(ValueError, match=r"on_pre target .I_post.*allowed.*\[.v., .x.\]"):
        from_brian2_network([G, S], namespace={})
    eqs = ALPHA_EQS.replace("dx/dt = -x / taus", "dx/dt = -x / tauy")  # the feeder with its own τ
    H = brian.NeuronGroup(4, eqs, threshold="v > Vt", reset="v = Vr", method="exact", namespace=ns)
    with pytest.raises(ValueError, match=r"alpha current needs .*the same tau"):
        from_brian2_network([H], namespace={})
