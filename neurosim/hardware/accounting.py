"""Memory, energy and cycle accounting of one model + rule on one chip profile.

``budget(model, rule, profile, layout=None)``:

* **Layout.** Without one, layers fill cores in order (the simplest partition): layer l's units
  are cut into chunks of ``core.max_neurons`` on consecutive cores; cores sit on the mesh in
  row-major order. A mapper will pass its own layout (``{"cores": [{"layer", "start", "stop"}]}``).
* **What a core stores.** The parameters whose rows are its units (fan-in rows; parameters
  without unit rows — decoders, norms, LRU's C — go whole to the layer's first core), the model's
  per-neuron state (``model.state_arrays()``), the rule's declared learning state
  (``rule.state_spec``: per-neuron arrays as records, per-synapse/per-parameter arrays as rows),
  optimizer state and a gradient accumulator when asked for, and routing entries (one per
  destination core: the other cores of the layer and the next layer's cores, ``routing_entry_bits``
  each). Element widths come from the profile's number formats (and
  ``[formats.array_bits]`` overrides); complex arrays count twice.
* **Sparse weights** (a structural mask) store an index of ceil(log2(row length)) bits with each
  weight, as nengo-loihi's uncompressed synapse format does.
* **Packing.** Each item goes to the region whose ``holds`` names its kind and role
  (``"weights.input"`` before ``"weights"``); output-neuron state goes to the core's registers when
  they suffice. Rows start on a word boundary and are a bit stream of ``row_header_bits`` + the
  row's elements (nengo-loihi's rounding to 64-bit words); per-neuron records (all the neuron
  arrays of one index) do not straddle words and share each word with ``reserved_bits_per_word``
  bits of shared parameters (ReckOn's word layout). Used bits are whole words.
* **Culprits**: every region over capacity, every item no region holds, units over
  ``max_neurons``, fan-in over ``max_fan_in``, more cores than the chip has — each with layer,
  core, region, bits (or count) needed and available.
* **Energy and cycles per timestep by phase** (forward, error, trace, weight_update,
  communication, static): operation counts × the profile's per-operation costs plus SRAM word
  accesses × per-access costs; cycles per core, the step's time is the slowest core + barrier.
* **NeuroBench-style metrics** (ecosystem.md §4): footprint, connection sparsity, activation
  sparsity, effective and dense synaptic operations, neuron operations.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from .._errors import bad, check_float, check_positive_int
from .profile import Profile

PHASES = ("forward", "error", "trace", "weight_update", "communication", "static")
BELONGS_KIND = {
    "neuron": "neuron_traces",
    "synapse": "synapse_traces",
    "parameter": "parameter_traces",
    "history": "history",
}
LEARNING_KINDS = ("neuron_traces", "synapse_traces", "parameter_traces", "history", "optimizer")


@dataclass
class Item:
    name: str
    layer: int
    kind: str
    role: str
    bits: int  # per element
    rows: list = field(default_factory=list)  # per-row element counts (row-packed items)
    records: int = 0  # number of per-index records (record-packed items)

    @property
    def raw_bits(self) -> int:
        return self.bits * (int(sum(self.rows)) + self.records)


@dataclass
class RegionUse:
    core: int
    region: str
    capacity_bits: int
    used_bits: int
    items: dict  # name → raw bits

    @property
    def fits(self) -> bool:
        return self.used_bits <= self.capacity_bits


@dataclass
class Culprit:
    layer: int
    core: int
    region: str
    needed: int
    available: int
    what: str

    def __str__(self) -> str:
        return (
            f"layer {self.layer}, core {self.core}, {self.region}: needs {self.needed:,} but has {self.available:,}"
            f" ({self.what})"
        )


@dataclass
class Budget:
    profile: str
    model: str
    rule: str
    layout: dict
    regions: list
    culprits: list
    energy_pj: dict  # phase → pJ per timestep (whole chip)
    energy_pj_by_core: list  # per core: phase → pJ
    cycles_by_core: list  # per core: phase → cycles
    step_ns: float
    update_energy_pj: float  # one weight update (all parameters)
    metrics: dict
    learning_bits: int
    inference_bits: int
    unplaced: list = field(default_factory=list)
    update_every: int = 1
    clock_ghz: float = 1.0

    @property
    def fits(self) -> bool:
        return not self.culprits

    @property
    def update_ns(self) -> float:
        """Time of one weight update: the slowest core's weight-update cycles × update_every."""
        cyc = max((c["weight_update"] for c in self.cycles_by_core), default=0.0) * self.update_every
        return cyc / self.clock_ghz if self.clock_ghz else 0.0

    @property
    def overhead_fraction(self) -> float:
        """Learning-state bits over inference bits (raw bits, before word rounding)."""
        return self.learning_bits / self.inference_bits if self.inference_bits else math.inf

    def used_bits(self, region: str, core: int = 0) -> int:
        for r in self.regions:
            if r.core == core and r.region == region:
                return r.used_bits
        return 0

    def to_dict(self) -> dict:
        return {
            "schema": "neurosim.budget/1",
            "profile": self.profile,
            "model": self.model,
            "rule": self.rule,
            "fits": self.fits,
            "culprits": [c.__dict__ for c in self.culprits],
            "layout": self.layout,
            "regions": [{**r.__dict__, "fits": r.fits} for r in self.regions],
            "energy_pj_per_step": self.energy_pj,
            "energy_pj_total_per_step": sum(self.energy_pj.values()),
            "step_ns": self.step_ns,
            "update_energy_pj": self.update_energy_pj,
            "update_ns": self.update_ns,
            "cycles_by_core": self.cycles_by_core,
            "learning_bits": self.learning_bits,
            "inference_bits": self.inference_bits,
            "overhead_fraction": self.overhead_fraction,
            "metrics": self.metrics,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=float)


