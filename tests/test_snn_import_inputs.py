"""The importers take Brian2's input groups and NIR's LI (issue 15, part 3).

``from_brian2_network`` against Brian2 (numpy target): a ``SpikeGeneratorGroup`` (times off the dt
grid moved as Brian2 moves them, a periodic one repeated) gives the same spikes; a ``PoissonGroup``
or ``PoissonInput`` at rate·dt = 1 (every source fires in every step) gives the same spikes too,
which pins their slot, weights and delays; at other rates the draws are Brian2's own, so they are
checked statistically: the imported input's counts against the rate (chi-square and z tests at
α = 10⁻³), and the imported network's firing against Brian2's run of the same network (z test of
the total spike counts, the spread from the counts themselves and never below Poisson's) — each
with a doubled rate as negative control. What cannot be imported is refused by name. ``from_nir``:
an ``LI`` node's voltage follows NIR's closed form and it never fires."""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import brian2_numpy_scope

from neurosim.snn import populations as P

b2 = pytest.importorskip("brian2")
stats = pytest.importorskip("scipy.stats")
from neurosim.snn.brian2_import import Brian2ImportError  # noqa: E402
from neurosim.snn.brian2_network import from_brian2_network  # noqa: E402

ALPHA = 1e-3  # significance of every statistical test here (two-sided)
Z = float(stats.norm.ppf(1 - ALPHA / 2))  # 3.29

EQS = """dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)
dge/dt = -ge / taue : volt
dgi/dt = -gi / taui : volt"""
NS = dict(El=-55 * b2.mV, Vt=-50 * b2.mV, Vr=-60 * b2.mV, taum=20 * b2.ms, taue=5 * b2.ms, taui=10 * b2.ms)


@pytest.fixture()
def brian():
    yield from brian2_numpy_scope(0.05, seed=2024)


def _group(n, name, refractory=2.0, ns=NS):
    G = b2.NeuronGroup(n, EQS, threshold="v > Vt", reset="v = Vr", refractory=refractory * b2.ms, method="exact",
                       namespace=ns, name=name)  # fmt: skip
    G.v = -60 * b2.mV
    return G


def _b2_spikes(mons, offsets, dt=0.05):
    out = set()
    for mon, off in zip(mons, offsets):
        steps = np.rint(np.asarray(mon.t[:] / b2.ms) / dt).astype(int)
        out |= set(zip(steps.tolist(), (np.asarray(mon.i[:]) + off).tolist()))
    return out


def _ours(res):
    return set(zip(res.spike_step.tolist(), res.spike_i.tolist()))


