"""Stacks of recurrent blocks: encoder → block₀ … block_{L−1} → (running mean) → decoder.

A block is  u = pre(x) → h_t = cell(h_{t−1}, u) → o = post(h_t, u, x).
* rnn / gru blocks: pre = identity, post = h (o = h_t).
* lru blocks (Zucchet et al. 2023, ``online_lru/layers.py``): u = LayerNorm(x) (optional),
  y = Re(C h_t) + D ⊙ u, o = x + mix(gelu(y)) with mix = GLU | MLP | identity (skip optional).

``Model.vjp`` is one step of back-propagation at time t with the recurrences cut: the error on
the output flows down through every layer at the same t (the *spatial* error of Zucchet et al.),
and an optional carry ∂L/∂h^l_t from step t+1 is added at each cell, which turns the same
function into one step of BPTT. It returns the parameter gradients of the immediate path, the
carry for step t−1 and, per layer, the total error on h^l_t (the learning signal c_t).

``pool="st_mean"`` feeds the decoder the running mean of the top block's outputs in the forward
pass and the identity in the backward pass (the straight-through per-step readout of
Zucchet et al. 2023's code, ``mode: pool_st``).
"""

from __future__ import annotations

from operator import is_
from typing import NamedTuple

import numpy as np

from .._errors import check_array
from ..state import ArraySpec
from .cells import Cell
from .layers import GLU, MLP, LayerNorm, Linear, gelu

Params = dict[str, np.ndarray]


def _sub(params: Params, prefix: str) -> Params:
    n = len(prefix)
    return {k[n:]: v for k, v in params.items() if k.startswith(prefix)}


def _put(grads: Params, prefix: str, local: Params) -> None:
    for k, v in local.items():
        grads[prefix + k] = v


class _Split(NamedTuple):
    """A flat parameter dict grouped once per parameter set (not once per block and step):
    the encoder's, the decoder's and, per layer, (layer-local, its norm's, its mix's)."""

    enc: Params
    dec: Params
    layers: tuple


def _split(params: Params, n_layers: int) -> _Split:
    groups: dict[str, Params] = {}
    for k, v in params.items():
        head, _, rest = k.partition(".")
        groups.setdefault(head, {})[rest] = v
    own = [groups.get(f"layer{i}", {}) for i in range(n_layers)]
    layers = tuple((p, _sub(p, "norm."), _sub(p, "mix.")) for p in own)
    return _Split(groups.get("enc", {}), groups.get("dec", {}), layers)


class ModelState(NamedTuple):
    """Per-sample model state: one array per recurrent layer, the running-mean sum, the
    step count and the last output (the chip's output register)."""

    h: tuple
    pool_sum: np.ndarray
    count: np.ndarray
    y: np.ndarray


