"""The learning phases' messages: how each layer's learning signal reaches the cores of its units.

Spikes (or activations) are not all a learning chip sends. Every step of online learning, the
error of the readout reaches the top layer, and a stacked rule's spatial error (Zucchet et al.
2023, §3) goes down through the weights from layer ``l + 1`` to layer ``l``. Each rule declares
how (``Rule.error_messages``), per layer:

* ``"transpose"`` — the layer's error is the transposed product through the weights of the layer
  above (the readout's ``W_out`` for the top layer). Those weights sit with their post-synaptic
  units (fan-in rows, as ``budget`` stores them), so each core holding post-synaptic units sends
  its partial sum for unit ``i`` to the core of ``i``: one packet per (presynaptic unit, other core
  holding any of its targets) — the forward multicast reversed, every step (errors are dense).
* ``"broadcast"`` — the readout's ``n_out`` errors go to every other core holding units of the
  layer, which multiply them by their own feedback rows (e-prop, RFLO with random feedback):
  ``n_out`` packets per such core.
* ``"none"`` — no learning signal (inference).

One packet carries one value, as one activation does. The rule's other phases (trace update,
gradient, weight update) are local to a core and send nothing. A plain graph without a readout
(``Graph.readout`` False) has no output error and its layers none to pass down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .graph import Graph, unique

KINDS = ("transpose", "broadcast", "none")


def kinds(rule, model, n_groups: int) -> tuple[str, ...]:
    """``rule``'s declared message kind per group (``"none"`` without a rule)."""
    if rule is None or getattr(rule, "name", None) == "inference":
        return ("none",) * n_groups
    out = tuple(rule.error_messages(model))
    bad = [k for k in out if k not in KINDS]
    if bad or len(out) != n_groups:
        raise ValueError(
            f"rule {rule.name!r}: error_messages gave {out!r}; allowed one of {', '.join(KINDS)} per layer "
            f"({n_groups} layers)"
        )
    return out


@dataclass(frozen=True)
class Wave:
    """The learning-phase packets that deliver layer ``layer``'s error, one per entry: from core
    ``src[k]`` to the core of unit ``dst[k]`` (global id; for ``"broadcast"``, the first unit of
    the layer on the receiving core). A stack's waves go top layer first: a layer's error needs
    the one above it."""

    layer: int
    src: np.ndarray
    dst: np.ndarray


def error_waves(graph: Graph, rule, model, part: np.ndarray) -> list[Wave]:
    """Every learning-phase packet of one step under ``part`` (the core of every unit, global
    ids), as the module docstring counts them, grouped by the layer whose error they deliver, top
    layer first. A packet between two units of one core is not sent."""
    sizes, off = graph.sizes, graph.offsets
    how = kinds(rule, model, len(sizes))
    if not graph.readout or all(h == "none" for h in how):
        return []
    part = np.asarray(part, np.int64)
    top = len(sizes) - 1
    r = int(part[off[top]])  # the readout sits with the top group's unit 0
    k = int(part.max()) + 1
    waves = []
    for layer in range(top, -1, -1):
        src, dst = [], []
        if layer == top and how[top] == "transpose":  # the readout's W_out^T δ, one value per unit
            dst.append(np.arange(off[top], off[top + 1], dtype=np.int64))
            src.append(np.full(sizes[top], r, np.int64))
        elif layer == top and how[top] == "broadcast":  # δ itself, to every core of the layer
            n_out = int(getattr(model, "n_out", 1))
            _, first = np.unique(part[off[top] : off[top + 1]], return_index=True)
            dst.append(np.repeat(off[top] + first.astype(np.int64), n_out))
            src.append(np.full(dst[-1].size, r, np.int64))
        for p in graph.projections if how[layer] == "transpose" else ():
            if p.src != layer or p.dst == layer:  # the spatial error down feed-forward projections
                continue
            if p.dense:  # every core holding target units sends to the core of every source unit
                held = np.unique(part[off[p.dst] : off[p.dst + 1]])
                i = np.repeat(np.arange(sizes[p.src], dtype=np.int64), held.size)
                c = np.tile(held, sizes[p.src])
            else:  # each core holding a target of unit i: one partial sum for i
                s = np.repeat(np.arange(sizes[p.src], dtype=np.int64), np.diff(p.indptr))
                key = unique(s * k + part[off[p.dst] + np.asarray(p.indices, np.int64)])
                i, c = key // k, key % k
            key = unique(c * graph.n_units + off[p.src] + i)  # one per (core, unit) over projections
            src.append(key // graph.n_units)
            dst.append(key % graph.n_units)
        if src:
            s_, d_ = np.concatenate(src), np.concatenate(dst)
            if how[layer] == "transpose" and len(src) > 1:  # partial sums merged per (core, unit)
                key = unique(s_ * graph.n_units + d_)
                s_, d_ = key // graph.n_units, key % graph.n_units
            waves.append(Wave(layer, s_, d_))
    return [Wave(w.layer, w.src[keep], w.dst[keep]) for w in waves if (keep := w.src != part[w.dst]).any()]


def error_traffic(graph: Graph, rule, model, part: np.ndarray, k: int) -> np.ndarray:
    """``E[a, b]``: learning-phase packets per step from core ``a`` to core ``b`` (a ≠ b) under
    ``part``: ``error_waves`` counted by core pair."""
    E = np.zeros((k, k))
    part = np.asarray(part, np.int64)
    for w in error_waves(graph, rule, model, part):
        np.add.at(E, (w.src, part[w.dst]), 1.0)
    return E
