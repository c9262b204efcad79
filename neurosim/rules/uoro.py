"""UORO / NoBackTrack (Tallec & Ollivier 2018; Ollivier, Tallec & Charpiat 2015; §2.3) and
RFLO (Murray 2019, eLife).

UORO keeps G_t ≈ ṽ_t w̃_tᵀ per layer and sample (ṽ in state space, w̃ in parameter space):

    u = J_t ṽ_{t−1};  ν ~ Rademacher;  q = νᵀ M_t  (one per-sample VJP)
    ρ0 = sqrt((‖w̃_{t−1}‖ + ε)/(‖u‖ + ε)),  ρ1 = sqrt((‖q‖ + ε)/(‖ν‖ + ε)),  ε = 1e-5
    ṽ_t = ρ0 u + ρ1 ν,  w̃_t = w̃_{t−1}/ρ0 + q/ρ1,   ĝ_t = (c_t · ṽ_t) w̃_t

Rank k keeps k independent pairs and averages their estimates. Signs come from a counter-based
generator seeded by (seed, layer, t), so the same call gives the same estimate; ``signs=`` supplies
them instead (an array (T, B, k, n_state), for tests that enumerate every pattern).
``equalize=False`` sets ρ0 = ρ1 = 1 (the variance-reduction control).

RFLO replaces J_t by its leak-only diagonal (1 − α)I: P_t = (1 − α) P_{t−1} + M_t restricted to
each parameter's own unit. On an LRU the recurrence *is* the leak (diag λ), so rflo with
symmetric feedback equals snap1 there (tested); with ``feedback="random"`` the learning signal of a
one-layer network is e_t Bᵀ with a fixed random B ~ N(0, 1/n_out) instead of e_t W_out.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import kernels
from .._errors import bad, check_choice, check_positive_int
from .base import ArraySpec, OnlineRule, active_count, param_index
from .rtrl import SnAp1

EPS = 1e-5


class UOROTraces(NamedTuple):
    v: np.ndarray  # (B, k, n_state)
    w: np.ndarray  # (B, k, P)
    t: np.ndarray  # step counter (scalar)


def rank_one_trick(vs: np.ndarray, ws: np.ndarray, signs: np.ndarray, rhos: np.ndarray):
    """Ã = (Σ_i ε_i ρ_i v_i)(Σ_j ε_j w_j / ρ_j)ᵀ, whose mean over signs is Σ_i v_i w_iᵀ."""
    return np.outer((signs * rhos) @ vs, (signs / rhos) @ ws)


class UORO(OnlineRule):
    name = "uoro"
    replaces_cell_grads = True

    def __init__(self, seed: int = 0, rank: int = 1, signs=None, equalize: bool = True, output_noise: str = "gaussian"):
        self.seed = int(seed)
        self.output_noise = check_choice("output_noise", output_noise, ("gaussian", "softmax"))
        self.rank = check_positive_int("rank", rank)
        self.signs = None if signs is None else np.asarray(signs, float)
        if self.signs is not None and (self.signs.ndim != 4 or not np.all(np.abs(self.signs) == 1)):
            raise bad("signs", self.signs.shape, "an array (T, B, rank, n_state) of ±1")
        self.equalize = bool(equalize)

    def init_layer(self, model, layer, batch):
        cell = model.blocks[layer].cell
        k, P = self.rank, param_index(cell).size
        dt = model.dtype
        return UOROTraces(np.zeros((batch, k, cell.n_state), dt), np.zeros((batch, k, P), dt), np.zeros((), np.int64))

    def _nu(self, layer, t, shape, dtype):
        if self.signs is not None:
            return self.signs[t].astype(dtype)
        rng = np.random.default_rng([self.seed, layer, t])
        return (2.0 * (rng.random(shape) < 0.5) - 1.0).astype(dtype)

    def layer_step(self, model, layer, p, tr, cache, c):
        cell = model.blocks[layer].cell
        idx = param_index(cell)
        B, k, n = tr.v.shape
        u = np.stack([cell.jvp(p, cache, tr.v[:, i]) for i in range(k)], 1)  # (B, k, n)
        nu = self._nu(layer, int(tr.t), (B, k, n), c.dtype)
        _, _, gq = cell.vjp(p, cache, nu.transpose(1, 0, 2), per_sample=True)
        q = idx.flatten(gq, lead=2).transpose(1, 0, 2)  # (B, k, P)
        # ρ0, ρ1, ṽ ← ρ0 u + ρ1 ν, w̃ ← w̃/ρ0 + q/ρ1 and the estimate, in one fused kernel
        g = np.zeros(idx.size, c.dtype)
        kernels.uoro_update(tr.v, tr.w, u, nu, q, c, EPS, self.equalize, g)
        return UOROTraces(tr.v, tr.w, np.asarray(tr.t + 1)), idx.unflatten(g)

    def op_counts(self, model):
        """UORO: per pair, one JVP (≈ the recurrent weights) and one VJP (≈ all the cell's
        weights) plus O(n + P) for ρ and the rank-one update (≈ 3× the forward pass; Tallec & Ollivier 2018)."""
        out = super().op_counts(model)
        from .base import layer_weights

        w = layer_weights(model)
        for layer, b in enumerate(model.blocks):
            P = active_count(b.cell)
            elems = self.rank * (b.cell.n_state + P)
            out[layer]["trace"] = {"trace_update": elems, "mac": self.rank * 2 * w[layer] + 2 * elems}
        return out

    def fisher(self, model, params, state) -> dict:
        """Diagonal Fisher of the output model at this step, for ``optim.kalman`` (Kalman
        NoBackTrack, Ollivier et al. 2015).

        Readout: exact (E_b h_j² for W, 1 for b, times the output noise precision). Top-layer
        cell parameters of an rnn/gru stack: the rank-one estimate
        E_b (1/k) Σ_i (C ṽ_i)ᵀ R⁻¹ (C ṽ_i) · w̃_i ⊙ w̃_i with C = W_out. R⁻¹ = I for MSE; for
        cross-entropy the softmax Fisher diag(π) − ππᵀ is used when ``loss="ce"`` was set via
        ``self.output_noise``. Parameters without an estimate are left out (the optimizer then
        uses the empirical Fisher for them).
        """
        top = model.n_layers - 1
        h = state.model.h[top]
        out = {}
        if model.pool != "none" or model.blocks[top].lru:
            return out
        y = state.model.y
        C = params["dec.W"]
        if self.output_noise == "softmax":
            pi = np.exp(y - y.max(-1, keepdims=True))
            pi /= pi.sum(-1, keepdims=True)
            Rinv = lambda u: pi * u - pi * (pi * u).sum(-1, keepdims=True)  # noqa: E731
        else:
            pi = np.ones_like(y)
            Rinv = lambda u: u  # noqa: E731
        out["dec.W"] = np.einsum("bk,bj->kj", pi - (pi * pi if self.output_noise == "softmax" else 0), h * h) / len(h)
        out["dec.b"] = (pi - (pi * pi if self.output_noise == "softmax" else 0)).mean(0)
        tr = state.traces[top]
        Cv = np.einsum("kn,bin->bik", C, tr.v)
        quad = np.einsum("bik,bik->bi", Cv, np.stack([Rinv(Cv[:, i]) for i in range(Cv.shape[1])], 1))
        F = np.einsum("bi,bip->p", quad, tr.w * tr.w) / (len(h) * tr.v.shape[1])
        cell = model.blocks[top].cell
        for k, v in param_index(cell).unflatten(F).items():
            out[f"layer{top}.{k}"] = v
        return out

    def state_spec(self, model):
        out = []
        for i, b in enumerate(model.blocks):
            out.append(ArraySpec("v", i, (self.rank, b.cell.n_state), "neuron", axis=1, index="state"))
            out.append(ArraySpec("w", i, (self.rank, active_count(b.cell)), "parameter", axis=1, index="param"))
            # the step counter behind the random signs: one per layer, shared by the batch
            out.append(ArraySpec("t", i, (), "neuron", owner="shared", role="state", per_sample=False, dtype="int"))
        return out


class RFLO(SnAp1):
    """RFLO: SnAp-1's per-parameter trace with the recurrent Jacobian cut to its leak."""

    name = "rflo"
    models = ("rnn", "lru")

    def __init__(self, feedback: str = "symmetric", seed: int = 0):
        self.feedback = check_choice("feedback", feedback, ("symmetric", "random"))
        self.seed = int(seed)

    def exact_cell(self, model):
        """Exact only where the leak is the whole recurrence (the LRU) and the learning signal is
        the true one (symmetric feedback); on an RNN only when W = 0."""
        return self.feedback == "symmetric" and model.blocks[-1].cell.recurrence == "diagonal"

    def feedback_matrix(self, model) -> np.ndarray:
        """The fixed random B (n_out × n) used in place of W_out."""
        rng = np.random.default_rng([self.seed, 31337])
        n = model.blocks[-1].cell.n_state
        return rng.normal(0, 1 / np.sqrt(model.n_out), (model.n_out, n)).astype(model.dtype)

    def check_model(self, model):
        super().check_model(model)
        if self.feedback == "random" and model.n_layers != 1:
            raise bad("feedback", self.feedback, f"'symmetric' for a {model.n_layers}-layer network")

    def jac_blocks(self, cell, p, cache, batch):
        if cell.slots == 2:  # LRU: the recurrence is its leak λ, so the leak-only J is the exact J
            return cell.jac_blockdiag(p, cache)
        return np.full((batch, cell.n_units, 1, 1), 1.0 - cell.alpha, p["W"].dtype)

    def error_messages(self, model):
        """Random feedback: each neuron holds its row of B and the readout broadcasts its errors."""
        return ("broadcast",) if self.feedback == "random" else super().error_messages(model)

    def learning_signal(self, model, params, c, dy):
        if self.feedback == "random":
            return dy @ self.feedback_matrix(model)
        return c
