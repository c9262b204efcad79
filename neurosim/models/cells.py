"""Recurrent cells: h_t = F(h_{t−1}, u_t; θ) with hand-written VJPs.

Every cell works in real arithmetic on a state of ``n_state`` numbers per sample, grouped into
``n_units`` units of ``slots`` numbers each (state index k = slot·n_units + unit). A unit is what
SnAp calls "unit i" (Menick et al. 2021, §3): the LRU's complex h_i has two slots (Re, Im).

What a cell gives the rules (the influence-matrix view of Marschall, Cho & Savin 2020):

* ``step``: the forward step, with a cache;
* ``vjp(p, cache, dh, per_sample, skip)``: (∂ℓ/∂h_{t−1}, ∂ℓ/∂u_t, ∂ℓ/∂θ) for an error dh on h_t,
  the *immediate* influence (h_{t−1} held fixed); the parameters named in ``skip`` get no
  gradient (not computed: a rule that replaces them by its own estimate saves their outer
  products). ``dh`` may carry extra leading axes (directions); with ``per_sample`` the parameter
  gradients keep every leading axis, which is how the rules
  build the dense recurrent Jacobian J_t and immediate influence M_t (``jacobians``);
* ``jac_blockdiag``: the unit-diagonal blocks of J_t (SnAp-1), written in closed form and
  tested against ``jacobians``;
* ``jvp``: J_t v;
* structure: fixed weight masks, which unit each parameter entry writes to, the unit graph
  (which unit's next state reads which unit's state) and the parameters that act on h_{t−1}.
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from .._errors import bad, check_float
from .layers import lead_sum, outer, sigmoid

Params = dict[str, np.ndarray]


class Cell:
    """Abstract recurrent cell. Concrete cells define the methods below."""

    n_in: int
    n_state: int
    n_units: int
    slots: int = 1
    recurrent_params: tuple[str, ...] = ()
    masks: dict[str, np.ndarray]  # structural masks of sparse parameters only (dense: absent)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError

    def init(self, rng: np.random.Generator, dtype: np.dtype) -> Params:
        raise NotImplementedError

    def param_unit(self, name: str) -> np.ndarray:
        """The unit each entry of parameter ``name`` writes to directly (same shape)."""
        shape = self.shapes()[name]
        return np.broadcast_to(np.arange(shape[0]).reshape((-1,) + (1,) * (len(shape) - 1)), shape)

    def unit_graph(self) -> np.ndarray:
        """A[k, l] = True if unit k's next state reads unit l's state."""
        raise NotImplementedError

    @property
    def recurrence(self) -> str:
        """The unit graph's form, known without building it: "diagonal" (each unit reads only
        itself: the LRU), "dense" (every unit reads every unit) or "masked" (``unit_graph()``)."""
        return "masked" if self.masks else "dense"

    def step(self, p: Params, h_prev: np.ndarray, u: np.ndarray):
        raise NotImplementedError

    def vjp(self, p: Params, cache, dh: np.ndarray, per_sample: bool = False, skip=frozenset()):
        raise NotImplementedError

    def jac_blockdiag(self, p: Params, cache) -> np.ndarray:
        raise NotImplementedError

    def initial_state(self, batch: int, dtype: np.dtype) -> np.ndarray:
        return np.zeros((batch, self.n_state), dtype)

    def jvp(self, p: Params, cache, v: np.ndarray) -> np.ndarray:
        """J_t v for v of shape (B, n_state) (default: through the dense Jacobian)."""
        J, _ = jacobians(self, p, cache, want_m=False)
        return np.einsum("bkl,bl->bk", J, v)


def jacobians(cell: Cell, p: Params, cache, want_m: bool = True, index=None):
    """Dense J_t (B, n, n) and, if asked, M_t (B, n, P) for a ``ParamIndex`` ``index``.

    Built from one batched VJP with the n basis vectors as leading directions, so it is exact
    whenever ``vjp`` is (which the finite-difference tests check).
    """
    n = cell.n_state
    batch = _batch_of(cache)
    basis = np.broadcast_to(np.eye(n, dtype=_dtype_of(cache))[:, None, :], (n, batch, n))
    dh_prev, _, grads = cell.vjp(p, cache, basis, per_sample=want_m)
    J = np.ascontiguousarray(dh_prev.transpose(1, 0, 2))
    if not want_m:
        return J, None
    M = index.flatten(grads, lead=2).transpose(1, 0, 2)
    return J, np.ascontiguousarray(M)


def _batch_of(cache) -> int:
    return cache[0].shape[0]


def _dtype_of(cache) -> np.dtype:
    return cache[0].real.dtype


def is_sparse(mask) -> bool:
    """A scipy.sparse matrix or array (duck-typed: scipy is not imported for dense masks)."""
    return hasattr(mask, "tocsr") and hasattr(mask, "nnz")


def dense_mask(mask):
    """The mask as a bool ndarray: a sparse mask densified (where it multiplies an n × n array,
    which is dense anyway), any other returned as it is."""
    return mask.toarray().astype(bool) if is_sparse(mask) else mask


def mask_counts(mask, axis: int) -> np.ndarray:
    """Kept entries of a 2-D mask along ``axis`` (1: per row, 0: per column), dense or sparse,
    without densifying a sparse one."""
    if is_sparse(mask):
        return np.asarray(mask.sum(axis=axis)).reshape(-1).astype(np.int64)
    return np.asarray(mask).sum(axis).astype(np.int64)


def mask_pairs(mask) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of a 2-D mask's kept entries as int64, dense or sparse, without densifying
    a sparse one; for a recurrent ``W[post, pre]``: (post, pre)."""
    if is_sparse(mask):
        coo = mask.tocoo()
        return np.asarray(coo.row, np.int64), np.asarray(coo.col, np.int64)
    r, c = np.nonzero(np.asarray(mask, bool))
    return r.astype(np.int64), c.astype(np.int64)


