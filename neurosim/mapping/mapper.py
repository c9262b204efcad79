"""``map_network``: a neurosim model (or a plain ``Graph``) → a ``Layout`` the budget accepts.

Steps of ``method="auto"``:

1. **Capacity** under the rule (``capacity.Capacity``: the bits each unit needs in every SRAM
   region, from ``memory.core_store``); inputs no layout can place are refused with their
   culprits and the smallest change that fits (``infeasible``).
2. **Partition** the rate-weighted spike hypergraph (one hyperedge per unit over its targets;
   λ − 1 = packets per step) into the capacity's lower bound of cores: KaHyPar (or the
   fallback), then ``repair`` (exact ``core_store`` per core), then ``refine``. A partitioner
   balances its parts within a few per cent, and greedy fills cores to the last word, so the
   repaired partition often spills onto more cores than greedy's; ``partition.shrink`` then empties
   the lightest cores into the others' room (each unit where its hyperedges already are), for the
   fewest cores up to greedy's that hold. The baselines' own partitions (greedy's; METIS's when
   ``pymetis`` is installed; the unweighted hypergraph's when rates differ), shrunk the same way
   and refined, are candidates too; none with more cores than greedy is kept. Only the promising
   are refined (within ``PROMISING`` × the fewest packets) and placed (within ``PLACED`` ×).
3. **Place** the cores on the mesh (``place.anneal``: rate-weighted hops + maximum link load) of
   the spikes and of the learning phases' messages (``learning.error_traffic``: each layer's
   learning signal, as the rule declares it, ``Rule.error_messages``); the report gives both
   (``learning_packets_per_step``, ``learning_packet_hops_per_step``,
   ``total_packet_hops_per_step``). The partition sees the spikes only, and the routes are
   planned for the spikes' flows.
4. **Route** (``route.plan``): every pair of cores that exchange packets gets a route, by
   ``routing`` — ``"xy"`` (default), ``"yx"`` or ``"adaptive"`` (XY or YX per flow, minimising the
   busiest link) — as unicast paths or, where the profile says ``[noc] multicast``, as multicast
   trees whose routing-table entries per router are checked against ``[noc]
   routing_table_entries``. XY is the default because it is what the chips' routers and the
   chip simulation (``hardware.events``) do; the report gives the busiest link under all three.
5. **Judge** (``judge=True`` or ``judge_steps=N``; off by default, it costs a chip simulation):
   ``judge.judge`` runs the layout on ``ns.chip.simulate`` (learning off) and the report gains its
   step time and energy per step.

**Boards** (a profile with a ``[board]``: several chips). A network one chip holds (greedy's
cores ≤ one chip's) is mapped as above, every core on chip 0, and its report gains a ``board``
entry with no inter-chip traffic. A larger one (up to the board's ``n_chips × n_cores`` cores)
goes to ``board.map_board``: cores first, then the chip-level partition of the cores and its
placement on the board's chip sites (``auto``; the baselines fill chips in part order), then per
chip the annealed placement and routing of its own traffic; the report's ``board`` entry gives
the chips used, inter-chip packets and packet-hops per step, the chip-to-chip link energy per step
and the worst inter-chip route's latency, with the per-chip summaries. The judge skips a layout
over several chips (the chip simulation is of one chip), saying so.

The candidate with the fewest packet-hops per step after placement wins (ties: fewer cores,
then fewer packets). Annealing starts from the part-order placement and keeps the best state,
so auto's packet-hops are never worse than those of greedy, METIS or the hypergraph baseline
placed in part order (round-robin is measured, not included: it is the worst by far) — without
a ``time_limit_s``; with one, a candidate not found in time is not one. METIS is one C call that
cannot be interrupted: on a graph of ``partition.FORK_METIS_PINS`` pins or more it runs in a
forked child (``partition.MetisJob``) beside the hypergraph partition (up to
``CONCURRENT_METIS_PINS`` pins; above, the parent waits), and a deadline abandons it. The baselines
(``round_robin``, ``greedy``, ``metis``, ``hypergraph``) stop after their partition and place
cores in part order (core c on tile c // cores_per_tile), routed the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np

from ..hardware.accounting import budget
from ..hardware.layout import CoreUnits, Layout
from ..hardware.profile import Profile
from . import multilevel, place
from . import partition as P
from . import route as R
from .capacity import Capacity
from .graph import as_model
from .infeasible import MappingInfeasible, chip_culprit, suggestions, unit_culprits
from .inputs import as_activity, as_graph
from .learning import error_traffic
from .report import quality

METHODS = ("auto", "round_robin", "greedy", "metis", "hypergraph")
SCHEMA = "neurosim.mapping/1"


@dataclass
class MappingResult:
    """``layout`` (a ``hardware.Layout``), ``report`` (``report.quality``), the method and seed."""

    layout: Layout
    report: dict
    method: str
    seed: int

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "method": self.method, "seed": self.seed, "report": self.report,
                "layout": self.layout.to_dict()}  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=float)

    def _repr_html_(self) -> str:  # a notebook shows the report (``ns.report.build``)
        from ..report import build

        return build(self).to_html(fragment=True)


def map_network(
    model_or_graph,
    profile: Profile | str,
    rule=None,
    activity=None,
    method: str = "auto",
    seed: int = 0,
    time_limit_s: float | None = None,
    *,
    optimizer: str | None = None,
    update_every: int = 1,
    seq_len: int = 1000,
    explain: bool = True,
    routing: str = "xy",
    judge: bool = False,
    judge_steps: int | None = None,
) -> MappingResult:
    """Place ``model_or_graph`` on ``profile``'s chip under ``rule`` (module docstring): a neurosim
    model, a ``Graph``, a Brian2 network or a ``nir.NIRGraph`` (``inputs.as_graph``).

    ``activity``: spikes (or non-zero activations) per step of each unit — a number for all, or
    one per unit in global order (layer after layer), or Brian2 ``SpikeMonitor``s of a Brian2
    input (``inputs.brian2_activity``); default 1 for every unit. ``method``: one of
    ``METHODS``. ``time_limit_s`` bounds the call: the search ends ``FINISH_S_PER_PIN`` × pins
    before it (at most half of it) to leave room for what must run to give a valid layout
    (capacity, greedy, exact repair, routing, the report), which still runs, so the call may
    overrun by what that estimate misses. Past the search's end no new candidate partition is
    started, a coarsening level or refinement pass stops at its next chunk of vertices, METIS
    (in its own process) is abandoned, and each placement anneals for ``MIN_ANNEAL_S`` at most.
    The result is the best layout found in time — greedy's fill at worst. ``optimizer``, ``update_every``,
    ``seq_len``: as for ``budget`` (what each core stores). ``explain``: compute the smallest
    change that fits when refusing (``infeasible.suggestions``). ``routing``: ``route.ROUTINGS``
    (module docstring, step 4). ``judge`` / ``judge_steps``: run the judge (step 5) for
    ``judge_steps`` timesteps (default 20 when ``judge``). Deterministic for a seed."""
    from ..hardware import load_profile

    if method not in METHODS:
        raise ValueError(f"method={method!r} is invalid: allowed one of {', '.join(map(repr, METHODS))}")
    if routing not in R.ROUTINGS:
        raise ValueError(f"routing={routing!r} is invalid: allowed one of {', '.join(map(repr, R.ROUTINGS))}")
    if judge_steps is not None and (type(judge_steps) is not int or judge_steps < 1):
        raise ValueError(f"judge_steps={judge_steps!r} is invalid: allowed a positive integer (timesteps) or None")
    if method == "metis" and not P._have_module("pymetis"):
        raise ImportError("method='metis' needs pymetis (pip install 'neurosim[mapping]')")
    deadline = P.Deadline(time_limit_s)  # from the start: reading the graph and the capacity count too
    profile = load_profile(profile) if isinstance(profile, str) else profile
    graph = as_graph(model_or_graph)
    model = as_model(graph)
    if rule is not None:
        rule.check_model(model)
    kw = {"optimizer": optimizer, "update_every": update_every, "seq_len": seq_len}
    cap = Capacity(model, rule, profile, **kw)
    where = f"map {model.kind} ({graph.n_units:,} units) on {profile.name}"
    culprits = unit_culprits(cap)
    board_cores = profile.n_cores * profile.n_chips
    if not culprits and cap.lower_bound() > board_cores:
        culprits = [chip_culprit(cap.lower_bound(), profile)]
    explained = (lambda: suggestions(model, rule, profile, **kw)) if explain else (lambda: None)  # noqa: E731
    if culprits:
        raise MappingInfeasible(where, culprits, explained())
    rate = _rates(as_activity(activity, model_or_graph), graph.n_units)
    ptr, pins = graph.pins()
    deadline.reserve(FINISH_S_PER_PIN * pins.size)  # the repair, placement, routing and report after it
    dest = min(profile.n_cores, cap.lower_bound())  # routing entries reserved per core while searching
    try:
        base = P.greedy(cap, destinations=dest)
    except P.NoRoom as e:
        raise MappingInfeasible(where, _no_room(cap, e), explained()) from None
    if int(base.max()) + 1 > board_cores:
        raise MappingInfeasible(where, [chip_culprit(int(base.max()) + 1, profile)], explained())
    if int(base.max()) + 1 > profile.n_cores:  # a board, and more than one chip's cores: chips first
        from .board import map_board

        result = map_board(method, cap, base, graph, ptr, pins, rate, profile, seed, deadline, dest, routing,
                           where, explained, kw)  # fmt: skip
        if judge or judge_steps is not None:
            result.report["judge"] = _judge(model, result.layout, profile, rule, judge_steps, seed)
        return result
    learn = lambda part, k: error_traffic(graph, rule, model, part, k)  # noqa: E731
    hints = ()
    for _ in range(3):  # the routing entries the budget counts may need more room than reserved
        part, tile = _search(method, cap, base, ptr, pins, rate, profile, seed, deadline, dest, learn, hints)
        hints = (part,)  # a redo keeps this partition as a candidate, repaired to the new reservation
        k = int(part.max()) + 1
        if k > profile.n_cores:
            raise MappingInfeasible(where, [chip_culprit(k, profile)], explained())
        layout = _layout(cap, part, tile, ptr, pins, rate, profile, method)
        b = budget(model, cap.rule, profile, layout, **kw)
        memory = [c for c in b.culprits if c.region in cap.regions]
        if not memory or dest >= k:
            break
        dest, base = _reserve(cap, k, where, explained)
    if b.culprits:  # limits the budget counts per layer (axons, fan-out): no placement of these units helps
        raise MappingInfeasible(where, [_from_budget(c, layout) for c in b.culprits], explained())
    sites = place.tile_sites(profile)[tile]
    T = P.traffic(part, ptr, pins, rate, int(part.max()) + 1)
    routed = R.plan(part, ptr, pins, rate, T, sites, profile, routing, seed, where)
    layout = replace(layout, routes=_routes(routed, part, ptr, pins, rate, sites, routing))
    report = quality(graph, layout, part, tile, ptr, pins, rate, profile, b)
    report.update(learning_report(learn(part, int(part.max()) + 1), sites, report["packet_hops_per_step"]))
    report.update(routed.report)
    report["max_link_load"] = routed.chosen.max_load
    loads = routed.chosen.link_load_dict()
    report["link_loads"] = [[*u, *v, x] for (u, v), x in sorted(loads.items())]
    if profile.board is not None:  # a board's network that one chip holds: on chip 0
        from .board import inter_chip

        report["board"] = inter_chip(part, np.zeros(int(part.max()) + 1, np.int64), ptr, pins, rate, profile.board,
                                     int(profile.noc.packet_bits))  # fmt: skip
    if judge or judge_steps is not None:
        report["judge"] = _judge(model, layout, profile, rule, judge_steps, seed)
    return MappingResult(layout, report, method, int(seed))


def _judge(model, layout, profile, rule, steps, seed) -> dict:
    """The judge's numbers (``judge.judge``) for ``steps`` timesteps (default 20)."""
    from .judge import judge as run_judge

    return run_judge(model, layout, profile, rule, steps=steps or 20, seed=seed)


