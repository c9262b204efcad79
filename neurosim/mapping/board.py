"""Mapping onto a board of several chips (a profile with a ``[board]``): chips first, then cores.

A network that one chip holds stays on one chip (``map_network`` maps it as on a single-chip
profile, every core on chip 0). Otherwise:

1. **Cores.** The units are partitioned into cores as on one chip (``mapper``'s methods, the core
   count no longer bounded by one chip but by the board's ``n_chips × n_cores``).
2. **Chip-level partition.** The cores are the vertices of a coarse hypergraph: one hyperedge per
   unit over its own core and the cores of its targets, weighted by its activity. Cut into
   ``m = ⌈k / n_cores⌉`` chip-parts of at most ``n_cores`` cores (each core already holds its
   units under the exact ``core_store``, so a chip-part of ≤ ``n_cores`` cores holds exactly):
   greedy growth (each part takes the free core with the most traffic to it), then a
   Fiduccia–Mattheyses-style pass of positive-gain moves and swaps on λ − 1 at the chip level —
   the inter-chip packets per step (a unit sends one packet to every other chip that holds any of
   its targets, as it sends one to every other core on a chip).
3. **Placement of the chip-parts on the board's chip sites**, minimising Σ packets × chip-to-chip
   hops (``Board.hops``): the busiest part at the site nearest all others, each next part (most
   traffic to those placed) at the free site that costs least, then pairwise swaps and moves to
   free sites while they gain. Then cores are swapped between chips while the rate-weighted
   inter-chip packet-hops fall (the same objective, core by core).
4. **Within each chip** the single-chip steps on the chip's own traffic: ``place.anneal`` of its
   cores on its mesh, ``route.plan`` of its intra-chip packets (its routing tables checked).

``inter_chip(part, chip, ptr, pins, rate, board, bits)`` is the board half of the report: chips
used, inter-chip packets and packet-hops per step, the link energy per step (each packet that
crosses h chip-to-chip links costs ``Board.transfer_energy_pj(bits, h)``; a packet reaches each
destination chip by its own shortest route, so under multicast trees that share links this is an
upper bound), and the latency of the worst inter-chip route that carries traffic
(``Board.transfer_latency_ns``).
"""

from __future__ import annotations

import numpy as np


# --- the coarse hypergraph -----------------------------------------------------------------------
def core_hyperedges(part: np.ndarray, ptr: np.ndarray, pins: np.ndarray, rate: np.ndarray):
    """(eptr, epins, erate, esrc): one hyperedge per unit over its own core and its targets' cores
    (distinct), weighted by its activity, with its own core; units with no target on another core
    are left out (they cannot cross chips)."""
    k = int(part.max()) + 1
    n_e = ptr.size - 1
    e = np.repeat(np.arange(n_e), np.diff(ptr))
    key = np.unique(np.concatenate([e * k + part[pins], np.arange(n_e) * k + part[:n_e]]))
    edge, core = key // k, key % k
    sizes = np.bincount(edge, minlength=n_e)
    keep = sizes > 1
    m = keep[edge]
    eptr = np.concatenate([[0], np.cumsum(sizes[keep])])
    return eptr, core[m], rate[:n_e][keep], part[:n_e][keep]


def _pairs(chip_of_core: np.ndarray, eptr, epins, esrc, n_chips: int):
    """Distinct (hyperedge, destination chip) pairs, the source's chip included."""
    e = np.repeat(np.arange(eptr.size - 1), np.diff(eptr))
    key = np.unique(e * n_chips + chip_of_core[epins])
    return key // n_chips, key % n_chips


def chip_traffic(chip_of_core, eptr, epins, erate, esrc, n_chips: int) -> np.ndarray:
    """Tc[a, b]: packets per step from chip a to chip b ≠ a."""
    edge, dst = _pairs(chip_of_core, eptr, epins, esrc, n_chips)
    out = np.zeros((n_chips, n_chips))
    np.add.at(out, (chip_of_core[esrc[edge]], dst), erate[edge])
    np.fill_diagonal(out, 0.0)
    return out


def packet_hops(chip_of_core, eptr, epins, erate, esrc, hops: np.ndarray) -> float:
    """Σ over units of activity × Σ over the other chips holding a target of the hops there."""
    n = hops.shape[0]
    edge, dst = _pairs(chip_of_core, eptr, epins, esrc, n)
    return float((erate[edge] * hops[chip_of_core[esrc[edge]], dst]).sum())


