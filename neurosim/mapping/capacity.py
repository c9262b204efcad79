"""What a core can hold under a rule: ``memory.core_store`` on candidate unit sets.

A core's load is, per SRAM region, the bits its units need under the chosen rule (weights, model
state, the rule's learning state, optimizer state, routing entries) — the accounting ``budget``
uses, called on the candidate sets — plus its unit count (``core.max_neurons``). Fan-in is a
per-unit limit (checked once, ``infeasible``); axons and fan-out are checked by ``budget`` on the
finished layout.

The search needs a cheap load, so ``Capacity`` reads from ``core_store`` a linear model per
layer: a fixed part per (core, layer) entry (presynaptic copies, record-word rounding), a part per
unit, and the layer's home extras (unit-less parameters, shared state) on unit 0. Rows are
word-aligned, so the per-unit part is exact for row-packed arrays; units are grouped by their row
lengths (a masked layer's fan-in) and one ``core_store`` call per group prices them. Per-neuron
records share words, so that part is a slope over a block of units plus one word of slack per
entry. The model only guides the search: every core of a finished partition is checked with
``core_store`` itself (``holds``), and cores that fail are repaired (``partition.repair``).
"""

from __future__ import annotations

import numpy as np

from ..hardware.layout import Entry, Units
from ..hardware.memory import OPTIMIZER_FLOATS, Net, core_store
from ..hardware.profile import Profile
from ..rules.base import Rule


class Inference(Rule):
    """No learning state (``rule=None``): the weights and the model's state only, any model."""

    name = "inference"
    spiking = True


def as_rule(rule) -> Rule:
    return Inference() if rule is None else rule