def mask_nnz(mask) -> int:
    """Kept entries of a mask, dense or sparse."""
    return int(mask.nnz) if is_sparse(mask) else int(np.count_nonzero(mask))


def _structure(names: tuple[str, ...], mask, n: int) -> dict:
    """``masks`` of a cell: {} when dense (no mask given, or one with every entry kept), so that
    building a dense cell never allocates an n × n array; else the (n, n) mask for each name. A
    scipy.sparse mask stays sparse (CSR, bool): the budget and the mapper read only its counts,
    so a network of 10⁵–10⁶ units with ~100 synapses each is priced without an n × n array."""
    if mask is None:
        return {}
    if is_sparse(mask):
        if mask.shape != (n, n):
            raise bad("mask", mask.shape, f"a boolean array of shape ({n}, {n})")
        m = mask.tocsr().astype(bool)
        m.eliminate_zeros()
        m.sort_indices()
        return {} if m.nnz == n * n else {k: m for k in names}
    m = np.asarray(mask, bool)
    if m.shape != (n, n):
        raise bad("mask", m.shape, f"a boolean array of shape ({n}, {n})")
    return {} if m.all() else {k: m for k in names}


def _masked(g: np.ndarray, mask) -> np.ndarray:
    """A gradient restricted to a structural mask (unchanged without one)."""
    return g if mask is None else g * dense_mask(mask)


def _graph(mask, n: int, self_loops: bool) -> np.ndarray:
    """A unit graph from a recurrent mask (dense: every unit reads every unit)."""
    g = np.ones((n, n), bool) if mask is None else np.array(dense_mask(mask), bool)
    if self_loops:
        np.fill_diagonal(g, True)
    return g


