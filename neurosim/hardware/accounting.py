"""Memory, energy and cycle accounting of one model + rule on one chip profile.

``budget(model, rule, profile, layout=None)`` is arithmetic on shapes and counts: no parameter
array is built and no forward pass runs, so a network of any size is priced in milliseconds.

* **Layout** (``layout.py``). Without one, layers are cut into chunks and packed greedily onto
  shared cores in order; a mapper passes its own (``{"cores": [{"core", "layer", "start",
  "stop"}]}``, several entries may share a core). Cores sit on the mesh in row-major order.
* **What a core stores** (``memory.py``): the parameters whose rows are its units, the model's
  per-neuron state, the rule's declared learning state, optimizer state and a gradient
  accumulator when asked for, and routing entries (one per distinct destination core,
  ``routing_entry_bits`` each). Element widths come from the profile's number formats (and
  ``[formats.array_bits]`` overrides); complex arrays count twice. Regions are summed over the
  entries of a core.
* **Culprits**: every region over capacity, every item no region holds, output units over the
  output registers, units over ``max_neurons``, fan-in over ``max_fan_in``, axons in and out and
  fan-out over the profile's limits, more cores than the chip has — each names its layer and core
  (or the chip), the region or limit, and the amount needed and available.
* **Energy and cycles per timestep by phase** (forward, error, trace, weight_update,
  communication, static): operation counts × the profile's per-operation costs plus SRAM word
  accesses × per-access costs; cycles per core (the sum over its entries), the step's time is the
  slowest core + barrier. Messages and hops count between distinct cores only. On a board, a
  message to a core on another chip adds its chip-to-chip hops (``Board.transfer_energy_pj``,
  ``transfer_latency_ns``), and every chip in use burns the chip's static power.
* **NeuroBench-style metrics** (Yik et al., NeuroBench, Nat. Commun. 2025): footprint, connection sparsity, activation
  sparsity, effective and dense synaptic operations, neuron operations.
* **Finite results.** The profile's values are bounded at load (``profile.py``: every unit has a
  plausible physical range), so every product here is finite; ``budget`` still checks its energies
  and times and refuses (``ValueError``) a result that is not finite rather than print ``inf``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from .._errors import bad, check_float, check_positive_int
from .capabilities import cannot_run
from .connectivity import connectivity_culprits, cores_of, destinations, n_sends
from .events import price_raster
from .layout import Layout, as_layout, layers_in_order
from .memory import OPTIMIZER_FLOATS, Culprit, Net, RegionUse, access, access_cycles, core_store, region_for
from .mesh import default_site, hop_energy_pj, route_latency_ns
from .profile import Profile

__all__ = ["PHASES", "Budget", "Culprit", "RegionUse", "budget", "raster_energy"]

PHASES = ("forward", "error", "trace", "weight_update", "communication", "static")
TRACE_KINDS = ("neuron_traces", "synapse_traces", "parameter_traces", "history")


@dataclass
class Budget:
    profile: str
    model: str
    rule: str
    layout: Layout
    regions: list
    culprits: list
    energy_pj: dict  # phase → pJ per timestep (whole chip)
    energy_pj_by_core: list  # per core (increasing id): phase → pJ
    cycles_by_core: list  # per core (increasing id): phase → cycles
    step_ns: float
    update_energy_pj: float  # one weight update (all parameters)
    metrics: dict
    learning_bits: int
    inference_bits: int
    unplaced: list = field(default_factory=list)
    update_every: int = 1
    clock_ghz: float = 1.0
    step_parts: dict = field(default_factory=dict)  # compute_ns, delivery_ns, barrier_ns of step_ns
    cannot_run: list = field(default_factory=list)  # what the chip lacks to run the model as it is

    @property
    def fits(self) -> bool:
        return not self.culprits

    @property
    def cores_used(self) -> int:
        """Cores of the layout (the default layout's virtual core past the chip included)."""
        return self.layout.n_cores

    @property
    def cores_needed(self) -> int:
        """Cores the network needs: ``cores_used``, or for units past the chip the whole count."""
        return self.layout.cores_needed

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
            "schema": "neurosim.budget/2",
            "profile": self.profile,
            "model": self.model,
            "rule": self.rule,
            "fits": self.fits,
            "runs_as_is": not self.cannot_run,
            "cannot_run": self.cannot_run,
            "culprits": [c.__dict__ for c in self.culprits],
            "layout": self.layout.to_dict(),
            "cores_used": self.cores_used,
            "cores_needed": self.cores_needed,
            "regions": [{**r.__dict__, "fits": r.fits} for r in self.regions],
            "energy_pj_per_step": self.energy_pj,
            "energy_pj_total_per_step": sum(self.energy_pj.values()),
            "step_ns": self.step_ns,
            "step_ns_parts": self.step_parts,
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

    def _repr_html_(self) -> str:  # a notebook shows the report (``ns.report.build``)
        from ..report import build

        return build(self).to_html(fragment=True)


def _weight_update_pj(profile: Profile) -> float:
    """One weight update: the operation plus a read and a write of the weight in its region."""
    w_sram = region_for(profile, "weights", "recurrent")
    bits = profile.formats.weight_bits
    return profile.ops.weight_update_energy_pj + access(w_sram, bits) + access(w_sram, bits, write=True)


# --- the budget --------------------------------------------------------------------------------
def budget(
    model,
    rule,
    profile: Profile,
    layout: Layout | dict | None = None,
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
    if optimizer not in OPTIMIZER_FLOATS:
        raise bad("optimizer", optimizer, "None, 'sgd', 'momentum', 'adam' or 'adamw'")
    update_every = check_positive_int("update_every", update_every)
    seq_len = check_positive_int("seq_len", seq_len)
    rule.check_model(model)
    opts = {"opt_floats": OPTIMIZER_FLOATS[optimizer], "accumulate": update_every > 1, "seq_len": seq_len}
    net = Net(model, rule)
    if layout is None:
        layout = layers_in_order(model, profile, rule, optimizer=optimizer, update_every=update_every, seq_len=seq_len)
    layout = as_layout(layout, model, profile).validate(model, profile, allow_overflow=True)
    entries = layout.entries()
    dests = destinations(net, entries)
    items, regions, culprits, unplaced, learning, inference = _memory(net, profile, entries, dests, opts)
    # chip-wide limits first, then per core in increasing id: memory limits, then connectivity
    off_chip = layout.overflow.core if layout.overflow is not None else None
    culprits = [c for c in culprits if c.core is None or c.core != off_chip]  # the chip culprit says it
    culprits = sorted(culprits + connectivity_culprits(net, profile, layout, dests), key=_culprit_order)
    sites = _sites(profile, layout)
    chips = _chips(profile, layout)
    energy_by_core, cycles_by_core, delivery = _energy(
        net, profile, entries, dests, sites, items, activity, update_every, seq_len, chips
    )
    energy = {ph: sum(e[ph] for e in energy_by_core) for ph in PHASES}
    clock_ghz = profile.chip.clock_mhz / 1000.0
    # the step: the slowest core's work, its packets' delivery, then the barrier over the tiles in use
    step_cycles = max((sum(c.values()) for c in cycles_by_core), default=0.0)
    tiles = len({sites[e.core] for e in entries})
    step_parts = {
        "compute_ns": step_cycles / clock_ghz,
        "delivery_ns": max(delivery, default=0.0),
        "barrier_ns": profile.barrier_latency_ns(tiles),
    }
    step_ns = sum(step_parts.values())
    n_chips = 1 if chips is None else len({chips[c] for c in layout.sites()} or {0})
    energy["static"] = profile.chip.static_power_mw * step_ns * n_chips  # mW × ns = pJ, every chip in use
    for e in energy_by_core:
        e["static"] = energy["static"] / len(energy_by_core)
    upd = _weight_update_pj(profile) * sum(math.prod(s) for s in net.shapes.values())
    b = Budget(
        profile.name, model.kind, rule.name, layout, regions, culprits, energy, energy_by_core, cycles_by_core, step_ns,
        upd, _metrics(net, items, activity), int(learning), int(inference), unplaced, update_every, clock_ghz,
        step_parts, cannot_run(model, profile),
    )  # fmt: skip
    _check_finite(b, profile)
    return b


def _sites(profile: Profile, layout: Layout) -> dict[int, tuple[int, int]]:
    """Core id → tile site; the overflow's virtual core sits where the default numbering puts it."""
    sites = layout.sites()
    if layout.overflow is not None:
        sites[layout.overflow.core] = default_site(profile, layout.overflow.core)
    return sites


def _chips(profile: Profile, layout: Layout) -> dict[int, int] | None:
    """Core id → chip on a board (None on one chip, or when every core is on chip 0)."""
    chips = {c.core: c.chip for c in layout.cores}
    if profile.board is None or not any(chips.values()):
        return None
    if layout.overflow is not None:
        chips[layout.overflow.core] = 0
    return chips


def _memory(net: Net, profile: Profile, entries: list, dests: list, opts: dict):
    """Per core (``core_store``): the items of every entry, region use, memory culprits, unplaced
    items, learning and inference bits."""
    items: list = [None] * len(entries)
    regions, culprits, unplaced = [], [], []
    learning = inference = 0
    for core, idx in cores_of(entries).items():
        store = core_store(net, profile, core, [entries[i] for i in idx], opts, n_sends(dests, idx, core))
        for i, its in zip(idx, store.items):
            items[i] = its
        regions += store.regions
        culprits += store.culprits
        unplaced += store.unplaced
        learning += store.learning_bits
        inference += store.inference_bits
    return items, regions, culprits, unplaced, learning, inference


def _culprit_order(c: Culprit) -> tuple[int, int]:
    return (0, 0) if c.scope == "chip" else (1, c.core)


def _check_finite(b: Budget, profile: Profile) -> None:
    """Refuse a budget whose energies or times overflowed (never print inf or nan)."""
    values = {f"energy_pj[{k!r}]": v for k, v in b.energy_pj.items()}
    values.update(step_ns=b.step_ns, update_energy_pj=b.update_energy_pj, update_ns=b.update_ns)
    for key, v in values.items():
        if not math.isfinite(v):
            raise ValueError(
                f"{profile.path}: the budget's {key} is {v} (not finite): the profile's costs or clock are outside "
                "any physical range for a network of this size"
            )


def _energy(net: Net, profile: Profile, entries, dests, sites, items, activity, update_every, seq_len, chips=None):
    """Energy and cycles per step, per core (the sum over its entries), by phase. ``chips``: core
    → chip on a board (``_chips``), None on one chip."""
    rule_counts = net.rule.op_counts(net.model)
    board = None
    if chips is not None:
        ids = np.array(sorted(chips), np.int64)
        chip_of = np.zeros(int(ids.max()) + 1, np.int64)
        chip_of[ids] = [chips[int(c)] for c in ids]
        board = (chip_of, profile.board.hop_matrix())
    by_entry = [
        _entry_energy(
            net, profile, entries[i], dests[i], sites, its, rule_counts, activity, update_every, seq_len, board
        )  # fmt: skip
        for i, its in enumerate(items)
    ]
    out_e, out_c, out_d = [], [], []
    for idx in cores_of(entries).values():
        out_e.append({ph: sum(by_entry[i][0][ph] for i in idx) for ph in PHASES})
        out_c.append({ph: sum(by_entry[i][1][ph] for i in idx) for ph in PHASES})
        out_d.append(max(by_entry[i][2] for i in idx))
    return out_e, out_c, out_d


def _entry_energy(net, prof, entry, dests, sites, items, rule_counts, activity, update_every, seq_len, board=None):
    """Energy (pJ) and cycles of one entry per step by phase, and its packets' delivery time (ns):
    operations × the profile's per-operation costs, SRAM words read and written × the region's
    per-access energy and ``access_cycles``, messages × their costs and routes × hop energy; the
    delivery is the slowest of its routes (``mesh.route_latency_ns``: hops per direction plus
    serialization of ``noc.packet_bits`` over ``noc.link_bandwidth_bits_per_cycle``). On a board
    (``board``: the chip of each core id and the board's hop matrix), a message to a core on
    another chip also crosses that many chip-to-chip links: ``Board.transfer_energy_pj`` and
    ``transfer_latency_ns`` of ``noc.packet_bits`` (its mesh part is priced between the two sites
    as if on one mesh)."""
    ops = prof.ops
    w_sram = region_for(prof, "weights", "recurrent")
    wb = prof.formats.weight_bits
    e = dict.fromkeys(PHASES, 0.0)
    c = dict.fromkeys(PHASES, 0.0)
    units = entry.n
    weights = sum(it.elements for it in items if it.kind == "weights")
    # forward: synaptic events (spiking: active presynaptic fraction) or MACs, each reading its
    # weight, and the neuron updates
    syn = weights * activity
    op = "synop" if net.spiking else "mac"
    e["forward"] += syn * (ops.energy_pj(op) + access(w_sram, wb)) + units * ops.neuron_update_energy_pj
    c["forward"] += syn * (ops.cycles(op) + access_cycles(w_sram, wb)) + units * ops.neuron_update_cycles
    # error and trace: the rule's declared operation counts for this layer, in proportion to
    # the layer's units in this entry; trace elements are read and written in their region
    share = units / net.units[entry.layer]
    counts = rule_counts[entry.layer]
    e["error"] += counts["error"].get("mac", 0) * share * ops.mac_energy_pj
    c["error"] += counts["error"].get("mac", 0) * share * ops.mac_cycles
    tr = counts["trace"]
    e["trace"] += share * (
        tr.get("trace_update", 0) * ops.trace_update_energy_pj + tr.get("mac", 0) * ops.mac_energy_pj
    )
    c["trace"] += share * (tr.get("trace_update", 0) * ops.trace_update_cycles + tr.get("mac", 0) * ops.mac_cycles)
    for it in items:
        if it.kind in TRACE_KINDS:
            n_el = it.elements / (seq_len if it.kind == "history" else 1)  # one step of history per step
            sram = region_for(prof, it.kind, it.role)
            e["trace"] += n_el * (access(sram, it.bits) + access(sram, it.bits, write=True))
            c["trace"] += n_el * 2 * access_cycles(sram, it.bits)
    # weight update (operation, read and write of the weight), amortised per step
    e["weight_update"] += weights / update_every * _weight_update_pj(prof)
    c["weight_update"] += weights / update_every * (ops.weight_update_cycles + 2 * access_cycles(w_sram, wb))
    # communication: each active unit sends one message to every other core of its layer and to
    # the cores of the next layer, over dimension-ordered routes (nothing between entries of one core)
    msgs = units * activity
    delivery = 0.0
    if len(dests):
        dst = [sites[int(d)] for d in dests.array if int(d) != entry.core]
        hops = hop_energy_pj(prof, sites[entry.core], dst)
        e["communication"] += msgs * (len(dests) * (ops.message_out_energy_pj + ops.message_in_energy_pj) + hops)
        c["communication"] += msgs * len(dests) * (ops.message_out_cycles + ops.message_in_cycles)
        if msgs > 0:
            delivery = float(np.max(route_latency_ns(prof, sites[entry.core], dst)))
        if board is not None:
            chip_of, H = board
            other = dests.array[dests.array != entry.core]
            far = H[chip_of[entry.core], chip_of[other]]
            far = far[far > 0]
            if far.size:
                bits = prof.noc.packet_bits
                e["communication"] += msgs * prof.board.transfer_energy_pj(bits, int(far.sum()))  # linear in hops
                if msgs > 0:
                    delivery += prof.board.transfer_latency_ns(bits, int(far.max()))
    return e, c, delivery


def _metrics(net: Net, items, activity) -> dict:
    total = sum(math.prod(s) for s in net.shapes.values())
    active = sum(int(net.masks[k].sum()) if k in net.masks else math.prod(s) for k, s in net.shapes.items())
    if net.spiking:
        active -= net.units[0]  # no autapses
    flat = [it for its in items for it in its]
    weights = sum(it.elements for it in flat if it.kind == "weights")
    state_bits = sum(it.raw_bits for it in flat if it.kind != "weights")
    weight_bits = sum(it.raw_bits for it in flat if it.kind == "weights")
    return {
        "footprint_bytes": (weight_bits + state_bits) / 8,
        "parameter_count": total,
        "connection_sparsity": 1.0 - active / total if total else 0.0,
        "activation_sparsity": 1.0 - activity,
        "synaptic_operations_dense": weights,
        "synaptic_operations_effective": weights * activity,
        "neuron_operations": sum(net.units),
    }


def raster_energy(profile: Profile, pre, post, core_of, raster, *, inputs=None, sites=None, updated=None) -> dict:
    """Event-level energy (pJ, by kind) and simulated time (``time_ns``) of a spike raster on a
    placed network, summed over its steps: ``events.price_raster`` (SANA-FE's model, checked
    against the real package), here for synapse lists ``pre``/``post``, ``core_of[i]`` the core
    of neuron i, ``raster`` (steps × n, bool); ``inputs``, ``sites`` and ``updated`` as there."""
    costs = price_raster(profile, (pre, post), core_of, raster, inputs=inputs, sites=sites, updated=updated)
    return costs.totals()
