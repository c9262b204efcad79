"""Real-time recurrent learning (Williams & Zipser 1989) and the SnAp-n family (Menick et al. 2021).

Influence matrix G_t = dh_t/dθ with G_t = J_t G_{t−1} + M_t (J_t = ∂F/∂h_{t−1}, M_t the
immediate influence); the gradient estimate is c_t G_t with c_t = ∂ℓ_t/∂h_t.

* ``rtrl``: G dense, (n_state × P) per sample, P = the layer's active parameters.
* ``snap(n)`` (Menick et al. 2021): keep G only on 𝒮ₙ = {(k, θ): unit(k) is reachable from
  the unit θ writes to within n − 1 steps of the unit graph} and re-impose the pattern after
  every update. Stored as the nnz values of 𝒮ₙ. A unit is every state variable of a neuron
  (the LRU's Re and Im parts). The update goes through a dense temporary (correct for any n,
  O(n·P) work); ``snap1`` has its own O(s²·P) path through the unit-diagonal blocks of J_t.
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from .._cache import per_object
from ..models.cells import Cell, RNNCell, dense_mask, jacobians
from .base import ArraySpec, OnlineRule, active_count, param_index


def reachability(graph: np.ndarray, steps: int) -> np.ndarray:
    """R[k, u] = unit k is reachable from unit u in at most ``steps`` edges; graph[k, l] = k reads l."""
    g = np.asarray(graph, bool)
    r = np.eye(g.shape[0], dtype=bool)
    step = g | np.eye(g.shape[0], dtype=bool)
    stepf = step.astype(np.float32)  # a BLAS product: counts of paths, exact enough for > 0
    for _ in range(steps):
        nxt = (stepf @ r.astype(np.float32)) > 0
        if np.array_equal(nxt, r):
            break
        r = nxt
    return r


@per_object
def snap_mask(cell: Cell, n: int) -> np.ndarray:
    """𝒮ₙ as a boolean (n_state, P) mask over (state variable, active parameter)."""
    idx = param_index(cell)
    reach = reachability(cell.unit_graph(), n - 1)
    state_unit = np.tile(np.arange(cell.n_units), cell.slots)
    return reach[state_unit][:, idx.unit]


@per_object
def _reach_sizes(cell: Cell, steps: int):
    """Per unit u, the number of units reachable from u within ``steps`` edges of the unit graph
    (a scalar when it is the same for every unit: diagonal or dense recurrence)."""
    if cell.recurrence == "diagonal" or steps == 0:
        return 1
    if cell.recurrence == "dense":
        return cell.n_units
    return reachability(cell.unit_graph(), steps).sum(0)  # column u: the units reachable from u


def snap_size(cell: Cell, n: int) -> int:
    """|𝒮ₙ| = Σ over active parameters θ of slots · (units reachable from unit(θ) in n − 1 steps):
    ``snap_mask(cell, n).sum()`` without building the mask (O(1) for diagonal or dense cells)."""
    reach = _reach_sizes(cell, n - 1)
    if np.isscalar(reach):
        return cell.slots * int(reach) * active_count(cell)
    return cell.slots * int(np.asarray(reach)[param_index(cell).unit].sum())


def _degree(cell: Cell) -> float:
    """Mean in-degree of the unit graph (self-loops included)."""
    if cell.recurrence == "diagonal":
        return 1.0
    if cell.recurrence == "dense":
        return float(cell.n_units)
    return float(np.asarray(cell.unit_graph()).sum()) / cell.n_units


class RTRL(OnlineRule):
    name = "rtrl"
    replaces_cell_grads = True  # c_t G_t for every cell parameter

    def exact_cell(self, model):
        return True  # G_t = dh_t/dθ exactly (Williams & Zipser 1989)

    def op_counts(self, model):
        """RTRL: G ← J G + M costs n_state² · P MACs per layer (Williams & Zipser 1989; n⁴ for a dense RNN)."""
        out = super().op_counts(model)
        for layer, b in enumerate(model.blocks):
            n, P = b.cell.n_state, active_count(b.cell)
            out[layer]["trace"] = {"trace_update": n * P, "mac": n * n * P}
        return out

    def init_layer(self, model, layer, batch):
        cell = model.blocks[layer].cell
        return np.zeros((batch, cell.n_state, param_index(cell).size), model.dtype)

    def layer_step(self, model, layer, p, G, cache, c):
        cell = model.blocks[layer].cell
        idx = param_index(cell)
        if isinstance(cell, RNNCell):  # J G by BLAS; M (an outer product per unit) and c·G fused
            J, a, pre = _rnn_pieces(self, cell, p, cache)
            G = np.matmul(J, G)
            grad = np.zeros(idx.size, G.dtype)
            unit, src = _rnn_sources(cell)
            kernels.rtrl_traces(G, a, pre, unit, src, c, grad)
            return G, idx.unflatten(grad)
        J, M = jacobians(cell, p, cache, index=idx)
        G = np.matmul(J, G) + M
        return G, idx.unflatten(np.einsum("bk,bkp->p", c, G))

    def state_spec(self, model):
        out = []
        for i, b in enumerate(model.blocks):
            out.append(ArraySpec("G", i, (b.cell.n_state, active_count(b.cell)), "synapse", axis=1, index="param"))
        return out


class SnAp(OnlineRule):
    """General SnAp-n through the sparsity pattern 𝒮ₙ."""

    replaces_cell_grads = True

    def __init__(self, n: int):
        self.n = n
        self.name = f"snap{n}"

    def exact_cell(self, model):
        """Exact once the kept pattern holds every entry G can have: n − 1 steps reach as far as
        the unit graph does (Menick et al. 2021, §3; on an element-wise recurrence, any n)."""
        cell = model.blocks[-1].cell
        return snap_size(cell, self.n) == snap_size(cell, cell.n_units)

    def op_counts(self, model):
        """SnAp-n: each kept entry sums over the unit's in-neighbours: |S| · (nnz(J) / n) MACs."""
        out = super().op_counts(model)
        for layer, b in enumerate(model.blocks):
            elems = sum(s.floats for s in self.state_spec(model) if s.layer == layer)
            out[layer]["trace"] = {"trace_update": elems, "mac": elems * (1 + _degree(b.cell))}
        return out

    def init_layer(self, model, layer, batch):
        mask = snap_mask(model.blocks[layer].cell, self.n)
        return np.zeros((batch, int(mask.sum())), model.dtype)

    def layer_step(self, model, layer, p, vals, cache, c):
        cell = model.blocks[layer].cell
        idx = param_index(cell)
        if isinstance(cell, RNNCell):  # the masked product J G on the pattern, fused with M and c·G
            J, a, pre = _rnn_pieces(self, cell, p, cache)
            unit, src = _rnn_sources(cell)
            rows, cols, colptr, order = _pattern(cell, self.n)
            grad = np.zeros(idx.size, vals.dtype)
            kernels.snapn_traces(vals, J, a, pre, unit, src, rows, cols, colptr, order, c, grad)
            return vals, idx.unflatten(grad)
        rows, cols = np.nonzero(snap_mask(cell, self.n))
        J, M = jacobians(cell, p, cache, index=idx)
        dense = np.zeros_like(M)
        dense[:, rows, cols] = vals
        vals = (np.matmul(J, dense) + M)[:, rows, cols]
        g = np.bincount(cols, weights=(c[:, rows] * vals).sum(0), minlength=idx.size)
        return vals, idx.unflatten(g.astype(vals.dtype))

    def pattern_runs(self, model, layer: int, unit_params: list) -> list[tuple[int, int]]:
        """Per unit of ``layer`` (in order, as runs), its kept influence entries: for each of its
        active parameters (``unit_params``, runs), slots · the units reachable from it in n − 1
        steps — the unit-wise split of ``snap_size``."""
        cell = model.blocks[layer].cell
        reach = _reach_sizes(cell, self.n - 1)
        if np.isscalar(reach):
            return [(cell.slots * int(reach) * k, c) for k, c in unit_params]
        per_unit = np.repeat([k for k, _ in unit_params], [c for _, c in unit_params]) * np.asarray(reach) * cell.slots
        cuts = np.flatnonzero(np.diff(per_unit)) + 1
        starts, ends = np.concatenate([[0], cuts]), np.concatenate([cuts, [per_unit.size]])
        return [(int(per_unit[a]), int(b - a)) for a, b in zip(starts, ends)]

    def state_spec(self, model):
        return [
            ArraySpec("G_snap", i, (snap_size(b.cell, self.n),), "synapse", index="pattern")
            for i, b in enumerate(model.blocks)
        ]


