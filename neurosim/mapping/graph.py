"""The network the mapper places: unit groups and their projections, and its spike hypergraph.

A ``Graph`` is a list of unit groups (a neurosim model's layers) and projections between them.
A projection ``src → dst`` is stored by source unit (CSR: ``indptr``, ``indices``, optional
``weights``): row ``j`` lists the units of ``dst`` that unit ``j`` of ``src`` reaches. A dense
projection (every source unit reaches every target unit) is a flag, not a materialised matrix.

From a model (``from_model``) the projections are what ``hardware.connectivity`` reads: layer
``l`` reads every unit of layer ``l − 1`` (dense), and its own units through its recurrent weights
when they couple units — the structural mask where there is one (``W[i, j]``: post ``i``, pre
``j``), all-but-self for the spiking layer (no autapses), none for the LRU's diagonal recurrence;
the top layer's units are read by the readout, which sits on the core of the top layer's unit 0.

**Multicast.** A spike of unit ``u`` is one packet per *other* core holding any of its targets,
however many synapses it reaches there. So each unit is a hyperedge ``e_u`` whose pins are ``u``
itself and its targets, weighted by the unit's activity ``r_u`` (spikes or non-zero activations
per step), and the packets per step of a partition are exactly the connectivity objective

    packets = Σ_u r_u (λ(e_u) − 1),   λ(e) = the number of cores e's pins lie on

(Ronzani & Silvano, arXiv 2601.16118; an edge cut counts a packet per synapse instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..models.cells import is_sparse

DENSE_MASK_ENTRIES = 2**24  # above, ``as_model``'s structural mask is scipy.sparse (the accounting is the same)


def unique(a: np.ndarray, counts: bool = False):
    """``np.unique`` of a 1-D integer array by sorting: numpy 2.3's default (hash-based) unique
    takes 4 s on 1.2 M distinct int64 keys here, a sort 0.06 s; the mapper's keys (edge × core,
    source × target) run to 10⁸. Same result (sorted distinct values, and their counts)."""
    s = np.sort(np.asarray(a).reshape(-1), kind="stable")
    first = np.ones(s.size, bool)
    first[1:] = s[1:] != s[:-1]
    u = s[first]
    if not counts:
        return u
    starts = np.flatnonzero(first)
    return u, np.diff(np.append(starts, s.size))


class GraphError(ValueError):
    """A graph that is not well formed: names the group or projection."""


@dataclass(frozen=True, eq=False)
class Projection:
    """Source group ``src`` → target group ``dst``; row ``j`` of the CSR (``indptr``, ``indices``)
    lists the units of ``dst`` that unit ``j`` of ``src`` reaches (``dense``: all of them)."""

    src: int
    dst: int
    indptr: np.ndarray | None = None
    indices: np.ndarray | None = None
    weights: np.ndarray | None = None
    dense: bool = False

    def targets(self, j: int, n_dst: int) -> np.ndarray:
        if self.dense:
            return np.arange(n_dst, dtype=np.int64)
        return self.indices[self.indptr[j] : self.indptr[j + 1]]

    def synapses(self, n_src: int, n_dst: int) -> int:
        return n_src * n_dst if self.dense else int(self.indptr[-1])


@dataclass(frozen=True, eq=False)
class Graph:
    """Unit groups ``(name, size)``, projections, and whether the top group feeds a readout on
    its home core. ``model``: the neurosim model it was read from (its accounting prices cores)."""

    groups: tuple[tuple[str, int], ...]
    projections: tuple[Projection, ...]
    readout: bool = False
    model: object | None = None
    _pins: tuple = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if not self.groups:
            raise GraphError("graph: no unit groups")
        for name, n in self.groups:
            if int(n) < 1:
                raise GraphError(f"graph: group {name!r} has {n} units; allowed: at least 1")
        for k, p in enumerate(self.projections):
            _check_projection(self, k, p)

    @property
    def sizes(self) -> list[int]:
        return [int(n) for _, n in self.groups]

    @property
    def offsets(self) -> np.ndarray:
        """Global id of each group's unit 0 (units are numbered group after group)."""
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)

    @property
    def n_units(self) -> int:
        return int(sum(self.sizes))

    def group_of(self, v: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.offsets, v, side="right") - 1

    def pins(self) -> tuple[np.ndarray, np.ndarray]:
        """The spike hypergraph, one hyperedge per unit (global ids): CSR (``ptr``, ``pins``); a
        hyperedge's first pin is its source unit, the rest its distinct targets (module docstring)."""
        if self._pins is None:
            object.__setattr__(self, "_pins", _build_pins(self))
        return self._pins

    def synapse_counts(self) -> dict[int, np.ndarray]:
        """Per group, each unit's fan-in (synapses into it) over all projections."""
        out = {g: np.zeros(n, np.int64) for g, n in enumerate(self.sizes)}
        for p in self.projections:
            n_src = self.sizes[p.src]
            if p.dense:
                out[p.dst] += n_src
            else:
                out[p.dst] += np.bincount(p.indices, minlength=self.sizes[p.dst])
        return out