class Block:
    """A recurrent cell with optional non-recurrent pre/post parts (see module docstring)."""

    def __init__(self, cell: Cell, width: int, kind: str, norm: bool = False, mix: str = "none", skip: bool = False):
        self.cell, self.width, self.kind = cell, width, kind
        self.norm = LayerNorm(width) if norm else None
        self.mix = {"glu": GLU, "mlp": MLP}.get(mix, lambda w: None)(width)
        self.skip = skip
        self.lru = kind == "lru"
        self.n_out = width if self.lru else cell.n_state

    def shapes(self) -> dict[str, tuple[int, ...]]:
        s = dict(self.cell.shapes())
        if self.lru:
            N, H = self.cell.N, self.width
            s.update({"C_re": (H, N), "C_im": (H, N), "D": (H,)})
        if self.norm:
            s.update({"norm." + k: v for k, v in self.norm.shapes().items()})
        if self.mix:
            s.update({"mix." + k: v for k, v in self.mix.shapes().items()})
        return s

    def cell_names(self) -> tuple[str, ...]:
        return tuple(self.cell.shapes())

    def cache_floats(self) -> int:
        """Floats in this block's ``forward`` cache for one sample, from shapes alone.

        LayerNorm (x̂, 1/σ): width + 1. Cell: rnn (h_{t−1}, u, φ) 2n + m; gru (h, u, r, z, ĥ, n)
        5n + m; lru (h_{t−1}, u, Bu, λ) 3·n_state + H (λ is shared by the batch: counted once).
        lru post (h, u, gelu′, mix): n_state + 2H + GLU (z, z, a, σ) 4H or MLP (z, gelu′, g)
        H + 2·hidden."""
        cell, w = self.cell, self.width
        own = {"rnn": 2, "gru": 5, "lru": 3}[self.kind] * cell.n_state + cell.n_in
        norm = w + 1 if self.norm else 0
        if not self.lru:
            return norm + own
        mix = 4 * w if isinstance(self.mix, GLU) else w + 2 * self.mix.l1.n_out if isinstance(self.mix, MLP) else 0
        return norm + own + cell.n_state + 2 * w + mix

    def init(self, rng, dtype) -> Params:
        p = self.cell.init(rng, dtype)
        if self.lru:
            N, H = self.cell.N, self.width
            p["C_re"] = rng.normal(0, 1 / np.sqrt(N), (H, N)).astype(dtype)
            p["C_im"] = rng.normal(0, 1 / np.sqrt(N), (H, N)).astype(dtype)
            p["D"] = rng.normal(0, 1, H).astype(dtype)
        if self.norm:
            p.update({"norm." + k: v for k, v in self.norm.init(rng, dtype).items()})
        if self.mix:
            p.update({"mix." + k: v for k, v in self.mix.init(rng, dtype).items()})
        return p

    def forward(self, p: Params, h_prev, x, sub=None):
        """``sub``: (norm params, mix params) when the caller has them (``Model`` does)."""
        p_norm, p_mix = sub or (_sub(p, "norm."), _sub(p, "mix."))
        u, c_norm = self.norm.forward(p_norm, x) if self.norm else (x, None)
        h, c_cell = self.cell.step(p, h_prev, u)
        if not self.lru:
            return h, h, (c_norm, c_cell, None)
        N = self.cell.N
        y = h[:, :N] @ p["C_re"].T - h[:, N:] @ p["C_im"].T + p["D"] * u
        a, da = gelu(y)
        m, c_mix = self.mix.forward(p_mix, a) if self.mix else (a, None)
        o = x + m if self.skip else m
        return h, o, (c_norm, c_cell, (h, u, da, c_mix))

    def vjp(self, p: Params, cache, do, dh_carry, sub=None, skip=frozenset()):
        """``skip``: cell parameters whose immediate gradient is not wanted (a rule replaces it)."""
        c_norm, c_cell, c_post = cache
        p_norm, p_mix = sub or (_sub(p, "norm."), _sub(p, "mix."))
        g: Params = {}
        if self.lru:
            h, u, da, c_mix = c_post
            N = self.cell.N
            if self.mix:
                da_in, gm = self.mix.vjp(p_mix, c_mix, do)
                _put(g, "mix.", gm)
            else:
                da_in = do
            dy = da_in * da
            c = np.concatenate([dy @ p["C_re"], -(dy @ p["C_im"])], -1)
            g["C_re"] = dy.T @ h[:, :N]
            g["C_im"] = -(dy.T @ h[:, N:])
            g["D"] = (dy * u).sum(0)
            du_post = dy * p["D"]
        else:
            c, du_post = do, 0.0
        if dh_carry is not None:
            c = c + dh_carry
        dh_prev, du, gc = self.cell.vjp(p, c_cell, c, skip=skip) if skip else self.cell.vjp(p, c_cell, c)
        g.update(gc)
        du = du + du_post
        if self.norm:
            dx, gn = self.norm.vjp(p_norm, c_norm, du)
            _put(g, "norm.", gn)
        else:
            dx = du
        if self.lru and self.skip:
            dx = dx + do
        return dx, dh_prev, g, c