def _routes(routed, part, ptr, pins, rate, sites, routing) -> tuple:
    """The chosen routes, and one for every other pair of cores that holds a target of a unit
    whose activity is 0 (it has no load to balance: XY under ``adaptive``)."""
    mine = routed.chosen.routes()
    if np.all(rate > 0):
        return mine
    have = {(r.src, r.dst) for r in mine}
    order = "yx" if routing == "yx" else "xy"
    T1 = P.traffic(part, ptr, pins, np.ones_like(rate), len(sites))
    extra = [(int(a), int(b)) for a, b in zip(*np.nonzero(T1)) if (a, b) not in have]
    return mine + tuple(R.Route(a, b, tuple(R.path(tuple(sites[a]), tuple(sites[b]), order))) for a, b in extra)


def _reserve(cap: Capacity, k: int, where: str, explained) -> tuple[int, np.ndarray]:
    """Routing entries to reserve per core when a layout of ``k`` cores needed more than were
    reserved (a core may send to every other core), and greedy's partition with that room: the
    smallest ``d`` ≥ ``k`` − 1 found by iterating ``d`` ← (greedy's cores with ``d`` reserved) − 1
    to its fixed point, where no core can need more entries than reserved."""
    dest = k - 1
    for _ in range(64):
        try:
            base = P.greedy(cap, destinations=dest)
        except P.NoRoom as e:
            raise MappingInfeasible(where, _no_room(cap, e), explained()) from None
        if int(base.max()) <= dest:
            return dest, base
        dest = int(base.max())
    return dest, base