# --- 2. the chip-level partition -----------------------------------------------------------------
def chip_partition(T: np.ndarray, per_chip: int, m: int, eptr, epins, erate, esrc, seed: int = 0,
                   deadline=None) -> np.ndarray:  # fmt: skip
    """Chip-part (0…m−1) of each of the k cores, at most ``per_chip`` per part (module docstring,
    step 2). ``T``: core-to-core packets per step."""
    k = T.shape[0]
    if m <= 1:
        return np.zeros(k, np.int64)
    A = T + T.T
    part = np.full(k, -1, np.int64)
    for p in range(m):
        free = np.flatnonzero(part < 0)
        if free.size == 0:
            break
        size = min(per_chip, -(-free.size // (m - p)) if p < m - 1 else free.size)
        # the seed of a part: the free core most attached to the parts already grown (so the new
        # part grows alongside them, as on a sheet), else the first core
        taken = part >= 0
        pull = A[np.ix_(free, np.flatnonzero(taken))].sum(1) if taken.any() else np.zeros(free.size)
        start = int(free[np.argmax(pull)]) if taken.any() else int(free[0])
        part[start] = p
        link = A[:, start].copy()
        for _ in range(size - 1):
            cand = np.flatnonzero(part < 0)
            if cand.size == 0:
                break
            c = int(cand[np.argmax(link[cand])])
            part[c] = p
            link += A[:, c]
    part[part < 0] = m - 1
    unit = 1 - np.eye(m, dtype=np.int64)  # λ − 1: every other chip counts one
    return improve(part, unit, per_chip, T, eptr, epins, erate, esrc, seed, deadline=deadline)


SWAP_CANDIDATES = 8  # per (core, chip-part): the part's cores most attached to the core's own part


def improve(part, hops, per_chip: int, T, eptr, epins, erate, esrc, seed: int = 0, passes: int = 4,
            deadline=None) -> np.ndarray:  # fmt: skip
    """Positive-gain moves (to a chip-part with room) and swaps of cores between chip-parts, on
    ``packet_hops`` with the chip-to-chip ``hops`` (the identity's complement: λ − 1). A core is
    offered only to the parts of cores it exchanges packets with (``T``), and swapped only with
    the ``SWAP_CANDIDATES`` cores of that part most attached to its own part (every core of the
    part made a 1M-unit network's 16-chip board take hours); no pass starts, and no core is
    tried, once ``deadline`` (a ``partition.Deadline``) has passed."""
    part = part.copy()
    k, m = part.size, hops.shape[0]
    e_of = np.repeat(np.arange(eptr.size - 1), np.diff(eptr))
    order = np.argsort(epins, kind="stable")  # the hyperedges each core is in (pins are distinct per edge)
    touching = np.split(e_of[order], np.searchsorted(epins[order], np.arange(1, k)))
    rng = np.random.default_rng(seed)
    A = T + T.T

    def local(edges, p):
        if edges.size == 0:
            return 0.0
        sub_ptr = np.concatenate([[0], np.cumsum(eptr[edges + 1] - eptr[edges])])
        sub_pins = np.concatenate([epins[eptr[e] : eptr[e + 1]] for e in edges])
        return packet_hops(p, sub_ptr, sub_pins, erate[edges], esrc[edges], hops)

    count = np.bincount(part, minlength=m)
    for _ in range(passes):
        gained = False
        for a in rng.permutation(k):
            if deadline is not None and deadline.expired():
                return part
            pa = part[a]
            neigh = np.unique(part[np.flatnonzero(A[a] > 0)])
            for q in neigh:
                if q == pa:
                    continue
                if count[q] < per_chip:  # a move
                    edges = touching[a]
                    before = local(edges, part)
                    trial = part.copy()
                    trial[a] = q
                    if local(edges, trial) < before - 1e-12:
                        part, gained = trial, True
                        count[pa] -= 1
                        count[q] += 1
                        break
                best, best_b = 0.0, -1
                cands = np.flatnonzero(part == q)
                if cands.size > SWAP_CANDIDATES:  # those most attached to a's part gain most by moving
                    pull = A[np.ix_(cands, np.flatnonzero(part == pa))].sum(1)
                    cands = cands[np.argsort(-pull, kind="stable")[:SWAP_CANDIDATES]]
                for b in cands:
                    edges = np.union1d(touching[a], touching[b])
                    trial = part.copy()
                    trial[a], trial[b] = q, pa
                    gain = local(edges, part) - local(edges, trial)
                    if gain > best + 1e-12:
                        best, best_b = gain, int(b)
                if best_b >= 0:
                    part[a], part[best_b] = q, pa
                    gained = True
                    break
        if not gained:
            break
    return part


# --- 3. chip-parts on the board's sites ----------------------------------------------------------
def place_parts(Tc: np.ndarray, hop_matrix: np.ndarray) -> np.ndarray:
    """Board chip (site) of each chip-part: minimises Σ Tc[p, q] · hops(site p, site q) (module
    docstring, step 3)."""
    m, n = Tc.shape[0], hop_matrix.shape[0]
    if m > n:
        raise ValueError(f"{m} chip-parts but the board has {n} chips")
    A = Tc + Tc.T
    site = np.full(m, -1, np.int64)
    free = np.ones(n, bool)
    order = [int(np.argmax(A.sum(1)))]
    site[order[0]] = int(np.argmin(hop_matrix.sum(1)))
    free[site[order[0]]] = False
    while len(order) < m:
        placed = np.array(order)
        rest = np.setdiff1d(np.arange(m), placed)
        p = int(rest[np.argmax(A[np.ix_(rest, placed)].sum(1))])
        cost = A[p, placed] @ hop_matrix[site[placed]]  # cost of each site for p
        cost = cost + 1e-9 * hop_matrix[site[placed]].sum(0)  # ties: nearest the placed parts
        cost[~free] = np.inf
        site[p] = int(np.argmin(cost))
        free[site[p]] = False
        order.append(p)

    def total(s):
        return float((A * hop_matrix[np.ix_(s, s)]).sum()) / 2

    best = total(site)
    for _ in range(10):
        gained = False
        for p in range(m):
            for s in range(n):
                if s == site[p]:
                    continue
                trial = site.copy()
                q = np.flatnonzero(site == s)
                if q.size:
                    trial[q[0]] = site[p]
                trial[p] = s
                c = total(trial)
                if c < best - 1e-12:
                    site, best, gained = trial, c, True
        if not gained:
            break
    return site


# --- the report ----------------------------------------------------------------------------------
def inter_chip(part, chip_of_core, ptr, pins, rate, board, bits: int) -> dict:
    """The board half of the quality report (module docstring), recounted from the unit-level
    partition ``part`` (core of each unit) and ``chip_of_core``."""
    n = board.n_chips
    H = board.hop_matrix()
    chip_of_unit = chip_of_core[part]
    n_e = ptr.size - 1
    e = np.repeat(np.arange(n_e), np.diff(ptr))
    key = np.unique(e * n + chip_of_unit[pins])
    edge, dst = key // n, key % n
    src = chip_of_unit[edge]
    cross = dst != src
    r = rate[edge[cross]]
    h = H[src[cross], dst[cross]]
    packets = float(r.sum())
    phops = float((r * h).sum())
    used = sorted({int(c) for c in np.unique(chip_of_core)})
    routes = {(int(a), int(b)) for a, b in zip(src[cross][r > 0], dst[cross][r > 0])}
    worst = max(routes, key=lambda ab: (H[ab], ab), default=None)
    return {
        "chips_used": len(used),
        "chips": used,
        "chip_sites": {str(c): list(board.site(c)) for c in used},
        "inter_chip_packets_per_step": packets,
        "inter_chip_packet_hops_per_step": phops,
        "inter_chip_mean_hops": phops / packets if packets else 0.0,
        "inter_chip_energy_pj_per_step": float(
            sum(board.transfer_energy_pj(bits, int(hh)) * rr for rr, hh in zip(r.tolist(), h.tolist()))
        ),
        "worst_inter_chip_route": None
        if worst is None
        else {
            "from_chip": worst[0],
            "to_chip": worst[1],
            "hops": int(H[worst]),
            "latency_ns": board.transfer_latency_ns(bits, int(H[worst])),
        },
        "packet_bits": int(bits),
        "rule": "one packet per unit to every other chip holding any of its targets, each by its own "
        "shortest chip-to-chip route (Board.hops); energy Board.transfer_energy_pj(packet_bits, hops)",
    }


# --- map_network on a board ----------------------------------------------------------------------
def board_cores(method, cap, base, ptr, pins, rate, total: int, seed: int, dest: int, deadline=None,
                hints=()) -> np.ndarray:  # fmt: skip
    """Step 1: the units' cores, by ``method``, at most ``total`` (the board's cores). ``auto``: of
    ``mapper.candidates`` (greedy's, METIS's and the rate-weighted hypergraph's partitions, each
    brought back to greedy's cores), the one with the fewest packets per step (placement per chip
    comes later, so packets, not hops, decide here); when none on greedy's cores holds the axon
    limits, the best that holds them on more cores (greedy's own fill can break them)."""
    from . import mapper as M
    from . import partition as P

    deadline = deadline or P.Deadline()
    k_greedy = int(base.max()) + 1
    if method == "greedy":
        return base
    if method == "round_robin":
        return P.round_robin(cap, k_greedy, total, dest)
    if method == "metis":
        return M._fix(cap, P.metis(cap, k_greedy, ptr, pins, total, seed), ptr, pins, dest)
    if method == "hypergraph":
        return M._hypergraph(cap, k_greedy, ptr, pins, np.ones_like(rate), total, seed, dest, deadline)
    found, spilled = M.candidates(cap, base, ptr, pins, rate, seed, deadline, dest, total, hints)
    if found:
        return found[0][1]
    return spilled[0][1] if spilled else base


def assign_chips(part, ptr, pins, rate, profile, method: str, seed: int = 0, deadline=None) -> np.ndarray:
    """Steps 2–3: the board chip of each core. ``auto``: the chip-level partition, its placement on
    the board's sites and the core swaps; the baselines: cores in part order fill the board's chips
    in order (core c on chip c // n_cores)."""
    from . import partition as P

    k, per = int(part.max()) + 1, int(profile.n_cores)
    m = -(-k // per)
    if m > profile.n_chips:
        raise ValueError(f"{k} cores need {m} chips; the board has {profile.n_chips}")
    if method != "auto":
        return np.arange(k, dtype=np.int64) // per
    T = P.traffic(part, ptr, pins, rate, k)
    eptr, epins, erate, esrc = core_hyperedges(part, ptr, pins, rate)
    cp = chip_partition(T, per, m, eptr, epins, erate, esrc, seed, deadline)
    H = profile.board.hop_matrix()
    site = place_parts(chip_traffic(cp, eptr, epins, erate, esrc, m), H)
    return improve(site[cp], H, per, T, eptr, epins, erate, esrc, seed, deadline=deadline)


def _chip_subgraph(part, chip_of_core, ptr, pins, rate, chip: int):
    """The units on ``chip`` and their targets there: (units, ptr, pins, rate, local core of each)."""
    chip_of_unit = chip_of_core[part]
    units = np.flatnonzero(chip_of_unit == chip)
    local = np.full(part.size, -1, np.int64)
    local[units] = np.arange(units.size)
    rows = [pins[ptr[u] : ptr[u + 1]] for u in units.tolist()]
    rows = [r[chip_of_unit[r] == chip] for r in rows]
    sub_ptr = np.concatenate([[0], np.cumsum([r.size for r in rows])]).astype(np.int64)
    sub_pins = local[np.concatenate(rows)] if rows else np.zeros(0, np.int64)
    cores = np.flatnonzero(chip_of_core == chip)
    core_local = np.full(chip_of_core.size, -1, np.int64)
    core_local[cores] = np.arange(cores.size)
    return units, sub_ptr, sub_pins.astype(np.int64), rate[units], core_local[part[units]]


def map_board(method, cap, base, graph, ptr, pins, rate, profile, seed, deadline, dest, routing, where,
              explained, kw):  # fmt: skip
    """``map_network`` for a network that needs several chips of a board (module docstring);
    ``deadline``: the search's ``partition.Deadline``."""
    from dataclasses import replace

    from ..hardware.accounting import budget
    from ..hardware.layout import CoreUnits, Layout
    from . import mapper as M
    from . import partition as P
    from . import place
    from . import route as R
    from .infeasible import MappingInfeasible, chip_culprit
    from .report import quality

    total = int(profile.n_cores) * int(profile.n_chips)
    hints = ()
    for _ in range(3):  # as on one chip: the routing entries the budget counts may need more room
        part = board_cores(method, cap, base, ptr, pins, rate, total, seed, dest, deadline, hints)
        hints = (part,)  # a redo keeps this partition as a candidate (``mapper.candidates``)
        k = int(part.max()) + 1
        if k > total:
            raise MappingInfeasible(where, [chip_culprit(k, profile)], explained())
        chip = assign_chips(part, ptr, pins, rate, profile, method, seed, deadline)
        T = P.traffic(part, ptr, pins, rate, k)
        tile = np.zeros(k, np.int64)
        for c in np.unique(chip).tolist():
            ids = np.flatnonzero(chip == c)
            Tl = T[np.ix_(ids, ids)]
            if method == "auto":
                left = deadline.left()
                tile[ids] = place.anneal(Tl, profile, seed, time_limit_s=None if left is None else max(0.5, left))
            else:
                tile[ids] = place.part_order(profile, ids.size)
        sites = place.tile_sites(profile)[tile]
        cores = [CoreUnits(c, int(sites[c, 0]), int(sites[c, 1]), tuple(sorted(cap.split(np.flatnonzero(part == c))
                 .items())), int(chip[c])) for c in range(k)]  # fmt: skip
        layout = Layout(tuple(cores), f"neurosim.mapping {method}, on a board of {profile.n_chips} chips")
        b = budget(cap.model, cap.rule, profile, layout, **kw)
        memory = [c for c in b.culprits if c.region in cap.regions]
        if not memory or dest >= k:
            break
        dest, base = M._reserve(cap, k, where, explained)  # as on one chip
    if b.culprits:
        raise MappingInfeasible(where, [M._from_budget(c, layout) for c in b.culprits], explained())
    routes, per_chip, link_max = [], [], 0.0
    by_routing: dict[str, float] = {}
    H = place.hops(sites)
    for c in np.unique(chip).tolist():
        ids = np.flatnonzero(chip == c)
        units, sptr, spins, srate, lpart = _chip_subgraph(part, chip, ptr, pins, rate, c)
        Tl = T[np.ix_(ids, ids)]
        lsites = sites[ids]
        routed = R.plan(lpart, sptr, spins, srate, Tl, lsites, profile, routing, seed, f"{where}, chip {c}")
        mine = M._routes(routed, lpart, sptr, spins, srate, lsites, routing)
        routes += [R.Route(int(ids[r.src]), int(ids[r.dst]), r.tiles) for r in mine]
        link_max = max(link_max, routed.chosen.max_load)
        for r, v in routed.report["max_link_load_by_routing"].items():
            by_routing[r] = max(by_routing.get(r, 0.0), v)
        Hl = H[np.ix_(ids, ids)]
        packets = float(Tl.sum())
        per_chip.append({
            "chip": c,
            "site": list(profile.board.site(c)),
            "cores": [int(i) for i in ids],
            "units": int(units.size),
            "packets_per_step": packets,
            "packet_hops_per_step": float((Tl * Hl).sum()),
            "max_hops": int(Hl[Tl > 0].max()) if packets else 0,
            "max_link_load": routed.chosen.max_load,
            "link_loads": [[*u, *v, x] for (u, v), x in sorted(routed.chosen.link_load_dict().items())],
            "routing_table_worst": routed.report["routing_table"]["worst"],
        })  # fmt: skip
    layout = replace(layout, routes=tuple(routes))
    report = quality(graph, layout, part, tile, ptr, pins, rate, profile, b, chip=chip)
    report["routing"] = routing
    report["multicast"] = R.chip_multicast(profile)
    report["max_link_load"] = link_max
    report["max_link_load_by_routing"] = by_routing
    report["link_loads"] = []  # per chip: report["board"]["per_chip"][i]["link_loads"]
    report["board"] = inter_chip(part, chip, ptr, pins, rate, profile.board, int(profile.noc.packet_bits))
    report["board"]["per_chip"] = per_chip
    return M.MappingResult(layout, report, method, int(seed))
