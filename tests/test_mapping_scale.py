"""The mapper at scale: the vectorised spike hypergraph against its per-unit definition, sparse
structural masks priced exactly as dense ones, and the partitioners' speed-ups keeping their
answers (refinement never raises the connectivity it starts from)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

import neurosim as ns
import neurosim.mapping as nm
from neurosim.mapping import partition as P

LOIHI = ns.hardware.load_profile("loihi")


def reference_pins(g: nm.Graph):
    """The hypergraph by its definition, unit by unit: itself, then its distinct other targets in
    increasing order (the top group's units also reach the readout's home unit)."""
    off, sizes = g.offsets, g.sizes
    top = len(sizes) - 1
    ptr, pins = [0], []
    for v in range(g.n_units):
        grp = int(np.searchsorted(off, v, side="right") - 1)
        ts = set()
        for p in g.projections:
            if p.src == grp:
                ts.update((p.targets(v - off[grp], sizes[p.dst]) + off[p.dst]).tolist())
        if g.readout and grp == top:
            ts.add(int(off[top]))
        ts.discard(v)
        pins += [v] + sorted(ts)
        ptr.append(len(pins))
    return np.array(ptr), np.array(pins)


def random_graph(rng, sizes, density):
    projs = []
    for a in range(len(sizes)):
        for b in range(len(sizes)):
            if rng.random() < 0.5:
                m = rng.random((sizes[a], sizes[b])) < density
                projs.append(nm.csr(a, b, m, weights=False) if rng.random() < 0.8 else nm.Projection(a, b, dense=True))
    return nm.Graph(tuple((f"g{i}", n) for i, n in enumerate(sizes)), tuple(projs), readout=bool(rng.random() < 0.5))


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_pins_equal_the_per_unit_definition(seed):
    rng = np.random.default_rng(seed)
    g = random_graph(rng, [int(x) for x in rng.integers(1, 25, size=rng.integers(1, 4))], 0.15)
    ptr, pins = g.pins()
    rptr, rpins = reference_pins(g)
    assert np.array_equal(ptr, rptr) and np.array_equal(pins, rpins)


def test_pins_negative_control_a_hypergraph_without_the_readout_pin_differs():
    g = random_graph(np.random.default_rng(1), [12, 9], 0.3)
    g = nm.Graph(g.groups, g.projections, readout=True)
    ptr, pins = g.pins()
    flawed = nm.Graph(g.groups, g.projections, readout=False)  # the readout's home pin forgotten
    rptr, rpins = reference_pins(flawed)
    assert not (np.array_equal(ptr, rptr) and np.array_equal(pins, rpins))


def test_sparse_mask_prices_exactly_as_the_dense_mask():
    rng = np.random.default_rng(3)
    n = 300
    dense = rng.random((n, n)) < 0.05
    rule = ns.rules.make("snap1")
    a = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=n, mask=dense)
    b = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=n, mask=sparse.csr_array(dense))
    assert ns.models.cells.is_sparse(b.param_masks()["layer0.W"])
    layout = ns.hardware.layout.layers_in_order(a, LOIHI, rule)
    ba, bb = (ns.hardware.budget(m, rule, LOIHI, layout) for m in (a, b))
    used = lambda b: [(r.core, r.region, r.used_bits) for r in b.regions]  # noqa: E731
    assert used(ba) == used(bb)
    ca, cb = nm.Capacity(a, rule, LOIHI), nm.Capacity(b, rule, LOIHI)
    assert np.array_equal(ca.cost, cb.cost) and np.array_equal(ca.fixed, cb.fixed)
    # negative control: a unit's fan-in row emptied in the sparse mask changes its rows and the price
    fewer = dense.copy()
    fewer[7] = False
    c = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=n, mask=sparse.csr_array(fewer))
    net_a, net_c = (ns.hardware.memory.Net(m, rule) for m in (a, c))
    assert net_c.rows["layer0.W"] != net_a.rows["layer0.W"]
    bc = ns.hardware.budget(c, rule, LOIHI, layout)
    assert sum(r.used_bits for r in bc.regions) < sum(r.used_bits for r in ba.regions)
    # and a sparse mask learns as the dense one does (densified where it multiplies)
    pa, pb = a.init(0), b.init(0)
    assert all(np.array_equal(pa[k], pb[k]) for k in pa)


def test_as_model_of_a_large_graph_keeps_the_mask_sparse(monkeypatch):
    from neurosim.mapping import graph as G

    rng = np.random.default_rng(0)
    m = rng.random((80, 80)) < 0.1
    np.fill_diagonal(m, False)
    g = nm.Graph((("g", 80),), (nm.csr(0, 0, m, weights=False),))
    dense_model = nm.as_model(g)
    monkeypatch.setattr(G, "DENSE_MASK_ENTRIES", 100)
    sparse_model = nm.as_model(g)
    ms = sparse_model.param_masks()["layer0.W"]
    assert ns.models.cells.is_sparse(ms)
    assert np.array_equal(ms.toarray(), dense_model.param_masks()["layer0.W"])
    assert np.array_equal(ms.toarray(), m.T)  # W[post, pre]


# --- the compiled loops against the numpy versions they replace -----------------------------------
def numpy_move(cap, v, a, b, es, extra, part, cnt, load, lay_cnt, cost, layer):
    """v from core a to core b: pin counts of its edges ``es``, loads and layer counts."""
    part[v] = b
    cnt[es, a] -= 1
    cnt[es, b] += 1
    load[b] += extra[b]
    lay_cnt[b, layer[v]] += 1
    lay_cnt[a, layer[v]] -= 1
    load[a] -= cost[v] + (lay_cnt[a, layer[v]] == 0) * cap.fixed[layer[v]]


def numpy_refine(cap, part, ptr, pins, rate, passes=4, seed=0, destinations=0, cost=None, layer=None):
    """The numpy refinement the compiled one replaced (a (degree × k) pin-count block per vertex)."""
    part = part.copy()
    n_v, n_e, k = part.size, ptr.size - 1, int(part.max()) + 1
    cost = cap.cost if cost is None else cost
    if layer is None:
        layer = np.searchsorted(cap.offsets, np.arange(n_v), side="right") - 1
    e_of = np.repeat(np.arange(n_e), np.diff(ptr))
    cnt = np.zeros((n_e, k), np.int64)
    np.add.at(cnt, (e_of, part[pins]), 1)
    order_p = np.argsort(pins, kind="stable")
    inc_ptr = np.concatenate([[0], np.cumsum(np.bincount(pins, minlength=n_v))])
    inc = e_of[order_p]
    lay_cnt = np.zeros((k, len(cap.units)), np.int64)
    np.add.at(lay_cnt, (part, layer), 1)
    load = np.array([cost[part == c].sum(0) for c in range(k)]) + lay_cnt.astype(bool) @ cap.fixed
    load += destinations * cap.routing
    rng = np.random.default_rng(seed)
    for _ in range(passes):
        moved = 0
        for v in rng.permutation(n_v):
            a = part[v]
            es = inc[inc_ptr[v] : inc_ptr[v + 1]]
            w, c = rate[es], cnt[es]
            gain = (w * (c[:, a] == 1)).sum() - (w[:, None] * (c == 0)).sum(0)
            gain[a] = -np.inf
            extra = cost[v] + np.where(lay_cnt[:, layer[v]] == 0, 1, 0)[:, None] * cap.fixed[layer[v]]
            gain[~(load + extra <= cap.cap).all(1)] = -np.inf
            b = int(np.argmax(gain))
            if gain[b] <= 1e-12:
                continue
            numpy_move(cap, v, a, b, es, extra, part, cnt, load, lay_cnt, cost, layer)
            moved += 1
        if not moved:
            break
    return part


def small_loihi(neurons=64):
    import tomllib

    data = tomllib.loads((ns.hardware.profile.PROFILE_DIR / "loihi.toml").read_text())
    data["chip"]["cores_per_tile"]["value"] = 1
    data["core"]["max_neurons"]["value"] = neurons
    return ns.hardware.parse(data, "small-loihi")


@pytest.mark.parametrize("seed", range(4))
def test_compiled_refine_makes_the_numpy_refinements_moves(seed):
    rng = np.random.default_rng(seed)
    g = random_graph(rng, [60, 40], 0.06)
    model = ns.models.make("rnn", n_in=2, n_out=2, n_hidden=100, density=0.05, structure_seed=seed)
    graph = nm.from_model(model)
    cap = nm.Capacity(model, None, small_loihi(24))
    ptr, pins = graph.pins()
    rate = rng.integers(1, 4, graph.n_units).astype(float)  # integer rates: sums exact in any order
    start = rng.integers(0, 6, graph.n_units)
    start[:6] = np.arange(6)
    new = P.refine(cap, start, ptr, pins, rate, seed=seed)
    old = numpy_refine(cap, start, ptr, pins, rate, seed=seed)
    assert np.array_equal(new, old)
    before, after = P.connectivity(start, ptr, pins, rate), P.connectivity(new, ptr, pins, rate)
    assert after <= before  # only positive-gain moves
    assert after < before  # negative control: a random start is improvable, so something moved
    del g


def test_partitioners_reach_the_brute_force_optimum_of_a_tiny_graph():
    # two 4-cliques joined by one synapse each way, cores of 4 units: the optimum (by enumeration)
    # keeps each clique on its core, 2 packets per step; refinement alone from an interleaved start
    # is stuck above it (control: single positive moves are not enough); map_network's
    # hypergraph method reaches it.
    import itertools

    m = np.zeros((8, 8), bool)
    for grp in ((0, 1, 2, 3), (4, 5, 6, 7)):
        for i, j in itertools.permutations(grp, 2):
            m[i, j] = True
    m[3, 4] = m[4, 3] = True
    g = nm.Graph((("g", 8),), (nm.csr(0, 0, m, weights=False),))
    profile = small_loihi(4)
    cap = nm.Capacity(nm.as_model(g), None, profile)
    ptr, pins = g.pins()
    rate = np.ones(8)
    best = min(
        P.connectivity(np.array([0 if i in c else 1 for i in range(8)]), ptr, pins, rate)
        for c in itertools.combinations(range(8), 4)
    )
    assert best == 2.0
    start = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    assert P.connectivity(P.refine(cap, start, ptr, pins, rate), ptr, pins, rate) > best
    res = nm.map_network(g, profile, method="hypergraph")
    assert res.report["packets_per_step"] == best


def numpy_match(level, limit, order, top=8):
    """The matching rule by its definition, per vertex over all vertices (ties: lower id)."""
    ptr, pins, rate, cost, _ = level
    n_v = cost.shape[0]
    sizes = np.diff(ptr)
    score_e = np.where(sizes > 1, rate / np.maximum(sizes - 1, 1), 0.0)
    cl = np.full(n_v, -1, np.int64)
    n_c = 0
    for v in order:
        if cl[v] >= 0:
            continue
        score = np.zeros(n_v)
        for e in range(ptr.size - 1):
            mem = pins[ptr[e] : ptr[e + 1]]
            if v in mem:
                score[mem] += score_e[e]
        score[v] = 0.0
        score[cl >= 0] = 0.0
        best = -1
        for u in np.argsort(-score, kind="stable")[:top]:
            if score[u] <= 0:
                break
            if (cost[u] + cost[v] <= limit).all():
                best = int(u)
                break
        cl[v] = n_c
        if best >= 0:
            cl[best] = n_c
        n_c += 1
    return cl


@pytest.mark.parametrize("seed,density", [(0, 0.04), (1, 0.04), (2, 0.04), (3, 0.3), (4, 0.3)])
def test_compiled_matching_follows_the_rule(seed, density):
    """At density 0.3 a vertex touches dozens of others, most tied in rating: the first 8 of
    the order (rating, then id) are the compiled pass's top-8 buffer, not a sort of them all."""
    from neurosim.mapping import multilevel

    rng = np.random.default_rng(seed)
    model = ns.models.make("rnn", n_in=2, n_out=2, n_hidden=90, density=density, structure_seed=seed)
    graph = nm.from_model(model)
    cap = nm.Capacity(model, None, small_loihi(24))
    ptr, pins = graph.pins()
    rate = rng.integers(1, 3, graph.n_units).astype(float)
    level = (ptr, pins, rate, cap.cost, np.zeros(graph.n_units, np.int64))
    limit = cap.cap * 0.25
    got = multilevel._match(level, limit, np.random.default_rng(seed))
    order = np.random.default_rng(seed).permutation(graph.n_units)
    assert np.array_equal(got, numpy_match(level, limit, order))
    assert int(got.max()) + 1 < graph.n_units  # some pairs matched (control: not the identity)


