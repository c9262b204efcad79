"""The limits that depend on placement: axons in and out per core, fan-out per layer, the chip's
core count.

Every model is read as: a layer reads the chip's inputs (layer 0) or every unit of the layer
below, and every unit of its own layer when its recurrent weights couple units — not the LRU's
element-wise recurrence; its units are read by their layer's recurrent weights and by the next
layer, or the readout.

* ``max_axons_in`` — distinct input sources into one core: the chip's inputs (``n_in``, on every
  core holding layer-0 units) plus every unit of another core that the core's units read. Units on
  the same core are local, not axons. (ReckOn: 256 input addresses, its 8-bit AER address.)
* ``max_axons_out`` — outgoing axons of one core: for every unit, one per distinct other core it
  sends to, plus one per readout unit for the chip's outputs (ReckOn: 16 output neurons; Xylo: 8
  output channels; Loihi: nengo-loihi's out-axons, one per source compartment and target block).

  A layer whose recurrent weights have a structural mask (a sparse network, or a plain graph the
  mapper prices as one) is counted from the mask's entries: a core reads the units of other cores
  that have a synapse onto one of its units, and a unit sends to the cores holding its targets,
  not to every core of its layer (``MaskedRecurrence``). Without a mask every unit reads every
  unit of its layer.
  On a chip whose router multicasts (``[noc] multicast``: SpiNNaker) a unit's spike is one packet
  with one key however many cores it reaches (the routers copy it), so a unit that sends to any
  other core counts one outgoing axon.
* ``max_fan_out`` — per unit, as the profile's ``[core] fan_out_counts`` says: "neurons" counts
  the units that read it (recurrent targets + next stage; ReckOn's 272 = 256 recurrent + 16 output,
  Xylo's 64), "cores" the distinct cores holding them (TrueNorth: a neuron targets one axon, i.e.
  one core; Loihi, Tianjic: axons per destination core).
* chip: the default layout's units past the chip (``Layout.overflow``) are one chip culprit that
  says how many cores the network needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.cells import mask_pairs
from .events import _njit
from .layout import Entry, Layout
from .memory import Culprit, Net
from .profile import Profile


def cores_of(entries: list[Entry]) -> dict[int, list[int]]:
    """core id → indices of its entries, in increasing core id."""
    out: dict[int, list[int]] = {}
    for i, e in enumerate(entries):
        out.setdefault(e.core, []).append(i)
    return dict(sorted(out.items()))


def cores_by_layer(entries: list[Entry]) -> dict[int, set[int]]:
    """layer → the cores holding its units."""
    out: dict[int, set[int]] = {}
    for e in entries:
        out.setdefault(e.layer, set()).add(e.core)
    return out


@dataclass(frozen=True, eq=False)
class Sends:
    """The other cores an entry's units send to: the cores of its layer (when its units read each
    other) and of the next layer — one set shared by every entry of the layer (so a layer over
    thousands of cores costs one set, not one per core), less the entry's own core."""

    cores: frozenset  # shared; may contain ``own``
    array: np.ndarray  # ``cores`` sorted, for vectorised hop sums (``own`` adds a zero hop)
    own: int

    def __len__(self) -> int:
        return len(self.cores) - (self.own in self.cores)


def destinations(net: Net, entries: list[Entry]) -> list[Sends]:
    """Per entry, the distinct other cores its units send to (``Sends``)."""
    by_layer = cores_by_layer(entries)
    shared: dict[int, tuple] = {}
    for layer in by_layer:
        own = by_layer[layer] if net.recurrent_targets(layer) else set()
        cores = frozenset(own | by_layer.get(layer + 1, set()))
        shared[layer] = (cores, np.array(sorted(cores), np.int64))
    return [Sends(*shared[e.layer], e.core) for e in entries]


def n_sends(dests: list, idx: list, core: int) -> int:
    """Distinct other cores a core sends to (its routing entries): the union over its entries."""
    sets = {id(dests[i].cores): dests[i].cores for i in idx}
    cores = next(iter(sets.values())) if len(sets) == 1 else frozenset().union(*sets.values())
    return len(cores) - (core in cores)


def readout_core(net: Net, entries: list[Entry]) -> int:
    """The core holding the top layer's unit 0 (its readout and output registers)."""
    top = net.n_layers - 1
    return next(e.core for e in entries if e.layer == top and e.home)