def _rnn_pieces(rule, cell: RNNCell, p, cache):
    """The RNN's dense J_t (B, n, n) and its immediate influence as (a, pre): M[b, i, p] =
    a[b, i] pre[b, src[p]] for i = unit[p]."""
    h_prev, u, phi = cache
    batch = h_prev.shape[0]
    a = cell.alpha * (1 - phi * phi)
    W = p["W"] if cell.masks.get("W") is None else p["W"] * dense_mask(cell.masks["W"])
    J = a[:, :, None] * W[None]
    J[:, np.arange(cell.n_state), np.arange(cell.n_state)] += 1 - cell.alpha
    pre = np.concatenate([h_prev, u, np.ones((batch, 1), u.dtype)], -1)
    return J, a, pre


@per_object
def _pattern(cell: RNNCell, n: int):
    """SnAp-n's kept entries (rows, cols in the state's row-major order) and, per column, the
    entries of that column (colptr, col_entries), for the kernel."""
    rows, cols = np.nonzero(snap_mask(cell, n))
    order = np.lexsort((rows, cols))
    colptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=param_index(cell).size))])
    return rows.astype(np.int64), cols.astype(np.int64), colptr.astype(np.int64), order.astype(np.int64)


@per_object
def _rnn_sources(cell: RNNCell):
    """Per active parameter of an RNN cell: the unit it writes to and its presynaptic column in
    [h_{t−1}, x_t, 1]."""
    idx = param_index(cell)
    n, m = cell.n_state, cell.n_in
    cols = {"W": lambda f: f % n, "U": lambda f: n + f % m, "b": lambda f: np.full_like(f, n + m)}
    src = np.concatenate([cols[name](act) for name, act in zip(idx.names, idx.active)])
    return np.ascontiguousarray(idx.unit, np.int64), np.ascontiguousarray(src, np.int64)