def _no_room(cap: Capacity, e) -> list:
    """The culprits of a unit that fits no core once the core keeps its routing entries."""
    from .infeasible import Culprit

    layers = cap.split(np.array([e.unit]))
    store = cap.store(layers, destinations=e.destinations)
    ((layer, units),) = layers.items()
    what = f"{units} (with {e.destinations} routing entries)"
    return [Culprit(c.layer, what, c.region, int(c.needed), int(c.available)) for c in store.culprits]


def _from_budget(c, layout: Layout):
    from .infeasible import Culprit

    if c.core is None:
        return Culprit(None, "", c.region, int(c.needed), int(c.available))
    core = next(x for x in layout.cores if x.core == c.core)
    return Culprit(c.layer, f"{core.units(c.layer)} (core {c.core})", c.region, int(c.needed), int(c.available))


def _rates(activity, n: int) -> np.ndarray:
    if activity is None:
        return np.ones(n)
    a = np.broadcast_to(np.asarray(activity, np.float64), (n,)).copy() if np.ndim(activity) == 0 else None
    if a is None:
        a = np.asarray(activity, np.float64).reshape(-1)
        if a.size != n:
            raise ValueError(f"activity has {a.size} entries; allowed: one number or one per unit ({n})")
    if not np.isfinite(a).all() or (a < 0).any():
        raise ValueError("activity must be finite and non-negative (spikes or activations per step)")
    return a


