"""The rule interface: ``init(model, params, batch_size) -> State`` and
``step(model, params, state, x_t, y_t, loss=, mask_t=) -> (State, grads_t, loss_t)``, plus
``finish`` (flush what a rule holds back: only bptt/tbptt hold anything) and ``state_spec``
(what each learning-state array belongs to, per sample, so hardware can price it).

Online rules share one step (``OnlineRule.step``):
1. forward one step of the whole stack;
2. loss and ∂ℓ_t/∂y_t;
3. spatial back-propagation at time t (recurrences cut): immediate-path gradients for every
   parameter and the learning signal c^l_t = ∂ℓ_t/∂h^l_t for each layer;
4. per layer, the rule updates its traces with this step's Jacobian pieces and replaces the
   gradients of that layer's cell parameters by its estimate c^l_t · Ĝ^l_t.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .. import losses
from .._cache import per_object
from ..models import Model, ModelState
from ..models.cells import Cell, dense_mask, mask_nnz
from ..state import ArraySpec

Params = dict[str, np.ndarray]


class RuleState(NamedTuple):
    """``model``: the network's state; ``traces``: one entry per recurrent layer;
    ``history``: per-step records (bptt/tbptt only; empty for every online rule)."""

    model: ModelState
    traces: tuple
    history: tuple = ()


class ParamIndex:
    """Flattens a cell's active (unmasked) parameter entries into one vector of length P."""

    def __init__(self, cell: Cell):
        self.names, self.shapes, self.active, self.offsets = [], [], [], [0]
        units = []
        for name, shape in cell.shapes().items():
            mask = cell.masks.get(name)
            idx = np.flatnonzero(np.ones(shape, bool) if mask is None else dense_mask(mask))
            self.names.append(name)
            self.shapes.append(shape)
            self.active.append(idx)
            self.offsets.append(self.offsets[-1] + idx.size)
            units.append(cell.param_unit(name).reshape(-1)[idx])
        self.size = self.offsets[-1]
        self.unit = np.concatenate(units)

    def flatten(self, grads: Params, lead: int) -> np.ndarray:
        parts = []
        for name, idx in zip(self.names, self.active):
            a = grads[name]
            parts.append(a.reshape(a.shape[:lead] + (-1,))[..., idx])
        return np.concatenate(parts, -1)

    def unflatten(self, vec: np.ndarray) -> Params:
        out = {}
        for k, name in enumerate(self.names):
            full = np.zeros(int(np.prod(self.shapes[k])), vec.dtype)
            full[self.active[k]] = vec[self.offsets[k] : self.offsets[k + 1]]
            out[name] = full.reshape(self.shapes[k])
        return out


def layer_weights(model) -> list[int]:
    """Active parameter entries per layer (a model's ``param_layout`` decides the layer), from
    shapes and structural masks only (exact integers at any size)."""
    shapes = model.shapes()
    masks = model.param_masks() if hasattr(model, "param_masks") else {}
    out = [0] * model.n_layers
    for name, (layer, _) in model.param_layout().items():
        out[layer] += mask_nnz(masks[name]) if name in masks else math.prod(shapes[name])
    return out


def active_count(cell: Cell) -> int:
    """P: the cell's active (unmasked) parameter entries, from shapes and masks alone — the size
    ``param_index(cell)`` has, without building its O(P) index arrays (budgets of any size)."""
    return sum(mask_nnz(cell.masks[k]) if k in cell.masks else math.prod(shape) for k, shape in cell.shapes().items())


@per_object
def param_index(cell: Cell) -> ParamIndex:
    return ParamIndex(cell)


@per_object
def _cell_names(model) -> tuple[frozenset, ...]:
    """Per layer, the local names of the cell's parameters."""
    return tuple(frozenset(b.cell_names()) for b in model.blocks)


def cell_cache(cache, layer: int):
    """The cell's own cache inside ``Model.forward``'s cache."""
    return cache[1][layer][1]