def test_sort_based_unique_equals_numpy():
    from neurosim.mapping.graph import unique

    rng = np.random.default_rng(0)
    for a in (rng.integers(0, 50, 1000), rng.integers(0, 10**12, 5000), np.zeros(0, np.int64)):
        u, c = unique(a, counts=True)
        ru, rc = np.unique(a, return_counts=True)
        assert np.array_equal(u, ru) and np.array_equal(c, rc)
    assert not np.array_equal(unique(np.array([3, 1, 3])), np.array([3, 1, 3]))  # control: deduplicated, sorted


def loop_runs_select(runs, units):
    """The runs of the selected rows by walking every selected row (the definition)."""
    lengths = [length for length, count in runs for _ in range(count)]
    out = []
    for a, b in units.runs:
        for r in range(a, b):
            if out and out[-1][0] == lengths[r]:
                out[-1] = (lengths[r], out[-1][1] + 1)
            else:
                out.append((lengths[r], 1))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_vectorised_runs_select_equals_the_row_walk(seed):
    from neurosim.hardware.layout import Units
    from neurosim.hardware.memory import runs_select

    rng = np.random.default_rng(seed)
    n_runs = int(rng.integers(1, 200))
    runs = [(int(rng.integers(0, 4)), int(rng.integers(1, 6))) for _ in range(n_runs)]  # neighbours may repeat
    n = sum(c for _, c in runs)
    sel = np.flatnonzero(rng.random(n) < 0.4)
    units = Units.of(sel)
    assert runs_select(runs, units) == loop_runs_select(runs, units)
    assert runs_select(runs, units) == runs_select(list(runs), units)  # a fresh list: same answer
    if sel.size:  # negative control: one row fewer changes the selection
        assert runs_select(runs, Units.of(sel[1:])) != loop_runs_select(runs, units)