def learning_report(E: np.ndarray, sites: np.ndarray, packet_hops: float) -> dict:
    """The learning phases' messages (``learning.error_traffic``) in the report: packets and
    packet-hops per step, and the total packet-hops (spikes or activations plus learning)."""
    hops = float((E * place.hops(sites)).sum())
    return {
        "learning_packets_per_step": float(E.sum()),
        "learning_packet_hops_per_step": hops,
        "total_packet_hops_per_step": packet_hops + hops,
    }


def _search(method, cap, base, ptr, pins, rate, profile, seed, deadline, dest, learn, hints=()):
    n_cores = profile.n_cores
    k_greedy = int(base.max()) + 1
    if method == "greedy":
        return base, place.part_order(profile, k_greedy)
    if method == "round_robin":
        part = P.round_robin(cap, k_greedy, n_cores, dest)
        return part, place.part_order(profile, int(part.max()) + 1)
    if method == "metis":
        part = _fix(cap, P.metis(cap, k_greedy, ptr, pins, n_cores, seed), ptr, pins, dest)
        return part, place.part_order(profile, int(part.max()) + 1)
    if method == "hypergraph":
        part = _hypergraph(cap, k_greedy, ptr, pins, np.ones_like(rate), n_cores, seed, dest, deadline)
        return part, place.part_order(profile, int(part.max()) + 1)
    return _auto(cap, base, ptr, pins, rate, profile, seed, deadline, dest, learn, hints)