class SnAp1(OnlineRule):
    """SnAp-1: one trace per (slot, parameter), updated with the unit-diagonal blocks of J_t.

    Ĝ[s, θ] ≈ ∂h_{(s, unit(θ))}/∂θ;  Ĝ ← J_blk[unit(θ)] Ĝ + M_blk.  For a one-slot cell
    (rnn, gru) this is g_t[i,j] = J_ii g_{t−1}[i,j] + M_t[i,(i,j)] (Menick et al. 2021, §3).
    """

    name = "snap1"
    replaces_cell_grads = True  # also RFLO, its subclass

    def exact_cell(self, model):
        """Exact when no unit reads another (element-wise recurrence: the LRU, a diagonal mask)."""
        cell = model.blocks[-1].cell
        return snap_size(cell, 1) == snap_size(cell, cell.n_units)

    def init_layer(self, model, layer, batch):
        cell = model.blocks[layer].cell
        P = param_index(cell).size
        if isinstance(cell, RNNCell):  # stored batch-minor for the kernel; the view is (B, 1, P)
            return np.zeros((P, batch), model.dtype).T.reshape(batch, 1, P)
        return np.zeros((batch, cell.slots, P), model.dtype)

    def layer_step(self, model, layer, p, G, cache, c):
        cell = model.blocks[layer].cell
        idx = param_index(cell)
        s, U = cell.slots, cell.n_units
        batch = c.shape[0]
        if isinstance(cell, RNNCell):  # fused kernel: M_t is an outer product per unit
            h_prev, u, phi = cache
            J = self.jac_blocks(cell, p, cache, batch)[:, :, 0, 0]
            a = cell.alpha * (1 - phi * phi)
            pre = np.concatenate([h_prev, u, np.ones((batch, 1), u.dtype)], -1)
            grad = np.zeros(idx.size, G.dtype)
            unit, src = _rnn_sources(cell)
            Gt = G.reshape(batch, idx.size).T  # (P, B), contiguous when made by init_layer
            if not Gt.flags.c_contiguous:  # e.g. a state built elsewhere: work on a copy
                Gt = np.ascontiguousarray(Gt)
                G = Gt.T.reshape(batch, 1, idx.size)
            kernels.snap1_outer(Gt, J.T, a.T, pre.T, unit, src, c.T, grad)
            return G, idx.unflatten(grad)
        # M restricted to each parameter's own unit: one VJP per slot with an indicator error.
        ind = np.zeros((s, batch, cell.n_state), c.dtype)
        for k in range(s):
            ind[k, :, k * U : (k + 1) * U] = 1.0
        _, _, gm = cell.vjp(p, cache, ind, per_sample=True)
        Mb = idx.flatten(gm, lead=2).transpose(1, 0, 2)  # (B, s, P)
        Jp = self.jac_blocks(cell, p, cache, batch)[:, idx.unit]  # (B, P, s, s)
        if s == 1:
            G = Jp[:, None, :, 0, 0] * G + Mb
        else:
            G = np.einsum("bpcd,bdp->bcp", Jp, G) + Mb
        cp = c.reshape(batch, s, U)[:, :, idx.unit]
        return G, idx.unflatten((cp * G).sum((0, 1)))

    def jac_blocks(self, cell, p, cache, batch):
        return cell.jac_blockdiag(p, cache)

    def state_spec(self, model):
        return [
            ArraySpec("g", i, (b.cell.slots, active_count(b.cell)), "synapse", axis=1, index="param")
            for i, b in enumerate(model.blocks)
        ]