def test_incidence_lists_each_vertexs_edges_in_order():
    g = random_graph(np.random.default_rng(4), [30, 20], 0.2)
    ptr, pins = g.pins()
    inc_ptr, inc = P.incidence(ptr, pins, g.n_units)
    for v in range(g.n_units):
        want = [e for e in range(ptr.size - 1) if v in pins[ptr[e] : ptr[e + 1]]]
        assert inc[inc_ptr[v] : inc_ptr[v + 1]].tolist() == want
    assert inc_ptr[-1] == pins.size and inc.tolist() != sorted(inc.tolist())  # control: not one sorted list


def numpy_shrink(cap, part, k_max, ptr, pins, rate):
    """``partition.shrink`` by its definition, with a dense (edges × cores) pin count: empty the
    lightest live core, unit by unit (largest first), each to the reachable core with the best
    λ − 1 gain that has room, else to the roomiest core that takes it."""
    part = P._compact(part.copy())
    n_v, n_e, k = part.size, ptr.size - 1, int(part.max()) + 1
    cost, layer = cap.cost, np.searchsorted(cap.offsets, np.arange(n_v), side="right") - 1
    e_of = np.repeat(np.arange(n_e), np.diff(ptr))
    cnt = np.zeros((n_e, k), np.int64)
    np.add.at(cnt, (e_of, part[pins]), 1)
    lay_cnt = np.zeros((k, len(cap.units)), np.int64)
    np.add.at(lay_cnt, (part, layer), 1)
    load = np.array([cost[part == c].sum(0) for c in range(k)]) + lay_cnt.astype(bool) @ cap.fixed
    alive = np.ones(k, bool)
    room = np.maximum(cap.cap, 1)
    for _ in range(k - k_max):
        c = int(np.argmin(np.where(alive, (load / room).max(1), np.inf)))
        alive[c] = False
        members = np.flatnonzero(part == c)
        for v in members[np.argsort(-(cost[members] / room).max(1), kind="stable")]:
            es = np.flatnonzero(np.isin(np.arange(n_e), e_of[pins == v]))
            w, cn = rate[es], cnt[es]
            A, R = (w * (cn[:, c] == 1)).sum(), w.sum()
            S = (w[:, None] * (cn > 0)).sum(0)
            extra = cost[v] + (lay_cnt[:, layer[v]] == 0)[:, None] * cap.fixed[layer[v]]
            fits = (load + extra <= cap.cap).all(1) & alive
            reach = (cn > 0).any(0) & fits
            reach[c] = False
            if reach.any():
                b = int(np.argmax(np.where(reach, A - R + S, -np.inf)))
            elif fits.any():
                b = int(np.argmax(np.where(fits, ((cap.cap - load) / room).min(1), -np.inf)))
            else:
                return None
            numpy_move(cap, v, c, b, es, extra, part, cnt, load, lay_cnt, cost, layer)
    return P._compact(part)


