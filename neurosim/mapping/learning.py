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


def error_traffic(graph: Graph, rule, model, part: np.ndarray, k: int) -> np.ndarray:
    """``E[a, b]``: learning-phase packets per step from core ``a`` to core ``b`` (a ≠ b) under
    ``part`` (the core of every unit, global ids), as the module docstring counts them."""
    E = np.zeros((k, k))
    sizes, off = graph.sizes, graph.offsets
    how = kinds(rule, model, len(sizes))
    if not graph.readout or all(h == "none" for h in how):
        return E
    top = len(sizes) - 1
    for p in graph.projections:  # the spatial error down every feed-forward projection
        if p.src == p.dst or how[p.src] != "transpose":
            continue
        src_part = part[off[p.src] : off[p.src + 1]]
        dst_part = part[off[p.dst] : off[p.dst + 1]]
        if p.dense:  # every core of the target group sends to the core of every source unit
            held = np.bincount(src_part, minlength=k).astype(np.float64)
            senders = np.zeros(k, bool)
            senders[dst_part] = True
            E[np.ix_(senders, np.ones(k, bool))] += held[None, :]
            np.fill_diagonal(E, 0.0)  # a core's own units' partial sums stay on it
            continue
        s = np.repeat(np.arange(sizes[p.src], dtype=np.int64), np.diff(p.indptr))
        key = unique(s * k + dst_part[np.asarray(p.indices, np.int64)])
        i, c = key // k, key % k
        a = src_part[i]
        keep = c != a
        np.add.at(E, (c[keep], a[keep]), 1.0)
    r = int(part[off[top]])  # the readout sits with the top group's unit 0
    top_part = part[off[top] : off[top + 1]]
    if how[top] == "transpose":
        E[r] += np.bincount(top_part, minlength=k)
    elif how[top] == "broadcast":
        n_out = int(getattr(model, "n_out", 1))
        E[r, np.unique(top_part)] += n_out
    E[r, r] = 0.0
    return E
