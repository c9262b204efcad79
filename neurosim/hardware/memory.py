"""What one core stores, and how many words it takes: the memory half of ``budget``.

A layout entry (``layout.Entry``) is the set of one layer's units on one core; a core holds one
or more entries. An entry stores its units' rows of the recurrent cell's parameters (the fan-in
rows of its matrices, its elements of its vectors; the other parameters — encoder, decoder, norms,
LRU's C and D, mixes — go whole to the layer's home entry, the one holding unit 0), and its share
of every declared state array (``neurosim.state.ArraySpec``: the model's ``state_arrays`` and the
rule's ``state_spec``) by the array's owner: a unit-owned array is split with its units along
its owner axis (through its index: unit, slot-major state, the unit a parameter writes to, or
SnAp-n's pattern), a presynaptic one is copied onto every entry of its layer, a shared one sits
on the layer's home entry, a global one on layer 0's. One-dimensional unit arrays are per-neuron
records; the rest are rows, one per unit. Optimizer state and a gradient accumulator follow
their parameters' rows when asked for. Element widths: the declaration's own ``bits``, an
override in ``[formats.array_bits]`` (rule arrays as ``RULE.NAME``), else the profile's format of
the declaration's role (state, trace, gradient, optimizer).

Rows are kept as runs ``[(row length, number of rows), ...]``: exact integers whose size does not
grow with the network, so a budget of any size is arithmetic on shapes and counts.

Packing (per region, per entry): rows start on a word boundary and are a bit stream of
``row_header_bits`` + the row's elements (nengo-loihi's rounding to 64-bit words); per-neuron
records (all the neuron arrays of one index) do not straddle words and share each word with
``reserved_bits_per_word`` bits of shared parameters (ReckOn's word layout). Entries of different
layers never share a record word. Sparse rows store each synapse's index, ceil(log2(row length))
bits, with its weight. With ``register_bits`` > 0 the output units' state lives in the core's
output registers (ReckOn's register file), and must fit there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..models.cells import is_sparse, mask_counts
from .layout import layer_units
from .profile import Profile

BELONGS_KIND = {
    "neuron": "neuron_traces",
    "synapse": "synapse_traces",
    "parameter": "parameter_traces",
    "history": "history",
}
LEARNING_KINDS = ("neuron_traces", "synapse_traces", "parameter_traces", "history", "optimizer")
OPTIMIZER_FLOATS = {None: 0, "sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}


# --- rows as runs ------------------------------------------------------------------------------
def runs_of(counts) -> list[tuple[int, int]]:
    """Run-length form of per-row element counts (consecutive equal rows merged)."""
    counts = np.asarray(counts, np.int64).reshape(-1)
    if counts.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(counts)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [counts.size]])
    return [(int(counts[a]), int(b - a)) for a, b in zip(starts, ends)]


def runs_slice(runs: list, lo: int, hi: int) -> list[tuple[int, int]]:
    """The runs of rows lo … hi−1."""
    out, pos = [], 0
    for length, count in runs:
        a, b = max(lo, pos), min(hi, pos + count)
        if b > a:
            out.append((length, b - a))
        pos += count
    return out


def runs_total(runs: list) -> int:
    return sum(length * count for length, count in runs)


def runs_rows(runs: list) -> int:
    return sum(count for _, count in runs)


def runs_max(runs: list) -> int:
    return max((length for length, count in runs if count), default=0)


@dataclass
class Item:
    name: str
    layer: int
    kind: str
    role: str
    bits: int  # per element
    rows: list = field(default_factory=list)  # runs (row length, number of rows) of row-packed items
    records: int = 0  # number of per-index records (record-packed items)
    matrix: bool = False  # a weight matrix (its rows are fan-in rows)

    @property
    def raw_bits(self) -> int:
        return self.bits * (runs_total(self.rows) + self.records)

    @property
    def elements(self) -> int:
        return runs_total(self.rows) + self.records


@dataclass
class Culprit:
    """One limit a budget breaks. ``scope`` "core": ``layer`` and ``core`` say where — for a
    region, the layer of its largest item; for the neuron count, the layer whose units cross it;
    for a per-unit limit, the unit's layer; for a per-core limit, the core's first layer. "chip":
    a limit of the whole chip (more cores than it has), with ``layer`` and ``core`` None."""

    layer: int | None
    core: int | None
    region: str
    needed: int
    available: int
    what: str
    scope: str = "core"

    def __str__(self) -> str:
        where = "chip" if self.scope == "chip" else f"layer {self.layer}, core {self.core}"
        return f"{where}, {self.region}: needs {self.needed:,} but has {self.available:,} ({self.what})"


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


# --- the model and rule, read once --------------------------------------------------------------
class Net:
    """What the budget reads of a model and a rule, once, from shapes (no parameter is built)."""

    def __init__(self, model, rule):
        self.model, self.rule = model, rule
        self.spiking = bool(getattr(model, "spiking", False))
        # a plain graph priced as a model (``mapping.graph.as_model``) has no readout: no decoder
        # weights, no output state, no output units (the mapper's graph has none to place)
        self.has_readout = bool(getattr(model, "has_readout", True))
        self.n_layers, self.n_in = model.n_layers, model.n_in
        self.n_out = model.n_out if self.has_readout else 0
        self.shapes = model.shapes()
        self.param_layout = model.param_layout()
        self.masks = model.param_masks() if hasattr(model, "param_masks") else {}
        self.states = model.state_arrays()
        self.specs = rule.state_spec(model)
        if not self.has_readout:
            out = {k for k, (_, role) in self.param_layout.items() if role == "output"}
            self.shapes = {k: v for k, v in self.shapes.items() if k not in out}
            self.param_layout = {k: v for k, v in self.param_layout.items() if k not in out}
            self.states = [s for s in self.states if s.belongs != "output"]
            self.specs = [s for s in self.specs if s.belongs != "output"]
        self.rule_keeps_history = getattr(rule, "window", 0) is None  # bptt: history grows with T
        self.units = layer_units(model)
        self.rows = {k: _param_runs(s, self.masks.get(k)) for k, s in self.shapes.items()}
        self.unit_params = [set(model.cell_param_names(layer)) for layer in range(self.n_layers)]
        for layer, names in enumerate(self.unit_params):
            for name in names:  # a cell parameter's rows are its units' (Cell.param_unit)
                if self.shapes[name][0] != self.units[layer]:
                    raise ValueError(f"{name}: shape {self.shapes[name]} has no row per unit of layer {layer}")
        self._per_unit: dict = {}

    def recurrent_targets(self, layer: int) -> int:
        """Units of ``layer`` that read one unit of it through the recurrent weights (the most
        over units): n − 1 for the spiking layer (no autapses), n for a dense (n, n) recurrent
        matrix, the largest column count of a masked one, 0 without one (LRU: diagonal). Computed
        once per layer (a mask's column sums; the connectivity checks ask once per core)."""
        if self.spiking:
            return self.units[0] - 1
        key = ("recurrent_targets", layer)
        if key not in self._per_unit:
            n, best = self.units[layer], 0
            for name in self.model.cell_param_names(layer):
                if self.param_layout[name][1] == "recurrent" and self.shapes[name] == (n, n):
                    mask = self.masks.get(name)
                    best = max(best, n if mask is None else int(mask_counts(mask, 0).max()))
            self._per_unit[key] = best
        return self._per_unit[key]

    def next_targets(self, layer: int) -> int:
        """Units that read one unit of ``layer`` in the next stage: the next layer, or the readout."""
        return self.units[layer + 1] if layer + 1 < self.n_layers else self.n_out

    def unit_param_runs(self, layer: int) -> list[tuple[int, int]]:
        """Per unit of ``layer`` (in order), its active cell-parameter entries, as runs."""
        key = ("params", layer)
        if key not in self._per_unit:
            names = sorted(self.unit_params[layer])
            n = self.units[layer]
            if not any(k in self.masks for k in names):
                self._per_unit[key] = [(sum(math.prod(self.shapes[k][1:]) for k in names), n)]
            else:
                counts = np.zeros(n, np.int64)
                for k in names:
                    if len(self.shapes[k]) < 2:  # a vector: one entry per unit
                        counts += 1
                        continue
                    for length, count, start in _with_starts(self.rows[k]):
                        counts[start : start + count] += length
                self._per_unit[key] = runs_of(counts)
        return self._per_unit[key]

    def per_unit(self, spec) -> list[tuple[int, int]]:
        """Per unit of ``spec.layer`` (in order), the elements of a unit-owned array it holds, as
        runs (complex arrays count once here; ``spec_share`` doubles them)."""
        key = ("spec", spec)
        if key in self._per_unit:
            return self._per_unit[key]
        n = self.units[spec.layer]
        shape = spec.shape
        length = shape[spec.axis] if shape else 1
        other = math.prod(shape) // length if length else 0
        if spec.index == "unit":
            lo, hi = spec.offset, spec.offset + length
            runs = [(0, lo), (other, hi - lo), (0, n - hi)]
        elif spec.index == "state":
            runs = [(other * (length // n), n)]
        elif spec.index == "param":
            runs = [(k * other, c) for k, c in self.unit_param_runs(spec.layer)]
        else:  # "pattern": the rule says how many kept entries each unit's parameters have
            runs = self.rule.pattern_runs(self.model, spec.layer, self.unit_param_runs(spec.layer))
        runs = [(k, c) for k, c in runs if c > 0]
        if runs_total(runs) != math.prod(shape):
            raise ValueError(f"{spec.name}: the units' shares sum to {runs_total(runs)}, not {math.prod(shape)}")
        self._per_unit[key] = runs
        return runs


def _with_starts(runs):
    pos = 0
    for length, count in runs:
        yield length, count, pos
        pos += count


def _param_runs(shape, mask) -> list[tuple[int, int]]:
    if len(shape) < 2:
        return [(math.prod(shape), 1)]
    if mask is None:
        return [(math.prod(shape[1:]), shape[0])]
    if is_sparse(mask):  # a 2-D structural mask kept sparse (models.cells._structure)
        return runs_of(mask_counts(mask, 1))
    return runs_of(np.asarray(mask).reshape(shape[0], -1).sum(1))


def runs_select(runs: list, units) -> list[tuple[int, int]]:
    """The runs of the rows ``units`` (a ``Units`` set) selects, in order, equal neighbours
    merged. Vectorised: the runs' start rows are kept per runs list (``_run_arrays``) and every
    piece (interval of ``units`` × run it overlaps) is cut at once, so a scattered unit set of a
    mapper (10⁴ intervals) over a masked layer's runs (10⁵, one per row length change) costs
    numpy calls, not a Python loop over either."""
    if not runs or not units.runs:
        return []
    L, S = _run_arrays(runs)
    iv = np.asarray(units.runs, np.int64).reshape(-1, 2)
    a, b = iv[:, 0], iv[:, 1]
    i0 = np.maximum(np.searchsorted(S, a, side="right") - 1, 0)
    i1 = np.minimum(np.searchsorted(S, b, side="left"), L.size)
    reps = np.maximum(i1 - i0, 0)
    J = np.repeat(np.arange(iv.shape[0]), reps)
    I = i0[J] + np.arange(J.size) - np.repeat(np.cumsum(reps) - reps, reps)
    n = np.minimum(b[J], S[I + 1]) - np.maximum(a[J], S[I])
    keep = n > 0
    lengths, n = L[I][keep], n[keep]
    if lengths.size == 0:
        return []
    first = np.ones(lengths.size, bool)
    first[1:] = lengths[1:] != lengths[:-1]
    starts = np.flatnonzero(first)
    sums = np.add.reduceat(n, starts)
    return list(zip(lengths[starts].tolist(), sums.tolist()))


_RUNS_CACHE: dict[int, tuple] = {}


def _run_arrays(runs: list) -> tuple[np.ndarray, np.ndarray]:
    """(row lengths, start rows + the end) of a runs list, remembered per list object (``Net``'s
    runs are built once and read on every core the search tries); the list is kept with its
    arrays so that its id is not reused, and the oldest entries go past 256; lists of ≤ 64 runs
    are read again each time)."""
    if len(runs) <= 64:  # cheap to read again: not remembered
        C = np.fromiter((count for _, count in runs), np.int64, len(runs))
        return np.fromiter((length for length, _ in runs), np.int64, len(runs)), np.concatenate([[0], np.cumsum(C)])
    hit = _RUNS_CACHE.get(id(runs))
    if hit is not None and hit[0] is runs and hit[3] == len(runs):
        return hit[1], hit[2]
    L = np.fromiter((length for length, _ in runs), np.int64, len(runs))
    C = np.fromiter((count for _, count in runs), np.int64, len(runs))
    S = np.concatenate([[0], np.cumsum(C)])
    if len(_RUNS_CACHE) >= 256:
        _RUNS_CACHE.pop(next(iter(_RUNS_CACHE)))
    _RUNS_CACHE[id(runs)] = (runs, L, S, len(runs))
    return L, S


# --- what one entry stores ----------------------------------------------------------------------
def spec_bits(profile: Profile, spec, rule_name: str | None) -> int:
    """Bits of one element: the declaration's own (``bits``), an override in
    ``[formats.array_bits]`` (rule arrays as ``RULE.NAME``, model arrays by name), else the
    profile's format of the declaration's role."""
    if spec.bits is not None:
        return int(spec.bits)
    key = f"{rule_name}.{spec.name}" if rule_name else spec.name
    if key in profile.array_bits:
        return int(profile.array_bits[key])
    if rule_name is None and spec.name in profile.array_bits:
        return int(profile.array_bits[spec.name])
    return int(getattr(profile.formats, f"{'gradient' if spec.role == 'optimizer' else spec.role}_bits"))


def spec_share(net: Net, spec, entry, contexts: int = 1) -> tuple[list, int] | None:
    """(rows, records) of ``spec`` that ``entry`` (a ``layout.Entry``) stores, or None; a
    per-sample array once per context the chip holds (``core.contexts``)."""
    share = _share(net, spec, entry)
    if share is None or contexts == 1 or not spec.per_sample:
        return share
    rows, records = share
    return [(length, count * contexts) for length, count in rows], records * contexts


def _share(net: Net, spec, entry) -> tuple[list, int] | None:
    mult = 2 if spec.complex else 1
    layer = 0 if spec.layer == -1 else spec.layer
    if entry.layer != layer:
        return None
    if spec.owner in ("shared", "global") and not entry.home:
        return None
    one_d = len(spec.shape) <= 1 and spec.index in ("unit", "state")
    if spec.owner == "unit":
        sel = runs_select(net.per_unit(spec), entry.units)
        if one_d:
            return [], runs_total(sel) * mult
        return [(k * mult, c) for k, c in sel if k], 0
    # whole: "pre" on every entry of its layer, "shared" / "global" on the home entry
    shape = spec.shape
    if len(shape) <= 1:
        return [], math.prod(shape) * mult
    return [(math.prod(shape[1:]) * mult, shape[0])], 0


def entry_items(net: Net, profile: Profile, entry, opts: dict) -> list[Item]:
    """The items of one layout entry (see the module docstring). ``opts``: optimizer floats per
    parameter (``opt_floats``), ``accumulate`` (a gradient accumulator), ``seq_len`` (bptt history)."""
    items = _weight_items(net, profile, entry, opts)
    contexts = int(profile.core.contexts)
    for spec in net.states:
        if spec.belongs == "event":  # spikes are packets, not memory
            continue
        share = spec_share(net, spec, entry, contexts)
        bits = spec_bits(profile, spec, None)
        if share and bits and (share[0] or share[1]):
            kind = "output_state" if spec.belongs == "output" else "neuron_state"
            role = "output" if spec.belongs == "output" else "recurrent"
            items.append(Item(spec.name, entry.layer, kind, role, bits, rows=share[0], records=share[1]))
    for spec in net.specs:
        share = spec_share(net, spec, entry, contexts)
        bits = spec_bits(profile, spec, net.rule.name)
        if share and bits and (share[0] or share[1]):
            kind = BELONGS_KIND[spec.belongs]
            rows, records = share
            if net.rule_keeps_history and kind == "history":
                rows = [(length * opts["seq_len"], count) for length, count in rows]
            items.append(Item(spec.name, entry.layer, kind, "recurrent", bits, rows=rows, records=records))
    return items


def _weight_items(net, profile, entry, opts) -> list[Item]:
    items = []
    for name, (pl, role) in net.param_layout.items():
        if pl != entry.layer:
            continue
        shape, rows = net.shapes[name], net.rows[name]
        if name in net.unit_params[entry.layer]:  # one row (or element) per unit
            rows = runs_select(rows, entry.units) if len(shape) >= 2 else [(entry.n, 1)]
        elif not entry.home:
            continue
        wbits = profile.bits_of(name.split(".")[-1], "weight")
        if name in net.masks and len(shape) >= 2:  # sparse rows store each synapse's index too
            wbits += max(1, math.ceil(math.log2(math.prod(shape[1:]))))
        items.append(Item(name, entry.layer, "weights", role, wbits, rows=rows, matrix=len(shape) >= 2))
        if opts["opt_floats"]:
            opt_rows = [(length * opts["opt_floats"], count) for length, count in rows]
            items.append(Item(f"opt:{name}", entry.layer, "optimizer", role, profile.bits_of("optimizer", "gradient"),
                              rows=opt_rows))  # fmt: skip
        if opts["accumulate"]:
            items.append(
                Item(f"grad:{name}", entry.layer, "optimizer", role, profile.bits_of("gradient", "gradient"), rows=rows)
            )
    return items


def region_for(profile: Profile, kind: str, role: str):
    for want in (f"{kind}.{role}", kind):
        for s in profile.srams:
            if want in s.holds:
                return s
    return None


def pack(sram, items) -> int:
    """Words used in ``sram`` by ``items`` of one entry (rows as bit streams, records not
    straddling words)."""
    usable = sram.word_bits - sram.reserved_bits_per_word
    words = 0
    for it in items:
        for length, count in it.rows:
            if length:
                words += count * -(-(sram.row_header_bits + length * it.bits) // usable)
    recs = [it for it in items if it.records]
    if recs:
        prev = 0
        for length in sorted({it.records for it in recs}):
            rec_bits = sum(it.bits for it in recs if it.records >= length)
            count = length - prev
            per_word = usable // rec_bits
            words += -(-count // per_word) if per_word else -(-(count * rec_bits) // usable)
            prev = length
    return words


def access(sram, bits: float, write: bool = False) -> float:
    """Energy of reading (or writing) ``bits`` from ``sram``, in whole-word units (0 without a region)."""
    if sram is None:
        return 0.0
    return (sram.write_energy_pj if write else sram.read_energy_pj) * bits / sram.word_bits


def access_cycles(sram, bits: float) -> float:
    """Cycles to read (or write) ``bits`` from ``sram``: whole words × its ``access_cycles``."""
    if sram is None:
        return 0.0
    return sram.access_cycles_for(bits / sram.word_bits)


# --- one core -----------------------------------------------------------------------------------
@dataclass
class CoreStore:
    """The memory of one core: its entries' items, region use, and the limits it breaks."""

    core: int
    items: list  # per entry: list[Item]
    regions: list
    culprits: list
    learning_bits: int = 0
    inference_bits: int = 0
    unplaced: list = field(default_factory=list)

    @property
    def holds(self) -> bool:
        """Every region, the neuron count and the output registers within their limits."""
        return not any(c.region in ("neurons", "registers") for c in self.culprits) and all(
            r.fits for r in self.regions
        )


def core_store(net: Net, profile: Profile, core: int, entries: list, opts: dict, destinations: int = 0) -> CoreStore:
    """Items, region use and culprits of ``core`` holding ``entries`` (``layout.Entry``);
    ``destinations``: distinct other cores it sends to (one routing entry each)."""
    items = [entry_items(net, profile, e, opts) for e in entries]
    entry_bits = int(profile.noc.routing_entry_bits)
    if destinations and entry_bits:
        items[0].append(Item("routing_table", entries[0].layer, "routing", "other", entry_bits,
                             records=destinations))  # fmt: skip
    out = CoreStore(core, items, [], _limits(net, profile, core, entries, items))
    by_region: dict = {}
    registers = []
    for k, its in enumerate(items):
        for it in its:
            if it.kind in LEARNING_KINDS:
                out.learning_bits += it.raw_bits
            else:
                out.inference_bits += it.raw_bits
            if it.kind == "output_state" and profile.core.register_bits:
                registers.append(it)
                continue
            kind = "neuron_state" if it.kind == "output_state" else it.kind
            sram = region_for(profile, kind, it.role)
            if sram is None:
                out.unplaced.append(it.name)
                out.culprits.append(Culprit(it.layer, core, "<none>", it.raw_bits, 0,
                                            f"{it.name}: no region holds {kind!r}"))  # fmt: skip
                continue
            by_region.setdefault(sram.name, {}).setdefault(k, []).append(it)
    reg_bits = sum(it.raw_bits for it in registers)
    if reg_bits > profile.core.register_bits:
        what = ", ".join(f"{it.name}: {it.records} output units × {it.bits} bits" for it in registers)
        out.culprits.append(Culprit(registers[-1].layer, core, "registers", reg_bits,
                                    int(profile.core.register_bits), what))  # fmt: skip
    for s in profile.srams:
        if s.name in by_region:
            _use_region(out, s, by_region[s.name])
    return out


def _limits(net: Net, profile: Profile, core: int, entries: list, items: list) -> list:
    """Units over ``max_neurons`` on the core; fan-in (synapses into one unit) over ``max_fan_in``."""
    out, units = [], 0
    max_neurons, max_fan_in = int(profile.core.max_neurons), int(profile.core.max_fan_in)
    for e, its in zip(entries, items):
        units += e.n
        if units > max_neurons and not any(c.region == "neurons" for c in out):
            total = sum(x.n for x in entries)
            out.append(Culprit(e.layer, core, "neurons", total, max_neurons, "units on one core"))
        fan_in = sum(
            runs_max(it.rows) for it in its if it.kind == "weights" and it.role in ("input", "recurrent") and it.matrix
        )
        if fan_in > max_fan_in:
            out.append(Culprit(e.layer, core, "fan_in", fan_in, max_fan_in, "synapses into one neuron"))
    return out


def _use_region(out: CoreStore, s, groups: dict) -> None:
    """Pack one region (each entry's items apart) and record its use and any overflow."""
    words = sum(pack(s, its) for its in groups.values())
    names: dict = {}
    for its in groups.values():
        for it in its:
            names[it.name] = names.get(it.name, 0) + it.raw_bits
    use = RegionUse(out.core, s.name, s.capacity_bits, words * s.word_bits, names)
    out.regions.append(use)
    if not use.fits:
        layer = max((it for its in groups.values() for it in its), key=lambda it: it.raw_bits).layer  # the largest
        what = f"bits: {', '.join(f'{k} {v:,}' for k, v in names.items())}"
        out.culprits.append(Culprit(layer, out.core, s.name, use.used_bits, s.capacity_bits, what))
    if s.reserved_bits_per_word:  # shared parameters stored in the record words: inference state
        for its in groups.values():
            recs = [i for i in its if i.records]
            if recs:
                out.inference_bits += pack(s, recs) * s.reserved_bits_per_word