# --- SpikeGeneratorGroup: exact -------------------------------------------------------------------
def test_spike_generators_off_the_grid_and_periodic_run_spike_for_spike(brian):
    ms, mV, dt = brian.ms, brian.mV, 0.05
    rng = np.random.default_rng(1)
    n, n_in = 80, 40
    # times anywhere in [0, 40) ms, and some a hair either side of a step (Brian2 adds 1e-3·dt, then floors)
    k = rng.integers(1, 800, 300)
    t = np.concatenate([rng.random(600) * 40.0, (k - 4e-4) * dt, (k - 2e-3) * dt])
    idx = rng.integers(0, n_in, t.size)
    bins = ((t * 1e-3 + 1e-3 * dt * 1e-3) / (dt * 1e-3)).astype(np.int32)
    _, first = np.unique(np.stack([idx, bins]), axis=1, return_index=True)  # one spike per source and step
    idx, t = idx[first], t[first]
    assert np.mean(np.rint(t / dt) != np.floor(t / dt)) > 0.3  # many times the nearest step would move
    gen = brian.SpikeGeneratorGroup(n_in, idx, t * ms, name="gen")
    per = brian.SpikeGeneratorGroup(5, [0, 1, 2, 3, 4], [0.0, 1.3, 2.52, 4.0, 9.95] * ms, period=10 * ms, name="per")
    G = _group(n, "g")
    G.v = (-60 + 10 * rng.random(n)) * mV
    S1 = brian.Synapses(gen, G, "w : volt", on_pre="ge_post += w", name="s1")
    S1.connect(p=0.2)
    S1.w = "(2 + 2 * rand()) * mV"
    S2 = brian.Synapses(per, G, "w : volt", on_pre="v_post += w", name="s2")
    S2.connect(p=0.5)
    S2.w = 2.5 * mV
    S2.delay = "int(rand() * 20) * 0.05 * ms"
    S3 = brian.Synapses(G, G, "w : volt", on_pre="gi_post += w", delay=0.5 * ms, name="s3")
    S3.connect(p=0.05)
    S3.w = -2 * mV
    mon = brian.SpikeMonitor(G)
    net_b2 = brian.Network(G, gen, per, S1, S2, S3, mon)
    net, v0 = from_brian2_network(net_b2, namespace={}, duration_ms=60.0)
    assert net.input_names == ("gen", "per")
    net_b2.run(60 * ms)
    theirs = _b2_spikes([mon], [0])
    ours = P.simulate(net, 1200, v0=v0)
    assert len(theirs) > 150
    assert _ours(ours) == theirs
    # the periodic group: its five spikes in each of the six 10 ms periods
    g_steps, g_index = _spikes_of(net, "per")
    assert g_steps.size == 30 and sorted(set(g_steps.tolist()))[:5] == [0, 26, 50, 80, 199]
    # controls: each time in its nearest step (not Brian2's), or the periodic spikes given once, differ
    near = _with_input(net, "gen", np.rint(t / dt).astype(np.int64), idx)
    once = _with_input(net, "per", g_steps[g_steps < 200], g_index[g_steps < 200])
    for other in (near, once):
        assert _ours(P.simulate(other, 1200, v0=v0)) != theirs


def _spikes_of(net, name):
    """(steps, local indices) of one input of a built network."""
    k = net.input_names.index(name)
    lo, hi = net.input_offsets[k], net.input_offsets[k + 1]
    m = (net.in_index >= lo) & (net.in_index < hi)
    return net.in_steps[m], net.in_index[m] - lo


def _with_input(net, name, steps, index):
    """The network with one input's spikes replaced (``steps``, local ``index``)."""
    import dataclasses

    k = net.input_names.index(name)
    lo, hi = net.input_offsets[k], net.input_offsets[k + 1]
    keep = (net.in_index < lo) | (net.in_index >= hi)
    st = np.concatenate([net.in_steps[keep], np.asarray(steps, np.int64)])
    ix = np.concatenate([net.in_index[keep], np.asarray(index, np.int64) + lo])
    order = np.lexsort((ix, st))
    return dataclasses.replace(net, in_steps=st[order], in_index=ix[order].astype(np.int32))


# --- PoissonGroup and PoissonInput at rate·dt = 1: exact ------------------------------------------
def test_poisson_group_and_input_firing_every_step_run_spike_for_spike(brian):
    """At rate·dt = 1 every source fires in every step, in Brian2 and here: the same spikes pin the
    slot of the drive, its weights, delays and targets (a subgroup; v, where a refractory target
    drops it)."""
    ms, mV, Hz = brian.ms, brian.mV, brian.Hz
    rng = np.random.default_rng(2)
    n = 60
    G = _group(n, "g", refractory=3.0)
    G.v = (-60 + 10 * rng.random(n)) * mV
    pg = brian.PoissonGroup(20, "(i % 2) * 20000 * Hz", name="pg")  # odd sources always, even never
    S = brian.Synapses(pg, G, "w : volt", on_pre="ge_post += w", name="s")
    S.connect(p=0.1)
    S.w = "0.2 * rand() * mV"
    S.delay = "int(rand() * 10) * 0.05 * ms"
    pi_g = brian.PoissonInput(G[10:50], "gi", 3, 20000 * Hz, weight="-0.05 * mV")
    pi_v = brian.PoissonInput(G, "v", 2, 20000 * Hz, weight=0.06 * mV)
    rec = brian.Synapses(G, G, "w : volt", on_pre="ge_post += w", delay=1 * ms, name="rec")
    rec.connect(p=0.05)
    rec.w = 0.5 * mV
    mon = brian.SpikeMonitor(G)
    net_b2 = brian.Network(G, pg, S, pi_g, pi_v, rec, mon)
    net, v0 = from_brian2_network(net_b2, namespace={}, duration_ms=50 * ms)
    net_b2.run(50 * ms)
    theirs = _b2_spikes([mon], [0])
    ours = P.simulate(net, 1000, v0=v0)
    assert 100 < len(theirs) < 0.5 * n * 1000
    assert _ours(ours) == theirs
    # controls: without the drive onto v, or with it one step late, the trains differ
    v_steps, v_index = _spikes_of(net, pi_v.name)
    for other in (_with_input(net, pi_v.name, [], []), _with_input(net, pi_v.name, v_steps + 1, v_index)):
        assert _ours(P.simulate(other, 1000, v0=v0)) != theirs