@pytest.mark.parametrize("seed", range(4))
def test_shrink_makes_the_numpy_definitions_moves_and_holds(seed):
    """The compiled ``shrink`` equals its definition (``numpy_shrink``) on random graphs spread
    over too many cores; the result has k_max cores, every core holds in the linear model, and
    every unit kept its place unless its core was emptied. Negative control: asking for fewer
    cores than the units need is refused (None), not packed over capacity."""
    rng = np.random.default_rng(seed)
    model = ns.models.make("rnn", n_in=2, n_out=2, n_hidden=100, density=0.05, structure_seed=seed)
    graph = nm.from_model(model)
    cap = nm.Capacity(model, None, small_loihi(24))
    ptr, pins = graph.pins()
    rate = rng.integers(1, 4, graph.n_units).astype(float)
    start = rng.integers(0, 9, graph.n_units)  # ~11 units per core of 24: room for 5 or 6 cores
    k_max = 6
    new = P.shrink(cap, start, k_max, ptr, pins, rate)
    old = numpy_shrink(cap, start, k_max, ptr, pins, rate)
    assert new is not None and np.array_equal(new, old)
    assert int(new.max()) + 1 == k_max
    for c in range(k_max):
        assert (cap.load(np.flatnonzero(new == c)) <= cap.cap).all()
    same = P._compact(start)
    kept = np.array([np.unique(new[same == c]).size == 1 for c in range(9)])
    assert kept.sum() >= k_max  # the cores not emptied moved nothing
    assert P.shrink(cap, start, cap.lower_bound() - 1, ptr, pins, rate) is None


