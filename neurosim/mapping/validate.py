"""An independent check of a finished layout, sharing nothing with the search.

``problems(layout, model, profile, rule)`` lists what is wrong, empty when nothing is:

* ``hardware.budget`` on the layout (which validates it — every unit on exactly one core, sites
  on the mesh, tiles not over-full, routes made of neighbour steps — and recomputes every region's
  bits per core, the neuron count, fan-in, axons in and out, fan-out): each culprit it reports;
* every projection routed: for each pair of cores (a, b) where a unit on a has a target on b,
  a route a → b is attached, and it is a shortest (dimension-ordered) path. The targets are
  ``graph``'s — pass the graph that was mapped; the default is the model's own
  (``graph.from_model``, with the readout on the top layer's home core), which a plain graph
  (no readout) is not. On a board, a pair of cores on two chips needs no mesh route: its packets
  leave by the chip-to-chip links (``Board.hops``), and the layout's validation refuses a mesh
  route between chips.
"""

from __future__ import annotations

import numpy as np

from ..hardware.accounting import budget
from ..hardware.layout import Layout, LayoutError
from .graph import Graph, from_model


class MappingError(ValueError):
    """A layout the validator refuses: every problem found."""


def problems(layout: Layout, model, profile, rule=None, graph: Graph | None = None, **budget_kw) -> list[str]:
    from .capacity import as_rule

    try:
        b = budget(model, as_rule(rule), profile, layout, **budget_kw)
    except LayoutError as e:
        return [str(e)]
    out = [str(c) for c in b.culprits]
    graph = graph if graph is not None else from_model(model)
    part = np.concatenate([layout.core_of(lay, n) for lay, n in enumerate(graph.sizes)])
    if (part < 0).any():
        return out + [f"{int((part < 0).sum())} units on no core"]
    ptr, pins = graph.pins()
    src = part[np.repeat(np.arange(ptr.size - 1), np.diff(ptr))]
    need = {(int(a), int(b)) for a, b in set(zip(src.tolist(), part[pins].tolist())) if a != b}
    sites = layout.sites()
    chip = {c.core: c.chip for c in layout.cores}
    need = {(a, b) for a, b in need if chip[a] == chip[b]}
    have = {}
    for r in layout.routes:
        have[(r.src, r.dst)] = r
    for a, b in sorted(need):
        r = have.get((a, b))
        if r is None:
            out.append(f"no route from core {a} to core {b}, which holds targets of units on core {a}")
            continue
        (x0, y0), (x1, y1) = sites[a], sites[b]
        if len(r.tiles) != abs(x1 - x0) + abs(y1 - y0) + 1:
            out.append(
                f"route {a} → {b} takes {len(r.tiles) - 1} hops; the shortest takes {abs(x1 - x0) + abs(y1 - y0)}"
            )
    return out


def validate(layout: Layout, model, profile, rule=None, graph: Graph | None = None, **budget_kw) -> Layout:
    """``problems``, raised as one ``MappingError`` when there are any; else the layout."""
    found = problems(layout, model, profile, rule, graph, **budget_kw)
    if found:
        raise MappingError("layout refused:\n" + "\n".join(f"  - {p}" for p in found))
    return layout