# --- PoissonGroup and PoissonInput: statistically equal -------------------------------------------
def _counts_ok(counts, expected, var):
    """(chi-square of the per-source counts, its two-sided bounds, z of the total) under H0."""
    x2 = float(np.sum((counts - expected) ** 2 / var))
    lo, hi = stats.chi2.ppf(ALPHA / 2, counts.size), stats.chi2.ppf(1 - ALPHA / 2, counts.size)
    z = float((counts.sum() - expected.sum()) / np.sqrt(var.sum()))
    return lo < x2 < hi and abs(z) < Z, (x2, lo, hi, z)


def test_an_imported_poisson_group_fires_at_its_rates(brian):
    """Per-source counts of the imported input (200 sources, rates 10, 30, 50 Hz by ``i % 3``, 2 s at
    0.1 ms) against Binomial(steps, rate·dt): the dispersion (chi-square, 200 degrees of freedom)
    and the total (z), both at α = 10⁻³; the control, a group at twice the rates, is rejected."""
    brian.defaultclock.dt = 0.1 * brian.ms
    G = _group(5, "g")
    pg = brian.PoissonGroup(200, "(10 + 20 * (i % 3)) * Hz", name="pg")
    fast = brian.PoissonGroup(200, "(20 + 40 * (i % 3)) * Hz", name="fast")
    steps = 20000
    rate = (10 + 20 * (np.arange(200) % 3)) * 1e-4  # per step
    for k, (group, ok) in enumerate(((pg, True), (fast, False))):
        net, _ = from_brian2_network([G, group], namespace={}, seed=k, duration_ms=2000.0)
        counts = np.bincount(net.in_index, minlength=200).astype(float)
        good, info = _counts_ok(counts, steps * rate, steps * rate * (1 - rate))
        assert bool(good) == ok, info
        assert net.in_steps.max() < steps
    a, _ = from_brian2_network([G, pg], namespace={}, seed=3, duration_ms=2000.0)
    b, _ = from_brian2_network([G, pg], namespace={}, seed=3, duration_ms=2000.0)
    c, _ = from_brian2_network([G, pg], namespace={}, seed=4, duration_ms=2000.0)
    assert np.array_equal(a.in_steps, b.in_steps) and not np.array_equal(a.in_steps, c.in_steps)  # the seed