def _check_projection(g: Graph, k: int, p: Projection) -> None:
    where = f"graph: projection {k} ({p.src} → {p.dst})"
    for end in (p.src, p.dst):
        if not 0 <= end < len(g.groups):
            raise GraphError(f"{where}: group {end} does not exist; groups are 0…{len(g.groups) - 1}")
    if p.dense:
        return
    if p.indptr is None or p.indices is None:
        raise GraphError(f"{where}: a sparse projection needs indptr and indices (or dense=True)")
    n_src, n_dst = g.sizes[p.src], g.sizes[p.dst]
    ptr, idx = np.asarray(p.indptr), np.asarray(p.indices)
    if ptr.shape != (n_src + 1,) or ptr[0] != 0 or np.any(np.diff(ptr) < 0) or ptr[-1] != idx.size:
        raise GraphError(f"{where}: indptr must have {n_src + 1} non-decreasing entries from 0 to len(indices)")
    if idx.size and (idx.min() < 0 or idx.max() >= n_dst):
        raise GraphError(f"{where}: target indices must lie in 0…{n_dst - 1}")
    if p.weights is not None and np.asarray(p.weights).shape != idx.shape:
        raise GraphError(f"{where}: weights must have the shape of indices {idx.shape}")


def csr(src: int, dst: int, matrix, weights: bool = True) -> Projection:
    """A projection from a (n_src, n_dst) matrix whose non-zeros are synapses (pre × post): a
    dense array, or a scipy.sparse matrix (read without densifying it)."""
    if is_sparse(matrix):
        m = matrix.tocsr()
        m.eliminate_zeros()
        m.sort_indices()
        w = np.asarray(m.data, np.float64) if weights else None
        return Projection(src, dst, np.asarray(m.indptr, np.int64), np.asarray(m.indices, np.int64), w)
    m = np.asarray(matrix)
    rows, cols = np.nonzero(m)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=m.shape[0]))]).astype(np.int64)
    w = m[rows, cols].astype(np.float64) if weights else None
    return Projection(src, dst, indptr, cols.astype(np.int64), w)


def from_model(model) -> Graph:
    """The graph a neurosim model's connectivity is (module docstring)."""
    from ..hardware.layout import layer_units
    from ..hardware.memory import Net
    from ..rules.base import Rule

    net = Net(model, Rule())
    units = layer_units(model)
    projections = []
    for layer, n in enumerate(units):
        if layer > 0:
            projections.append(Projection(layer - 1, layer, dense=True))
        rec = _recurrent(net, layer, n)
        if rec is not None:
            projections.append(rec)
    groups = tuple((f"layer{layer}", n) for layer, n in enumerate(units))
    return Graph(groups, tuple(projections), readout=True, model=model)


def _recurrent(net, layer: int, n: int) -> Projection | None:
    if not net.recurrent_targets(layer):
        return None
    if net.spiking:  # all-to-all but self
        m = ~np.eye(n, dtype=bool)
        return csr(layer, layer, m, weights=False)
    for name in net.model.cell_param_names(layer):
        if net.param_layout[name][1] == "recurrent" and net.shapes[name] == (n, n):
            mask = net.masks.get(name)
            if mask is None:
                return Projection(layer, layer, dense=True)
            m = mask if is_sparse(mask) else np.asarray(mask, bool)
            return csr(layer, layer, m.T, weights=False)  # W[post, pre] → pre rows
    return None