def test_auto_brings_a_spilled_partition_back_to_greedys_cores():
    """A 16 × 16 shuffled sheet on 32-neuron cores: greedy fills 8 cores to the last unit, and
    METIS's 8-way cut, balanced within its few per cent, spills onto a 9th (the control: a
    partitioner alone does not keep greedy's count). ``shrink`` empties the spilled core into the
    others' room, every core then holds exactly; auto uses greedy's 8 cores with fewer packet-hops
    than METIS on its 9."""
    from test_mapping import sheet, small_loihi

    g = sheet(16, 12)
    prof = small_loihi(neurons=32)
    r = {m: nm.map_network(g, prof, method=m).report for m in ("greedy", "metis", "auto")}
    assert r["metis"]["cores_used"] > r["greedy"]["cores_used"] == 8  # the spill
    assert r["auto"]["cores_used"] <= r["greedy"]["cores_used"]
    assert r["auto"]["packet_hops_per_step"] < r["metis"]["packet_hops_per_step"]
    cap = nm.Capacity(nm.as_model(g), None, prof)
    ptr, pins = g.pins()
    spilled = P.metis(cap, 8, ptr, pins, prof.n_cores)
    assert int(spilled.max()) + 1 > 8
    held = P.shrink(cap, spilled, 8, ptr, pins, np.ones(g.n_units))
    assert int(held.max()) + 1 == 8
    assert all(cap.holds(np.flatnonzero(held == c)) for c in range(8))


def test_time_limit_bounds_the_search_and_still_gives_a_valid_layout():
    """A deadline already past: auto keeps the candidates it must (greedy's, shrunk and checked),
    starts no partitioner, and its layout passes the validator; without a limit it finds fewer
    packet-hops (the control: the limit did cut the search). A limit that is no time is refused."""
    from test_mapping import sheet, small_loihi

    g = sheet(16, 12)
    prof = small_loihi(neurons=32)
    rushed = nm.map_network(g, prof, method="auto", time_limit_s=1e-9)
    free = nm.map_network(g, prof, method="auto")
    greedy = nm.map_network(g, prof, method="greedy")
    nm.validate(rushed.layout, nm.as_model(g), prof, graph=g)
    assert rushed.report["cores_used"] <= greedy.report["cores_used"]
    assert rushed.report["packet_hops_per_step"] <= greedy.report["packet_hops_per_step"]
    assert free.report["packet_hops_per_step"] < 0.5 * rushed.report["packet_hops_per_step"]
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="time_limit_s"):
            nm.map_network(g, prof, method="auto", time_limit_s=bad)