def test_an_imported_poisson_input_adds_binomial_counts(brian):
    """Per-step, per-neuron counts of an imported ``PoissonInput(G, "ge", 50, 20 Hz)`` (p = 0.002,
    100 neurons × 20000 steps) against Binomial(50, p): a chi-square goodness of fit over the
    counts 0, 1, 2, ≥ 3 at α = 10⁻³; the control, 40 Hz, is rejected."""
    brian.defaultclock.dt = 0.1 * brian.ms
    n, N, steps = 100, 50, 20000
    G = _group(n, "g")
    for rate, ok in ((20.0, True), (40.0, False)):
        pi = brian.PoissonInput(G, "ge", N, rate * brian.Hz, weight=1 * brian.mV)
        net, _ = from_brian2_network([G, pi], namespace={}, duration_ms=2000.0)
        m = (net.in_indptr.size - 1) // n  # event slots per neuron
        assert np.array_equal(net.in_indices, np.repeat(np.arange(n), m)) and np.allclose(net.in_weights, 1.0)
        per = np.bincount(net.in_steps * n + net.in_index // m, minlength=steps * n)
        observed = np.bincount(np.minimum(per, 3), minlength=4)
        pmf = stats.binom.pmf([0, 1, 2], N, 0.002)
        expected = steps * n * np.append(pmf, 1 - pmf.sum())
        p_value = stats.chisquare(observed, expected).pvalue
        assert bool(p_value > ALPHA) == ok, (rate, observed, expected, p_value)
        pi.active = False


def _rates(counts_a, counts_b):
    """z of the difference of two totals of independent neurons' counts; each neuron's variance the
    larger of the counts' sample variance and their mean (Poisson's)."""
    n = counts_a.size
    var = max(counts_a.var(ddof=1), counts_a.mean()) + max(counts_b.var(ddof=1), counts_b.mean())
    return float((counts_a.sum() - counts_b.sum()) / np.sqrt(n * var))


def test_imported_poisson_drives_fire_the_network_as_brian2_does(brian):
    """Two groups of 200 independent neurons, one driven by a ``PoissonGroup`` (5 sources each,
    ``Synapses`` with j = i // 5), one by a ``PoissonInput`` (50 sources each), 2 s at 0.1 ms in
    Brian2 and imported: per group the total spike count agrees within Z·σ (α = 10⁻³, σ from the
    counts' spread); the controls, either drive at twice its rate, differ by more."""
    ms, mV, Hz = brian.ms, brian.mV, brian.Hz
    brian.defaultclock.dt = 0.1 * ms
    n = 200

    def network(rate_pg, rate_pi):
        brian.start_scope()
        G1, G2 = _group(n, "g1"), _group(n, "g2")
        pg = brian.PoissonGroup(5 * n, rate_pg * Hz, name="pg")
        S = brian.Synapses(pg, G1, "w : volt", on_pre="ge_post += w", name="s")
        S.connect(j="i // 5")
        S.w = 4 * mV
        pi = brian.PoissonInput(G2, "ge", 50, rate_pi * Hz, weight=4 * mV)
        mons = [brian.SpikeMonitor(G1), brian.SpikeMonitor(G2)]
        return brian.Network(G1, G2, pg, S, pi, *mons), mons

    def counts(spike_i):
        return np.bincount(spike_i[spike_i < n], minlength=n), np.bincount(spike_i[spike_i >= n] - n, minlength=n)

    net_b2, mons = network(40.0, 4.0)
    net, v0 = from_brian2_network(net_b2, namespace={}, seed=0, duration_ms=2000.0)
    net_b2.run(2000 * ms)
    theirs = counts(np.concatenate([np.asarray(mons[0].i), np.asarray(mons[1].i) + n]))
    ours = counts(P.simulate(net, 20000, v0=v0).spike_i)
    z = [_rates(a, b) for a, b in zip(ours, theirs)]
    assert all(c.mean() > 10 for c in theirs), [c.mean() for c in theirs]  # > 5 Hz: enough spikes to test
    assert all(abs(x) < Z for x in z), z
    for rates, k in (((80.0, 4.0), 0), ((40.0, 8.0), 1)):  # controls: one drive doubled
        fast, _ = network(*rates)
        net2, v2 = from_brian2_network(fast, namespace={}, seed=1, duration_ms=2000.0)
        z2 = _rates(counts(P.simulate(net2, 20000, v0=v2).spike_i)[k], theirs[k])
        assert z2 > Z, (rates, z2)


# --- refusals ---------------------------------------------------------------------------------------
def _refusals(brian):
    ms, mV, Hz = brian.ms, brian.mV, brian.Hz
    G = _group(10, "g")
    ta = brian.TimedArray([10, 20] * Hz, dt=10 * ms)
    pg_rr = brian.PoissonGroup(3, 10 * Hz, name="pg_rr")
    pg_rr.run_regularly("rates = 20*Hz", dt=1 * ms)
    pg_end = brian.PoissonGroup(3, 10 * Hz, name="pg_end")  # PoissonGroup(when=...) is not used: its thresholder's
    pg_end.thresholder["spike"].when = "end"
    other = _group(2, "other")
    H = brian.NeuronGroup(4, EQS + "\nx : volt", threshold="v > Vt", reset="v = Vr", method="exact", namespace=NS,
                          name="h")  # fmt: skip
    return [
        (
            [G, brian.PoissonGroup(3, 10 * Hz, name="pg")],
            {},
            "PoissonGroup 'pg' (its spikes are drawn before the run: pass duration_ms=",
        ),
        (
            [G, brian.PoissonGroup(3, "10*Hz + 5*Hz*sin(2*pi*t*4*Hz)", name="pg_t")],
            {"duration_ms": 10},
            "the rate expression '10*Hz + 5*Hz*sin(2*pi*t*4*Hz)' of PoissonGroup 'pg_t' ('t' changes during the run",
        ),
        (
            [G, brian.PoissonGroup(3, "ta(t)", name="pg_ta", namespace={"ta": ta})],
            {"duration_ms": 10},
            "PoissonGroup 'pg_ta' ('ta' (TimedArray) varies in time or is random",
        ),
        (
            [G, brian.PoissonGroup(3, "rand() * 10 * Hz", name="pg_rand")],
            {"duration_ms": 10},
            "PoissonGroup 'pg_rand' ('rand' (Function) varies in time or is random",
        ),
        ([G, pg_rr], {"duration_ms": 10}, "run_regularly code on PoissonGroup 'pg_rr'"),
        ([G, pg_end], {"duration_ms": 10}, "PoissonGroup 'pg_end' in the 'end' slot"),
        (
            [G, brian.PoissonGroup(3, 10 * Hz, dt=0.1 * ms, name="pg_dt")],
            {"duration_ms": 10},
            "PoissonGroup 'pg_dt' with dt = 0.1 ms",
        ),
        (
            [G, brian.PoissonInput(G, "ge", 5, 10 * Hz, weight=1 * mV)],
            {},
            "PoissonInput '{name}' (its spikes are drawn before the run: pass duration_ms=",
        ),
        (
            [G, brian.PoissonInput(G, "ge", 2000, 100 * Hz, weight=1 * mV)],
            {"duration_ms": 10},
            "PoissonInput '{name}' with N·p = 2000·0.005 = 10 > 5 (Brian2 then draws its increments from a normal "
            "approximation, not whole numbers of events; export it as a PoissonGroup(N·n, rate) + Synapses",
        ),
        (
            [G, brian.PoissonInput(G, "ge", 1000, 10 * Hz, weight=1 * mV)],
            {"duration_ms": 1e6},
            "PoissonInput '{name}' of 1000 sources × 10 neurons × 20000000 steps (1e+08 expected events, 2e+08 "
            "neuron-steps; the limits: 2e+07 events, 2e+08 neuron-steps) (its events are drawn before the run: import "
            "a shorter duration_ms, or give fewer sources (a PoissonGroup + Synapses)",
        ),
        (
            [G, brian.PoissonInput(G, "ge", 1, 30000 * Hz, weight=1 * mV)],
            {"duration_ms": 10},
            "PoissonInput '{name}' with rate·dt = 1.5 (a probability in [0, 1])",
        ),
        (
            [G, brian.PoissonInput(other, "ge", 5, 10 * Hz, weight=1 * mV)],
            {"duration_ms": 10},
            "PoissonInput '{name}' onto 'other' (the target must be an imported NeuronGroup)",
        ),
        (
            [G, brian.PoissonGroup(3, -5 * Hz, name="pg_neg")],
            {"duration_ms": 10},
            "the rates of PoissonGroup 'pg_neg' (rate_hz[0]=-5.0 is invalid: allowed finite rates >= 0",
        ),
        (
            [H, brian.PoissonInput(H, "x", 5, 10 * Hz, weight=1 * mV)],
            {"duration_ms": 10},
            "PoissonInput '{name}' onto 'x' of 'h' (allowed: ['v', 'ge', 'gi'])",
        ),
        (
            [G, brian.PoissonInput(G, "ge", 5, 10 * Hz, weight="v * 0.1")],
            {"duration_ms": 10},
            "the weight 'v * 0.1' of PoissonInput '{name}'",
        ),
        (
            [G, brian.PoissonInput(G, "ge", 5, 10 * Hz, weight=1 * mV, when="start")],
            {"duration_ms": 10},
            "PoissonInput '{name}' in the 'start' slot",
        ),
        (
            [G, brian.SpikeGeneratorGroup(2, [0], [1] * ms, period=5 * ms, name="per")],
            {},
            "the periodic SpikeGeneratorGroup 'per' (its spikes repeat for ever) (its spikes are drawn",
        ),
        (
            [G, brian.SpikeGeneratorGroup(2, [0], [1] * ms, period=5.01 * ms, name="per2")],
            {"duration_ms": 10},
            "the periodic SpikeGeneratorGroup 'per2' with a period of 5.01 ms (a multiple of dt)",
        ),
        (
            [G, brian.SpikeGeneratorGroup(2, [0, 0], [1, 1.02] * ms, name="twice")],
            {},
            "the spikes of SpikeGeneratorGroup 'twice' (times_ms=1.0 is invalid: allowed one spike per source and "
            "step (source 0 twice)",
        ),
        (
            [G, brian.SpikeGeneratorGroup(2, [0], [1] * ms, dt=0.1 * ms, name="gen_dt")],
            {},
            "SpikeGeneratorGroup 'gen_dt' with dt = 0.1 ms",
        ),
    ]


def test_what_cannot_be_imported_is_refused_by_name(brian):
    for objs, kw, said in _refusals(brian):
        with pytest.raises(Brian2ImportError) as e:
            from_brian2_network(objs, namespace={}, **kw)
        said = said.replace("{name}", objs[-1].name)  # a PoissonInput's name is Brian2's own
        assert said in str(e.value), (said, str(e.value))
    G = _group(3, "g2")
    for seed in (-1, 1.5, True):
        with pytest.raises(ValueError, match=re.escape(f"seed={seed!r} is invalid: allowed an integer >= 0")):
            from_brian2_network([G], namespace={}, seed=seed)


def test_the_single_group_importer_points_to_the_network_importer(brian):
    from neurosim.snn import from_brian2

    G = _group(4, "g")
    feed = brian.PoissonInput(G, "ge", 5, 10 * brian.Hz, weight=1 * brian.mV)
    said = f"PoissonInput {feed.name!r}.*from_brian2_network imports SpikeGeneratorGroup, PoissonGroup and PoissonInput"
    with pytest.raises(Brian2ImportError, match=said):
        from_brian2(G, [], namespace=NS)


# --- NIR: LI --------------------------------------------------------------------------------------
nir = pytest.importorskip("nir")


def _li_graph(tau=0.02, r=1.5, v_leak=0.3, w=2.0, then=None):
    nodes = {"in": nir.Input(input_type={"input": np.array([1])}), "w": nir.Linear(weight=np.array([[w]])),
             "li": nir.LI(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([v_leak])),
             "out": nir.Output(output_type={"output": np.array([1])})}  # fmt: skip
    edges = [("in", "w"), ("w", "li"), ("li", "out")]
    if then is not None:
        nodes.update(w2=nir.Linear(weight=np.array([[1.0]])), n=then)
        edges += [("li", "w2"), ("w2", "n")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def _li_run(graph, times=(1.0, 12.0)):
    from neurosim.snn.nir_import import from_nir

    inp = P.generator("in", 1, [0] * len(times), list(times), dt=0.1)
    net, leak = from_nir(graph, inputs={"in": inp}, dt=0.1)
    return P.simulate(net, 400, v0=leak, record=[0])


def test_a_nir_li_neuron_follows_the_exponential_and_never_fires():
    """τ dv/dt = (v_leak − v) + R·I: each input spike of weight w a jump R·w/τ, then decay to
    v_leak with τ — to 1e-12 — and no spike however high v goes (w = 10⁶: v ≈ 7.5·10⁷)."""
    tau, r, v_leak, w = 0.02, 1.5, 0.3, 2.0
    k = np.arange(400)
    want = v_leak + sum(np.where(k >= s, r * w / tau * np.exp(-(k - s) * 0.1 / (tau * 1e3)), 0.0) for s in (10, 120))
    res = _li_run(_li_graph(tau, r, v_leak, w))
    assert np.allclose(res.v[:, 0], want, rtol=1e-12, atol=1e-12)
    assert res.spike_i.size == 0
    assert not np.allclose(_li_run(_li_graph(2 * tau, r, v_leak, w)).v[:, 0], want)  # control: another τ
    big = _li_run(_li_graph(tau, r, v_leak, 1e6))
    assert big.v.max() > 7e7 and big.spike_i.size == 0
    lif = nir.LIF(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([v_leak]), v_threshold=np.array([1e3]),
                  v_reset=np.array([0.0]))  # fmt: skip
    g = _li_graph(tau, r, v_leak, 1e6)
    g.nodes["li"] = lif
    assert _li_run(g).spike_i.size > 0  # control: a LIF in its place, with the same input, fires
    # a readout of spiking neurons: LIF -> Linear(0.5) -> LI jumps by R·0.5/τ in the step the LIF fires
    from neurosim.snn.nir_import import from_nir

    fire = nir.LIF(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([0.0]), v_threshold=np.array([100.0]),
                   v_reset=np.array([0.0]))  # fmt: skip
    ro = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([1])}),
                             "w": nir.Linear(weight=np.array([[w]])), "n": fire,
                             "w2": nir.Linear(weight=np.array([[0.5]])), "li": _li_graph().nodes["li"]},
                      edges=[("in", "w"), ("w", "n"), ("n", "w2"), ("w2", "li")])  # fmt: skip
    net, leak = from_nir(ro, inputs={"in": P.generator("in", 1, [0], [1.0], dt=0.1)}, dt=0.1)
    res = P.simulate(net, 100, v0=leak, record=[1])
    assert res.spike_i.tolist() == [0] and res.spike_step.tolist() == [11]
    want = np.where(k[:100] >= 11, v_leak + r * 0.5 / tau * np.exp(-(k[:100] - 11) * 0.1 / (tau * 1e3)), v_leak)
    assert np.allclose(res.v[:, 0], want, rtol=1e-12, atol=1e-12)


def test_an_li_node_driving_a_neuron_and_an_infinite_constant_other_than_v_t_are_refused():
    from neurosim.snn.nir_import import NIRImportError, from_nir

    lif = nir.LIF(tau=np.array([0.02]), r=np.array([1.0]), v_leak=np.array([0.0]), v_threshold=np.array([1.0]),
                  v_reset=np.array([0.0]))  # fmt: skip
    with pytest.raises(NIRImportError, match=re.escape("node 'li' (LI) is not supported as an input of 'n' (LIF): "
                                                       "an LI node has no spikes")):  # fmt: skip
        from_nir(_li_graph(then=lif))
    with pytest.raises(ValueError, match=re.escape("p.E_l=inf is invalid: allowed finite numbers")):
        P.build([P.Population("p", 2, E_l=np.inf)])
    with pytest.raises(ValueError, match=re.escape("p.V_t=-inf is invalid: allowed finite numbers")):
        P.build([P.Population("p", 2, V_t=-np.inf)])
    assert P.build([P.Population("p", 2, V_t=[np.inf, -50.0])]).V_t[0] == np.inf