def _hypergraph(cap, k, ptr, pins, rate, n_cores, seed, dest, deadline=None) -> np.ndarray:
    if P.have_kahypar() and pins.size <= P.KAHYPAR_MAX_PINS:
        part = P.kahypar_partition(cap, k, ptr, pins, rate, seed)
    else:  # the finest level is refined below, after the exact repair
        part = multilevel.partition(cap, k, ptr, pins, rate, seed, dest, finest=False, deadline=deadline)
    part = P.repair(cap, part, n_cores, dest, pins=(ptr, pins))
    part = P.refine(cap, part, ptr, pins, rate, seed=seed, destinations=dest, settle=P.SETTLE, deadline=deadline)
    return _fix(cap, part, ptr, pins, dest)


def _fix(cap, part, ptr, pins, dest) -> np.ndarray:
    """Exact capacity (``repair``), then outgoing axons (``balance_axons``), then capacity again."""
    n_cores = cap.profile.n_cores
    part = P.repair(cap, part, n_cores, dest, pins=(ptr, pins))
    part = P.balance_axons(cap, part, cap.profile, dest, pins=(ptr, pins))
    return P.repair(cap, part, n_cores, dest, pins=(ptr, pins))


# What must run after the search (exact repair and axon balance of the winner, one annealing
# per candidate, the layout's budget, routing, the report), per pin: ~10 s at 10⁷ pins here
# (random 10⁵-unit graph, 169 cores). The search ends that much before ``time_limit_s``.
FINISH_S_PER_PIN = 1.0e-6
PROMISING = 1.5  # candidates within this factor of the fewest packets are polished (refined) …
PLACED = 1.2  # … and, after polishing, within this factor placed by annealing (the final score)
MIN_ANNEAL_S = 0.5  # past the deadline each placement still gets this long (part order is its start)


def _within(cap, part, k_max, ptr, pins, rate, dest, fix, deadline=None):
    """``part`` on at most ``k_max`` cores: the spilled cores emptied into the others' room
    (``partition.shrink``), refined, and checked exactly (``fix``), up to three rounds; None when
    the others cannot take them."""
    for _ in range(3):
        if int(part.max()) + 1 <= k_max:
            return part
        part = P.shrink(cap, part, k_max, ptr, pins, rate, dest)
        if part is None:
            return None
        part = fix(P.refine(cap, part, ptr, pins, rate, destinations=dest, settle=P.SETTLE, deadline=deadline))
    return part if int(part.max()) + 1 <= k_max else None