class _Optimistic:
    """A capacity whose linear model promises more room than the exact check grants: a core holds
    (exactly) only while its load stays under ``strict`` × the limit, but ``load`` / ``cap`` say
    up to the limit — the situation near a core's limit where the linear model can mislead."""

    def __init__(self, n: int, per: float, strict: float):
        self.cost = np.full((n, 1), per)
        self.cap = np.array([1.0])
        self.fixed = np.zeros((1, 1))
        self.strict = strict

    def load(self, vertices, destinations=0):
        return self.cost[vertices].sum(0)

    def holds(self, vertices, destinations=0):
        return bool((self.load(vertices) <= self.strict * self.cap).all())


def test_repair_ends_when_the_linear_model_misleads():
    """Every core exactly at the linear limit but over the exact one: moving units onto cores
    the linear model says have room makes them fail in turn; after ``STALL`` rounds without
    fewer failing cores the moved units go to new cores, and every core holds in the end. The
    negative control: without that fallback (STALL beyond the round limit) it does not end."""
    n = 400
    cap = _Optimistic(n, per=0.01, strict=0.9)  # 100 units fill the linear model, 90 the exact one
    part = np.arange(n) // 100  # four cores, each at 1.0 > 0.9
    fixed = P.repair(cap, part.copy(), n_cores=64)
    k = int(fixed.max()) + 1
    assert all(cap.holds(np.flatnonzero(fixed == c)) for c in range(k))
    assert 5 <= k <= 6  # 400 units at ≤ 90 a core: at least 5 cores, and not one per unit
    old = P.STALL
    try:
        P.STALL = 10**9
        with pytest.raises(RuntimeError, match="did not converge"):
            P.repair(cap, part.copy(), n_cores=64)
    finally:
        P.STALL = old


def _random_graph(n: int, per: int, seed: int = 0) -> nm.Graph:
    rng = np.random.default_rng(seed)
    rows = [np.unique(rng.integers(0, n, per)) for _ in range(n)]
    rows = [r[r != i] for i, r in enumerate(rows)]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    return nm.Graph((("net", n),), (nm.Projection(0, 0, indptr, np.concatenate(rows).astype(np.int64)),))


@pytest.mark.skipif(not P._have_module("pymetis") or not hasattr(__import__("os"), "fork"), reason="pymetis, POSIX")
def test_metis_in_a_forked_child_is_metis_and_a_deadline_abandons_it(monkeypatch):
    """METIS is one C call that cannot be interrupted; in a forked child (``MetisJob``) its result
    is the in-process one exactly, a deadline kills it (the search goes on without it, the child
    reaped), and an error in the child reaches the parent. Controls: the same METIS in process
    takes longer than the deadline that abandoned it; an unpatched child gives a partition."""
    import os
    import time

    from test_mapping import small_loihi

    g = _random_graph(400, 12)
    prof = small_loihi(neurons=32)
    cap = nm.Capacity(nm.as_model(g), None, prof)
    ptr, pins = g.pins()
    here = P.metis(cap, 13, ptr, pins, prof.n_cores, seed=3)
    job = P.MetisJob(cap, 13, ptr, pins, prof.n_cores, seed=3, fork=True)
    assert job.forked
    assert np.array_equal(job.result(), here)
    with pytest.raises(RuntimeError, match="collected already"):
        job.result()

    big = _random_graph(20_000, 100)  # ~2·10⁶ pins: METIS takes seconds here
    bcap = nm.Capacity(nm.as_model(big), None, LOIHI)
    bptr, bpins = big.pins()
    t = time.monotonic()
    job = P.MetisJob(bcap, 40, bptr, bpins, LOIHI.n_cores, fork=True)
    assert job.result(P.Deadline(0.3)) is None
    abandoned = time.monotonic() - t
    assert abandoned < 2.0
    with pytest.raises(ChildProcessError):  # reaped: no child left behind
        os.waitpid(job.pid, os.WNOHANG)
    t = time.monotonic()
    P.metis(bcap, 40, bptr, bpins, LOIHI.n_cores)
    assert time.monotonic() - t > 0.3  # control: METIS itself outlasts that deadline

    def boom(*a, **k):
        raise ValueError("boom")

    monkeypatch.setattr(P, "_metis_membership", boom)
    with pytest.raises(RuntimeError, match="ValueError: boom"):
        P.MetisJob(cap, 13, ptr, pins, prof.n_cores, fork=True).result()


