"""Backpropagation through time: the offline reference, and truncated BPTT over windows.

``bptt`` stores every step's forward cache (its ``history``: the only rules whose memory grows
with T, and their ``state_spec`` says so) and back-propagates when the sequence ends
(``finish``). ``tbptt(k)`` back-propagates every k steps over the last k steps (non-overlapping
windows; Williams & Peng's TBPTT(k, k)), carrying the hidden state across windows but no
gradient, and emits the window's gradient at its last step.
"""

from __future__ import annotations

import numpy as np

from .. import losses
from .base import ArraySpec, Rule, RuleState


class BPTT(Rule):
    name = "bptt"
    spiking = True

    def __init__(self, window: int | None = None):
        self.window = window
        if window is not None:
            self.name = "tbptt"

    def exact_parameters(self, model):
        """bptt: every parameter. tbptt(k): what no window boundary cuts: the parameters after the
        top recurrence, unless the readout leaks (a spiking readout with κ > 0), which windows cut
        too. (Every parameter is exact when sequences are at most k long.)"""
        if self.window is None:
            return frozenset(model.shapes())
        return frozenset() if model.readout_leaks else super().exact_parameters(model)

    def init(self, model, params, batch_size):
        self.check_model(model)
        return RuleState(model.initial_state(batch_size), ())

    def step(self, model, params, state, x_t, y_t, *, loss="mse", mask_t=None):
        x = model.check_input(x_t)
        ms, y, cache = model.forward(params, state.model, x)
        loss_t, dy = losses.get(loss)(y, np.asarray(y_t, y.dtype), mask_t)
        st = RuleState(ms, state.traces, state.history + ((cache, dy),))
        if self.window is not None and len(st.history) >= self.window:
            return self.finish(model, params, st)[0:2] + (loss_t,)
        return st, {k: np.zeros_like(v) for k, v in params.items()}, loss_t

    def finish(self, model, params, state, *, loss="mse"):
        grads = {k: np.zeros_like(v) for k, v in params.items()}
        carry = None
        for cache, dy in reversed(state.history):
            g, carry, _ = model.vjp(params, cache, dy, carry)  # no carry at the last step
            for k, v in g.items():
                grads[k] += v
        return RuleState(state.model, state.traces, ()), grads

    def op_counts(self, model):
        """BPTT: every step writes its history (the per-step cache) and, amortised, reads it back
        once in the backward pass; the backward pass itself is one transposed product per step."""
        out = super().op_counts(model)
        per_step = self.state_spec(model)[0].shape[1]
        for layer_counts in out:
            layer_counts["trace"] = {"trace_update": 2 * per_step / model.n_layers, "mac": 0}
        return out

    def state_spec(self, model):
        """History per step: the forward cache and ∂ℓ_t/∂y_t (multiply by the window), counted
        from shapes (``model.cache_floats()``): no parameters are built, at any size."""
        per_step = model.cache_floats() + model.n_out
        steps = self.window or 1
        name = "history_per_step" if self.window is None else "history"
        return [ArraySpec(name, -1, (steps, per_step), "history", owner="global", role="state")]
