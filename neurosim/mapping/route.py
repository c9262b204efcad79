"""Routing on the mesh: dimension-order routes, a congestion-aware choice, multicast trees and
routing-table entries.

**Flows.** What crosses the network is a set of flows: a source core, a set of destination
cores and a rate (packets per step injected). On a *unicast* chip every (source core,
destination core) pair with traffic is a flow of one destination (``unicast_flows``: ``T[a, b]``
of ``partition.traffic``), and each destination costs its own packet. On a *multicast* chip
(``[noc] multicast = true``: SpiNNaker's routers duplicate a packet where its tree branches) a
spike is one packet that follows a tree: the units of a core with the same set of destination
cores share one flow (``multicast_flows``; one routing key per such set, as PACMAN gives one key
space per outgoing partition of a vertex), and ``per_core_flows`` merges a core's flows into one
tree over their union when the tables would overflow (every spike of the core then reaches every
destination of the core, as SpiNNaker's default one-key-per-core mapping does).

**Routes.** Dimension order ``xy`` (x first at the source's row, then y at the destination's
column: Loihi's routers, SANA-FE's scheduler, ``hardware.mesh``) or ``yx`` (y first at the
source's column, then x at the destination's row); both are shortest. A unicast flow loads every
link of its path with its rate; a multicast flow loads every link of its tree — the union of its
dimension-order paths to its destinations — once (one packet per tree link instead of one per
destination). ``adaptive`` chooses XY or YX per flow (one order for a whole tree) to minimise the
maximum link load: greedily, heaviest flows first (rate × links), each taking the order whose
busiest link is least loaded given the flows placed so far (ties: the smaller Σ load², then XY);
then improvement passes over the flows in a seeded random order, flipping a flow when that lowers
(max link load, Σ load²) lexicographically, until a pass changes nothing (at most ``passes``).
The result is never worse than all-XY or all-YX: those two are candidates too. Deterministic for
a seed.

Links are directed and numbered as the annealer numbers them (``link_id``): an east–west link
between ``(x, y)`` and ``(x + 1, y)`` is ``(y·W + x)·2 + east``, a north–south link between
``(x, y)`` and ``(x, y + 1)`` is ``2WH + (x·H + y)·2 + north``.

**Routing-table entries.** Unicast chips (Loihi, TrueNorth, ...): a core's table holds one entry
per distinct destination core (``hardware.memory`` prices them in the SRAM region that holds
"routing"; ``budget`` checks that region). Multicast chips: a router needs an entry for a tree
where the tree starts (packets from a local core are always looked up), delivers to a local core,
branches, or turns; a router the packet passes straight through (in on one side, out on the
opposite, nothing delivered) needs none — SpiNNaker's default routing (Furber et al., "The
SpiNNaker project", Proc. IEEE 2014, §IV: a packet that matches no entry leaves by the link
opposite its input). Entries per router are checked against ``[noc] routing_table_entries``
(``RoutingTableOverflow`` names each router, its entries and the limit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hardware.layout import Route
from ..hardware.mesh import dimension_path
from ..hardware.profile import Profile
from .infeasible import MappingInfeasible

ORDERS = ("xy", "yx")
ROUTINGS = ("xy", "yx", "adaptive")
DIRECTIONS = ("west", "east", "south", "north")  # the order of link ids: -x, +x, -y, +y


# --- flows ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Flows:
    """Flow f goes from core ``src[f]`` to the cores ``dst[ptr[f]:ptr[f + 1]]`` (distinct, none
    equal to ``src[f]``) at ``rate[f]`` packets per step (module docstring)."""

    src: np.ndarray
    ptr: np.ndarray
    dst: np.ndarray
    rate: np.ndarray

    @property
    def n(self) -> int:
        return int(self.src.size)

    def dests(self, f: int) -> np.ndarray:
        return self.dst[self.ptr[f] : self.ptr[f + 1]]


def unicast_flows(T: np.ndarray) -> Flows:
    """One flow per ordered pair of cores (a ≠ b) with ``T[a, b] > 0`` (row-major order)."""
    a, b = np.nonzero(T)
    keep = a != b
    a, b = a[keep], b[keep]
    return Flows(a.astype(np.int64), np.arange(a.size + 1, dtype=np.int64), b.astype(np.int64), T[a, b].astype(float))


def multicast_flows(part: np.ndarray, ptr: np.ndarray, pins: np.ndarray, rate: np.ndarray) -> Flows:
    """The units of a core with the same set of other destination cores, as one flow whose rate
    is the sum of theirs; units with no target on another core send nothing. Flows are ordered
    by (source core, destination set)."""
    k = int(part.max()) + 1 if part.size else 1
    e = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    key = np.unique(e * k + part[pins])  # (unit, destination core) pairs, sorted by unit
    unit, core = key // k, key % k
    remote = core != part[unit]
    unit, core = unit[remote], core[remote]
    bounds = np.flatnonzero(np.diff(unit)) + 1
    starts = np.concatenate([[0], bounds]) if unit.size else np.zeros(0, np.int64)
    ends = np.concatenate([bounds, [unit.size]]) if unit.size else np.zeros(0, np.int64)
    groups: dict[tuple[int, bytes], list] = {}
    for s, t in zip(starts.tolist(), ends.tolist()):
        u = int(unit[s])
        k_ = (int(part[u]), core[s:t].tobytes())
        g = groups.get(k_)
        if g is None:
            groups[k_] = [core[s:t], float(rate[u])]
        else:
            g[1] += float(rate[u])
    items = sorted(groups.items(), key=lambda kv: (kv[0][0], tuple(kv[1][0].tolist())))
    return _flows([(s, d, r) for (s, _), (d, r) in items])


def per_core_flows(flows: Flows) -> Flows:
    """Each source core's flows merged into one tree over the union of their destinations, at
    the sum of their rates (one routing key per core)."""
    by: dict[int, list] = {}
    for f in range(flows.n):
        s = int(flows.src[f])
        by.setdefault(s, [[], 0.0])
        by[s][0].append(flows.dests(f))
        by[s][1] += float(flows.rate[f])
    return _flows([(s, np.unique(np.concatenate(d)), r) for s, (d, r) in sorted(by.items())])


def _flows(items) -> Flows:
    src = np.array([s for s, _, _ in items], np.int64)
    lens = [len(d) for _, d, _ in items]
    ptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    dst = np.concatenate([np.asarray(d, np.int64) for _, d, _ in items]) if items else np.zeros(0, np.int64)
    return Flows(src, ptr, dst, np.array([r for _, _, r in items], float))


# --- paths and links -----------------------------------------------------------------------------
def path(a: tuple[int, int], b: tuple[int, int], order: str = "xy") -> list[tuple[int, int]]:
    """Tiles from ``a`` to ``b`` in dimension order ``order`` ("xy": x first), both ends included."""
    if order not in ORDERS:
        raise ValueError(f"order={order!r} is invalid: allowed one of {', '.join(map(repr, ORDERS))}")
    return dimension_path(a, b, order)


def xy_route(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    """Tiles from ``a`` to ``b``, x first then y, both ends included."""
    return path(a, b, "xy")


def n_links(W: int, H: int) -> int:
    """The size of the link id space (``link_id``); ids of links off the mesh's edge are unused."""
    return 4 * W * H