class Model:
    """A stack of recurrent blocks with optional linear encoder and a linear decoder."""

    def __init__(self, kind: str, n_in: int, n_out: int, blocks: list[Block], encoder: Linear | None, pool: str, dtype):
        self.kind, self.n_in, self.n_out = kind, n_in, n_out
        self.blocks, self.encoder, self.pool = blocks, encoder, pool
        self.dtype = np.dtype(dtype)
        self.decoder = Linear(blocks[-1].n_out, n_out)
        self._split_cache = None

    # --- structure -------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.blocks)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        s = {}
        if self.encoder:
            s.update({"enc." + k: v for k, v in self.encoder.shapes().items()})
        for i, b in enumerate(self.blocks):
            s.update({f"layer{i}.{k}": v for k, v in b.shapes().items()})
        s.update({"dec." + k: v for k, v in self.decoder.shapes().items()})
        return s

    def cell_param_names(self, layer: int) -> tuple[str, ...]:
        """Full names of the recurrent cell's parameters in ``layer`` (those a rule traces)."""
        return tuple(f"layer{layer}.{k}" for k in self.blocks[layer].cell_names())

    def after_recurrence(self) -> tuple[str, ...]:
        """Parameters that act on the top recurrence's output only, at the same step: the top
        block's readout of h (C, D and its GLU/MLP) and the decoder. Nothing feeds back from them
        into any recurrence, so the instantaneous (spatial) error gives their exact gradient
        under every rule. Everything else — the encoder, every LayerNorm (the top layer's
        pre-norm included: it feeds the top recurrence), every cell and every lower block — is
        upstream of a recurrence."""
        top = self.blocks[-1]
        local = [k for k in top.shapes() if k not in top.cell_names() and not k.startswith("norm.")]
        return tuple(f"layer{self.n_layers - 1}.{k}" for k in local) + tuple("dec." + k for k in self.decoder.shapes())

    readout_leaks = False  # the decoder reads the top block at the same step only

    def cache_floats(self) -> int:
        """Floats in one step's ``forward`` cache for one sample (the history BPTT keeps per
        step), from shapes alone: the encoder's input, every block's cache, the decoder's input."""
        enc = self.n_in if self.encoder else 0
        return enc + sum(b.cache_floats() for b in self.blocks) + self.decoder.n_in

    def param_groups(self) -> dict[str, str]:
        """name → "recurrent" (a cell parameter) or "other"."""
        rec = {n for i in range(self.n_layers) for n in self.cell_param_names(i)}
        return {k: ("recurrent" if k in rec else "other") for k in self.shapes()}

    def init(self, seed: int = 0) -> Params:
        """Flat, named parameters; deterministic for a seed."""
        rng = np.random.default_rng(seed)
        p: Params = {}
        if self.encoder:
            p.update({"enc." + k: v for k, v in self.encoder.init(rng, self.dtype).items()})
        for i, b in enumerate(self.blocks):
            p.update({f"layer{i}.{k}": v for k, v in b.init(rng, self.dtype).items()})
        p.update({"dec." + k: v for k, v in self.decoder.init(rng, self.dtype).items()})
        return p

    def initial_state(self, batch: int) -> ModelState:
        hs = tuple(b.cell.initial_state(batch, self.dtype) for b in self.blocks)
        top = self.blocks[-1].n_out
        pooled = self.pool == "st_mean"  # without the running mean, its sum and count hold nothing
        return ModelState(
            hs,
            np.zeros((batch, top if pooled else 0), self.dtype),
            np.zeros(() if pooled else (0,), self.dtype),
            np.zeros((batch, self.n_out), self.dtype),
        )

    # --- one step --------------------------------------------------------------------------
    def check_input(self, x_t: np.ndarray, batch: int | None = None) -> np.ndarray:
        return check_array("x_t", x_t, (batch, self.n_in)).astype(self.dtype, copy=False)

    def split(self, params: Params) -> _Split:
        """``params`` grouped by component; rebuilt only when ``params`` is another dict or one of
        its entries was replaced (checked by identity: cheap, and exact, since the cache holds the
        arrays it was built from). In-place changes to an array are seen: the groups share it."""
        c = self._split_cache
        if c is not None and c[0] is params and len(c[1]) == len(params):
            if all(map(is_, params.keys(), c[1])) and all(map(is_, params.values(), c[2])):
                return c[3]
        s = _split(params, self.n_layers)
        self._split_cache = (params, tuple(params), tuple(params.values()), s)
        return s

    def forward(self, params: Params, state: ModelState, x_t: np.ndarray):
        """One step: returns (new state, output y_t (B, n_out), cache for ``vjp``)."""
        x = x_t
        c_enc = None
        sp = self.split(params)
        if self.encoder:
            x, c_enc = self.encoder.forward(sp.enc, x)
        hs, caches = [], []
        for i, b in enumerate(self.blocks):
            p, p_norm, p_mix = sp.layers[i]
            h, x, c = b.forward(p, state.h[i], x, (p_norm, p_mix))
            hs.append(h)
            caches.append(c)
        pool_sum, count = state.pool_sum, state.count
        if self.pool == "st_mean":
            pool_sum, count = pool_sum + x, count + 1
            x = pool_sum / count
        y, c_dec = self.decoder.forward(sp.dec, x)
        return ModelState(tuple(hs), pool_sum, count, y), y, (c_enc, tuple(caches), c_dec)

    def vjp(self, params: Params, cache, dy: np.ndarray, dh_carry=None, skip=None):
        """Back-propagate ∂ℓ_t/∂y_t through one step (see module docstring).

        ``skip``: per layer, the cell parameters (local names) whose immediate gradients are not
        wanted — a rule that replaces them by its own estimate (online_lru) saves their outer
        products; they are then absent from the returned grads.
        Returns (grads of the immediate path, carries ∂/∂h^l_{t−1}, errors c^l_t on h^l_t).
        """
        c_enc, caches, c_dec = cache
        sp = self.split(params)
        grads: Params = {}
        dx, gd = self.decoder.vjp(sp.dec, c_dec, dy)
        _put(grads, "dec.", gd)
        carries, errors = [None] * self.n_layers, [None] * self.n_layers
        for i in reversed(range(self.n_layers)):
            carry = None if dh_carry is None else dh_carry[i]
            p, p_norm, p_mix = sp.layers[i]
            sk = skip[i] if skip else frozenset()
            dx, dh_prev, g, c = self.blocks[i].vjp(p, caches[i], dx, carry, (p_norm, p_mix), sk)
            _put(grads, f"layer{i}.", g)
            carries[i], errors[i] = dh_prev, c
        if self.encoder:
            _, ge = self.encoder.vjp(sp.enc, c_enc, dx)
            _put(grads, "enc.", ge)
        return grads, carries, errors

    def param_layout(self) -> dict[str, tuple[int, str]]:
        """name → (layer, role) for hardware accounting: role "recurrent" for the parameters acting
        on h_{t−1}, "input" for the cell's other weights and the encoder, "output" for the
        decoder, "other" for the rest (norms, C, D, GLU/MLP)."""
        out = {}
        for k in self.shapes():
            if k.startswith("enc."):
                out[k] = (0, "input")
            elif k.startswith("dec."):
                out[k] = (self.n_layers - 1, "output")
            else:
                i = int(k.split(".")[0][5:])
                local = k.split(".", 1)[1]
                cell = self.blocks[i].cell
                if local in cell.shapes():
                    out[k] = (i, "recurrent" if local in cell.recurrent_params else "input")
                else:
                    out[k] = (i, "other")
        return out

    def param_masks(self) -> dict[str, np.ndarray]:
        """Structural masks of the parameters that have one (full names)."""
        return {f"layer{i}.{k}": m for i, b in enumerate(self.blocks) for k, m in b.cell.masks.items()}

    def state_arrays(self) -> list[ArraySpec]:
        """The model's state between steps (``initial_state``'s arrays), declared: each layer's
        h (slot-major: the LRU's [Re h; Im h]), the running mean's sum and step count (only with
        ``pool="st_mean"``), and the readout y (the chip's output registers)."""
        top = self.n_layers - 1
        out = [
            ArraySpec(f"h{i}", i, (b.cell.n_state,), "state", index="state", role="state")
            for i, b in enumerate(self.blocks)
        ]
        if self.pool == "st_mean":
            out.append(ArraySpec("pool_sum", top, (self.blocks[-1].n_out,), "state", owner="shared", role="state"))
            out.append(ArraySpec("count", top, (), "state", owner="shared", role="state", per_sample=False))
        out.append(ArraySpec("y", top, (self.n_out,), "output", owner="shared", role="state"))
        return out

    def layer_params(self, params: Params, layer: int) -> Params:
        """Layer ``layer``'s parameters under local names (a copy: the caller may change it)."""
        return dict(self.split(params).layers[layer][0])

    def run(self, params: Params, xs: np.ndarray) -> np.ndarray:
        """Outputs (T, B, n_out) for inputs (T, B, n_in) from the zero state."""
        xs = check_array("xs", xs, (None, None, self.n_in))
        state = self.initial_state(xs.shape[1])
        ys = []
        for x in xs:
            state, y, _ = self.forward(params, state, x.astype(self.dtype))
            ys.append(y)
        return np.stack(ys)