class Capacity:
    """Loads per region of candidate cores (module docstring). Columns of ``cost``: the profile's
    SRAM regions in order, then ``"neurons"``."""

    def __init__(self, model, rule, profile: Profile, *, optimizer=None, update_every: int = 1, seq_len: int = 1000):
        self.model, self.rule, self.profile = model, as_rule(rule), profile
        self.net = Net(model, self.rule)
        self.opts = {"opt_floats": OPTIMIZER_FLOATS[optimizer], "accumulate": update_every > 1, "seq_len": seq_len}
        self.regions = [s.name for s in profile.srams] + ["neurons"]
        self.cap = np.array([s.capacity_bits for s in profile.srams] + [int(profile.core.max_neurons)], np.float64)
        self.units = list(self.net.units)
        self.offsets = np.concatenate([[0], np.cumsum(self.units)]).astype(np.int64)
        self._word = {s.name: s.word_bits for s in profile.srams}
        self._held: dict = {}
        self.cost = np.zeros((int(self.offsets[-1]), len(self.regions)))
        self.fixed = np.zeros((len(self.units), len(self.regions)))
        for layer in range(len(self.units)):
            self._calibrate(layer)
        self.routing = np.zeros(len(self.regions))  # bits per routing entry, in its region
        from ..hardware.memory import region_for

        bits = int(profile.noc.routing_entry_bits)
        sram = region_for(profile, "routing", "other")
        if bits and sram is not None:
            self.routing[self.regions.index(sram.name)] = bits

    # --- exact ---------------------------------------------------------------------------------
    def store(self, layers: dict[int, Units], core: int = 0, destinations: int = 0):
        """``core_store`` of a core holding ``layers`` (layer → Units)."""
        entries = [Entry(core, lay, u, (0, 0), 0 in u) for lay, u in sorted(layers.items()) if u]
        return core_store(self.net, self.profile, core, entries, self.opts, destinations)

    def region_bits(self, layers: dict[int, Units], destinations: int = 0) -> np.ndarray:
        s = self.store(layers, destinations=destinations)
        out = np.zeros(len(self.regions))
        for r in s.regions:
            out[self.regions.index(r.region)] = r.used_bits
        out[-1] = sum(len(u) for u in layers.values())
        return out

    def holds(self, vertices: np.ndarray, destinations: int = 0) -> bool:
        """``core_store(...).holds`` of a core holding ``vertices`` (remembered per unit set: the
        search asks again about cores it did not change)."""
        v = np.sort(np.asarray(vertices, np.int64))
        key = (v.tobytes(), int(destinations))
        if key not in self._held:
            self._held[key] = self.store(self.split(v), destinations=destinations).holds
        return self._held[key]

    def split(self, vertices: np.ndarray) -> dict[int, Units]:
        """Global unit ids → layer → Units."""
        v = np.sort(np.asarray(vertices, np.int64))
        layer = np.searchsorted(self.offsets, v, side="right") - 1
        return {int(lay): Units.of(v[layer == lay] - self.offsets[lay]) for lay in np.unique(layer)}

    # --- the linear model ----------------------------------------------------------------------
    def load(self, vertices: np.ndarray, destinations: int = 0) -> np.ndarray:
        """The linear model's load of a core holding ``vertices`` (global ids)."""
        v = np.asarray(vertices, np.int64)
        if v.size == 0:
            return np.zeros(len(self.regions))
        layers = np.unique(np.searchsorted(self.offsets, v, side="right") - 1)
        return self.cost[v].sum(0) + self.fixed[layers].sum(0) + destinations * self.routing

    def weights(self, k: int) -> np.ndarray:
        """One scalar per unit for single-constraint partitioners: its largest share of a core
        (over regions and the neuron count), a core having the room its fixed parts leave."""
        room = np.maximum(self.cap - self.fixed.max(0) - k * self.routing, 1e-9)
        return (self.cost / room).max(1)

    def lower_bound(self) -> int:
        """Cores needed by the linear model's totals alone (no core can do better)."""
        return max(1, int(np.ceil((self.cost.sum(0) / self.cap).max() - 1e-9)))

    def _calibrate(self, layer: int) -> None:
        n, off = self.units[layer], int(self.offsets[layer])
        sig = _signatures(self.net, layer)
        groups, inverse = np.unique(sig, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        common = int(np.bincount(inverse).argmax())
        members = np.flatnonzero(inverse == common)
        block = members[members != 0][:64]
        one = self._bits(layer, [int(block[0])] if block.size else [0])
        if block.size >= 2:
            slope = (self._bits(layer, block) - one) / (block.size - 1)
        else:
            slope = one.copy()
        slope[-1] = 1.0
        fixed = one - slope
        per_group = np.zeros((len(groups), len(self.regions)))
        for g in range(len(groups)):
            rep = np.flatnonzero(inverse == g)
            rep = rep[rep != 0]
            per_group[g] = slope if g == common or rep.size == 0 else slope + self._bits(layer, [int(rep[0])]) - one
        cost = per_group[inverse]
        base = block if block.size else np.array([1 % n])
        home = self._bits(layer, np.union1d(base, [0])) - self._bits(layer, base) if n > 1 else one - fixed
        cost[0] = np.maximum(home, cost[0])
        slack = np.array([self._word.get(r, 0) * 2 for r in self.regions], np.float64)  # record-word rounding
        self.fixed[layer] = np.maximum(fixed, 0) + slack
        self.cost[off : off + n] = np.maximum(cost, 0)

    def _bits(self, layer: int, units) -> np.ndarray:
        return self.region_bits({layer: Units.of(np.asarray(units, np.int64))})


def _signatures(net: Net, layer: int) -> np.ndarray:
    """Per unit of ``layer``, the row lengths of every unit-owned array it stores (units with the
    same signature cost the same)."""
    n = net.units[layer]
    cols = [np.zeros(n, np.int64)]
    for name in sorted(net.unit_params[layer]):
        if name in net.masks and len(net.shapes[name]) >= 2:
            cols.append(_expand(net.rows[name], n))
    for spec in list(net.states) + list(net.specs):
        if spec.owner == "unit" and (0 if spec.layer == -1 else spec.layer) == layer and spec.belongs != "event":
            cols.append(_expand(net.per_unit(spec), n))
    return np.stack(cols, 1)


def _expand(runs, n: int) -> np.ndarray:
    out = np.repeat([length for length, _ in runs], [count for _, count in runs]).astype(np.int64)
    return out if out.size == n else np.resize(out, n)