# --------------------------------------------------------------------------------------------
class RNNCell(Cell):
    """Leaky tanh RNN: a = W h_{t−1} + U u + b; h_t = (1 − α) h_{t−1} + α tanh(a).

    α = 1 is the vanilla RNN. ``mask`` (n, n) bool is a fixed structural sparsity of W.
    Init: W ~ N(0, g²/(d·n)) on the mask (d = density, g = ``gain``), U ~ N(0, 1/m), b = 0.
    """

    recurrent_params = ("W",)

    def __init__(self, n_in: int, n: int, alpha: float = 1.0, mask=None, gain: float = 1.0):
        self.n_in, self.n_state, self.n_units = n_in, n, n
        self.alpha = check_float("alpha", alpha, 0.0, 1.0, lo_open=True)
        self.gain = gain
        self.masks = _structure(("W",), mask, n)

    def shapes(self):
        n, m = self.n_state, self.n_in
        return {"W": (n, n), "U": (n, m), "b": (n,)}

    def init(self, rng, dtype):
        n, m = self.n_state, self.n_in
        mask = self.masks.get("W")
        density = 1.0 if mask is None else max(mask_nnz(mask) / (n * n), 1.0 / n)
        W = _masked(rng.normal(0, self.gain / np.sqrt(density * n), (n, n)), mask)
        return {
            "W": W.astype(dtype),
            "U": rng.normal(0, 1 / np.sqrt(m), (n, m)).astype(dtype),
            "b": np.zeros(n, dtype),
        }

    def unit_graph(self):
        return _graph(self.masks.get("W"), self.n_state, self.alpha < 1)

    def step(self, p, h_prev, u):
        # numpy, not kernels.rnn_step: numpy's SIMD tanh is ~10× faster than numba's scalar loop
        # (BENCHMARKS.md); the kernel and its twin stay for the chip simulation's fixed point.
        phi = np.tanh(h_prev @ p["W"].T + u @ p["U"].T + p["b"])
        a = self.alpha
        h = phi if a == 1.0 else (1 - a) * h_prev + a * phi
        return h, (h_prev, u, phi)

    def vjp(self, p, cache, dh, per_sample=False, skip=frozenset()):
        h_prev, u, phi = cache
        a = self.alpha
        da = a * dh * (1 - phi * phi)
        dh_prev = da @ p["W"]
        if a < 1:
            dh_prev = dh_prev + (1 - a) * dh
        ps = per_sample
        parts = {
            "W": lambda: _masked(outer(da, h_prev, ps), self.masks.get("W")),
            "U": lambda: outer(da, u, ps),
            "b": lambda: lead_sum(da, ps),
        }
        return dh_prev, da @ p["U"], {k: f() for k, f in parts.items() if k not in skip}

    def jac_blockdiag(self, p, cache):
        _, _, phi = cache
        a = self.alpha
        d = (1 - a) + a * (1 - phi * phi) * np.diagonal(p["W"])
        return d[:, :, None, None]

    def jvp(self, p, cache, v):
        _, _, phi = cache
        a = self.alpha
        out = a * (1 - phi * phi) * (v @ p["W"].T)
        return out + (1 - a) * v if a < 1 else out


# --------------------------------------------------------------------------------------------
_GRU_H = ("W_hr", "W_hz", "W_hn")