# --- what is stored ----------------------------------------------------------------------------
def _units(model, layer: int) -> int:
    if getattr(model, "spiking", False):
        return model.n
    return model.blocks[layer].cell.n_units


def default_layout(model, profile: Profile) -> dict:
    per = int(profile.core["max_neurons"])
    cores, c = [], 0
    for layer in range(model.n_layers):
        n = _units(model, layer)
        for start in range(0, n, per):
            cores.append({"core": c, "layer": layer, "start": start, "stop": min(n, start + per)})
            c += 1
    return {"kind": "layers-in-order", "cores": cores}


def _row_counts(shape, mask) -> list:
    if len(shape) < 2:
        return [int(np.prod(shape))]
    per = int(np.prod(shape[1:]))
    if mask is None:
        return [per] * shape[0]
    return [int(v) for v in np.asarray(mask).reshape(shape[0], -1).sum(1)]


def _items_for_core(model, rule, profile: Profile, core: dict, first: bool, optimizer_floats: int, accumulate: bool):
    layer, a, b = core["layer"], core["start"], core["stop"]
    n_units = _units(model, layer)
    frac = lambda length: (a * length // n_units, b * length // n_units)  # noqa: E731
    items = []
    masks = model.param_masks() if hasattr(model, "param_masks") else {}
    layout = model.param_layout()
    shapes = model.shapes()
    for name, (pl, role) in layout.items():
        if pl != layer:
            continue
        shape = shapes[name]
        rows = _row_counts(shape, masks.get(name))
        unit_rows = (n_units, model.blocks[layer].cell.n_state) if hasattr(model, "blocks") else (n_units,)
        if len(shape) >= 2 and shape[0] in unit_rows:
            lo, hi = frac(shape[0])
            rows = rows[lo:hi]
        elif not first:
            continue
        wbits = profile.bits_of(name.split(".")[-1], "weight")
        if name in masks and len(shape) >= 2:  # sparse rows store each synapse's index too
            wbits += max(1, math.ceil(math.log2(int(np.prod(shape[1:])))))
        items.append(Item(name, layer, "weights", role, wbits, rows=rows))
        if optimizer_floats:
            items.append(Item(f"opt:{name}", layer, "optimizer", role, profile.bits_of("optimizer", "gradient"),
                              rows=[r * optimizer_floats for r in rows]))  # fmt: skip
        if accumulate:
            items.append(
                Item(f"grad:{name}", layer, "optimizer", role, profile.bits_of("gradient", "gradient"), rows=rows)
            )
    for name, sl, length, kind, role, bits in model.state_arrays():
        if sl != layer:
            continue
        bits = bits or profile.bits_of(name, "state")
        if length == n_units:
            lo, hi = frac(length)
            items.append(Item(name, layer, kind, role, bits, records=hi - lo))
        elif first:
            items.append(Item(name, layer, kind, role, bits, records=length))
    for spec in rule.state_spec(model):
        if spec.layer not in (layer, -1) or (spec.layer == -1 and not (first and layer == 0)):
            continue
        kind = BELONGS_KIND[spec.belongs]
        mult = 2 if spec.complex else 1
        bits = profile.bits_of(spec.name, "state" if kind == "history" else "trace")
        shape = spec.shape
        if kind == "neuron_traces" and len(shape) == 1:
            length = shape[0] * mult
            if shape[0] in (n_units, 2 * n_units):
                lo, hi = frac(length)
                items.append(Item(spec.name, layer, kind, "recurrent", bits, records=hi - lo))
            elif first:
                items.append(Item(spec.name, layer, kind, "recurrent", bits, records=length))
            continue
        rows = [int(np.prod(shape[1:])) * mult] * shape[0] if len(shape) >= 2 else [shape[0] * mult]
        if len(shape) >= 2 and shape[0] in (n_units, 2 * n_units):
            lo, hi = frac(shape[0])
            rows = rows[lo:hi]
        elif not first:
            continue
        items.append(Item(spec.name, layer, kind, "recurrent", bits, rows=rows))
    return items


def _region_for(profile: Profile, kind: str, role: str):
    for want in (f"{kind}.{role}", kind):
        for s in profile.srams:
            if want in s.holds:
                return s
    return None


def _pack(sram, items) -> int:
    """Words used in ``sram`` by ``items`` (rows as bit streams, records not straddling words)."""
    usable = sram.word_bits - sram.reserved_bits_per_word
    words = 0
    for it in items:
        for count in it.rows:
            words += math.ceil((sram.row_header_bits + count * it.bits) / usable) if count else 0
    recs = [it for it in items if it.records]
    if recs:
        lengths = sorted({it.records for it in recs})
        prev = 0
        for length in lengths:
            rec_bits = sum(it.bits for it in recs if it.records >= length)
            count = length - prev
            per_word = usable // rec_bits
            words += math.ceil(count / per_word) if per_word else math.ceil(count * rec_bits / usable)
            prev = length
    return words


def _access(sram, bits: float, write: bool = False) -> float:
    """Energy of reading (or writing) ``bits`` from ``sram``, in whole-word units (0 without a region)."""
    if sram is None:
        return 0.0
    return (sram.write_energy_pj if write else sram.read_energy_pj) * bits / sram.word_bits


def _xy(profile: Profile, core_id: int) -> tuple[int, int]:
    """Mesh position of a core: cores fill tiles, tiles fill the mesh row by row."""
    tile = core_id // int(profile.chip["cores_per_tile"])
    width = int(profile.chip["mesh_width"])
    return tile % width, tile // width


def _hop_energy(profile: Profile, src: int, dst: int) -> float:
    """Energy of a Manhattan route between two cores (east–west and north–south hop costs)."""
    (x0, y0), (x1, y1) = _xy(profile, src), _xy(profile, dst)
    return abs(x1 - x0) * profile.noc["hop_energy_pj_ew"] + abs(y1 - y0) * profile.noc["hop_energy_pj_ns"]


def _destinations(cores: list, core: dict) -> list:
    """Cores a core sends to: the other cores of its layer and the next layer's cores."""
    return [k for k in cores if k["core"] != core["core"] and k["layer"] in (core["layer"], core["layer"] + 1)]


def _weight_update_pj(profile: Profile) -> float:
    """One weight update: the operation plus a read and a write of the weight in its region."""
    w_sram = _region_for(profile, "weights", "recurrent")
    bits = profile.formats["weight_bits"]
    return profile.ops["weight_update_energy_pj"] + _access(w_sram, bits) + _access(w_sram, bits, write=True)


# --- the budget --------------------------------------------------------------------------------
def budget(
    model,
    rule,
    profile: Profile,
    layout: dict | None = None,
    *,
    activity: float | None = None,
    optimizer: str | None = None,
    update_every: int = 1,
    seq_len: int = 1000,
) -> Budget:
    """Price ``model`` trained online by ``rule`` on ``profile`` (see the module docstring).

    ``activity``: fraction of units active per step (spike probability; default 0.02 for spiking
    models, 1 for rate-based ones). ``optimizer``: None / "sgd" (no state), "momentum" (1 value
    per parameter), "adam" (2). ``update_every``: steps per weight update (> 1 stores a gradient
    accumulator). ``seq_len``: steps of history stored by rules that keep history (bptt).
    """
    spiking = getattr(model, "spiking", False)
    activity = (0.02 if spiking else 1.0) if activity is None else check_float("activity", activity, 0.0, 1.0)
    opt_state = {None: 0, "sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
    if optimizer not in opt_state:
        raise bad("optimizer", optimizer, "None, 'sgd', 'momentum', 'adam' or 'adamw'")
    opt_floats = opt_state[optimizer]
    update_every = check_positive_int("update_every", update_every)
    seq_len = check_positive_int("seq_len", seq_len)
    layout = layout or default_layout(model, profile)
    cores = layout["cores"]
    culprits, regions, unplaced = [], [], []
    n_cores = profile.n_cores
    if len(cores) > n_cores:
        culprits.append(Culprit(-1, len(cores) - 1, "cores", len(cores), n_cores, "cores needed by the layout"))
    learning = inference = 0
    per_core_items = []
    seen_first = set()
    for core in cores:
        first = core["layer"] not in seen_first
        seen_first.add(core["layer"])
        units = core["stop"] - core["start"]
        if units > profile.core["max_neurons"]:
            culprits.append(Culprit(core["layer"], core["core"], "neurons", units, int(profile.core["max_neurons"]),
                                    "units on one core"))  # fmt: skip
        items = _items_for_core(model, rule, profile, core, first, opt_floats, update_every > 1)
        if getattr(rule, "window", 0) is None:  # bptt: the history grows with the sequence
            for it in items:
                if it.kind == "history":
                    it.rows = [r * seq_len for r in it.rows]
        fan_in = sum(
            max(it.rows)
            for it in items
            if it.kind == "weights" and it.role in ("input", "recurrent") and len(it.rows) > 1
        )
        if fan_in > profile.core["max_fan_in"]:
            culprits.append(Culprit(core["layer"], core["core"], "fan_in", fan_in, int(profile.core["max_fan_in"]),
                                    "synapses into one neuron"))  # fmt: skip
        # routing: one entry per destination core (the other cores of this layer, for the
        # recurrent spikes, and the next layer's cores)
        dests = _destinations(cores, core)
        entry = int(profile.noc["routing_entry_bits"])
        if dests and entry:
            items.append(Item("routing_table", core["layer"], "routing", "other", entry, records=len(dests)))
        per_core_items.append(items)
        by_region: dict = {}
        reg_bits = 0
        for it in items:
            if it.kind in LEARNING_KINDS:
                learning += it.raw_bits
            else:
                inference += it.raw_bits
            if it.kind == "output_state" and reg_bits + it.raw_bits <= profile.core["register_bits"]:
                reg_bits += it.raw_bits
                continue
            kind = "neuron_state" if it.kind == "output_state" else it.kind
            sram = _region_for(profile, kind, it.role)
            if sram is None:
                unplaced.append(it.name)
                culprits.append(Culprit(it.layer, core["core"], "<none>", it.raw_bits, 0,
                                        f"{it.name}: no region holds {kind!r}"))  # fmt: skip
                continue
            by_region.setdefault(sram.name, (sram, []))[1].append(it)
        for s in profile.srams:
            if s.name not in by_region:
                continue
            sram, its = by_region[s.name]
            words = _pack(sram, its)
            use = RegionUse(
                core["core"], s.name, s.capacity_bits, words * s.word_bits, {i.name: i.raw_bits for i in its}
            )
            regions.append(use)
            if not use.fits:
                culprits.append(Culprit(core["layer"], core["core"], s.name, use.used_bits, s.capacity_bits,
                                        f"bits: {', '.join(f'{k} {v:,}' for k, v in use.items.items())}"))  # fmt: skip
            recs = [i for i in its if i.records]
            if recs and s.reserved_bits_per_word:
                # shared parameters stored in the record words count as inference state
                inference += _pack(sram, recs) * s.reserved_bits_per_word
    energy_by_core, cycles_by_core = _energy(
        model, rule, profile, layout, per_core_items, activity, update_every, seq_len
    )
    energy = {ph: sum(e[ph] for e in energy_by_core) for ph in PHASES}
    clock_ghz = profile.chip["clock_mhz"] / 1000.0
    step_cycles = max((sum(c.values()) for c in cycles_by_core), default=0.0)
    step_ns = step_cycles / clock_ghz + (profile.chip["barrier_latency_ns"] if len(cores) > 1 else 0.0)
    static = profile.chip["static_power_mw"] * step_ns  # mW × ns = pJ
    energy["static"] = static
    share = static / max(len(energy_by_core), 1)
    for e in energy_by_core:
        e["static"] = share
    upd = _weight_update_pj(profile) * sum(int(np.prod(s)) for s in model.shapes().values())
    metrics = _metrics(model, per_core_items, activity)
    return Budget(
        profile.name, model.kind, rule.name, layout, regions, culprits, energy, energy_by_core, cycles_by_core, step_ns,
        upd, metrics, int(learning), int(inference), unplaced, update_every, clock_ghz,
    )  # fmt: skip


def _energy(model, rule, profile: Profile, layout, per_core_items, activity, update_every, seq_len):
    ops, prof = profile.ops, profile
    spiking = getattr(model, "spiking", False)
    w_sram = _region_for(prof, "weights", "recurrent")
    wb = prof.formats["weight_bits"]
    out_e, out_c = [], []
    cores = layout["cores"]
    rule_counts = rule.op_counts(model)
    for core, items in zip(cores, per_core_items):
        e = dict.fromkeys(PHASES, 0.0)
        c = dict.fromkeys(PHASES, 0.0)
        units = core["stop"] - core["start"]
        weights = sum(sum(it.rows) for it in items if it.kind == "weights")
        # forward: synaptic events (spiking: active presynaptic fraction) or MACs, neuron updates
        syn = weights * activity
        if spiking:
            e["forward"] += syn * (ops["synop_energy_pj"] + _access(w_sram, wb))
            c["forward"] += syn * ops["synop_cycles"]
        else:
            e["forward"] += syn * (ops["mac_energy_pj"] + _access(w_sram, wb))
            c["forward"] += syn * ops["mac_cycles"]
        e["forward"] += units * ops["neuron_update_energy_pj"]
        c["forward"] += units * ops["neuron_update_cycles"]
        # error and trace: the rule's declared operation counts for this layer, in proportion to
        # the layer's units on this core; trace elements are read and written in their region
        share = units / _units(model, core["layer"])
        counts = rule_counts[core["layer"]]
        e["error"] += counts["error"].get("mac", 0) * share * ops["mac_energy_pj"]
        c["error"] += counts["error"].get("mac", 0) * share * ops["mac_cycles"]
        tr = counts["trace"]
        e["trace"] += share * (
            tr.get("trace_update", 0) * ops["trace_update_energy_pj"] + tr.get("mac", 0) * ops["mac_energy_pj"]
        )
        c["trace"] += share * (
            tr.get("trace_update", 0) * ops["trace_update_cycles"] + tr.get("mac", 0) * ops["mac_cycles"]
        )
        for it in items:
            if it.kind in ("neuron_traces", "synapse_traces", "parameter_traces", "history"):
                n_el = sum(it.rows) + it.records
                if it.kind == "history":
                    n_el /= seq_len  # one step of history is written per step
                s = _region_for(prof, it.kind, it.role)
                e["trace"] += n_el * (_access(s, it.bits) + _access(s, it.bits, write=True))
        # weight update, amortised per step
        e["weight_update"] += weights / update_every * _weight_update_pj(prof)
        c["weight_update"] += weights / update_every * ops["weight_update_cycles"]
        # communication: each active unit sends one message to every other core of its layer and
        # to the cores of the next layer, over Manhattan routes
        msgs = units * activity
        for t in _destinations(cores, core):
            hop = _hop_energy(prof, core["core"], t["core"])
            e["communication"] += msgs * (ops["message_out_energy_pj"] + ops["message_in_energy_pj"] + hop)
            c["communication"] += msgs * (ops["message_out_cycles"] + ops["message_in_cycles"])
        out_e.append(e)
        out_c.append(c)
    return out_e, out_c


def _metrics(model, per_core_items, activity) -> dict:
    shapes = model.shapes()
    masks = model.param_masks() if hasattr(model, "param_masks") else {}
    total = sum(int(np.prod(s)) for s in shapes.values())
    active = sum(int(np.asarray(masks[k]).sum()) if k in masks else int(np.prod(s)) for k, s in shapes.items())
    if getattr(model, "spiking", False):
        active -= model.n  # no autapses
    weights = sum(sum(it.rows) for items in per_core_items for it in items if it.kind == "weights")
    state_bits = sum(it.raw_bits for items in per_core_items for it in items if it.kind != "weights")
    weight_bits = sum(it.raw_bits for items in per_core_items for it in items if it.kind == "weights")
    neurons = sum(_units(model, i) for i in range(model.n_layers))
    return {
        "footprint_bytes": (weight_bits + state_bits) / 8,
        "parameter_count": total,
        "connection_sparsity": 1.0 - active / total if total else 0.0,
        "activation_sparsity": 1.0 - activity,
        "synaptic_operations_dense": weights,
        "synaptic_operations_effective": weights * activity,
        "neuron_operations": neurons,
    }


def raster_energy(profile: Profile, pre, post, core_of, raster) -> dict:
    """Event-level energy (pJ) of a spike raster on a placed network, by phase.

    ``pre``/``post``: synapse lists; ``core_of[i]``: the core of neuron i (mesh position from the
    profile); ``raster`` (steps × n, bool). Per step every neuron is updated (neuron_update); per
    spike: one message_out, and per distinct destination core other than its own: the Manhattan
    route's hops (east–west and north–south costs) and one message_in; every synapse of a
    spiking neuron is one synaptic event (synop). SRAM accesses are not added here: the
    per-event costs of calibrated profiles (SANA-FE's Loihi) already include them.
    """
    raster = np.asarray(raster, bool)
    pre, post, core_of = np.asarray(pre), np.asarray(post), np.asarray(core_of)
    ops = profile.ops
    out = {"neuron_update": 0.0, "synop": 0.0, "message_out": 0.0, "message_in": 0.0, "hops": 0.0}
    steps, n = raster.shape
    out["neuron_update"] = steps * n * ops["neuron_update_energy_pj"]
    fan = [post[pre == i] for i in range(n)]
    for t in range(steps):
        for i in np.flatnonzero(raster[t]):
            out["message_out"] += ops["message_out_energy_pj"]
            out["synop"] += len(fan[i]) * ops["synop_energy_pj"]
            for dest in sorted({int(core_of[j]) for j in fan[i]} - {int(core_of[i])}):
                out["hops"] += _hop_energy(profile, int(core_of[i]), dest)
                out["message_in"] += ops["message_in_energy_pj"]
    out["total"] = sum(out.values())
    return out