def test_compiled_passes_in_chunks_equal_one_pass_and_a_deadline_stops_them(monkeypatch):
    """Under a deadline the matching and the refinement passes run in chunks of the vertex order
    (so that a deadline can stop them between chunks): with time to spare the result is the
    one-call result exactly; with none left after the first chunk the matching leaves the rest
    single and the refinement keeps a valid partition. Control: the chunks in another order
    give another matching (the equality is not vacuous)."""
    from neurosim.mapping import multilevel

    monkeypatch.setattr(P, "CHUNK_WORK", 50)  # pins: chunks of a few vertices
    model = ns.models.make("rnn", n_in=2, n_out=2, n_hidden=90, density=0.1, structure_seed=5)
    graph = nm.from_model(model)
    cap = nm.Capacity(model, None, small_loihi(24))
    ptr, pins = graph.pins()
    rate = np.ones(graph.n_units)
    level = (ptr, pins, rate, cap.cost, np.zeros(graph.n_units, np.int64))
    limit = cap.cap * 0.25
    whole = multilevel._match(level, limit, np.random.default_rng(0))
    chunked = multilevel._match(level, limit, np.random.default_rng(0), P.Deadline(1000.0))
    assert np.array_equal(whole, chunked)
    late = P.Deadline(1000.0)
    late.end = 0.0  # passed: only the first chunk is visited
    cut = multilevel._match(level, limit, np.random.default_rng(0), late)
    assert np.unique(cut).size == cut.size - np.sum(np.bincount(cut) == 2)  # a valid clustering
    assert np.unique(cut).size > np.unique(whole).size  # fewer pairs: the rest stayed single
    other = multilevel._match(level, limit, np.random.default_rng(1))
    assert not np.array_equal(other, whole)  # control

    start = P.greedy(cap)
    one = P.refine(cap, start, ptr, pins, rate, seed=2)
    many = P.refine(cap, start, ptr, pins, rate, seed=2, deadline=P.Deadline(1000.0))
    assert np.array_equal(one, many)
    stopped = P.refine(cap, start, ptr, pins, rate, seed=2, deadline=late)
    assert all(cap.holds(np.flatnonzero(stopped == c)) for c in range(int(stopped.max()) + 1))


def test_a_redo_past_the_deadline_keeps_what_the_search_found():
    """When the layout needs more routing entries than were reserved, the mapper redoes the search
    with more room; past the deadline the redo starts no partitioner, so it used to fall back to
    greedy's fill (auto on the 1M board ended with greedy's packets). The earlier partition is
    now a candidate (``hints``), repaired to the new reservation. Control: without the hint the
    expired redo has greedy's fill only."""
    from test_mapping import sheet, small_loihi

    from neurosim.mapping import mapper as M

    g = sheet(16, 12)
    prof = small_loihi(neurons=32)
    cap = nm.Capacity(nm.as_model(g), None, prof)
    ptr, pins = g.pins()
    rate = np.ones(g.n_units)
    base = P.greedy(cap)
    good = M._hypergraph(cap, int(base.max()) + 1, ptr, pins, rate, prof.n_cores, 0, 0)
    late = P.Deadline(1000.0)
    late.end = 0.0
    with_hint, _ = M.candidates(cap, base, ptr, pins, rate, 0, late, 2, prof.n_cores, hints=(good,))
    alone, _ = M.candidates(cap, base, ptr, pins, rate, 0, late, 2, prof.n_cores)
    greedy = P.connectivity(base, ptr, pins, rate)
    assert [x for x, _ in alone] == [greedy]  # control: greedy's fill only
    best, part = with_hint[0]
    assert best < 0.5 * greedy and int(part.max()) + 1 <= int(base.max()) + 1
    assert all(cap.holds(np.flatnonzero(part == c)) for c in range(int(part.max()) + 1))
