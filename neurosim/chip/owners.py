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
    for a copy on every core of the layer, ``copies`` (those cores) with ``cores`` None. A cell
    parameter whose rows each sit whole on one core is kept as ``rows`` (the core of each index
    of axis 0) and its map is built only when asked for: a 16k-unit layer's recurrent weights
    would take a 2 GB map."""

    map: np.ndarray | None
    copies: tuple[int, ...] = ()
    size: int = 0  # elements of one copy (``copies`` only)
    rows: np.ndarray | None = None
    shape: tuple = ()

    @classmethod
    def by_rows(cls, rows: np.ndarray, shape: tuple) -> Placement:
        return cls(None, rows=np.asarray(rows, np.int64).reshape(-1), shape=tuple(shape))

    @property
    def cores(self) -> np.ndarray | None:
        if self.rows is None:
            return self.map
        m = self.__dict__.get("_map")
        if m is None:
            m = np.broadcast_to(self.rows.reshape((-1,) + (1,) * (len(self.shape) - 1)), self.shape).copy()
            object.__setattr__(self, "_map", m)
        return m

    def all_stored(self) -> bool:
        """Whether every element of the per-sample shape is stored (on some core)."""
        if self.rows is not None:
            return bool(np.all(self.rows >= 0))
        return self.map is None or bool(np.all(self.map >= 0))

    def count(self, mask=None, n_cores: int = 0) -> np.ndarray:
        """Elements per core (of ``mask`` over the per-sample shape, or all stored elements)."""
        if mask is None:
            return self.sum_by_core(None, n_cores)
        return self.sum_by_core(np.asarray(mask, bool), n_cores)

    def sum_by_core(self, values, n_cores: int) -> np.ndarray:
        """Per core, the sum of ``values`` (the per-sample shape; bool counts, None counts every
        stored element) over the elements it holds (every copy's, for ``copies``)."""
        out = np.zeros(n_cores, np.int64)
        if self.map is None and self.rows is None:
            k = self.size if values is None else int(np.sum(values, dtype=np.int64))
            for c in self.copies:
                out[c] += k
            return out
        one = self.one_core()
        shape = self.shape if self.rows is not None else self.map.shape
        if one >= 0:  # every element on one core (the common case): a count, not a bincount
            if values is None:
                out[one] = int(np.prod(shape))
            elif values.dtype == bool:  # counted where it lies: broadcasting adds no elements' worth
                out[one] = np.count_nonzero(values) * (int(np.prod(shape)) // max(values.size, 1))
            else:
                out[one] = int(np.sum(np.broadcast_to(values, shape), dtype=np.int64))
            return out
        if self.rows is not None:  # by rows: one sum per row, binned by the row's core
            r = self.rows
            if values is None:
                per = np.full(r.size, int(np.prod(shape[1:])), np.int64)
            elif values.dtype == bool and values.shape == tuple(shape):
                per = np.count_nonzero(values.reshape(r.size, -1), axis=1)
            else:
                per = np.broadcast_to(values, shape).reshape(r.size, -1).sum(1, dtype=np.int64)
            sel = r >= 0
            return out + np.bincount(r[sel], weights=per[sel], minlength=n_cores)[:n_cores].astype(np.int64)
        sel = self.map >= 0
        if values is None:
            return out + np.bincount(self.map[sel], minlength=n_cores)[:n_cores]
        w = np.broadcast_to(values, shape)[sel]
        return out + np.bincount(self.map[sel], weights=w, minlength=n_cores)[:n_cores].astype(np.int64)

    def one_core(self) -> int:
        """The core holding every element, or −1 (elements on several cores, or not stored; a
        placement by ``copies`` has no element map and gives −1)."""
        if self.map is None and self.rows is None:
            return -1
        one = self.__dict__.get("_one")
        if one is None:
            c = self.rows if self.rows is not None else self.map
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
            if name in cell and name not in masks:  # whole rows on their unit's core
                self.params[name] = Placement.by_rows(self.core_of[layer], shape)
                continue
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
        if spec.axis == 0 and len(shape) > 1:  # whole rows on their unit's core: no map built
            return Placement.by_rows(core, shape)
        view = [1] * max(1, len(shape))
        view[spec.axis] = along
        return Placement(np.broadcast_to(core.reshape(view), shape or (1,)).reshape(shape).copy())
