"""The partitioner used when KaHyPar is not installed: multilevel, with FM-style refinement.

The classic V-cycle (Karypis & Kumar's multilevel scheme, on hypergraphs as in hMETIS/KaHyPar):

1. **Coarsen.** Visit the vertices in a seeded random order; an unmatched vertex v joins the
   unmatched neighbour u with the highest rating Σ_{e ∋ u, v} r_e / (|e| − 1) (heavy-edge rating
   of the pins it shares), if the pair's load stays within a quarter of a core in every region
   (so a core still takes several clusters). Contract: pins map to clusters, repeated pins of an
   edge merge, edges left with one pin drop (they can never cross cores). Repeat while the
   hypergraph shrinks by at least 5 % and has more than 20 vertices per core.
2. **Initial partition** of the coarsest hypergraph: clusters in breadth-first order fill k
   cores, each to an even share of the total load under the linear capacity model
   (``Capacity``), never past a core's room.
3. **Uncoarsen.** Project the partition level by level, and at each level run
   ``partition.refine`` (k-way λ − 1 gains, moves that keep every region within capacity).

The exact check (``core_store`` per core) and ``repair`` follow in the caller, as for KaHyPar.
"""

from __future__ import annotations

import numpy as np

from . import partition as P
from .capacity import Capacity
from .graph import unique


def partition(
    cap: Capacity,
    k: int,
    ptr,
    pins,
    rate,
    seed: int = 0,
    destinations: int = 0,
    finest: bool = True,
    deadline: P.Deadline | None = None,
) -> np.ndarray:
    """A partition of the units into about k cores (module docstring). ``finest=False`` leaves
    the finest level unrefined, for a caller that repairs and then refines it anyway (at 10⁵
    units with 10⁷ pins a refinement pass there costs 0.5–2.5 s). Past ``deadline`` coarsening
    stops and the levels are projected without refinement."""
    rng = np.random.default_rng(seed)
    levels = []  # (cluster of each vertex of the finer level, the coarser level's ptr, pins, rate, cost, layer)
    cost, layer = cap.cost, np.searchsorted(cap.offsets, np.arange(cap.cost.shape[0]), side="right") - 1
    limit = cap.cap * 0.25
    cur = (ptr, pins, rate, cost, layer)
    while cur[3].shape[0] > 20 * k and not (deadline is not None and deadline.expired()):
        cl = _match(cur, limit, rng, deadline)
        n_c = int(cl.max()) + 1
        if n_c > 0.95 * cur[3].shape[0]:
            break
        nxt = _contract(cur, cl, n_c)
        levels.append((cl, cur))
        cur = nxt
    part = _initial(cap, cur, k, destinations)
    for step in range(len(levels), -1, -1):
        c_ptr, c_pins, c_rate, c_cost, c_layer = cur
        if step == 0 and not finest:
            break
        part = P.refine(cap, part, c_ptr, c_pins, c_rate, seed=seed + step, destinations=destinations,
                        cost=c_cost, layer=c_layer, settle=P.SETTLE, deadline=deadline)  # fmt: skip
        if step == 0:
            break
        cl, cur = levels[step - 1]
        part = part[cl]
    return part


def _match(level, limit: np.ndarray, rng, deadline: P.Deadline | None = None) -> np.ndarray:
    """Heavy-edge matching (module docstring, step 1), compiled (``_loops.match_into``): an
    unmatched vertex's candidates are the unmatched vertices sharing a hyperedge with it, in
    decreasing rating (ties: lower id first), the first 8 tried against the load limit. Visited
    in chunks under a deadline (a level of a random 10⁵-unit graph takes ~10 s); once it has
    passed, the vertices not yet visited stay single."""
    from ._loops import match_into

    ptr, pins, rate, cost, _ = level
    n_v = cost.shape[0]
    sizes = np.diff(ptr)
    score_e = np.where(sizes > 1, rate / np.maximum(sizes - 1, 1), 0.0).astype(np.float64)
    inc_ptr, inc = P.incidence(ptr, pins, n_v)
    order = rng.permutation(n_v)
    cost = np.ascontiguousarray(cost, np.float64)
    limit = np.asarray(limit, np.float64)
    cl = np.full(n_v, -1, np.int64)
    scratch = (np.zeros(n_v), np.zeros(n_v, np.bool_), np.empty(n_v, np.int64))
    n_c = 0
    work = P.pin_work(ptr, inc_ptr, inc) if deadline is not None and deadline.bounded else None
    for chunk in P.deadline_chunks(order, deadline, work):
        n_c = match_into(chunk, ptr, pins, inc_ptr, inc, score_e, cost, limit, 8, cl, *scratch, n_c)
    single = np.flatnonzero(cl < 0)  # not visited before the deadline (in id order)
    cl[single] = n_c + np.arange(single.size)
    return cl