def _build_pins(g: Graph) -> tuple[np.ndarray, np.ndarray]:
    """Every (source, target) pair of every projection (and the top group's units → the readout's
    home unit), self-pairs dropped, sorted and made unique in one pass; each unit's hyperedge is
    then itself followed by its targets in increasing order. Vectorised: O(synapses log synapses),
    no loop over units (10⁶ units with 10⁸ synapses)."""
    off, sizes, n = g.offsets, g.sizes, g.n_units
    top = len(sizes) - 1
    src, dst = [], []
    for p in g.projections:
        n_src, n_dst = sizes[p.src], sizes[p.dst]
        if p.dense:
            src.append(np.repeat(np.arange(n_src, dtype=np.int64), n_dst) + off[p.src])
            dst.append(np.tile(np.arange(n_dst, dtype=np.int64), n_src) + off[p.dst])
        else:
            src.append(np.repeat(np.arange(n_src, dtype=np.int64), np.diff(p.indptr)) + off[p.src])
            dst.append(np.asarray(p.indices, np.int64) + off[p.dst])
    if g.readout:
        src.append(np.arange(off[top], off[top + 1], dtype=np.int64))
        dst.append(np.full(sizes[top], off[top], np.int64))
    s = np.concatenate(src) if src else np.zeros(0, np.int64)
    d = np.concatenate(dst) if dst else np.zeros(0, np.int64)
    keep = s != d
    key = unique(s[keep] * n + d[keep])
    s, d = key // n, key % n
    cnt = np.bincount(s, minlength=n)
    ptr = np.concatenate([[0], np.cumsum(cnt + 1)]).astype(np.int64)
    pins = np.empty(int(ptr[-1]), np.int64)
    pins[ptr[:-1]] = np.arange(n)
    start = np.cumsum(cnt) - cnt
    pins[ptr[s] + 1 + np.arange(s.size) - start[s]] = d
    return ptr, pins


def as_model(graph: Graph, n_in: int = 1, n_out: int = 1):
    """The neurosim model a plain graph prices as: one group with a recurrent projection (or none)
    is an ``rnn`` layer whose structural mask is that projection. Other shapes are refused (their
    accounting would need a neurosim model; pass ``Graph(..., model=...)``).

    A plain graph has no readout (``Graph.readout`` False), so the model is marked
    ``has_readout = False``: ``hardware.memory.Net`` then prices no decoder weights, output state
    or output units, and the chip simulation's event graph has no readout nodes. (Before, a 10⁶-unit
    graph was priced with a dense 1 × 10⁶ decoder on one core, which no core holds.)"""
    if graph.model is not None:
        return graph.model
    model = _rnn_of(graph, n_in, n_out)
    model.has_readout = bool(graph.readout)
    return model


def _rnn_of(graph: Graph, n_in: int, n_out: int):
    from .. import models

    if len(graph.groups) != 1 or any(p.src != 0 or p.dst != 0 for p in graph.projections) or len(graph.projections) > 1:
        raise GraphError(
            "graph: a plain graph is priced as a neurosim network only when it is one group with at most one "
            f"recurrent projection; this one has {len(graph.groups)} groups and {len(graph.projections)} projections "
            "(build it as a neurosim model, or pass Graph(..., model=...))"
        )
    n = graph.sizes[0]
    p = graph.projections[0] if graph.projections else None
    if p is not None and p.dense:
        return models.make("rnn", n_in=n_in, n_out=n_out, n_hidden=n)
    rows = np.repeat(np.arange(n), np.diff(p.indptr)) if p is not None else np.zeros(0, np.int64)
    cols = np.asarray(p.indices, np.int64) if p is not None else np.zeros(0, np.int64)
    if n * n > DENSE_MASK_ENTRIES:  # a sparse mask: the same accounting without an n × n array
        from scipy import sparse

        mask = sparse.csr_array((np.ones(cols.size, bool), (cols, rows)), shape=(n, n))  # W[post, pre]
        return models.make("rnn", n_in=n_in, n_out=n_out, n_hidden=n, mask=mask)
    mask = np.zeros((n, n), bool)
    mask[cols, rows] = True  # W[post, pre]
    return models.make("rnn", n_in=n_in, n_out=n_out, n_hidden=n, mask=mask)


def with_model(graph: Graph, model) -> Graph:
    """The same graph, priced by ``model``'s accounting."""
    return Graph(graph.groups, graph.projections, graph.readout, model)
