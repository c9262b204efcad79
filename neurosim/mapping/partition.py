"""Partitioning units onto cores: the baselines, METIS, the hypergraph partitioner, refinement.

Every method returns ``part`` (core of each global unit, cores 0…k−1) that holds under
``Capacity.holds`` (exact ``core_store``) — the capacity-blind ones are made to by ``repair``.

* ``greedy`` — units in id order fill a core while it holds (the largest prefix, by bisection
  on exact checks); then the next core. ``round_robin`` — unit i on core i mod k, k from greedy,
  raised until every core holds.
* ``metis`` — ``pymetis`` (METIS k-way, an edge cut) on the synapse graph (each synapse an edge
  of weight one, both directions summed), vertex weights the units' largest share of a core.
* ``hypergraph`` — one hyperedge per unit over its targets (``graph.Graph.pins``), weighted by the
  unit's activity, minimising connectivity (λ − 1) = packets per step: KaHyPar (``kahypar``,
  direct k-way, km1) when it is installed, else our own multilevel partitioner
  (``multilevel``) — then ``refine``.
* ``refine`` — k-way greedy local search on λ − 1 (FM's gains, positive moves only, several
  passes): moving v from A to B gains Σ_{e∋v} r_e ([e has one pin in A] − [e has no pin in B]);
  a move is taken only if B's linear-model load stays within every region.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from .._bisect import last_true
from .capacity import Capacity
from .graph import unique


# --- the search's time budget --------------------------------------------------------------------
class Deadline:
    """``map_network(time_limit_s=...)``: when the search must stop starting new work."""

    def __init__(self, seconds: float | None = None):
        if seconds is not None and not (seconds > 0 and np.isfinite(seconds)):
            raise ValueError(f"time_limit_s={seconds!r} is invalid: allowed a positive number of seconds, or None")
        self.end = None if seconds is None else time.monotonic() + float(seconds)
        self.limit = seconds

    def reserve(self, seconds: float) -> None:
        """End the search ``seconds`` earlier (at most half the limit): room for the work that
        must follow it."""
        if self.end is not None:
            self.end -= min(float(seconds), 0.5 * self.limit)

    @property
    def bounded(self) -> bool:
        """Whether there is a limit at all (``time_limit_s`` given)."""
        return self.end is not None

    def expired(self) -> bool:
        return self.end is not None and time.monotonic() >= self.end

    def left(self) -> float | None:
        """Seconds left (None: no limit)."""
        return None if self.end is None else max(0.0, self.end - time.monotonic())


# --- objective -----------------------------------------------------------------------------------
def connectivity(part: np.ndarray, ptr: np.ndarray, pins: np.ndarray, rate: np.ndarray) -> float:
    """Σ_e r_e (λ(e) − 1): packets per step (``graph`` module docstring)."""
    return float((rate * (_lambdas(part, ptr, pins) - 1)).sum())


def _lambdas(part, ptr, pins) -> np.ndarray:
    e = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    k = int(part.max()) + 1
    key = unique(e * k + part[pins])
    return np.bincount(key // k, minlength=ptr.size - 1)


def traffic(part: np.ndarray, ptr: np.ndarray, pins: np.ndarray, rate: np.ndarray, k: int) -> np.ndarray:
    """T[a, b]: packets per step from core a to core b (a ≠ b): each unit sends one packet to
    every other core holding any of its targets."""
    e = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    key = unique(e * k + part[pins])
    edge, dst = key // k, key % k
    src = part[edge]
    out = np.zeros((k, k))
    np.add.at(out, (src, dst), rate[edge])
    np.fill_diagonal(out, 0.0)
    return out


class NoRoom(Exception):
    """A unit that fits no core alone with ``destinations`` routing entries."""

    def __init__(self, unit: int, destinations: int):
        super().__init__(f"unit {unit} fits no core alone with {destinations} routing entries")
        self.unit, self.destinations = unit, destinations


# --- baselines -----------------------------------------------------------------------------------
def greedy(cap: Capacity, order: np.ndarray | None = None, destinations: int = 0) -> np.ndarray:
    """Units in ``order`` (default: id order) fill cores; each core takes the longest prefix that
    holds (exact checks, bisection from the linear model's guess)."""
    n = cap.cost.shape[0]
    order = np.arange(n) if order is None else np.asarray(order, np.int64)
    part = np.empty(n, np.int64)
    pos, core = 0, 0
    while pos < n:
        m = _longest(cap, order[pos:], destinations)
        if m == 0:
            raise NoRoom(int(order[pos]), destinations)
        part[order[pos : pos + m]] = core
        pos, core = pos + m, core + 1
    return part


def _longest(cap: Capacity, rest: np.ndarray, destinations: int) -> int:
    """The longest prefix of ``rest`` that one core holds."""
    load = np.cumsum(cap.cost[rest], 0) + cap.fixed.max(0) + destinations * cap.routing
    okv = (load <= cap.cap).all(1)
    guess = rest.size if okv.all() else int(np.argmin(okv))
    guess = max(1, min(guess, rest.size))
    ok = lambda m: cap.holds(rest[:m], destinations)  # noqa: E731
    if ok(guess):
        lo, hi = guess, rest.size + 1
        step = max(1, guess // 16)
        while lo + step < hi and ok(lo + step):  # gallop up, then bisect
            lo, step = lo + step, step * 2
        hi = min(hi, lo + step)
    else:
        lo, hi = 0, guess
    return last_true(ok, lo, hi)


STALL = 3  # rounds of ``repair`` without fewer failing cores before moved units go to new cores


def round_robin(cap: Capacity, k: int, n_cores: int, destinations: int = 0) -> np.ndarray:
    n = cap.cost.shape[0]
    for kk in range(k, max(k, n_cores) + 1):
        part = np.arange(n) % kk
        if all(cap.holds(np.flatnonzero(part == c), destinations) for c in range(kk)):
            return part
    return repair(cap, np.arange(n) % k, n_cores, destinations)


# --- repair --------------------------------------------------------------------------------------
def repair(cap: Capacity, part: np.ndarray, n_cores: int, destinations: int = 0, pins=None) -> np.ndarray:
    """Move units off cores that do not hold (exact) onto cores with linear-model room, or onto
    new cores, until every core holds; the units moved are those with the fewest pins on their
    core (when ``pins`` is given), else the last ones. The linear model can be wrong near a
    core's limit, so units moved onto a core can make it fail in turn: after ``STALL`` rounds in
    which the failing cores did not become fewer, moved units go to new cores (a core holding
    one unit alone holds, or the unit fits no core: ``UnitFitsNoCore`` upstream), so it ends."""
    part = _compact(part)
    k = int(part.max()) + 1
    load = np.array([cap.load(np.flatnonzero(part == c), destinations) for c in range(k)])
    held: dict[int, bool] = {}  # exact answers, dropped when a core's units change
    fewest, stalled, opened = None, 0, None
    for _ in range(4 * n_cores + 16):
        for c in range(k):
            if c not in held:
                held[c] = cap.holds(np.flatnonzero(part == c), destinations)
        bad = [c for c in range(k) if not held[c]]
        if not bad:
            return part
        stalled = 0 if fewest is None or len(bad) < fewest else stalled + 1
        fewest = len(bad) if fewest is None else min(fewest, len(bad))
        fresh = stalled >= STALL  # the linear model keeps misleading: new cores, more units moved
        for c in bad:
            members = np.flatnonzero(part == c)
            over = np.max((load[c] - cap.cap) / np.maximum(cap.cap, 1))
            share = max(over, 0.02) * (2.0 ** (stalled - STALL + 1) if fresh else 1.0)
            n_move = max(1, min(members.size - 1, int(np.ceil(members.size * share))))
            for v in _least_attached(members, part, pins)[:n_move]:
                if fresh:  # the newest core opened for this, while the linear model has room
                    room = opened is not None and opened != c and (load[opened] + cap.cost[v] <= cap.cap).all()
                    fits = [opened] if room else []
                else:
                    fits = [b for b in range(k) if b != c and (load[b] + cap.cost[v] <= cap.cap).all()]
                if not fits:
                    k += 1
                    load = np.vstack([load, cap.fixed.max(0)])
                    fits = [k - 1]
                    opened = k - 1
                b = fits[0]
                part[v] = b
                load[b] += cap.cost[v]
                load[c] -= cap.cost[v]
                held.pop(b, None)
            held.pop(c, None)
    raise RuntimeError("repair did not converge")


def axon_culprits(cap: Capacity, part: np.ndarray, profile) -> list:
    """``hardware.connectivity``'s culprits (axons in and out, fan-out) of the partition."""
    from ..hardware.connectivity import connectivity_culprits, destinations
    from ..hardware.layout import CoreUnits, Layout

    cores = [CoreUnits(c, 0, 0, tuple(sorted(cap.split(np.flatnonzero(part == c)).items())))
             for c in range(int(part.max()) + 1)]  # fmt: skip
    layout = Layout(tuple(cores))
    return connectivity_culprits(cap.net, profile, layout, destinations(cap.net, layout.entries()))


def balance_axons(cap: Capacity, part: np.ndarray, profile, destinations: int = 0, pins=None) -> np.ndarray:
    """Move units off cores whose outgoing axons (one per unit and destination core, or per unit
    on a multicast chip, as ``hardware.connectivity`` counts them) exceed ``core.max_axons_out``,
    onto the cores with the fewest units that have room; stops when none is over, or nothing helps."""
    part = part.copy()
    for _ in range(64):
        over = [c for c in axon_culprits(cap, part, profile) if c.region == "axons_out"]
        if not over:
            return part
        sizes = np.bincount(part, minlength=int(part.max()) + 1)
        load = np.array([cap.load(np.flatnonzero(part == c), destinations) for c in range(sizes.size)])
        moved = 0
        for c in over:
            members = np.flatnonzero(part == c.core)
            per_unit = max(1, c.needed // max(1, members.size))
            for v in _least_attached(members, part, pins)[: -(-(c.needed - c.available) // per_unit) + 1]:
                room = [b for b in np.argsort(sizes) if b != c.core and (load[b] + cap.cost[v] <= cap.cap).all()]
                if not room or sizes[room[0]] + 1 >= sizes[c.core]:
                    break
                b = room[0]
                part[v], sizes[b], sizes[c.core] = b, sizes[b] + 1, sizes[c.core] - 1
                load[b] += cap.cost[v]
                moved += 1
        if not moved:
            return part
    return part


def _least_attached(members, part, pins) -> np.ndarray:
    if pins is None:
        return members[::-1]
    ptr, pp = pins
    own = np.array([np.sum(part[pp[ptr[v] : ptr[v + 1]]] == part[v]) for v in members])
    return members[np.argsort(own, kind="stable")]


def _compact(part: np.ndarray) -> np.ndarray:
    """Renumber cores 0…k−1 in order of first appearance (empty cores dropped)."""
    _, first, inv = np.unique(part, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return rank[inv.reshape(-1)].astype(np.int64)


# --- shrink --------------------------------------------------------------------------------------
def shrink(cap: Capacity, part: np.ndarray, k_max: int, ptr, pins, rate, destinations: int = 0) -> np.ndarray | None:
    """Fewer cores: while the partition has more than ``k_max``, empty its lightest core (the
    smallest largest-region load fraction) into the others (``_loops.evict_pass``: each unit to
    the core its hyperedges reach with the best λ − 1 gain that has room in the linear model, else
    the roomiest), largest units first. None when the others cannot take a core's units.

    Why: a partitioner asked for k parts balances them within a few per cent, and cores that are
    full to the last word (greedy's fill) leave no few per cent, so ``repair`` spills a k-way
    partition onto k + 1 or more cores (METIS's 135 for greedy's 134 on a 100k sheet). Emptying the
    spilled cores into the slack of the others keeps the partition's structure at greedy's count."""
    from ._loops import connectivity_sets, evict_pass

    part = _compact(np.asarray(part, np.int64))
    k = int(part.max()) + 1
    if k <= k_max:
        return part
    n_v = part.size
    cost = np.ascontiguousarray(cap.cost, np.float64)
    layer = np.searchsorted(cap.offsets, np.arange(n_v), side="right") - 1
    inc_ptr, inc = incidence(ptr, pins, n_v)
    lay_cnt = np.zeros((k, len(cap.units)), np.int64)
    np.add.at(lay_cnt, (part, layer), 1)
    load = _block_sums(cost, part, k) + lay_cnt.astype(bool) @ cap.fixed + destinations * cap.routing
    fixed = np.ascontiguousarray(cap.fixed, np.float64)
    rate = np.asarray(rate, np.float64)
    blocks, counts, size = connectivity_sets(part, ptr, pins)
    alive = np.ones(k, bool)
    room = np.maximum(cap.cap, 1)
    for _ in range(k - k_max):
        c = int(np.argmin(np.where(alive, (load / room).max(1), np.inf)))
        alive[c] = False
        if np.any(np.where(alive[:, None], cap.cap - load, 0.0).sum(0) < load[c] - cap.fixed.max(0)):
            return None  # the others' room, all of it, is short of the core's units
        members = np.flatnonzero(part == c)
        members = members[np.argsort(-(cost[members] / room).max(1), kind="stable")]
        load[~alive & (np.arange(k) != c)] = np.inf  # emptied cores take nothing back
        if evict_pass(members, c, part, ptr, inc_ptr, inc, rate, cost, layer, fixed, cap.cap, load, lay_cnt, blocks,
                      counts, size):  # fmt: skip
            return None
        load[c] = np.inf
    return _compact(part)


# --- METIS ---------------------------------------------------------------------------------------
def metis(cap: Capacity, k: int, ptr, pins, n_cores: int, seed: int = 0) -> np.ndarray:
    return repair(cap, _metis_membership(cap.weights(k), k, ptr, pins, seed), n_cores, pins=(ptr, pins))


def _metis_membership(weights: np.ndarray, k: int, ptr, pins, seed: int) -> np.ndarray:
    """METIS's k-way partition of the synapse graph (module docstring), before any repair."""
    import pymetis

    n = ptr.size - 1
    if k == 1:
        return np.zeros(n, np.int64)
    src = np.repeat(np.arange(n), np.diff(ptr))
    keep = pins != src
    a, b = src[keep], pins[keep]
    key = unique(np.minimum(a, b) * n + np.maximum(a, b), counts=True)
    u, v, w = key[0] // n, key[0] % n, key[1]
    del src, keep, a, b
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    ws = np.concatenate([w, w])
    order = np.argsort(rows, kind="stable")
    rows, cols, ws = rows[order], cols[order], ws[order]
    xadj = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    vw = np.maximum(1, np.round(weights * 10000)).astype(np.int64)
    opts = pymetis.Options(seed=seed)
    adj = pymetis.CSRAdjacency(xadj, cols) if hasattr(pymetis, "CSRAdjacency") else None
    kw = {"adjacency": adj} if adj is not None else {"xadj": xadj, "adjncy": cols}
    _, membership = pymetis.part_graph(k, **kw, eweights=ws, vweights=vw, options=opts)
    return np.asarray(membership, np.int64)


# METIS cannot be interrupted (one C call: 86 s on a random 10⁵-unit graph here). On a graph with
# at least FORK_METIS_PINS pins it runs in a forked child that a search's deadline can abandon
# (POSIX only); up to CONCURRENT_METIS_PINS it runs beside the parent's hypergraph partition (its
# own copy of the synapse graph: ~1 GB at 10⁷ pins), above that the parent waits for it.
FORK_METIS_PINS = 1_000_000
CONCURRENT_METIS_PINS = 30_000_000


class MetisJob:
    """``metis`` started now, collected by ``result``: in a forked child (``forked``) whose
    membership comes back through a pipe, or, in process, computed when collected."""

    def __init__(self, cap: Capacity, k: int, ptr, pins, n_cores: int, seed: int = 0, fork: bool | None = None):
        self.cap, self.k, self.ptr, self.pins, self.n_cores, self.seed = cap, k, ptr, pins, n_cores, seed
        if fork is None:
            fork = pins.size >= FORK_METIS_PINS
        self.forked = bool(fork) and hasattr(os, "fork")
        self.pid = self.fd = None
        self.open = False  # a child whose result is not collected yet
        if self.forked:
            weights = cap.weights(k)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: METIS, its membership or its error down the pipe, and out
                code = 0
                try:
                    os.close(r)
                    try:
                        body = b"\x00" + _metis_membership(weights, k, ptr, pins, seed).astype("<i8").tobytes()
                    except BaseException as e:  # noqa: BLE001 (reported by the parent)
                        body, code = b"\x01" + f"{type(e).__name__}: {e}".encode(), 1
                    with os.fdopen(w, "wb") as f:
                        f.write(body)
                finally:
                    os._exit(code)
            os.close(w)
            self.pid, self.fd, self.open = pid, r, True

    def result(self, deadline: Deadline | None = None) -> np.ndarray | None:
        """The repaired partition; None when ``deadline`` passed first (the child is killed)."""
        if not self.forked:
            return metis(self.cap, self.k, self.ptr, self.pins, self.n_cores, self.seed)
        if not self.open:
            raise RuntimeError("this METIS job was collected already")
        import select
        import signal

        chunks = []
        try:
            while True:
                left = None if deadline is None else deadline.left()
                ready, _, _ = select.select([self.fd], [], [], left)
                if not ready:  # out of time: abandon it
                    os.kill(self.pid, signal.SIGKILL)
                    return None
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            self.open = False
            os.close(self.fd)
            os.waitpid(self.pid, 0)
        body = b"".join(chunks)
        if body[:1] != b"\x00":
            raise RuntimeError(f"METIS failed in its process: {body[1:].decode(errors='replace') or 'no result'}")
        part = np.frombuffer(body[1:], "<i8").astype(np.int64)
        return repair(self.cap, part, self.n_cores, pins=(self.ptr, self.pins))

    def __del__(self):  # never collected: the child must not outlive its parent's interest
        if getattr(self, "open", False):
            self.open = False
            import signal

            try:
                os.kill(self.pid, signal.SIGKILL)
                os.close(self.fd)
                os.waitpid(self.pid, 0)
            except OSError:
                pass


# --- hypergraph ----------------------------------------------------------------------------------
# Above this many pins the hypergraph methods use the compiled multilevel partitioner, not KaHyPar:
# on a 10⁵-unit sheet (7.8·10⁶ pins) KaHyPar took 517 s here and ``multilevel`` 20 s, with fewer
# packets (BENCHMARKS.md, "The mapper at scale"); at 10⁴ units (7.5·10⁵ pins) KaHyPar's 17 s
# gave 22 % fewer packets than ``multilevel``'s 4 s, so it keeps the smaller graphs.
KAHYPAR_MAX_PINS = 2_000_000
SETTLE = 0.002  # a refinement pass moving ≤ 0.2 % of the vertices ends the search's refinement


def have_kahypar() -> bool:
    return _have_module("kahypar")


# Our own KaHyPar configuration (direct k-way, connectivity objective, FM refinement, no flows).
_KAHYPAR_INI = """mode=direct
objective=km1
seed=-1
cmaxnet=1000
vcycles=0
p-use-sparsifier=false
p-detect-communities=true
p-detect-communities-in-ip=true
p-reuse-communities=false
p-max-louvain-pass-iterations=100
p-min-eps-improvement=0.0001
p-louvain-edge-weight=hybrid
p-large-he-threshold=1000
p-smallest-maxnet-threshold=50000
p-maxnet-removal-factor=0.01
c-type=ml_style
c-s=1
c-t=160
c-rating-score=heavy_edge
c-rating-use-communities=true
c-rating-heavy_node_penalty=no_penalty
c-rating-acceptance-criterion=best_prefer_unmatched
c-fixed-vertex-acceptance-criterion=fixed_vertex_allowed
i-mode=recursive
i-technique=multi
i-c-type=ml_style
i-c-s=1
i-c-t=150
i-c-rating-score=heavy_edge
i-c-rating-use-communities=true
i-c-rating-heavy_node_penalty=no_penalty
i-c-rating-acceptance-criterion=best_prefer_unmatched
i-c-fixed-vertex-acceptance-criterion=fixed_vertex_allowed
i-algo=pool
i-runs=10
i-bp-algorithm=worst_fit
i-bp-heuristic-prepacking=false
i-bp-early-restart=true
i-bp-late-restart=true
i-r-type=twoway_fm
i-r-runs=-1
i-r-fm-stop=simple
i-r-fm-stop-i=50
r-type=kway_fm_km1
r-runs=-1
r-fm-stop=adaptive_opt
r-fm-stop-alpha=1
r-fm-stop-i=350
"""


def kahypar_partition(cap: Capacity, k: int, ptr, pins, rate, seed: int = 0) -> np.ndarray:
    """KaHyPar k-way on the rate-weighted spike hypergraph, block weights from the capacity."""
    import kahypar

    n = ptr.size - 1
    if k == 1:
        return np.zeros(n, np.int64)
    vw = np.maximum(1, np.round(cap.weights(k) * 10000)).astype(np.int64)
    ew = np.maximum(1, np.round(rate / max(rate.max(), 1e-12) * 1000)).astype(np.int64)
    h = kahypar.Hypergraph(n, n, [int(x) for x in ptr], [int(x) for x in pins], k, [int(x) for x in ew],
                           [int(x) for x in vw])  # fmt: skip
    ctx = kahypar.Context()
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
        f.write(_KAHYPAR_INI)
    try:
        ctx.loadINIconfiguration(f.name)
    finally:
        os.unlink(f.name)
    ctx.setK(k)
    block = int(max(vw.sum() / k * 1.03, 10000))  # a core's scalar room, or a 3 % imbalance
    ctx.setCustomTargetBlockWeights([block] * k)
    ctx.setEpsilon(0.03)
    ctx.setSeed(int(seed))
    ctx.suppressOutput(True)
    kahypar.partition(h, ctx)
    return np.array([h.blockID(i) for i in range(n)], np.int64)


def refine(
    cap: Capacity,
    part,
    ptr,
    pins,
    rate,
    passes: int = 4,
    seed: int = 0,
    destinations: int = 0,
    cost=None,
    layer=None,
    settle: float = 0.0,
    deadline: Deadline | None = None,
):
    """k-way greedy λ − 1 refinement under the linear capacity model (module docstring).
    ``cost``/``layer``: per vertex, its load and layer when the vertices are clusters of units
    (``multilevel``); default the units' own. Stops after ``passes`` passes, or after a pass that
    moved no more than ``settle`` × the vertices (0: none; the mapper's searches use ``SETTLE``),
    or once ``deadline`` has passed (checked before each pass)."""
    from ._loops import connectivity_sets, refine_pass

    part = np.array(part, np.int64)
    if deadline is not None and deadline.expired():  # not even the setup (0.5 s at 10⁷ pins)
        return part
    n_v, k = part.size, int(part.max()) + 1
    cost = np.ascontiguousarray(cap.cost if cost is None else cost, np.float64)
    if layer is None:
        layer = np.searchsorted(cap.offsets, np.arange(n_v), side="right") - 1
    layer = np.asarray(layer, np.int64)
    inc_ptr, inc = incidence(ptr, pins, n_v)
    lay_cnt = np.zeros((k, len(cap.units)), np.int64)
    np.add.at(lay_cnt, (part, layer), 1)
    load = _block_sums(cost, part, k) + lay_cnt.astype(bool) @ cap.fixed
    load += destinations * cap.routing
    rate = np.asarray(rate, np.float64)
    fixed = np.ascontiguousarray(cap.fixed, np.float64)
    sets = connectivity_sets(part, ptr, pins)
    rng = np.random.default_rng(seed)
    work = pin_work(ptr, inc_ptr, inc) if deadline is not None and deadline.bounded else None
    for _ in range(passes):
        if deadline is not None and deadline.expired():
            break
        order = rng.permutation(n_v)
        moved = 0
        for chunk in deadline_chunks(order, deadline, work):  # a pass over 10⁵ vertices of 10⁷ pins takes seconds
            moved += refine_pass(chunk, part, ptr, inc_ptr, inc, rate, cost, layer, fixed, cap.cap, load, lay_cnt,
                                 *sets)  # fmt: skip
        if moved <= settle * n_v:
            break
    return part


CHUNK_WORK = 20_000_000  # pins a compiled pass visits per call when a deadline may stop it (~0.3 s)


def pin_work(ptr: np.ndarray, inc_ptr: np.ndarray, inc: np.ndarray) -> np.ndarray:
    """Per vertex, the pins of its hyperedges (Σ_{e ∋ v} |e|): what a pass visits for it."""
    size = np.diff(ptr)[inc]
    out = np.zeros(inc_ptr.size - 1, np.int64)
    nz = np.flatnonzero(np.diff(inc_ptr))
    out[nz] = np.add.reduceat(size, inc_ptr[nz]) if size.size else 0
    return out


def deadline_chunks(order: np.ndarray, deadline: Deadline | None, work: np.ndarray | None = None):
    """``order`` whole, or (with a deadline) in chunks of about ``CHUNK_WORK`` pins' work
    (``pin_work``; a coarse level's vertex can have 10⁵) until the deadline passes: a compiled
    pass visits the vertices in order with all its state in arrays, so the chunks' calls do what
    one call does, and stopping between them leaves a valid partition."""
    if deadline is None or not deadline.bounded:
        yield order
        return
    cum = np.cumsum(work[order]) if work is not None else np.arange(1, order.size + 1)
    cuts = np.searchsorted(cum, np.arange(CHUNK_WORK, int(cum[-1]) if cum.size else 0, CHUNK_WORK), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [order.size]]))
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        if i and deadline.expired():
            return
        yield order[a:b]


def incidence(ptr: np.ndarray, pins: np.ndarray, n_v: int) -> tuple[np.ndarray, np.ndarray]:
    """The hyperedges of each vertex (CSR ``inc_ptr``, ``inc``), in increasing edge order."""
    from ._loops import incidence as counting

    return counting(np.asarray(ptr, np.int64), np.asarray(pins, np.int64), int(n_v))


def _block_sums(cost: np.ndarray, part: np.ndarray, k: int) -> np.ndarray:
    """Row c: ``cost[part == c].sum(0)`` (the same rows in the same order, so the same sums),
    from one stable sort instead of k masks."""
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(k + 1))
    sorted_cost = cost[order]
    return np.array([sorted_cost[bounds[c] : bounds[c + 1]].sum(0) for c in range(k)]).reshape(k, cost.shape[1])


def _have_module(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True