def connectivity_culprits(net: Net, profile: Profile, layout: Layout, dests: list) -> list[Culprit]:
    """Axons in and out per core, fan-out per layer, and the chip's core count (module docstring);
    nothing per core for the overflow's virtual core (the chip-level culprit says it all)."""
    entries = layout.entries()
    groups = cores_of(entries)
    out = _chip(profile, layout)
    out_core = readout_core(net, entries)
    layer_cores = cores_by_layer(entries)
    for e in entries:
        if e.home and (c := _fan_out(net, profile, e, layer_cores, out_core)):
            out.append(c)
    off_chip = layout.overflow.core if layout.overflow is not None else None
    multicast = bool(profile.noc.multicast)
    masked = {lay: m.counts(layout, layer_cores.get(lay + 1, set()))
              for lay in range(net.n_layers) if (m := masked_recurrence(net, lay))}  # fmt: skip
    for c, idx in groups.items():
        if c == off_chip:
            continue
        first_layer = entries[idx[0]].layer
        ext, remote = _axons_in(net, entries, idx, masked)
        if ext + remote > profile.core.max_axons_in:
            what = f"input sources into one core: {ext} chip inputs + {remote} units on other cores"
            out.append(Culprit(first_layer, c, "axons_in", ext + remote, int(profile.core.max_axons_in), what))
        sent = sum(_sent(entries[i], dests[i], multicast, masked) for i in idx)
        readout = net.n_out if c == out_core else 0
        if sent + readout > profile.core.max_axons_out:
            what = f"outgoing axons of one core: {sent} to other cores + {readout} readout outputs"
            out.append(Culprit(first_layer, c, "axons_out", sent + readout, int(profile.core.max_axons_out), what))
    return out


def _chip(profile: Profile, layout: Layout) -> list[Culprit]:
    o = layout.overflow
    if o is None:
        return []
    what = f"{o.n_units:,} units do not fit on the chip: {profile.n_cores} × {int(profile.core.max_neurons)} neurons"
    return [Culprit(None, None, "cores", o.cores_needed, profile.n_cores, what, "chip")]


def _axons_in(net: Net, entries: list[Entry], idx: list, masked: dict | None = None) -> tuple[int, int]:
    """(chip inputs, units of other cores) read by the core's units; a masked layer's recurrent
    sources counted from its mask (``masked``: layer → ``MaskedRecurrence.counts``)."""
    masked = masked or {}
    here: dict[int, int] = {}
    for i in idx:
        here[entries[i].layer] = here.get(entries[i].layer, 0) + entries[i].n
    read = set()
    ext = 0
    for i in idx:
        layer = entries[i].layer
        if net.recurrent_targets(layer) and layer not in masked:  # its units read each other (not the LRU's diagonal)
            read.add(layer)
        if layer == 0:
            ext = net.n_in
        else:
            read.add(layer - 1)
    core = entries[idx[0]].core
    sparse = sum(int(masked[lay][0].get(core, 0)) for lay in {entries[i].layer for i in idx} if lay in masked)
    return ext, sum(net.units[layer] - here.get(layer, 0) for layer in read) + sparse


def _sent(e: Entry, sends: Sends, multicast: bool, masked: dict) -> int:
    """Outgoing axons of one entry's units: per unit, one per distinct other core it sends to (one
    in all on a multicast chip); a masked layer's recurrent destinations from its mask."""
    if e.layer not in masked:
        return e.n * (min(1, len(sends)) if multicast else len(sends))
    per_unit, nxt = masked[e.layer][1], len(masked[e.layer][2] - {e.core})
    rows = np.concatenate([per_unit[a:b] for a, b in e.units.runs]) if e.units.runs else np.zeros(0, np.int64)
    if multicast:
        return int(np.count_nonzero(rows)) if not nxt else e.n
    return int(rows.sum()) + e.n * nxt


