"""Rules with no temporal credit beyond the current step (the baselines of Zucchet et al. 2023, §4).

* ``trunc1`` (one-step truncation): Ĝ_t = M_t, the immediate influence, for every parameter.
  For the LRU this is Zucchet et al.'s ``online_1truncated`` (e^λ = h_{t−1}, e^γ = B u_t,
  E^B = γ u_tᵀ).
* ``spatial``: the same, but parameters that act only on h_{t−1} (the LRU's ν, θ; the RNN's W;
  the GRU's W_h*) get no gradient at all — Zucchet et al.'s ``online_spatial``.

Neither keeps any learning state.
"""

from __future__ import annotations

import numpy as np

from .base import OnlineRule


class Trunc1(OnlineRule):
    name = "trunc1"


class Spatial(OnlineRule):
    name = "spatial"

    def layer_step(self, model, layer, p, trace, cache, c):
        cell = model.blocks[layer].cell
        return trace, {k: np.zeros_like(p[k]) for k in cell.recurrent_params}