class Rule:
    """Base class. Concrete rules set ``name`` and override what they need."""

    name = "rule"
    models: tuple[str, ...] | None = None  # model kinds allowed (None: any non-spiking model)
    spiking = False  # True for rules that also train the spiking models (bptt, tbptt)

    def accepts(self, model) -> bool:
        if self.models is not None:
            return model.kind in self.models
        return self.spiking or not getattr(model, "spiking", False)

    def check_model(self, model: Model) -> None:
        if not self.accepts(model):
            allowed = self.models or ("rnn", "gru", "lru") + (("lif", "alif") if self.spiking else ())
            allowed = ", ".join(repr(m) for m in allowed)
            raise ValueError(f"rule {self.name!r} cannot train model {model.kind!r}: allowed models {allowed}")

    def init(self, model: Model, params: Params, batch_size: int) -> RuleState:
        self.check_model(model)
        traces = tuple(self.init_layer(model, i, batch_size) for i in range(model.n_layers))
        return RuleState(model.initial_state(batch_size), traces)

    def init_layer(self, model: Model, layer: int, batch: int) -> Any:
        return ()

    def state_spec(self, model: Model) -> list[ArraySpec]:
        """Per-sample learning-state arrays (beyond h_t, θ and a gradient accumulator)."""
        return []

    def memory_floats(self, model: Model) -> int:
        """Floats of learning state per sample (arrays shared by the batch not included)."""
        return sum(s.floats for s in self.state_spec(model) if s.per_sample)

    def op_counts(self, model) -> list[dict[str, dict[str, float]]]:
        """Per layer, per sample and step: {phase: {op: count}} for the learning phases
        ("error", "trace"; the forward pass and the weight update are the model's and the
        optimizer's). Default: the spatial error is one transposed product through the layer's
        weights (MACs = its weights), and every declared learning-state element is updated once
        ("trace_update") with one MAC. Rules whose trace update costs more override this."""
        out = []
        weights = layer_weights(model)
        for layer in range(model.n_layers):
            elems = sum(s.floats for s in self.state_spec(model) if s.layer == layer)
            out.append({"error": {"mac": weights[layer]}, "trace": {"trace_update": elems, "mac": elems}})
        return out

    def error_messages(self, model) -> tuple[str, ...]:
        """Per layer, how its learning signal reaches the cores of its units (the learning-phase
        messages ``mapping.learning`` counts): ``"transpose"`` (default: the spatial error through
        the weights above, the readout's for the top layer), ``"broadcast"`` (the readout's errors
        to every core of the layer, which holds its own feedback rows) or ``"none"``."""
        return ("transpose",) * model.n_layers

    def exact_parameters(self, model) -> frozenset[str]:
        """Parameters whose gradient this rule computes exactly: equal to BPTT's for any
        parameters and inputs. Always those after the top recurrence (``model.after_recurrence``),
        plus the top layer's cell when ``exact_cell`` says the rule's traces are exact there.
        Every other parameter (encoder, norms, lower layers) gets the instantaneous spatial
        gradient only — the stacked rule as Zucchet et al. 2023 (§3) define it. Tested against
        BPTT for every rule, with the complement as the negative control."""
        exact = set(model.after_recurrence())
        if self.exact_cell(model):
            exact |= set(model.cell_param_names(model.n_layers - 1))
        return frozenset(exact)

    def exact_cell(self, model) -> bool:
        """Whether the rule's estimate for the top layer's cell parameters is exact (default: no)."""
        return False

    def finish(self, model: Model, params: Params, state: RuleState, *, loss="mse"):
        """Gradients held back until the end of a sequence (none for online rules)."""
        return state, {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, model, params, state, x_t, y_t, *, loss="mse", mask_t=None):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class OnlineRule(Rule):
    """A rule that streams: its state never grows with the sequence length.

    ``replaces_cell_grads``: True when ``layer_step`` returns an estimate for every parameter of
    the layer's cell; the model then does not form their immediate gradients (step 3 skips them:
    for the LRU the two B outer products per layer and step). ``step`` checks that every skipped
    gradient did come back, so a rule cannot silently lose one."""

    replaces_cell_grads = False

    def step(self, model, params, state, x_t, y_t, *, loss="mse", mask_t=None):
        x = model.check_input(x_t)
        ms, y, cache = model.forward(params, state.model, x)
        loss_t, dy = losses.get(loss)(y, np.asarray(y_t, y.dtype), mask_t)
        skip = _cell_names(model) if self.replaces_cell_grads else None
        grads, _, errors = model.vjp(params, cache, dy, skip=skip) if skip else model.vjp(params, cache, dy)
        traces = []
        top = model.n_layers - 1
        errors[top] = self.learning_signal(model, params, errors[top], dy)
        for i in range(model.n_layers):
            tr, g = self.layer_step(
                model, i, model.layer_params(params, i), state.traces[i], cell_cache(cache, i), errors[i]
            )
            if skip and not skip[i] <= g.keys():
                raise RuntimeError(f"rule {self.name!r} returned no gradient for {sorted(skip[i] - g.keys())}")
            traces.append(tr)
            for k, v in g.items():
                grads[f"layer{i}.{k}"] = v
        return RuleState(ms, tuple(traces)), grads, loss_t

    def learning_signal(self, model, params, c, dy):
        """The learning signal of the top layer (default: the exact spatial error c)."""
        return c

    def layer_step(self, model, layer, p, trace, cache, c):
        """Update ``trace`` and return (trace, gradient estimates of this layer's cell params)."""
        return trace, {}
