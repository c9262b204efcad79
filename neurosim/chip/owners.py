"""Which core holds each element of each array the simulation keeps.

Every array is declared (``neurosim.state.ArraySpec``; parameters by ``model.param_layout``), so
the owning core of an element follows from the declaration and the layout alone:

* a cell parameter (``model.cell_param_names``) has one row per unit: the row's unit's core;
  every other parameter sits whole on its layer's home core (the one holding unit 0), as
  ``hardware.memory`` stores it; entries a structural mask removes are stored nowhere;
* a unit-owned state array is split along its owner axis through its index (``unit``: i +
  offset, ``state``: i mod n, ``param``: the unit the parameter writes to, ``pattern``: SnAp-n's
  kept entries' parameter units); a ``padded`` array's units below ``offset`` are stored nowhere;
* a presynaptic (``pre``) array has a copy on every core of its layer; a ``shared`` one is on the
  layer's home core, a ``global`` one on layer 0's.

``Owners`` gives, per array, an integer map of the per-sample shape (−1: not stored) or, for a
``pre`` array, the cores holding a copy. ``resident`` counts elements per core and array: it is
what ``ChipRun.memory`` checks against ``hardware.memory.core_store``'s items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hardware.layout import Layout, layer_units
from ..models.cells import is_sparse
from ..rules import param_index, snap_mask


@dataclass(frozen=True)
class Placement:
    """The cores of one array: ``cores`` (int map of the per-sample shape, −1 = not stored) or,
    for a copy on every core of the layer, ``copies`` (those cores) with ``cores`` None."""

    cores: np.ndarray | None
    copies: tuple[int, ...] = ()
    size: int = 0  # elements of one copy (``copies`` only)

    def count(self, mask=None, n_cores: int = 0) -> np.ndarray:
        """Elements per core (of ``mask`` over the per-sample shape, or all stored elements)."""
        out = np.zeros(n_cores, np.int64)
        if self.cores is None:
            k = int(np.count_nonzero(mask)) if mask is not None else self.size
            for c in self.copies:
                out[c] += k
            return out
        one = self._one_core()
        if one >= 0:  # every element on one core (the common case): a count, not a bincount
            out[one] = self.cores.size if mask is None else np.count_nonzero(np.broadcast_to(mask, self.cores.shape))
            return out
        sel = self.cores >= 0
        if mask is not None:
            sel &= np.broadcast_to(mask, self.cores.shape)
        return out + np.bincount(self.cores[sel], minlength=n_cores)[:n_cores]

    def _one_core(self) -> int:
        """The core holding every element, or −1 (elements on several cores, or not stored)."""
        one = self.__dict__.get("_one")
        if one is None:
            c = self.cores
            one = int(c.flat[0]) if c.size and c.flat[0] >= 0 and np.all(c == c.flat[0]) else -1
            object.__setattr__(self, "_one", one)
        return one


class Owners:
    """Per-element cores of a model's parameters and of the declared model and rule state."""

    def __init__(self, model, rule, layout: Layout, params: dict):
        self.model, self.rule, self.layout = model, rule, layout
        self.units = layer_units(model)
        self.core_of = [layout.core_of(layer, n) for layer, n in enumerate(self.units)]
        self.home = [int(c[0]) for c in self.core_of]
        self.n_cores = max(e.core for e in layout.entries()) + 1
        masks = model.param_masks() if hasattr(model, "param_masks") else {}
        layout_of = model.param_layout()
        cell = {n for layer in range(model.n_layers) for n in model.cell_param_names(layer)}
        self.params: dict[str, Placement] = {}
        for name, (layer, _) in layout_of.items():
            shape = params[name].shape
            if name in cell:
                rows = self.core_of[layer].reshape((-1,) + (1,) * (len(shape) - 1))
                cores = np.broadcast_to(rows, shape).copy()
            else:
                cores = np.full(shape, self.home[layer], np.int64)
            if name in masks and is_sparse(masks[name]):  # only the kept entries have a core
                coo = masks[name].tocoo()
                kept = np.full(shape, -1, np.int64)
                kept[coo.row, coo.col] = cores[coo.row, coo.col]
                cores = kept
            elif name in masks:
                cores[~np.asarray(masks[name], bool)] = -1
            self.params[name] = Placement(cores)

    def of_spec(self, spec) -> Placement:
        """The placement of one declared array (module docstring)."""
        layer = 0 if spec.layer == -1 else spec.layer
        shape = (self.units[layer],) if spec.padded else tuple(spec.shape)
        if spec.owner == "pre":
            cores = tuple(sorted({int(c) for c in self.core_of[layer]}))
            return Placement(None, cores, int(np.prod(shape)))
        if spec.owner in ("shared", "global"):
            home = self.home[0 if spec.owner == "global" else layer]
            return Placement(np.full(shape, home, np.int64))
        along = shape[spec.axis] if shape else 1
        i = np.arange(along)
        n = self.units[layer]
        if spec.padded:
            unit = np.where(i >= spec.offset, i, -1)
        elif spec.index == "unit":
            unit = i + spec.offset
        elif spec.index == "state":
            unit = i % n
        elif spec.index == "param":
            unit = param_index(self.model.blocks[layer].cell).unit
        else:  # pattern: SnAp-n's kept entries, owned by their parameter's unit
            cell = self.model.blocks[layer].cell
            _, cols = np.nonzero(snap_mask(cell, self.rule.n))
            unit = param_index(cell).unit[cols]
        core = np.where(unit >= 0, self.core_of[layer][np.maximum(unit, 0)], -1)
        view = [1] * max(1, len(shape))
        view[spec.axis] = along
        return Placement(np.broadcast_to(core.reshape(view), shape or (1,)).reshape(shape).copy())