@dataclass(frozen=True, eq=False)
class MaskedRecurrence:
    """A layer's recurrent weights' structural mask by presynaptic unit: unit i is read by
    ``targets[ptr[i]:ptr[i + 1]]`` (CSR)."""

    layer: int
    n: int
    ptr: np.ndarray
    targets: np.ndarray

    def counts(self, layout: Layout, also: set) -> tuple[dict, np.ndarray, frozenset]:
        """Under ``layout``: (core → distinct units of other cores it reads through the mask, per
        unit the distinct other cores holding its recurrent targets that are not in ``also`` — the
        next stage's cores, which every unit sends to anyway — and ``also``). One compiled pass
        over the synapses (``_mask_counts``), or its numpy twin on the numpy kernel backend."""
        from ..kernels.config import backend

        core_of = layout.core_of(self.layer, self.n)
        k = int(max(core_of.max(initial=0), max(also, default=0))) + 1
        skip = np.zeros(k, np.bool_)
        skip[list(also)] = True
        count = _mask_counts_numpy if backend() == "numpy" else _mask_counts
        into, per_unit = count(self.ptr, self.targets, core_of, k, skip)
        cores = np.flatnonzero(into)
        return dict(zip(cores.tolist(), into[cores].tolist())), per_unit, frozenset(also)


@_njit
def _mask_counts(ptr, targets, core_of, k, skip):
    """(per core: distinct units of other cores with a synapse onto it, per unit: distinct other
    cores holding its targets, those with ``skip`` left out): each unit's targets once, a core
    stamped with the last unit that reached it."""
    n = ptr.size - 1
    into = np.zeros(k, np.int64)
    per_unit = np.zeros(n, np.int64)
    stamp = np.full(k, -1, np.int64)
    for u in range(n):
        cu = core_of[u]
        for j in range(ptr[u], ptr[u + 1]):
            c = core_of[targets[j]]
            if c >= 0 and c != cu and stamp[c] != u:
                stamp[c] = u
                into[c] += 1
                if not skip[c]:
                    per_unit[u] += 1
    return into, per_unit


def _mask_counts_numpy(ptr, targets, core_of, k, skip):
    """``_mask_counts`` with sorts (its twin)."""
    pre = np.repeat(np.arange(ptr.size - 1, dtype=np.int64), np.diff(ptr))
    src, dst = core_of[pre], core_of[targets]
    remote = (src != dst) & (dst >= 0)
    pair = np.unique(pre[remote] * k + dst[remote])  # one per (unit, remote destination core)
    unit, core = pair // k, pair % k
    into = np.bincount(core, minlength=k).astype(np.int64)
    per_unit = np.bincount(unit[~skip[core]], minlength=ptr.size - 1).astype(np.int64)
    return into, per_unit


def masked_recurrence(net: Net, layer: int) -> MaskedRecurrence | None:
    """The layer's masked (n, n) recurrent weights as ``MaskedRecurrence`` (cached on ``net``), or
    None when the layer has none (dense, LRU's diagonal, spiking)."""
    key = ("masked_recurrence", layer)
    if key not in net._per_unit:
        found = None
        n = net.units[layer]
        if not net.spiking:
            for name in net.model.cell_param_names(layer):
                mask = net.masks.get(name)
                if mask is not None and net.param_layout[name][1] == "recurrent" and net.shapes[name] == (n, n):
                    post, pre = mask_pairs(mask)
                    order = np.argsort(pre, kind="stable")
                    ptr = np.concatenate([[0], np.cumsum(np.bincount(pre, minlength=n))]).astype(np.int64)
                    found = MaskedRecurrence(layer, n, ptr, post[order])
                    break
        net._per_unit[key] = found
    return net._per_unit[key]


def _fan_out(net: Net, profile: Profile, e: Entry, layer_cores: dict, out_core: int) -> Culprit | None:
    """A unit's fan-out (the same for every unit of a layer), reported at the layer's home core."""
    layer, limit = e.layer, int(profile.core.max_fan_out)
    rec = net.recurrent_targets(layer)
    if profile.fan_out_counts == "cores":
        cores = set(layer_cores[layer]) if rec else set()
        cores |= layer_cores.get(layer + 1, {out_core}) if layer + 1 < net.n_layers else {out_core}
        needed, what = len(cores), "distinct cores one unit sends to"
    else:
        nxt = net.next_targets(layer)
        needed, what = rec + nxt, f"units reading one unit: {rec} recurrent + {nxt} in the next stage"
    if needed > limit:
        return Culprit(layer, e.core, "fan_out", needed, limit, what)
    return None