class GRUCell(Cell):
    """GRU (Cho et al. 2014, the PyTorch form):

    r = σ(W_ir u + W_hr h + b_r), z = σ(W_iz u + W_hz h + b_z),
    n = tanh(W_in u + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.

    ``mask`` is a structural sparsity applied to the three recurrent matrices W_h*.
    Init: U(−1/√n, 1/√n) for every entry (PyTorch's default).
    """

    recurrent_params = _GRU_H

    def __init__(self, n_in: int, n: int, mask=None):
        self.n_in, self.n_state, self.n_units = n_in, n, n
        self.masks = _structure(_GRU_H, mask, n)

    def shapes(self):
        n, m = self.n_state, self.n_in
        s = {f"W_i{g}": (n, m) for g in "rzn"}
        s.update({k: (n, n) for k in _GRU_H})
        s.update({"b_r": (n,), "b_z": (n,), "b_in": (n,), "b_hn": (n,)})
        return s

    def init(self, rng, dtype):
        k = 1 / np.sqrt(self.n_state)
        p = {name: rng.uniform(-k, k, s) for name, s in self.shapes().items()}
        for name in _GRU_H:
            p[name] = _masked(p[name], self.masks.get(name))
        return {name: v.astype(dtype) for name, v in p.items()}

    def unit_graph(self):
        return _graph(self.masks.get("W_hr"), self.n_state, True)

    def step(self, p, h, u):
        # numpy, not kernels.gru_step, for the same reason as the RNN (SIMD exp and tanh)
        r = sigmoid(u @ p["W_ir"].T + h @ p["W_hr"].T + p["b_r"])
        z = sigmoid(u @ p["W_iz"].T + h @ p["W_hz"].T + p["b_z"])
        hn = h @ p["W_hn"].T + p["b_hn"]
        n = np.tanh(u @ p["W_in"].T + p["b_in"] + r * hn)
        return (1 - z) * n + z * h, (h, u, r, z, hn, n)

    def vjp(self, p, cache, dh, per_sample=False, skip=frozenset()):
        h, u, r, z, hn, n = cache
        dgn = dh * (1 - z) * (1 - n * n)
        dgz = dh * (h - n) * z * (1 - z)
        dhn = dgn * r
        dgr = dgn * hn * r * (1 - r)
        dh_prev = dh * z + dgr @ p["W_hr"] + dgz @ p["W_hz"] + dhn @ p["W_hn"]
        du = dgr @ p["W_ir"] + dgz @ p["W_iz"] + dgn @ p["W_in"]
        ps = per_sample
        parts = {
            "W_ir": lambda: outer(dgr, u, ps),
            "W_iz": lambda: outer(dgz, u, ps),
            "W_in": lambda: outer(dgn, u, ps),
            "W_hr": lambda: _masked(outer(dgr, h, ps), self.masks.get("W_hr")),
            "W_hz": lambda: _masked(outer(dgz, h, ps), self.masks.get("W_hz")),
            "W_hn": lambda: _masked(outer(dhn, h, ps), self.masks.get("W_hn")),
            "b_r": lambda: lead_sum(dgr, ps),
            "b_z": lambda: lead_sum(dgz, ps),
            "b_in": lambda: lead_sum(dgn, ps),
            "b_hn": lambda: lead_sum(dhn, ps),
        }
        return dh_prev, du, {k: f() for k, f in parts.items() if k not in skip}

    def jac_blockdiag(self, p, cache):
        h, _, r, z, hn, n = cache
        dr = r * (1 - r) * np.diagonal(p["W_hr"])
        dz = z * (1 - z) * np.diagonal(p["W_hz"])
        dn = (1 - n * n) * (r * np.diagonal(p["W_hn"]) + hn * dr)
        return (z + (h - n) * dz + (1 - z) * dn)[:, :, None, None]


