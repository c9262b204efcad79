"""The exact element-wise online rule for LRU stacks (Zucchet et al., NeurIPS 2023; §2.6).

Per layer, per sample, streaming (never T × N × H):

    e^λ_t = λ ⊙ e^λ_{t−1} + h_{t−1}            (∂h_t/∂λ)
    e^γ_t = λ ⊙ e^γ_{t−1} + B u_t              (∂h_t/∂γ)
    E^B_t = (λ 1ᵀ) ⊙ E^B_{t−1} + γ u_tᵀ        (∂h_{t,i}/∂B_ij)

With the complex error δ_t = ∂ℓ_t/∂Re h_t − i ∂ℓ_t/∂Im h_t from spatial back-propagation:
∇ν = −e^ν Re Σ δ e^λ λ, ∇θ = −e^θ Im Σ δ e^λ λ, ∇γ_log = γ Re Σ δ e^γ,
∇B_re = Re Σ δ E^B, ∇B_im = −Im Σ δ E^B. Everything above the recurrence (C, D, GLU, norm of
the layer above, decoder) takes its instantaneous gradient. Exact for the top layer and above;
approximate below (the paper's Fig. 2 studies that bias).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import kernels
from .base import ArraySpec, OnlineRule


class LRUTraces(NamedTuple):
    e_lam: np.ndarray  # (B, N) complex
    e_gam: np.ndarray  # (B, N) complex
    E_B: np.ndarray  # (B, N, H) complex


class OnlineLRU(OnlineRule):
    name = "online_lru"
    models = ("lru",)
    replaces_cell_grads = True  # ν, θ, γ, B: the model skips their immediate gradients

    def exact_cell(self, model):
        return True  # the element-wise recurrence's traces are exact (Zucchet et al. 2023, §3)

    def init_layer(self, model, layer, batch):
        cell = model.blocks[layer].cell
        ct = np.result_type(model.dtype, np.complex64)
        N, H = cell.N, cell.n_in
        return LRUTraces(np.zeros((batch, N), ct), np.zeros((batch, N), ct), np.zeros((batch, N, H), ct))

    def layer_step(self, model, layer, p, tr, cache, c):
        cell = model.blocks[layer].cell
        hc, u, bu, lam = cache
        gam = cell.gamma(p)
        N, H = cell.N, cell.n_in
        ct = tr.E_B.dtype
        delta = c[:, :N] - 1j * c[:, N:]
        s_lam, s_gam, dB = np.zeros(N, ct), np.zeros(N, ct), np.zeros((N, H), ct)
        # One fused pass: traces updated in place (this step's λ, h_{t−1}, B u_t, u_t), then
        # contracted with the complex learning signal δ.
        kernels.online_lru_traces(lam, gam, hc, bu, u, delta, tr.e_lam, tr.e_gam, tr.E_B, s_lam, s_gam, dB)
        dw = s_lam * lam
        g = {
            "nu_log": -np.exp(p["nu_log"]) * dw.real,
            "theta_log": -np.exp(p["theta_log"]) * dw.imag,
        }
        if cell.gamma_norm:
            g["gamma_log"] = gam * s_gam.real
        g["B_re"], g["B_im"] = dB.real, -dB.imag
        dt = model.dtype
        return tr, {k: v.astype(dt, copy=False) for k, v in g.items()}

    def state_spec(self, model):
        out = []
        for i, b in enumerate(model.blocks):
            N, H = b.cell.N, b.cell.n_in
            out += [
                ArraySpec("e_lam", i, (N,), "neuron", complex=True),
                ArraySpec("e_gam", i, (N,), "neuron", complex=True),
                ArraySpec("E_B", i, (N, H), "synapse", complex=True),
            ]
        return out