def candidates(cap, base, ptr, pins, rate, seed, deadline, dest, n_cores: int, hints=()) -> tuple[list, list]:
    """The candidate partitions of ``auto`` (module docstring, step 2), as (packets per step,
    partition): those on at most greedy's cores that hold the axon limits, the promising ones
    polished; and, for a caller with nothing else, the raw partitions that could not be brought
    back to greedy's cores but hold on at most ``n_cores``. In order of cost — greedy's, METIS's,
    the rate-weighted hypergraph's — none started once ``deadline`` has passed. ``hints``: partitions
    found before (a search redone with more routing entries reserved), repaired to this
    reservation and kept as candidates, so a redo past the deadline keeps what was found."""
    k_greedy = int(base.max()) + 1
    profile = cap.profile
    fix = lambda part: _fix(cap, part, ptr, pins, dest)  # noqa: E731
    refine = lambda part: P.refine(cap, part, ptr, pins, rate, seed=seed, destinations=dest, settle=P.SETTLE,  # noqa: E731
                                   deadline=deadline)  # fmt: skip
    within = lambda part, k: _within(cap, part, k, ptr, pins, rate, dest, fix, deadline)  # noqa: E731
    raw = [(base, False)]  # (partition, refined already)
    raw += [(fix(h), False) for h in hints]
    job = None  # METIS's cut on greedy's cores: on a large graph in a child beside the hypergraph's
    if P._have_module("pymetis") and not deadline.expired():
        job = P.MetisJob(cap, k_greedy, ptr, pins, n_cores, seed)
        if not job.forked or pins.size > P.CONCURRENT_METIS_PINS:  # here and now (or wait for it)
            part = job.result(deadline)
            if part is not None:
                raw.append((fix(part), False))
            job = None
    lb = cap.lower_bound()
    if not deadline.expired():  # as few cores as the totals allow, then the fewest that hold
        part = _hypergraph(cap, lb, ptr, pins, rate, n_cores, seed, dest, deadline)
        raw.append((part, True))
        for k in sorted({lb, (lb + k_greedy) // 2, k_greedy}):
            held = within(part, k)  # its spilled cores emptied into the others' room
            if held is not None:
                raw[-1] = (held, True)
                break  # more cores only add packets
    if not np.all(rate == rate[0]) and not deadline.expired():  # the hypergraph baseline's (unit rates)
        raw.append((_hypergraph(cap, k_greedy, ptr, pins, np.ones_like(rate), n_cores, seed, dest, deadline), True))
    if job is not None:  # METIS's, in its place after greedy's; dropped if the deadline came first
        part = job.result(deadline)
        if part is not None:
            raw.insert(1, (fix(part), False))
    fits, spilled = [], []
    for part, done in raw:
        held = within(part, k_greedy)
        if held is not None and not P.axon_culprits(cap, held, profile):
            fits.append((held, done))
        elif int(part.max()) + 1 <= n_cores and not P.axon_culprits(cap, part, profile):
            spilled.append((P.connectivity(part, ptr, pins, rate), part))
    # polish (refine on λ − 1) only the promising: refining greedy's fill of a shuffled network
    # costs more than the partitioner and ends far behind it
    packets = [P.connectivity(part, ptr, pins, rate) for part, _ in fits]
    out = []
    for (part, done), x in zip(fits, packets):
        if x > PROMISING * min(packets):
            continue
        out.append((x, part))
        if done or deadline.expired():
            continue
        polished = fix(refine(part))
        if int(polished.max()) + 1 <= k_greedy and not P.axon_culprits(cap, polished, profile):
            out.append((P.connectivity(polished, ptr, pins, rate), polished))
    return sorted(out, key=lambda c: c[0]), sorted(spilled, key=lambda c: c[0])


def _auto(cap, base, ptr, pins, rate, profile, seed, deadline, dest, learn, hints=()):
    """``candidates``, the promising placed by annealing; the fewest packet-hops wins."""
    k_greedy = int(base.max()) + 1
    found, _ = candidates(cap, base, ptr, pins, rate, seed, deadline, dest, profile.n_cores, hints)
    if not found:  # no candidate within greedy's cores and the axon limits: greedy's, refused later
        return base, place.part_order(profile, k_greedy)
    fewest = found[0][0]
    parts = [part for x, part in found if x <= PLACED * fewest]
    best = None
    for i, part in enumerate(parts):
        k = int(part.max()) + 1
        T = P.traffic(part, ptr, pins, rate, k) + learn(part, k)  # spikes and the learning phases' messages
        left = deadline.left()
        limit = None if left is None else max(MIN_ANNEAL_S, left / (len(parts) - i))
        tile = place.anneal(T, profile, seed, time_limit_s=limit)
        sites = place.tile_sites(profile)[tile]
        score = (float((T * place.hops(sites)).sum()), k, float(T.sum()))
        if best is None or score < best[0]:
            best = (score, part, tile)
    return best[1], best[2]


def _layout(cap, part, tile, ptr, pins, rate, profile, method) -> Layout:
    k = int(part.max()) + 1
    sites = place.tile_sites(profile)[tile]
    cores = []
    for c in range(k):
        layers = cap.split(np.flatnonzero(part == c))
        cores.append(CoreUnits(c, int(sites[c, 0]), int(sites[c, 1]), tuple(sorted(layers.items()))))
    return Layout(tuple(cores), f"neurosim.mapping {method}")  # routes: ``route.plan``, once it fits