# --------------------------------------------------------------------------------------------
class LRUCell(Cell):
    """Linear recurrent unit (Orvieto et al. 2023; Zucchet et al. 2023, eq. 2).

    λ = exp(−exp(ν) + i·exp(θ)) ∈ ℂᴺ, γ = exp(γ_log), h_t = λ ⊙ h_{t−1} + γ ⊙ (B u_t),
    B = B_re + i B_im. The state is stored as [Re h; Im h] (2N reals); unit i has two slots.
    Complex errors follow δ = ∂ℓ/∂Re h − i ∂ℓ/∂Im h, so imaginary parameter parts take −Im.
    Init (Orvieto et al. 2023 Lemma 3.2): |λ| uniform on the ring [r_min, r_max] in the
    complex plane, phase ~ U[0, max_phase]; γ = sqrt(1 − |λ|²); B ~ N(0, 1/(2H)).
    """

    slots = 2
    recurrent_params = ("nu_log", "theta_log")

    def __init__(
        self,
        n_in: int,
        n: int,
        r_min: float = 0.0,
        r_max: float = 1.0,
        max_phase: float = 6.28,
        gamma_norm: bool = True,
    ):
        self.r_min = check_float("r_min", r_min, 0.0, 1.0)
        self.r_max = check_float("r_max", r_max, 0.0, 1.0, lo_open=True)
        if self.r_min > self.r_max:
            raise bad("r_min", r_min, f"a value <= r_max={r_max}")
        self.max_phase = check_float("max_phase", max_phase, 0.0, None, lo_open=True)
        self.n_in, self.N, self.n_units, self.n_state = n_in, n, n, 2 * n
        self.gamma_norm = bool(gamma_norm)
        self.masks = {}

    def shapes(self):
        N, H = self.N, self.n_in
        s = {"nu_log": (N,), "theta_log": (N,)}
        if self.gamma_norm:
            s["gamma_log"] = (N,)
        s.update({"B_re": (N, H), "B_im": (N, H)})
        return s

    def init(self, rng, dtype):
        N, H = self.N, self.n_in
        u1, u2 = rng.uniform(size=N), rng.uniform(size=N)
        # Keep |λ| < 1 strictly so that ν is finite.
        r2 = np.clip(u1 * (self.r_max**2 - self.r_min**2) + self.r_min**2, 1e-12, 1 - 1e-7)
        nu_log = np.log(-0.5 * np.log(r2))
        theta_log = np.log(np.maximum(self.max_phase * u2, 1e-12))
        p = {"nu_log": nu_log, "theta_log": theta_log}
        if self.gamma_norm:
            p["gamma_log"] = 0.5 * np.log(1 - r2)
        p["B_re"] = rng.normal(0, 1 / np.sqrt(2 * H), (N, H))
        p["B_im"] = rng.normal(0, 1 / np.sqrt(2 * H), (N, H))
        return {k: v.astype(dtype) for k, v in p.items()}

    def unit_graph(self):
        return np.eye(self.N, dtype=bool)

    @property
    def recurrence(self) -> str:
        return "diagonal"

    def lam(self, p) -> np.ndarray:
        return np.exp(-np.exp(p["nu_log"]) + 1j * np.exp(p["theta_log"]))

    def gamma(self, p) -> np.ndarray:
        return np.exp(p["gamma_log"]) if self.gamma_norm else np.ones(self.N, p["nu_log"].dtype)

    def to_complex(self, h: np.ndarray) -> np.ndarray:
        return h[..., : self.N] + 1j * h[..., self.N :]

    def step(self, p, h_prev, u):
        lam = self.lam(p)
        hc = self.to_complex(h_prev)
        bu = u @ p["B_re"].T + 1j * (u @ p["B_im"].T)
        h = np.array(hc, dtype=bu.dtype, order="C")
        kernels.lru_step(lam.astype(bu.dtype), self.gamma(p), h, bu)  # h ← λ ⊙ h + γ ⊙ (B u)
        return np.concatenate([h.real, h.imag], -1), (hc, u, bu, lam)

    def vjp(self, p, cache, dh, per_sample=False, skip=frozenset()):
        hc, u, bu, lam = cache
        N, ps = self.N, per_sample
        delta = dh[..., :N] - 1j * dh[..., N:]
        d_prev = delta * lam
        dh_prev = np.concatenate([d_prev.real, -d_prev.imag], -1)
        gam = self.gamma(p)
        dv = delta * gam  # δ on B u_t
        g = {}
        if not {"nu_log", "theta_log"} <= skip:
            dw = delta * hc * lam  # δ through λ = exp(w), w = −e^ν + i e^θ
            g["nu_log"] = lead_sum(-dw.real * np.exp(p["nu_log"]), ps)
            g["theta_log"] = lead_sum(-dw.imag * np.exp(p["theta_log"]), ps)
        if self.gamma_norm and "gamma_log" not in skip:
            g["gamma_log"] = lead_sum(gam * (delta * bu).real, ps)
        if "B_re" not in skip:
            g["B_re"] = outer(dv.real, u, ps)
        if "B_im" not in skip:
            g["B_im"] = outer(-dv.imag, u, ps)
        du = dv.real @ p["B_re"] - dv.imag @ p["B_im"]
        return dh_prev, du, {k: v for k, v in g.items() if k not in skip}

    def jac_blockdiag(self, p, cache):
        lam = cache[3]
        batch = cache[0].shape[0]
        blk = np.empty((self.N, 2, 2), lam.real.dtype)
        blk[:, 0, 0], blk[:, 0, 1] = lam.real, -lam.imag
        blk[:, 1, 0], blk[:, 1, 1] = lam.imag, lam.real
        return np.broadcast_to(blk, (batch, self.N, 2, 2))

    def jvp(self, p, cache, v):
        w = self.to_complex(v) * cache[3]
        return np.concatenate([w.real, w.imag], -1)
