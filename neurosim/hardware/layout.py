"""Where units sit: the default layout, and the limits that depend on it (axons, fan-out, cores).

A layout is ``{"kind": str, "cores": [{"core", "layer", "start", "stop"}, ...]}``: each entry puts
units start … stop−1 of one layer on one core; several entries may name the same core (layers, or
chunks of layers, sharing it). Cores sit on the mesh in row-major order of their ids.

**Default layout.** Layers are cut into chunks in order and packed greedily: a chunk goes on the
current core while the core's neuron count (``max_neurons``), SRAM regions and output registers
hold it together with what is there already; otherwise it opens the next core. On the chip's last
core nothing opens a new core but ``max_neurons``: what does not fit there shows as that core's
region culprits (which layer, which region, how many bits), not as a missing core. Routing tables
are not known while packing and are left out of the test.

**Connectivity limits** (every model is read as: a layer reads the chip's inputs (layer 0) or
every unit of the layer below, and every unit of its own layer when its recurrent weights couple
units — not the LRU's element-wise recurrence; its units are read by their layer's recurrent
weights and by the next layer, or the readout):

* ``max_axons_in`` — distinct input sources into one core: the chip's inputs (``n_in``, on every
  core holding layer-0 units) plus every unit of another core that the core's units read. Units on
  the same core are local, not axons. (ReckOn: 256 input addresses, its 8-bit AER address.)
* ``max_axons_out`` — outgoing axons of one core: for every unit, one per distinct other core it
  sends to, plus one per readout unit for the chip's outputs (ReckOn: 16 output neurons; Xylo: 8
  output channels; Loihi: nengo-loihi's out-axons, one per source compartment and target block).
* ``max_fan_out`` — per unit, as the profile's ``[core] fan_out_counts`` says: "neurons" counts
  the units that read it (recurrent targets + next stage; ReckOn's 272 = 256 recurrent + 16 output,
  Xylo's 64), "cores" the distinct cores holding them (TrueNorth: a neuron targets one axon, i.e.
  one core; Loihi, Tianjic: axons per destination core).
* chip: more distinct cores than ``mesh_width × mesh_height × cores_per_tile``, or a core id
  outside that range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .memory import OPTIMIZER_FLOATS, Culprit, Net, core_store
from .profile import Profile


def cores_of(entries: list) -> dict[int, list[int]]:
    """core id → indices of its entries, in increasing core id."""
    out: dict[int, list[int]] = {}
    for i, e in enumerate(entries):
        out.setdefault(int(e["core"]), []).append(i)
    return dict(sorted(out.items()))


def first_entries(entries: list) -> list[bool]:
    """Whether each entry is its layer's first (which stores the layer's unit-less parameters)."""
    seen: set = set()
    out = []
    for e in entries:
        out.append(e["layer"] not in seen)
        seen.add(e["layer"])
    return out


def cores_by_layer(entries: list) -> dict[int, set[int]]:
    """layer → the cores holding its units."""
    out: dict[int, set[int]] = {}
    for e in entries:
        out.setdefault(e["layer"], set()).add(int(e["core"]))
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


def destinations(net: Net, entries: list) -> list[Sends]:
    """Per entry, the distinct other cores its units send to (``Sends``)."""
    by_layer = cores_by_layer(entries)
    shared: dict[int, tuple] = {}
    for layer in by_layer:
        own = by_layer[layer] if net.recurrent_targets(layer) else set()
        cores = frozenset(own | by_layer.get(layer + 1, set()))
        shared[layer] = (cores, np.array(sorted(cores), np.int64))
    return [Sends(*shared[e["layer"]], int(e["core"])) for e in entries]


def default_layout(
    model, profile: Profile, rule=None, *, optimizer: str | None = None, update_every: int = 1, seq_len: int = 1000
) -> dict:
    """Layers in order, chunks packed greedily onto shared cores (see the module docstring).
    ``rule`` (None: no learning state), ``optimizer``, ``update_every`` and ``seq_len`` (as for
    ``budget``) decide what each core must hold. Once the chip's cores are full, what is left of
    each layer goes, whole, onto one core past the chip (``layout["beyond_chip"]``): the budget
    still counts its memory, and says how many cores the network needs, without building
    thousands of entries for a network a hundred times the chip."""
    from ..rules.base import Rule

    net = Net(model, rule or Rule())
    opts = {"opt_floats": OPTIMIZER_FLOATS[optimizer], "accumulate": update_every > 1, "seq_len": seq_len}
    per, n_cores = int(profile.core["max_neurons"]), profile.n_cores
    entries: list[dict] = []
    here: list = []  # (entry, first) on the current core
    core, beyond = 0, 0
    for layer in range(net.n_layers):
        start, n = 0, net.units[layer]
        while start < n:
            room = per - sum(e["stop"] - e["start"] for e, _ in here)
            if core == n_cores or (room <= 0 and core + 1 == n_cores):  # the chip is full
                entries.append({"core": n_cores, "layer": layer, "start": start, "stop": n})
                beyond += n - start
                core, start = n_cores, n
                continue
            if room <= 0:
                core, here = core + 1, []
                continue
            entry = {"core": core, "layer": layer, "start": start, "stop": min(n, start + room)}
            if (
                here
                and core + 1 < n_cores
                and not core_store(net, profile, core, here + [(entry, start == 0)], opts).holds
            ):
                core, here = core + 1, []
                continue
            entries.append(entry)
            here.append((entry, start == 0))
            start = entry["stop"]
    layout = {"kind": "layers in order, greedily packed", "cores": entries}
    if beyond:
        layout["beyond_chip"] = {"core": n_cores, "units": beyond, "cores_needed": n_cores + -(-beyond // per)}
    return layout


def connectivity_culprits(net: Net, profile: Profile, layout: dict, dests: list) -> list[Culprit]:
    """Axons in and out per core, fan-out per layer, and the chip's core count (module docstring);
    nothing per core for the core past the chip (the chip-level culprit says it all)."""
    entries = layout["cores"]
    groups = cores_of(entries)
    out = _chip(profile, groups, layout.get("beyond_chip"))
    on = {c: _units_by_layer(entries, idx) for c, idx in groups.items()}
    top = net.n_layers - 1
    readout_core = next(int(e["core"]) for e in entries if e["layer"] == top)
    layer_cores = cores_by_layer(entries)
    firsts = {}
    for i, e in enumerate(entries):
        firsts.setdefault(e["layer"], i)
    out += [c for layer, i in firsts.items() if (c := _fan_out(net, profile, entries[i], layer_cores, readout_core))]
    off_chip = (layout.get("beyond_chip") or {}).get("core")
    for c, idx in groups.items():
        if c == off_chip:
            continue
        first_layer = entries[idx[0]]["layer"]
        ext, remote = _axons_in(net, entries, idx, on[c])
        if ext + remote > profile.core["max_axons_in"]:
            what = f"input sources into one core: {ext} chip inputs + {remote} units on other cores"
            out.append(Culprit(first_layer, c, "axons_in", ext + remote, int(profile.core["max_axons_in"]), what))
        sent = sum((entries[i]["stop"] - entries[i]["start"]) * len(dests[i]) for i in idx)
        readout = net.n_out if c == readout_core else 0
        if sent + readout > profile.core["max_axons_out"]:
            what = f"outgoing axons of one core: {sent} to other cores + {readout} readout outputs"
            out.append(Culprit(first_layer, c, "axons_out", sent + readout, int(profile.core["max_axons_out"]), what))
    return out


def _chip(profile: Profile, groups: dict, beyond: dict | None) -> list[Culprit]:
    n_cores = profile.n_cores
    out = []
    if beyond:
        what = (
            f"{beyond['units']:,} units do not fit on the chip: {n_cores} × {int(profile.core['max_neurons'])} neurons"
        )
        return [Culprit(None, None, "cores", beyond["cores_needed"], n_cores, what, "chip")]
    if len(groups) > n_cores:
        out.append(Culprit(None, None, "cores", len(groups), n_cores, "cores needed by the layout", "chip"))
    outside = [c for c in groups if not 0 <= c < n_cores]
    if outside and len(groups) <= n_cores:
        out.append(Culprit(None, None, "cores", max(outside) + 1, n_cores, f"core ids {outside} are not on the chip",
                           "chip"))  # fmt: skip
    return out


def _units_by_layer(entries: list, idx: list) -> dict[int, int]:
    out: dict[int, int] = {}
    for i in idx:
        e = entries[i]
        out[e["layer"]] = out.get(e["layer"], 0) + e["stop"] - e["start"]
    return out


def _axons_in(net: Net, entries: list, idx: list, here: dict) -> tuple[int, int]:
    """(chip inputs, units of other cores) read by the core's units."""
    read = set()
    ext = 0
    for i in idx:
        layer = entries[i]["layer"]
        if net.recurrent_targets(layer):  # its units read each other (not the LRU's diagonal)
            read.add(layer)
        if layer == 0:
            ext = net.n_in
        else:
            read.add(layer - 1)
    return ext, sum(net.units[layer] - here.get(layer, 0) for layer in read)


def _fan_out(net: Net, profile: Profile, e: dict, layer_cores: dict, readout_core: int) -> Culprit | None:
    """A unit's fan-out (the same for every unit of a layer), reported at the layer's first core."""
    layer, limit = e["layer"], int(profile.core["max_fan_out"])
    rec = net.recurrent_targets(layer)
    if profile.fan_out_counts == "cores":
        cores = set(layer_cores[layer]) if rec else set()
        cores |= layer_cores.get(layer + 1, {readout_core}) if layer + 1 < net.n_layers else {readout_core}
        needed, what = len(cores), "distinct cores one unit sends to"
    else:
        nxt = net.next_targets(layer)
        needed, what = rec + nxt, f"units reading one unit: {rec} recurrent + {nxt} in the next stage"
    if needed > limit:
        return Culprit(layer, int(e["core"]), "fan_out", needed, limit, what)
    return None