def link_id(u: tuple[int, int], v: tuple[int, int], W: int, H: int) -> int:
    """The id of the directed link from tile ``u`` to its neighbour ``v`` (module docstring)."""
    (x, y), (x1, y1) = u, v
    if y1 == y and abs(x1 - x) == 1:
        return (y * W + min(x, x1)) * 2 + int(x1 > x)
    if x1 == x and abs(y1 - y) == 1:
        return 2 * W * H + (x * H + min(y, y1)) * 2 + int(y1 > y)
    raise ValueError(f"tiles {u} and {v} are not mesh neighbours")


def link_ends(ids: np.ndarray, W: int, H: int) -> np.ndarray:
    """(n, 2, 2): the tiles (from, to) of each link id."""
    ids = np.asarray(ids, np.int64)
    out = np.zeros((ids.size, 2, 2), np.int64)
    ns = ids >= 2 * W * H
    r, up = np.divmod(np.where(ns, ids - 2 * W * H, ids), 2)
    fixed, lo = np.where(ns, r // H, r // W), np.where(ns, r % H, r % W)
    a, b = np.where(up == 1, lo, lo + 1), np.where(up == 1, lo + 1, lo)
    out[:, 0, 0] = np.where(ns, fixed, a)
    out[:, 0, 1] = np.where(ns, a, fixed)
    out[:, 1, 0] = np.where(ns, fixed, b)
    out[:, 1, 1] = np.where(ns, b, fixed)
    return out


def path_links(src: np.ndarray, dst: np.ndarray, yx, W: int, H: int) -> tuple[np.ndarray, np.ndarray]:
    """The links of the dimension-order path from ``src[i]`` to ``dst[i]`` ((n, 2) sites), YX
    where ``yx[i]`` (a bool or one per path), as (path index, link id) pairs (vectorised)."""
    src, dst = np.asarray(src, np.int64).reshape(-1, 2), np.asarray(dst, np.int64).reshape(-1, 2)
    yx = np.broadcast_to(np.asarray(yx, bool), (src.shape[0],))
    x0, y0, x1, y1 = src[:, 0], src[:, 1], dst[:, 0], dst[:, 1]
    row = np.where(yx, y1, y0)  # the row the x segment runs along
    col = np.where(yx, x0, x1)  # the column the y segment runs along
    reps, ids = [], []
    for n_seg, sign, fixed, start, base, stride in (
        (np.abs(x1 - x0), np.sign(x1 - x0), row, x0, 0, W),
        (np.abs(y1 - y0), np.sign(y1 - y0), col, y0, 2 * W * H, H),
    ):
        rep = np.repeat(np.arange(src.shape[0]), n_seg)
        step = np.arange(rep.size) - np.repeat(np.cumsum(n_seg) - n_seg, n_seg)
        s = sign[rep]
        pos = start[rep] + s * step
        reps.append(rep)
        ids.append(base + (fixed[rep] * stride + np.minimum(pos, pos + s)) * 2 + (s > 0))
    return np.concatenate(reps), np.concatenate(ids).astype(np.int64)


def max_load(t: np.ndarray, src: np.ndarray, dst: np.ndarray, W: int, H: int, order: str = "xy") -> float:
    """The busiest directed link's load when ``t[i]`` packets go from site ``src[i]`` to
    ``dst[i]`` by ``order`` routes (vectorised; the annealer's cost)."""
    if np.size(t) == 0:
        return 0.0
    rep, ids = path_links(src, dst, order == "yx", W, H)
    if ids.size == 0:
        return 0.0
    return float(np.bincount(ids, weights=np.asarray(t, float)[rep]).max())


def link_loads(T: np.ndarray, sites: np.ndarray, order: str = "xy") -> dict:
    """Packets per step over each directed link ((x, y), (x', y')) when ``T[a, b]`` packets go
    from core a to core b (sites ``sites``) by ``order`` routes."""
    loads: dict = {}
    for a, b in zip(*np.nonzero(T)):
        p = path(tuple(sites[a]), tuple(sites[b]), order)
        for u, v in zip(p, p[1:]):
            loads[(u, v)] = loads.get((u, v), 0.0) + float(T[a, b])
    return loads


# --- routing a set of flows ----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Routing:
    """Flows routed: ``yx[f]`` (the order flow f takes), the load of every link id, and per flow
    its links (CSR ``fptr``, ``fids``, ``fcnt``: the packets flow f puts on the link per packet it
    injects — 1 on a tree link, the destinations behind it on a unicast path)."""

    flows: Flows
    sites: np.ndarray  # (k, 2): the site of each core
    W: int
    H: int
    multicast: bool
    routing: str
    yx: np.ndarray
    loads: np.ndarray
    fptr: np.ndarray
    fids: np.ndarray
    fcnt: np.ndarray

    @property
    def max_load(self) -> float:
        return float(self.loads.max(initial=0.0))

    @property
    def link_packets(self) -> float:
        """Packets per step summed over links (packet-hops: a tree link counts once)."""
        return float(self.loads.sum())

    def link_load_dict(self) -> dict:
        """{((x, y), (x', y')): packets per step} over the links with traffic."""
        nz = np.flatnonzero(self.loads)
        ends = link_ends(nz, self.W, self.H)
        return {(tuple(map(int, e[0])), tuple(map(int, e[1]))): float(self.loads[i]) for i, e in zip(nz, ends)}

    def routes(self, core_ids=None) -> tuple[Route, ...]:
        """One ``Route`` per (source core, destination core, order) the flows use, in flow order."""
        ids = np.arange(self.sites.shape[0]) if core_ids is None else np.asarray(core_ids)
        seen, out = set(), []
        for f in range(self.flows.n):
            a, order = int(self.flows.src[f]), "yx" if self.yx[f] else "xy"
            for b in self.flows.dests(f).tolist():
                key = (a, b, order)
                if key in seen:
                    continue
                seen.add(key)
                tiles = path(tuple(self.sites[a]), tuple(self.sites[b]), order)
                out.append(Route(int(ids[a]), int(ids[b]), tuple(tiles)))
        return tuple(out)

    def table_entries(self) -> np.ndarray:
        """(W·H,) routing-table entries per router (tile id ``x·H + y``) of the multicast trees
        (module docstring's rule)."""
        return _tree_entries(self)


def route(flows: Flows, sites: np.ndarray, W: int, H: int, routing: str = "xy", *, multicast: bool = False,
          seed: int = 0, passes: int = 4) -> Routing:  # fmt: skip
    """Route ``flows`` between cores at ``sites`` on a W × H mesh by ``routing`` (module
    docstring); ``multicast``: each flow is a tree (one packet per tree link)."""
    if routing not in ROUTINGS:
        raise ValueError(f"routing={routing!r} is invalid: allowed one of {', '.join(map(repr, ROUTINGS))}")
    sites = np.asarray(sites, np.int64).reshape(-1, 2)
    inc = [_incidence(flows, sites, W, H, yx, multicast) for yx in (False, True)]
    F = flows.n
    if routing == "adaptive":
        yx = _adaptive(flows, inc, n_links(W, H), seed, passes)
    else:
        yx = np.full(F, routing == "yx")
    fptr, fids, fcnt = _mix(inc, yx)
    w = np.repeat(flows.rate, np.diff(fptr)) * fcnt
    loads = np.bincount(fids, weights=w, minlength=n_links(W, H)).astype(float)
    return Routing(flows, sites, W, H, multicast, routing, yx, loads, fptr, fids, fcnt)


def _incidence(flows: Flows, sites, W, H, yx: bool, multicast: bool):
    """Per flow (CSR, by flow): its distinct link ids and the packets per injected packet on each."""
    pair_flow = np.repeat(np.arange(flows.n), np.diff(flows.ptr))
    rep, ids = path_links(sites[flows.src[pair_flow]], sites[flows.dst], yx, W, H)
    fl = pair_flow[rep]
    L = n_links(W, H)
    key, cnt = np.unique(fl * L + ids, return_counts=True)
    if multicast:
        cnt = np.ones_like(cnt)
    f, lid = key // L, key % L
    ptr = np.concatenate([[0], np.cumsum(np.bincount(f, minlength=flows.n))]).astype(np.int64)
    return ptr, lid.astype(np.int64), cnt.astype(float)


def _mix(inc, yx: np.ndarray):
    """The incidence of every flow in its chosen order."""
    (p0, i0, c0), (p1, i1, c1) = inc
    ids, cnts, lens = [], [], []
    for f, y in enumerate(yx.tolist()):
        p, i, c = (p1, i1, c1) if y else (p0, i0, c0)
        ids.append(i[p[f] : p[f + 1]])
        cnts.append(c[p[f] : p[f + 1]])
        lens.append(p[f + 1] - p[f])
    if not lens:
        return np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate([[0], np.cumsum(lens)]).astype(np.int64), np.concatenate(ids), np.concatenate(cnts)


def _adaptive(flows: Flows, inc, L: int, seed: int, passes: int) -> np.ndarray:
    F = flows.n
    rate = flows.rate
    parts = []
    for p, i, c in inc:
        parts.append([(i[p[f] : p[f + 1]], c[p[f] : p[f + 1]] * rate[f]) for f in range(F)])
    same = np.array([np.array_equal(parts[0][f][0], parts[1][f][0]) and np.array_equal(parts[0][f][1], parts[1][f][1])
                     for f in range(F)], bool)  # fmt: skip
    score = lambda loads: (float(loads.max(initial=0.0)), float((loads * loads).sum()))  # noqa: E731

    def total(yx):
        loads = np.zeros(L)
        for f in range(F):
            ids, w = parts[int(yx[f])][f]
            np.add.at(loads, ids, w)
        return loads

    # greedy: heaviest flows first, each taking the order whose busiest link is least loaded
    weight = np.array([parts[0][f][1].sum() for f in range(F)])
    order = np.lexsort((np.arange(F), -weight))
    loads = np.zeros(L)
    yx = np.zeros(F, bool)
    for f in order.tolist():
        best = None
        for y in (0, 1) if not same[f] else (0,):
            ids, w = parts[y][f]
            new = loads[ids] + w
            key = (float(new.max(initial=0.0)), float((new * new - loads[ids] ** 2).sum()), y)
            if best is None or key < best:
                best = key
        y = best[2]
        yx[f] = bool(y)
        np.add.at(loads, parts[y][f][0], parts[y][f][1])
    # improvement passes: flip a flow when (max load, Σ load²) goes down
    rng = np.random.default_rng(seed)
    cur = score(loads)
    movable = np.flatnonzero(~same)
    for _ in range(passes):
        changed = False
        for f in rng.permutation(movable).tolist():
            y = int(yx[f])
            (oi, ow), (ni, nw) = parts[y][f], parts[1 - y][f]
            trial = loads.copy()
            np.subtract.at(trial, oi, ow)
            np.add.at(trial, ni, nw)
            s = score(trial)
            if s < cur:
                loads, cur, yx[f], changed = trial, s, not yx[f], True
        if not changed:
            break
    # never worse than one order for all flows
    candidates = [(cur, 2, yx)]
    for y in (0, 1):
        fixed = np.full(F, bool(y))
        candidates.append((score(total(fixed)), y, fixed))
    return min(candidates, key=lambda c: (c[0], c[1]))[2]


# --- routing tables ------------------------------------------------------------------------------
def _tree_entries(r: Routing) -> np.ndarray:
    W, H = r.W, r.H
    n_tiles = W * H
    tile = r.sites[:, 0] * H + r.sites[:, 1]  # per core
    F = r.flows.n
    flow_of = np.repeat(np.arange(F), np.diff(r.fptr))
    ends = link_ends(r.fids, W, H)
    frm = ends[:, 0, 0] * H + ends[:, 0, 1]
    to = ends[:, 1, 0] * H + ends[:, 1, 1]
    direction = np.where(r.fids >= 2 * W * H, 2, 0) + (r.fids % 2)  # DIRECTIONS index
    need = set()
    # the source router of every flow with a destination
    for f in range(F):
        need.add((f, int(tile[r.flows.src[f]])))
    # routers that deliver to a local core
    pair_flow = np.repeat(np.arange(F), np.diff(r.flows.ptr))
    need.update(zip(pair_flow.tolist(), tile[r.flows.dst].tolist()))
    # branches and turns: out-degree ≠ 1, or an output unlike the input
    out_deg: dict = {}
    out_dir: dict = {}
    for f, a, d in zip(flow_of.tolist(), frm.tolist(), direction.tolist()):
        out_deg[(f, a)] = out_deg.get((f, a), 0) + 1
        out_dir[(f, a)] = d
    for f, b, d in zip(flow_of.tolist(), to.tolist(), direction.tolist()):
        if out_deg.get((f, b), 0) != 1 or out_dir[(f, b)] != d:
            if out_deg.get((f, b), 0) > 0:
                need.add((f, b))
    for (f, a), deg in out_deg.items():
        if deg > 1:
            need.add((f, a))
    counts = np.zeros(n_tiles, np.int64)
    for _, t in need:
        counts[t] += 1
    return counts


class RoutingTableOverflow(MappingInfeasible):
    """Routers whose multicast routing tables need more entries than ``[noc]
    routing_table_entries``: ``routers`` lists ((x, y), entries, limit)."""

    def __init__(self, where: str, routers: list[tuple[tuple[int, int], int, int]], tried: list[str]):
        from .infeasible import Culprit

        self.routers = routers
        culprits = [Culprit(None, f"router ({x}, {y})", "routing_table_entries", n, lim) for (x, y), n, lim in routers]
        super().__init__(where, culprits, [])
        lines = [f"{where}: the multicast routing tables overflow"]
        lines += [f"  - router ({x}, {y}): {n:,} entries, the table holds {lim:,}" for (x, y), n, lim in routers]
        lines += [f"  tried: {t}" for t in tried]
        self.args = ("\n".join(lines),)


def check_tables(entries: np.ndarray, limit: int | None, H: int, where: str, tried: list[str] = ()) -> None:
    """Raise ``RoutingTableOverflow`` naming every router (tile id ``x·H + y``) over ``limit``."""
    if limit is None:
        return
    over = np.flatnonzero(entries > limit)
    if over.size:
        routers = [((int(t // H), int(t % H)), int(entries[t]), int(limit)) for t in over]
        raise RoutingTableOverflow(where, routers, list(tried))


# --- the mapper's routing step -------------------------------------------------------------------
def chip_multicast(profile: Profile) -> bool:
    """Whether the chip's routers copy a packet along a tree (``[noc] multicast``)."""
    return bool(profile.noc.multicast)


def table_limit(profile: Profile) -> int | None:
    """Entries of one router's table (``[noc] routing_table_entries``); None when the chip has no
    router table (0: routes follow the address in the packet)."""
    n = int(profile.noc.routing_table_entries)
    return n if n > 0 else None


def unicast_limit(profile: Profile) -> tuple[int | None, str | None]:
    """(entries, region) the SRAM region holding "routing" could hold at most if it held nothing
    else (``capacity_bits // routing_entry_bits``); the budget checks the exact share."""
    bits = int(profile.noc.routing_entry_bits)
    if bits <= 0:  # a chip without routing tables (one core: Xylo, a microcontroller)
        return None, None
    for s in profile.srams:
        if any(h.split(".")[0] == "routing" for h in s.holds):
            return int(s.capacity_bits // bits), s.name
    return None, None


@dataclass
class Plan:
    """The mapper's routing of one layout: the chosen ``Routing``, the maximum link load under
    each routing, and the table check's result."""

    chosen: Routing
    max_link_load: dict
    keys: str  # "per destination set" or "per core" (multicast), "per destination core" (unicast)
    report: dict


def plan(part, ptr, pins, rate, T, sites, profile: Profile, routing: str = "xy", seed: int = 0,
         where: str = "map", *, multicast: bool | None = None, limit: int | None = None) -> Plan:  # fmt: skip
    """Route a finished partition and placement (``sites``: (k, 2) per core) as the chip does
    (unicast or multicast trees), under each routing, and check the routing tables.
    ``multicast`` and ``limit`` (entries per router) default to the profile's."""
    if routing not in ROUTINGS:
        raise ValueError(f"routing={routing!r} is invalid: allowed one of {', '.join(map(repr, ROUTINGS))}")
    W, H = int(profile.chip.mesh_width), int(profile.chip.mesh_height)
    multicast = chip_multicast(profile) if multicast is None else bool(multicast)
    tried: list[str] = []
    if multicast:
        limit = table_limit(profile) if limit is None else int(limit)
        flows, keys = multicast_flows(part, ptr, pins, rate), "per destination set"
        every = {r: route(flows, sites, W, H, r, multicast=True, seed=seed) for r in ROUTINGS}
        entries = every[routing].table_entries()
        if limit is not None and entries.max(initial=0) > limit:
            tried.append(f"one key per destination set of a core: {int(entries.max())} entries at the busiest router")
            flows, keys = per_core_flows(flows), "per core"
            every = {r: route(flows, sites, W, H, r, multicast=True, seed=seed) for r in ROUTINGS}
            entries = every[routing].table_entries()
            tried.append(f"one key per core: {int(entries.max())} entries at the busiest router")
        check_tables(entries, limit, H, where, tried)
        worst = int(np.argmax(entries)) if entries.size else 0
        chosen = every[routing]
        unicast = route(unicast_flows(T), sites, W, H, routing)
        table = {
            "kind": "multicast trees, per router",
            "rule": "an entry where a tree starts, delivers, branches or turns; none where it passes straight through",
            "keys": keys,
            "entries": {f"{t // H},{t % H}": int(n) for t, n in enumerate(entries.tolist()) if n},
            "worst": {
                "router": [worst // H, worst % H],
                "entries": int(entries[worst]) if entries.size else 0,
                "limit": limit,
            },  # fmt: skip
        }
        mc = {
            "packets_injected_per_step": float(flows.rate.sum()),
            "tree_link_packets_per_step": chosen.link_packets,
            "unicast_link_packets_per_step": unicast.link_packets,
        }
    else:
        flows, keys = unicast_flows(T), "per destination core"
        every = {r: route(flows, sites, W, H, r, seed=seed) for r in ROUTINGS}
        chosen = every[routing]
        entries = (T > 0).sum(1)
        limit, region = unicast_limit(profile)
        worst = int(np.argmax(entries)) if entries.size else 0
        table = {
            "kind": "unicast, per core",
            "rule": "one entry per distinct destination core (the budget checks the SRAM region that holds routing)",
            "keys": keys,
            "entries": {str(c): int(n) for c, n in enumerate(entries.tolist())},
            "worst": {
                "core": worst,
                "entries": int(entries[worst]) if entries.size else 0,
                "limit": limit,
                "region": region,
            },  # fmt: skip
        }
        mc = None
    by = {r: every[r].max_load for r in ROUTINGS}
    report = {
        "routing": routing,
        "multicast": multicast,
        "max_link_load_by_routing": by,
        "link_packets_per_step": chosen.link_packets,
        "routing_table": table,
        "multicast_packets": mc,
    }
    return Plan(chosen, by, keys, report)
