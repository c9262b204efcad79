"""The mapper: multicast traffic, learning-aware capacity, every method validated, infeasible
inputs explained, learning state changing the answer."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neurosim as ns
import neurosim.mapping as nm
from neurosim.hardware.layout import CoreUnits, Layout, Units
from neurosim.mapping import partition as P
from neurosim.mapping import place

LOIHI = ns.hardware.load_profile("loihi")
needs_metis = pytest.mark.skipif(not P._have_module("pymetis"), reason="pymetis is not installed (neurosim[mapping])")
METHODS = [m if m != "metis" else pytest.param(m, marks=needs_metis) for m in nm.METHODS]


def sheet(side: int = 12, per: int = 12, seed: int = 0) -> nm.Graph:
    """A side × side sheet, each unit reaching ``per`` of its nearest sites, ids shuffled."""
    rng = np.random.default_rng(seed)
    n = side * side
    xy = np.stack(np.divmod(np.arange(n), side), 1)
    perm = rng.permutation(n)
    rows = [None] * n
    for i in range(n):
        d = np.abs(xy - xy[i]).sum(1).astype(float) + rng.random(n) * 0.1
        d[i] = np.inf
        rows[perm[i]] = np.sort(perm[np.argsort(d)[:per]])
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    return nm.Graph((("sheet", n),), (nm.Projection(0, 0, indptr, np.concatenate(rows).astype(np.int64)),))


def small_loihi(per_tile: int = 1, neurons: int = 64, axons_out: int | None = None):
    """Loihi with one core per tile and 64 neurons per core: many cores on the mesh, so
    placement matters on small test networks."""
    import tomllib

    data = tomllib.loads((ns.hardware.profile.PROFILE_DIR / "loihi.toml").read_text())
    data["chip"]["cores_per_tile"]["value"] = per_tile
    data["core"]["max_neurons"]["value"] = neurons
    if axons_out is not None:
        data["core"]["max_axons_out"]["value"] = axons_out
    return ns.hardware.parse(data, "small-loihi")


def brute_packets(graph: nm.Graph, part: np.ndarray, rate: np.ndarray) -> float:
    """Per unit, its rate × the number of other cores holding one of its targets (the definition)."""
    off, sizes, total = graph.offsets, graph.sizes, 0.0
    targets: dict[int, set] = {}
    for p in graph.projections:
        for j in range(sizes[p.src]):
            targets.setdefault(off[p.src] + j, set()).update((p.targets(j, sizes[p.dst]) + off[p.dst]).tolist())
    if graph.readout:
        top = len(sizes) - 1
        for j in range(sizes[top]):
            targets.setdefault(off[top] + j, set()).add(int(off[top]))
    for u, ts in targets.items():
        total += rate[u] * len({int(part[t]) for t in ts} - {int(part[u])})
    return total


# --- the objective ------------------------------------------------------------------------------
def test_connectivity_counts_packets_exactly_and_an_edge_cut_does_not():
    g = sheet(8, 6)
    ptr, pins = g.pins()
    rng = np.random.default_rng(1)
    rate = rng.random(g.n_units)
    for k in (2, 3, 5):
        part = rng.integers(0, k, g.n_units)
        assert P.connectivity(part, ptr, pins, rate) == pytest.approx(brute_packets(g, part, rate))
        # negative control: the edge cut (one per synapse crossing cores) over-counts multicast
        src = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
        cut = float((rate[src] * (part[src] != part[pins])).sum())
        assert cut > brute_packets(g, part, rate) * 1.2


def test_model_graph_reads_connectivity_as_the_hardware_does():
    m = ns.models.make("rnn", n_in=3, n_out=2, n_hidden=20, n_layers=2, density=0.2)
    g = nm.from_model(m)
    assert g.sizes == [20, 20]
    mask = m.param_masks()["layer0.W"]  # W[post, pre]
    rec = next(p for p in g.projections if p.src == 0 and p.dst == 0)
    for j in range(20):
        assert set(rec.targets(j, 20)) == set(np.flatnonzero(mask[:, j]))
    assert any(p.dense and (p.src, p.dst) == (0, 1) for p in g.projections)
    lif = nm.from_model(ns.models.make("lif", n_in=3, n_out=2, n_hidden=6))
    assert set(lif.projections[0].targets(2, 6)) == {0, 1, 3, 4, 5}  # no autapse
    lru = nm.from_model(ns.models.make("lru", n_in=3, n_out=2, n_hidden=4, n_layers=2))
    assert [(p.src, p.dst) for p in lru.projections] == [(0, 1)]  # the diagonal recurrence couples nothing


def test_plain_graph_form_from_a_weight_matrix():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(30, 30)) * (rng.random((30, 30)) < 0.2)  # pre × post
    np.fill_diagonal(w, 0.0)
    proj = nm.csr(0, 0, w)
    for j in range(30):
        assert set(proj.targets(j, 30)) == set(np.flatnonzero(w[j]))
        assert np.allclose(proj.weights[proj.indptr[j] : proj.indptr[j + 1]], w[j][w[j] != 0])
    g = nm.Graph((("g", 30),), (proj,))
    model = nm.as_model(g)  # an rnn whose structural mask is the projection: W[post, pre]
    assert np.array_equal(model.param_masks()["layer0.W"], (w != 0).T)
    res = nm.map_network(g, small_loihi(neurons=8))
    assert nm.problems(res.layout, model, small_loihi(neurons=8), graph=g) == []
    with pytest.raises(nm.GraphError, match="one group"):
        nm.as_model(nm.Graph((("a", 3), ("b", 3)), (nm.Projection(0, 1, dense=True),)))


# --- every method, validated ----------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_a_valid_layout_the_budget_accepts(method):
    m = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=300, n_layers=2, density=0.1)
    rule = ns.rules.make("snap1")
    res = nm.map_network(m, LOIHI, rule=rule, method=method, seed=3)
    assert nm.problems(res.layout, m, LOIHI, rule) == []
    assert ns.hardware.budget(m, rule, LOIHI, res.layout).fits
    again = nm.map_network(m, LOIHI, rule=rule, method=method, seed=3)
    assert again.to_json() == res.to_json()  # deterministic for a seed
    d = json.loads(res.to_json())
    assert Layout.from_dict(d["layout"]) == res.layout
    assert d["report"]["cores_used"] == len(res.layout.cores)


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["rnn", "lif", "alif", "gru", "lru"]),
    n=st.integers(4, 120),
    layers=st.integers(1, 2),
    density=st.sampled_from([0.05, 0.3, 1.0]),
    profile=st.sampled_from(["loihi", "loihi2", "spinnaker2", "tianjic", "small"]),
    rule=st.sampled_from([None, "snap1", "eprop"]),
    method=st.sampled_from(
        ["round_robin", "greedy", "hypergraph", "auto"] + (["metis"] if P._have_module("pymetis") else [])
    ),
)
def test_property_every_layout_passes_the_validator(kind, n, layers, density, profile, rule, method):
    spiking = kind in ("lif", "alif")
    opts = {} if spiking else {"n_layers": layers} if kind == "lru" else {"n_layers": layers, "density": density}
    model = ns.models.make(kind, n_in=3, n_out=2, n_hidden=n, **opts)
    r = None if rule is None else ns.rules.make(rule if spiking or rule != "eprop" else "snap1")
    if r is not None and not r.accepts(model):
        r = None
    prof = small_loihi(2, 32) if profile == "small" else ns.hardware.load_profile(profile)
    try:
        res = nm.map_network(model, prof, rule=r, method=method, seed=0, time_limit_s=2)
    except nm.MappingInfeasible as e:
        assert e.culprits  # refused inputs name their culprits
        return
    assert nm.problems(res.layout, model, prof, r) == []


def test_a_broken_layout_fails_the_validator():
    m = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=800, density=0.2)
    rule = ns.rules.make("snap1")
    res = nm.map_network(m, LOIHI, rule=rule, method="greedy")
    assert len(res.layout.cores) >= 2 and nm.problems(res.layout, m, LOIHI, rule) == []
    # a route dropped
    dropped = Layout(res.layout.cores, res.layout.kind, res.layout.routes[1:])
    assert any("no route" in p for p in nm.problems(dropped, m, LOIHI, rule))
    # every unit on one core: the synapse memory overflows
    one = Layout((CoreUnits(0, 0, 0, ((0, Units.range(0, 800)),)),))
    assert any("synapse" in p for p in nm.problems(one, m, LOIHI, rule))
    # a unit on no core
    c0 = res.layout.cores[0]
    lay, u = c0.layers[0]
    short = Layout((CoreUnits(0, c0.x, c0.y, ((lay, Units.of(u.array()[1:])),)),) + res.layout.cores[1:])
    assert nm.problems(short, m, LOIHI, rule)
    with pytest.raises(nm.MappingError):
        nm.validate(dropped, m, LOIHI, rule)


# --- quality ------------------------------------------------------------------------------------
def test_auto_beats_the_baselines_on_a_structured_network():
    g = sheet(20, 12)
    model = nm.as_model(g)
    prof = small_loihi()  # small cores: many of them, so placement matters
    rule = ns.rules.make("snap1")
    methods = ("greedy", "round_robin", "hypergraph", "auto") + (("metis",) if P._have_module("pymetis") else ())
    reps = {m: nm.map_network(g, prof, rule=rule, method=m).report for m in methods}
    for m, r in reps.items():
        assert r["fits"], m
    assert reps["auto"]["cores_used"] <= reps["greedy"]["cores_used"]
    for m in methods:
        assert reps["auto"]["packet_hops_per_step"] <= reps[m]["packet_hops_per_step"], m
    assert reps["auto"]["packet_hops_per_step"] <= 0.55 * reps["greedy"]["packet_hops_per_step"]
    if "metis" in reps:  # the issue's target against METIS with cores in part order
        assert reps["auto"]["packet_hops_per_step"] <= 0.75 * reps["metis"]["packet_hops_per_step"]
    assert nm.problems(nm.map_network(g, prof, rule=rule).layout, model, prof, rule, graph=g) == []


def test_activity_weights_the_objective():
    """Units that fire 50× more are kept with their targets: the rate-weighted partition sends
    fewer packets under those rates than the partition that ignores them (negative control:
    under uniform rates it is no better than the uniform one)."""
    g = sheet(16, 10, seed=2)
    prof = small_loihi()
    rule = ns.rules.make("snap1")
    rng = np.random.default_rng(0)
    hot = rng.random(g.n_units) < 0.1
    rate = np.where(hot, 50.0, 1.0)
    ptr, pins = g.pins()
    weighted = nm.map_network(g, prof, rule=rule, activity=rate).layout.core_of(0, g.n_units)
    uniform = nm.map_network(g, prof, rule=rule).layout.core_of(0, g.n_units)
    assert P.connectivity(weighted, ptr, pins, rate) < P.connectivity(uniform, ptr, pins, rate)
    ones = np.ones(g.n_units)
    assert P.connectivity(uniform, ptr, pins, ones) <= P.connectivity(weighted, ptr, pins, ones)


def test_report_traffic_matches_a_recount_over_the_routes():
    g = sheet(10, 8)
    prof = small_loihi()
    res = nm.map_network(g, prof, rule=ns.rules.make("snap1"), method="auto")
    r = res.report
    part = res.layout.core_of(0, g.n_units)
    rate = np.ones(g.n_units)
    assert r["packets_per_step"] == pytest.approx(brute_packets(g, part, rate))
    # packet-hops = Σ over routes of (its hops × packets on it); loads summed over links equal it
    ptr, pins = g.pins()
    T = P.traffic(part, ptr, pins, rate, len(res.layout.cores))
    hops = sum(T[rt.src, rt.dst] * (len(rt.tiles) - 1) for rt in res.layout.routes)
    assert r["packet_hops_per_step"] == pytest.approx(hops)
    sites = np.array([c.site for c in res.layout.cores])
    assert sum(place.link_loads(T, sites).values()) == pytest.approx(hops)
    assert r["routing_entries"] == [int((T[c] > 0).sum()) for c in range(T.shape[0])]


def test_annealing_never_loses_to_part_order_placement():
    rng = np.random.default_rng(0)
    T = rng.random((12, 12)) * (rng.random((12, 12)) < 0.3)
    np.fill_diagonal(T, 0)
    prof = ns.hardware.load_profile("tianjic")
    D = place.hops(place.tile_sites(prof))
    base = place.part_order(prof, 12)
    best = place.anneal(T, prof, seed=0)
    assert (T * D[best][:, best]).sum() <= (T * D[base][:, base]).sum()
    assert np.bincount(best).max() <= prof.chip.cores_per_tile
    # the annealer's vectorised link load equals the route walk's
    tl = best
    a_nz, b_nz = np.nonzero(T)
    sites = place.tile_sites(prof)
    walked = max(place.link_loads(T, sites[tl]).values())
    fast = place.max_load(T[a_nz, b_nz], sites[tl[a_nz]], sites[tl[b_nz]], prof.chip.mesh_width, prof.chip.mesh_height)
    assert fast == pytest.approx(walked)
    for a, b in [((0, 0), (3, 2)), ((4, 1), (1, 5))]:
        path = place.xy_route(a, b)
        assert len(path) - 1 == abs(a[0] - b[0]) + abs(a[1] - b[1])


def test_annealing_finds_the_optimum_of_a_small_placement():
    """Oracle: every placement of 5 cores on a 3 × 2 mesh (one core per tile) enumerated; the
    annealer reaches the best (packet-hops, max link load), lexicographically."""
    import itertools
    import tomllib

    data = tomllib.loads((ns.hardware.profile.PROFILE_DIR / "loihi.toml").read_text())
    data["chip"]["cores_per_tile"]["value"] = 1
    data["chip"]["mesh_width"]["value"], data["chip"]["mesh_height"]["value"] = 3, 2
    prof = ns.hardware.parse(data, "loihi-3x2")
    rng = np.random.default_rng(4)
    T = np.round(rng.random((5, 5)) * (rng.random((5, 5)) < 0.6) * 10)
    np.fill_diagonal(T, 0)
    sites = place.tile_sites(prof)
    D = place.hops(sites)
    a_nz, b_nz = np.nonzero(T)

    def J(tile):
        tile = np.asarray(tile)
        load = place.max_load(T[a_nz, b_nz], sites[tile[a_nz]], sites[tile[b_nz]], 3, 2)
        return (float((T * D[tile][:, tile]).sum()), load)

    best = min(J(p) for p in itertools.permutations(range(6), 5))
    assert J(place.anneal(T, prof, seed=0)) == pytest.approx(best)
    assert J(place.anneal(T, prof, seed=1)) == pytest.approx(best)
    assert J(place.part_order(prof, 5)) > best  # negative control: part order is not optimal here


def test_fallback_partitioner_without_kahypar(monkeypatch):
    monkeypatch.setattr(P, "have_kahypar", lambda: False)
    g = sheet(12, 8)
    model = nm.as_model(g)
    rule = ns.rules.make("snap1")
    prof = small_loihi()
    res = nm.map_network(g, prof, rule=rule, method="hypergraph")
    greedy = nm.map_network(g, prof, rule=rule, method="greedy")
    assert nm.problems(res.layout, model, prof, rule, graph=g) == []
    assert res.report["packets_per_step"] < greedy.report["packets_per_step"]


# --- learning state changes the answer -----------------------------------------------------------
def test_per_synapse_traces_need_more_cores_than_per_neuron_traces():
    m = ns.models.make("lif", n_in=40, n_out=2, n_hidden=600)
    per_neuron = nm.map_network(m, LOIHI, rule=ns.rules.make("eprop", filter=False))
    per_synapse = nm.map_network(m, LOIHI, rule=ns.rules.make("eprop"))
    inference = nm.map_network(m, LOIHI, rule=None)
    a, b = per_neuron.report, per_synapse.report
    assert inference.report["cores_used"] <= a["cores_used"] < b["cores_used"]
    assert b["deciding_region"] == "synapse"  # weights and per-synapse ē share the synapse memory
    # the same counts from the budget's own per-core bits: the synapse bits per unit decide
    bud = ns.hardware.budget(m, ns.rules.make("eprop"), LOIHI, per_synapse.layout)
    assert bud.fits and max(r.used_bits / r.capacity_bits for r in bud.regions if r.region == "synapse") > 0.8
    # negative control: the per-synapse rule's core count does not fit the per-neuron layout
    assert not ns.hardware.budget(m, ns.rules.make("eprop"), LOIHI, per_neuron.layout).fits


# --- infeasible inputs ------------------------------------------------------------------------------
def test_learning_state_that_fits_no_core_names_the_units_and_the_largest_size():
    prof = ns.hardware.load_profile("tianjic")
    m = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=200)
    with pytest.raises(nm.MappingInfeasible) as e:
        nm.map_network(m, prof, rule=ns.rules.make("rtrl"))
    err = e.value
    c = err.culprits[0]
    assert c.layer == 0 and c.region == "fcore_sram" and c.needed > c.available
    assert "0…199" in c.units and "layer 0" in str(err)
    size = next(s for s in err.suggestions if s.startswith("n_hidden="))
    n = int(size.split("=")[1].split()[0])
    build = lambda k: ns.models.make("rnn", n_in=4, n_out=2, n_hidden=k)  # noqa: E731
    nm.map_network(build(n), prof, rule=ns.rules.make("rtrl"), method="greedy")  # the suggestion fits
    with pytest.raises(nm.MappingInfeasible):
        nm.map_network(build(n + 1), prof, rule=ns.rules.make("rtrl"), method="greedy")  # and is the largest
    assert any(s.startswith("rule snap1 fits") for s in err.suggestions)


def test_more_cores_than_the_chip_and_fan_in_over_the_limit_are_refused():
    reckon = ns.hardware.load_profile("reckon")
    with pytest.raises(nm.MappingInfeasible) as e:
        nm.map_network(ns.models.make("rnn", n_in=4, n_out=2, n_hidden=300), reckon)
    chip = [c for c in e.value.culprits if c.layer is None]
    assert chip and chip[0].region == "cores" and chip[0].needed == 2 > chip[0].available == 1
    assert "n_hidden=256 fits without learning state" in str(e.value)  # reckon: 256 neurons
    tianjic = ns.hardware.load_profile("tianjic")
    with pytest.raises(nm.MappingInfeasible) as e:
        nm.map_network(ns.models.make("rnn", n_in=300, n_out=2, n_hidden=8), tianjic)
    fan = [c for c in e.value.culprits if c.region == "fan_in"]
    assert fan and fan[0].needed > fan[0].available == 256


def test_outgoing_axons_are_balanced_where_a_greedy_fill_breaks_them():
    """``hardware.connectivity`` counts one outgoing axon per unit and other core holding one of
    its targets (the graph's mask): on the shuffled sheet greedy's cores send 270 at most, over a
    limit of 200 (negative control), while auto's local cores send ≤ 40, as the brute count says."""
    g = sheet(20, 8)
    prof = small_loihi(axons_out=200)
    with pytest.raises(nm.MappingInfeasible) as e:
        nm.map_network(g, prof, method="greedy")
    assert any(c.region == "axons_out" and c.needed > c.available == 200 for c in e.value.culprits)
    res = nm.map_network(g, prof)
    assert nm.problems(res.layout, nm.as_model(g), prof, graph=g) == []
    assert max(brute_axons(g, res.layout.core_of(0, g.n_units))[1].values()) <= 200


def brute_axons(g: nm.Graph, part: np.ndarray) -> tuple[dict, dict]:
    """Per core: (distinct units of other cores with a synapse onto it, Σ over its units of the
    distinct other cores holding their targets) — the definition, pair by pair."""
    ptr, pins = g.pins()
    into: dict[int, set] = {}
    out: dict[int, set] = {}
    for u in range(g.n_units):
        for t in pins[ptr[u] : ptr[u + 1]]:
            if part[t] != part[u]:
                into.setdefault(int(part[t]), set()).add(u)
                out.setdefault(int(part[u]), set()).add((u, int(part[t])))
    return {c: len(s) for c, s in into.items()}, {c: len(s) for c, s in out.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masked_axons_equal_the_pair_by_pair_count(seed):
    """The budget's axons in and out of a masked layer equal ``brute_axons`` on random sparse
    graphs and random layouts (every core over a limit of 0, so every count is reported); the dense
    count — every unit of other cores — is larger (negative control: the mask is read)."""
    from neurosim.hardware.connectivity import connectivity_culprits, destinations
    from neurosim.hardware.memory import Net

    rng = np.random.default_rng(seed)
    n = 60
    g = nm.Graph((("g", n),), (nm.Projection(0, 0, *_random_csr(rng, n, 4)),))
    part = rng.integers(0, 5, n)
    layout = Layout(tuple(CoreUnits(c, c, 0, ((0, Units.of(np.flatnonzero(part == c))),)) for c in range(5)))
    data = tomllib.loads((ns.hardware.profile.PROFILE_DIR / "loihi.toml").read_text())
    data["core"]["max_axons_in"]["value"] = data["core"]["max_axons_out"]["value"] = 0
    prof = ns.hardware.parse(data, "zero axons")
    net = Net(nm.as_model(g, n_in=1, n_out=1), ns.rules.make("snap1"))
    got = connectivity_culprits(net, prof, layout, destinations(net, layout.entries()))
    into, out = brute_axons(g, part)
    # every core reads the input; a plain graph has no readout, so no core sends output axons
    assert {c.core: c.needed for c in got if c.region == "axons_in"} == {c: into.get(c, 0) + 1 for c in range(5)}
    assert {c.core: c.needed for c in got if c.region == "axons_out"} == {
        c: v for c in range(5) if (v := out.get(c, 0))
    }
    dense = {c: n - int((part == c).sum()) for c in range(5)}
    assert any(dense[c] > v for c, v in into.items())


def _random_csr(rng, n: int, per: int) -> tuple[np.ndarray, np.ndarray]:
    rows = [np.sort(rng.choice(np.delete(np.arange(n), i), per, replace=False)) for i in range(n)]
    return np.arange(0, n * per + 1, per, dtype=np.int64), np.concatenate(rows).astype(np.int64)


def test_bad_arguments_are_refused_by_name():
    m = ns.models.make("rnn", n_in=2, n_out=2, n_hidden=8)
    with pytest.raises(ValueError, match="method"):
        nm.map_network(m, LOIHI, method="spectral")
    with pytest.raises(ValueError, match="activity"):
        nm.map_network(m, LOIHI, activity=np.ones(3))
    with pytest.raises(nm.GraphError, match="indptr"):
        nm.Graph((("a", 3),), (nm.Projection(0, 0, np.array([0, 1]), np.array([0])),))


def test_cli_map_writes_a_layout_the_budget_reads(tmp_path, capsys):
    from neurosim import cli

    out = tmp_path / "layout.json"
    args = ["map", "--model", "rnn:density=0.2", "--n-hidden", "200", "--rule", "snap1", "--profile", "loihi"]
    assert cli.main(args + ["--json", str(out)]) == 0
    assert "cores" in capsys.readouterr().out
    layout = Layout.from_json(out.read_text())
    m = ns.models.make("rnn", n_in=8, n_out=2, n_hidden=200, density=0.2)
    assert ns.hardware.budget(m, ns.rules.make("snap1"), LOIHI, layout).fits


@pytest.mark.slow
@needs_metis
def test_issue_targets_on_the_benchmark_sheet():
    """The issue's targets on benchmarks/bench_mapping.py's 4k-neuron sheet under snap1 on Loihi:
    auto uses no more cores than greedy, and its packet-hops are ≤ 0.55 × greedy's and ≤ 0.75 ×
    METIS's (cores in part order)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent.parent / "benchmarks" / "bench_mapping.py"
    spec = importlib.util.spec_from_file_location("bench_mapping", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    g, rule = bench.sheet(64), ns.rules.make("snap1")
    reps = {m: nm.map_network(g, LOIHI, rule=rule, method=m).report for m in ("greedy", "metis", "auto")}
    assert reps["auto"]["cores_used"] <= reps["greedy"]["cores_used"]
    assert reps["auto"]["packet_hops_per_step"] <= 0.55 * reps["greedy"]["packet_hops_per_step"]
    assert reps["auto"]["packet_hops_per_step"] <= 0.75 * reps["metis"]["packet_hops_per_step"]


def test_masked_axon_count_compiled_equals_its_numpy_twin():
    """``_mask_counts`` (numba) equals ``_mask_counts_numpy`` (sorts) on random CSR masks, core
    maps and skipped cores; negative control: another core map gives other counts."""
    from neurosim.hardware import connectivity as C

    rng = np.random.default_rng(5)
    for _ in range(20):
        n, k = int(rng.integers(5, 200)), int(rng.integers(1, 12))
        per = rng.integers(0, 9, n)
        ptr = np.concatenate([[0], np.cumsum(per)]).astype(np.int64)
        targets = rng.integers(0, n, int(ptr[-1])).astype(np.int64)
        core_of = rng.integers(0, k, n).astype(np.int64)
        skip = rng.random(k) < 0.3
        a = C._mask_counts(ptr, targets, core_of, k, skip)
        b = C._mask_counts_numpy(ptr, targets, core_of, k, skip)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
    ptr, targets = np.array([0, 2, 3, 3], np.int64), np.array([1, 2, 0], np.int64)  # 0 → 1, 2; 1 → 0
    none = np.zeros(3, bool)
    got = C._mask_counts(ptr, targets, np.array([0, 1, 2], np.int64), 3, none)
    assert got[0].tolist() == [1, 1, 1] and got[1].tolist() == [2, 1, 0]  # by hand
    moved = C._mask_counts(ptr, targets, np.array([0, 0, 2], np.int64), 3, none)
    assert moved[0].tolist() != got[0].tolist()


def _small_cores(cap_bits: int = 65536, entry_bits: int = 256):
    """Loihi 2 with a small core memory and wide routing entries: a random graph's every core
    sends to every other, so the routing entries decide how many units a core holds."""
    data = tomllib.loads((ns.hardware.profile.PROFILE_DIR / "loihi2.toml").read_text())
    data["noc"]["routing_entry_bits"]["value"] = entry_bits
    data["sram"][0]["capacity_bits"]["value"] = cap_bits
    for key in ("max_axons_in", "max_axons_out"):
        data["core"][key]["value"] = 2**20
    return ns.hardware.parse(data, f"loihi2, {cap_bits}-bit cores, {entry_bits}-bit routing entries (test)")


@pytest.mark.parametrize("method", ["greedy", "metis"])
def test_routing_entries_reserved_until_no_core_needs_more(method):
    """A random graph whose cores each send to all others: greedy's cores filled with the lower
    bound's 63 routing entries reserved need ~84 each and overflow (the negative control: the
    budget refuses that layout); the mapper reserves entries until greedy's cores can need no
    more than reserved, and its layout passes the validator."""
    from scipy import sparse

    from neurosim.mapping.capacity import Capacity
    from neurosim.mapping.mapper import _layout

    prof = _small_cores()
    n = 2000
    m = sparse.random(n, n, density=0.05, random_state=0, format="csr").astype(bool)
    g = nm.Graph((("u", n),), (nm.graph.csr(0, 0, m, weights=False),))
    model = nm.as_model(g)
    cap = Capacity(model, None, prof)
    lb = cap.lower_bound()
    part = P.greedy(cap, destinations=lb)
    k = int(part.max()) + 1
    assert k - 1 > lb
    naive = _layout(cap, part, place.part_order(prof, k), *g.pins(), np.ones(n), prof, "greedy")
    assert any(c.region == "core_memory" for c in ns.hardware.budget(model, cap.rule, prof, naive).culprits)
    res = nm.map_network(g, prof, method=method, explain=False)
    nm.validate(res.layout, model, prof, None, graph=g)
    assert res.report["cores_used"] > k  # the room the entries take costs cores


@pytest.mark.parametrize("name", ns.hardware.list_profiles())
def test_every_bundled_profile_maps_a_small_network_or_says_why_not(name):
    """A 30-unit sparse RNN under snap1 on every bundled chip: a layout the budget accepts, or
    ``MappingInfeasible`` naming what does not fit — never another exception (a chip with one
    core and no routing tables, Xylo or a microcontroller, divided by its zero entry width).
    With ``explain=False`` the refusal says the smallest change was not searched."""
    prof = ns.hardware.load_profile(name)
    model = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=30, density=0.2)
    try:
        res = nm.map_network(model, prof, ns.rules.make("snap1"), explain=False)
    except nm.MappingInfeasible as e:
        assert e.culprits and "not searched (explain=False)" in str(e)
        return
    assert ns.hardware.budget(model, ns.rules.make("snap1"), prof, res.layout).fits