def _contract(level, cl: np.ndarray, n_c: int):
    ptr, pins, rate, cost, layer = level
    n_e = ptr.size - 1
    key = unique(np.repeat(np.arange(n_e), np.diff(ptr)) * n_c + cl[pins])
    edge, pin = key // n_c, key % n_c
    sizes = np.bincount(edge, minlength=n_e)
    keep = sizes > 1
    mask = keep[edge]
    new_ptr = np.concatenate([[0], np.cumsum(sizes[keep])]).astype(np.int64)
    c_cost = np.zeros((n_c, cost.shape[1]))
    np.add.at(c_cost, cl, cost)
    c_layer = np.zeros(n_c, np.int64)
    c_layer[cl] = layer  # a cluster's layer: one of its units' (its fixed part is approximate)
    return new_ptr, pin[mask].astype(np.int64), rate[keep], c_cost, c_layer


def _initial(cap: Capacity, level, k: int, destinations: int) -> np.ndarray:
    """Clusters in BFS order fill k cores to an even share of the total load (never past a
    core's room); what is left goes to the core with the most room that takes it, else a new one."""
    ptr, pins, _, cost, _ = level
    n_v = cost.shape[0]
    src = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    order = _bfs(n_v, src, pins)
    room = cap.cap - cap.fixed.max(0) - destinations * cap.routing
    share = np.minimum(room, cost.sum(0) / k * 1.02)
    part = np.full(n_v, -1, np.int64)
    loads = [np.zeros_like(room)]
    for v in order:
        if loads[-1].any() and not (loads[-1] + cost[v] <= share).all() and len(loads) < k:
            loads.append(np.zeros_like(room))
        if (loads[-1] + cost[v] <= room).all():
            part[v] = len(loads) - 1
            loads[-1] = loads[-1] + cost[v]
    for v in np.flatnonzero(part < 0):
        free = [c for c, ld in enumerate(loads) if (ld + cost[v] <= room).all()]
        if not free:
            loads.append(np.zeros_like(room))
            free = [len(loads) - 1]
        c = max(free, key=lambda c: float(((room - loads[c]) / np.maximum(room, 1)).min()))
        part[v] = c
        loads[c] = loads[c] + cost[v]
    return part


def _bfs(n_v: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Vertices in breadth-first order over the pins' star graph (edge id → pin, both ways):
    built on the edge–pin incidence so that a hyperedge's pins come out together."""
    # the incidence as a bipartite graph: vertices 0…n_v−1, edges n_v…
    n_e = int(a.max()) + 1 if a.size else 0
    x = np.concatenate([a + n_v, b])
    y = np.concatenate([b, a + n_v])
    order_x = np.argsort(x, kind="stable")
    x, y = x[order_x], y[order_x]
    adj = np.concatenate([[0], np.cumsum(np.bincount(x, minlength=n_v + n_e))])
    seen = np.zeros(n_v + n_e, bool)
    out = []
    for start in range(n_v):
        if seen[start]:
            continue
        seen[start] = True
        frontier = np.array([start])
        while frontier.size:
            out.extend(int(v) for v in frontier if v < n_v)
            nxt = np.unique(np.concatenate([y[adj[v] : adj[v + 1]] for v in frontier]))
            nxt = nxt[~seen[nxt]]
            seen[nxt] = True
            frontier = nxt
    return np.asarray(out, np.int64)
