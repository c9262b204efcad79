"""``simulate``: online learning as the cores of a layout execute it, counted step by step.

**Design.** The numerics are ``ns.train``'s own: ``simulate`` runs ``train`` itself (the same
loop, the rule's own ``step`` on whole layers, the same optimizer, seed and batches) with hooks
(``train._Loop.iteration``) that, after every write, hold each array in its number format and
count what each core executed. Nothing of a rule is written twice, so ``formats="float"`` equals
``ns.train`` bit for bit on any layout (a layer split over cores computes the same sums in the
same order), and ``formats="profile"`` is the same learning with every stored array rounded.
What is per core comes from the declarations: each element's owning core (``owners.py``: the
layout's unit sets through each array's owner axis and index), its format (``numbers.py``: the
profile's widths and a per-array scaling) and the events it takes part in (``costs.py``: the one
event model of ``hardware.events``).

**One timestep**, per core, in order: receive (packets of the step's active sources), neuron
update, spatial error (the rule's declared error operations, for the core's share of its layer's
units), trace update (the rule's declared trace operations for that share, and a read and a
write of every trace element the core holds), gradient accumulation (a read and a write of the
accumulator for every parameter element on the core with a non-zero gradient, when gradients
are accumulated, ``update_every`` ≠ 1), the weight update every ``update_every`` steps (an
operation, a read and a write for every parameter element on the core the optimizer changed),
send (one packet per active unit and destination core). Cycles are the profile's per-operation
cycles and SRAM ``access_cycles`` for these counts; energies the same counts' energies, plus
static power × the step's time, shared equally by the cores in use.

**Stored in the formats** (``formats="profile"``): weights after every update (and the initial
weights), the model's state (h, membrane, adaptation, pooled sum, readout) and the rule's
declared learning state after every step, the gradient accumulator after every accumulation.
What a step computes in between (the forward cache, the learning signal) is the core's
datapath, not stored. Optimizer state (Adam's moments) stays in float in this slice.

**Batches.** A chip runs a batch's samples one after another. The rule's step stays vectorised
over the batch: the per-sample computations are independent and the gradient is their sum, so the
numbers are those of samples in sequence with the gradient accumulated (up to the order of that
sum, which vectorising keeps equal to ``ns.train``'s). Costs are per sample: each sample's step
is priced and scheduled on its own, with its own barrier, and the step's cycles, energy and time
are their sums (the weight update once, after the last sample).
"""

from __future__ import annotations

import numpy as np

from .. import train as _train
from .._errors import bad, check_choice
from .._io import prepare_output_dir
from ..hardware import profile as _profile
from ..hardware.capabilities import check_runs
from ..hardware.connectivity import cores_of, destinations, n_sends
from ..hardware.events import COUNT_KINDS
from ..hardware.layout import Layout, as_layout, layers_in_order
from ..hardware.memory import (
    BELONGS_KIND,
    OPTIMIZER_FLOATS,
    Net,
    access,
    access_cycles,
    core_store,
    region_for,
    spec_bits,
)
from ..optim import adam
from .costs import PHASES, ChipNet, link_name
from .numbers import DEFAULT_RANGE, ArrayFormat, FormatError, Store, array_format, check_holds, weight_range
from .owners import Owners
from .run import ChipRun

FORMATS = ("profile", "float")
LEARNING = ("error", "trace", "gradient", "update")


def simulate(
    model,
    rule,
    task,
    profile,
    layout: Layout | dict | None = None,
    steps: int = 100,
    optimizer=None,
    batch_size: int = 1,
    seed: int = 0,
    formats: str = "profile",
    update_every: int | str = "sequence",
    *,
    learn: bool = True,
    ranges: dict | None = None,
    timing: str = "detailed",
    clip: float | None = None,
    activity: str = "raise",
    progress: bool = False,
    out_dir: str | None = None,
) -> ChipRun:
    """Train ``model`` with ``rule`` on ``task`` for ``steps`` iterations as ``profile``'s chip
    would, on ``layout`` (default ``layers_in_order``), and count it (module docstring).

    ``formats``: "profile" (every stored array in the profile's formats) or "float" (the model's
    dtype: ``ns.train``'s numbers exactly). ``learn=False``: inference only (no learning phases,
    no weight updates). ``ranges``: the fixed-point range of arrays or roles (``numbers.py``).
    ``timing``: the event model's NoC scheduler, "detailed" or "simple". ``out_dir``: write
    ``chip_run.json`` there (atomically). Bad input — an unknown formats mode, a layout that does
    not fit the model or the chip, a format that cannot hold the initial weights — is refused
    before the first step, naming the problem."""
    formats = check_choice("formats", formats, FORMATS)
    timing = check_choice("timing", timing, ("detailed", "simple"))
    if not isinstance(learn, bool):
        raise bad("learn", learn, "True or False")
    if ranges is not None and not isinstance(ranges, dict):
        raise bad("ranges", ranges, "a dict of array key or role → range")
    _train._check_objects(model=model, rule=rule, task=task, optimizer=optimizer)
    _train._check_args(model, task, steps=steps, batch_size=batch_size, seed=seed, update_every=update_every)
    if isinstance(profile, str):
        profile = _profile.load_profile(profile)
    elif not isinstance(profile, _profile.Profile):
        raise bad("profile", profile, "a Profile or the name of a bundled profile")
    rule.check_model(model)
    check_runs(model, profile)  # a chip that cannot run the model as it is (messages, neurons)
    if any(s.belongs == "history" for s in rule.state_spec(model)):
        raise ValueError(f"rule {rule.name!r} keeps a history of the sequence; the chip runs online rules only")
    optimizer = optimizer or adam(1e-3)
    opt_name = _optimizer_name(optimizer)
    accumulate = update_every != 1
    if layout is None:
        layout = layers_in_order(model, profile, rule, optimizer=opt_name, update_every=2 if accumulate else 1)
    layout = as_layout(layout, model, profile).validate(model, profile)
    if out_dir is not None:
        prepare_output_dir(out_dir)  # an unwritable directory fails now, not after the run
    params = model.init(seed)
    chip = _Chip(model, rule, task, profile, layout, params, formats, learn, dict(ranges or {}), timing, seed,
                 batch_size, accumulate, opt_name)  # fmt: skip
    res = _train.train(
        model, rule, task, optimizer, steps, batch_size=batch_size, seed=seed, params=chip.params,
        update_every=update_every, clip=clip, progress=progress, activity=activity, hooks=chip,
    )  # fmt: skip
    chip.flush()
    run = chip.result(res)
    if out_dir is not None:
        run.save(out_dir)
    return run


def _words(sram, bits: int):
    """(region name, words) one element of ``bits`` takes in ``sram`` (None: no region holds it)."""
    return (sram.name, bits / sram.word_bits) if sram is not None else (None, 0.0)


def _add_words(words: dict, region, per: float, n) -> None:
    """Add ``n`` (per core) elements of ``per`` words each, read once and written once."""
    if region is not None:
        words[region] = words.get(region, 0.0) + np.asarray(n, float) * per


def _optimizer_name(optimizer) -> str | None:
    kind = getattr(optimizer, "kind", None)
    if kind == "sgd" and getattr(optimizer, "momentum", 0.0) > 0:
        return "momentum"
    return kind if kind in OPTIMIZER_FLOATS else "adam"


class _Chip:
    """The hooks ``train`` calls (``_Loop.iteration``), and what they record."""

    def __init__(self, model, rule, task, profile, layout, params, formats, learn, ranges, timing, seed, batch,
                 accumulate, opt_name):  # fmt: skip
        self.model, self.rule, self.task, self.profile, self.layout = model, rule, task, profile, layout
        self.formats, self.learn, self.ranges, self.timing, self.batch = formats, learn, ranges, timing, batch
        self.accumulating, self.opt_name = accumulate, opt_name
        self.owners = Owners(model, rule, layout, params)
        self.net = ChipNet(model, rule, profile, layout)
        self.C = self.net.n_cores
        self.cores_in_use = sorted({e.core for e in layout.entries()})
        self.spiking = self.net.spiking
        self.store = Store(seed, self.C) if formats == "profile" else None
        self.param_layout = model.param_layout()
        self.fmt: dict[str, ArrayFormat] = {}
        self.params = dict(params)
        self._formats_for_params()
        self._formats_for_state()
        self._learning_constants()
        self.records: list[dict] = []
        self.link_totals: dict[int, int] = {}
        self.pending = None
        self.prev = None

    # --- formats --------------------------------------------------------------------------------
    def _range(self, key: str, role: str, *alias) -> float:
        for k in (key, *alias, role):
            if k in self.ranges:
                return float(self.ranges[k])
        return DEFAULT_RANGE["gradient" if role == "optimizer" else role]

    def _formats_for_params(self) -> None:
        p, gbits = self.profile, self.profile.bits_of("gradient", "gradient")
        for name, value in self.params.items():
            place = self.owners.params[name]
            bits = p.bits_of(name.split(".")[-1], "weight")
            fmt = array_format(p, name, "weight", bits, weight_range(value, place.cores, self.ranges, name))
            self.fmt[name] = fmt
            self.fmt["grad:" + name] = array_format(p, "grad:" + name, "gradient", gbits,
                                                    self._range("grad:" + name, "gradient"))  # fmt: skip
            if self.store is not None:
                check_holds(fmt, value, place.cores)
                v = np.array(value, copy=True)
                self.store.write(fmt, v, place)
                self.params[name] = v

    def _formats_for_state(self) -> None:
        """One format per stored model and rule state array (float ones: not the spikes, the
        refractory counter or the step count)."""
        self.state_specs = []
        for spec in self.model.state_arrays():
            if spec.belongs == "event" or spec.dtype == "int" or spec.name == "count":
                continue
            bits = spec_bits(self.profile, spec, None)
            if bits:
                key = spec.name
                fmt = array_format(self.profile, key, spec.role, bits, self._range(key, spec.role))
                self.state_specs.append(("model", spec, fmt, self.owners.of_spec(spec)))
        for spec in self.rule.state_spec(self.model):
            if spec.dtype == "int":
                continue
            bits = spec_bits(self.profile, spec, self.rule.name)
            key = f"{self.rule.name}.{spec.name}@{spec.layer}"
            fmt = array_format(self.profile, key, spec.role, bits,
                               self._range(key, spec.role, f"{self.rule.name}.{spec.name}"))  # fmt: skip
            self.state_specs.append(("rule", spec, fmt, self.owners.of_spec(spec)))
        for item in self.state_specs:
            self.fmt[item[2].key] = item[2]

    def _array(self, kind, spec, rule_state):
        if kind == "model":
            ms = rule_state.model
            if spec.name.startswith("h") and spec.name[1:].isdigit():
                return ms.h[int(spec.name[1:])]
            return getattr(ms, spec.name, None)
        tr = rule_state.traces[max(spec.layer, 0)]
        if isinstance(tr, np.ndarray):
            return tr
        return getattr(tr, spec.name, None)

    # --- learning-phase constants ---------------------------------------------------------------
    def _learning_constants(self) -> None:
        """Per core: the error and trace operations and trace accesses of one sample's step;
        per parameter: the accumulator and weight access costs of one element."""
        p, ops, C = self.profile, self.profile.ops, self.C
        self.per_sample = {ph: (np.zeros(C), np.zeros(C)) for ph in ("error", "trace")}  # (cycles, pJ)
        self.trace_words: dict = {}  # region → per core, words of trace read (and written) per sample
        counts = self.rule.op_counts(self.model)
        for layer, n in enumerate(self.net.units):
            share = np.bincount(self.owners.core_of[layer], minlength=C)[:C] / n
            err, tr = counts[layer]["error"], counts[layer]["trace"]
            cyc, pj = self.per_sample["error"]
            cyc += share * err.get("mac", 0) * ops.mac_cycles
            pj += share * err.get("mac", 0) * ops.mac_energy_pj
            cyc, pj = self.per_sample["trace"]
            cyc += share * (tr.get("trace_update", 0) * ops.trace_update_cycles + tr.get("mac", 0) * ops.mac_cycles)
            pj += share * (
                tr.get("trace_update", 0) * ops.trace_update_energy_pj + tr.get("mac", 0) * ops.mac_energy_pj
            )
        for kind, spec, _, place in self.state_specs:
            if kind != "rule" or spec.belongs not in BELONGS_KIND:
                continue
            sram = region_for(p, BELONGS_KIND[spec.belongs], "recurrent")
            bits = spec_bits(p, spec, self.rule.name)
            n_el = place.count(n_cores=C) * (2 if spec.complex else 1)
            cyc, pj = self.per_sample["trace"]
            cyc += n_el * 2 * access_cycles(sram, bits)
            pj += n_el * (access(sram, bits) + access(sram, bits, write=True))
            if sram is not None:  # words read, and as many written
                self.trace_words[sram.name] = self.trace_words.get(sram.name, 0.0) + n_el * bits / sram.word_bits
        self.elem_cost = {}  # name → (accumulate (cycles, pJ), update (cycles, pJ)) per element
        self.elem_words = {}  # name → ((accumulator region, words), (weight region, words)) per element
        gbits = p.bits_of("gradient", "gradient")
        for name in self.params:
            role = self.param_layout[name][1]
            g_sram, w_sram = region_for(p, "optimizer", role), region_for(p, "weights", role)
            wbits = p.bits_of(name.split(".")[-1], "weight")
            acc = (2 * access_cycles(g_sram, gbits), access(g_sram, gbits) + access(g_sram, gbits, write=True))
            upd = (
                ops.weight_update_cycles + 2 * access_cycles(w_sram, wbits),
                ops.weight_update_energy_pj + access(w_sram, wbits) + access(w_sram, wbits, write=True),
            )
            self.elem_cost[name] = (acc, upd)
            self.elem_words[name] = (_words(g_sram, gbits), _words(w_sram, wbits))

    # --- the hooks ------------------------------------------------------------------------------
    def start(self, it, batch, rule_state):
        self.flush()
        if self.prev is None or not self.task.continuing:
            z = np.zeros(self.net.n, bool)
            self.prev = [(z, z) for _ in range(batch.xs.shape[1])]
        if self.store is not None:
            self._hold_state(rule_state)
        return rule_state

    def step(self, t, rule_state, grads, batch):
        self.flush()
        if self.store is not None:
            self._hold_state(rule_state)
        C = self.C
        learn = {ph: (np.zeros(C), np.zeros(C)) for ph in LEARNING}
        words: dict = {}
        x_batch = np.asarray(batch.xs[t]).shape[0]  # per-sample work, once per sample
        if self.learn:
            for ph in ("error", "trace"):
                learn[ph] = (self.per_sample[ph][0].copy(), self.per_sample[ph][1].copy())
            for region, w in self.trace_words.items():
                _add_words(words, region, 1.0, w * x_batch)
            if self.accumulating:
                cyc, pj = learn["gradient"]
                for name, g in grads.items():
                    n_el = self.owners.params[name].count(np.asarray(g) != 0, C)
                    (c_acc, e_acc), _ = self.elem_cost[name]
                    cyc += n_el * c_acc
                    _add_words(words, *self.elem_words[name][0], n_el * x_batch)
                    pj += n_el * e_acc
        x = np.asarray(batch.xs[t])
        acts = [self.net.activity(x, rule_state.model, b) for b in range(x.shape[0])]
        self.pending = {"learn": learn, "acts": acts, "update": None, "words": words}
        return rule_state

    def accumulate(self, acc):
        if self.store is not None:
            for name, a in acc.items():
                self.store.write(self.fmt["grad:" + name], a, self.owners.params[name])
        return acc

    def update(self, old, new, t):
        if not self.learn:
            return old
        C = self.C
        cyc, pj = np.zeros(C), np.zeros(C)
        for name, v in new.items():
            changed = np.asarray(v) != np.asarray(old[name])
            n_el = self.owners.params[name].count(changed, C)
            _, (c_upd, e_upd) = self.elem_cost[name]
            cyc += n_el * c_upd
            if self.pending is not None:
                _add_words(self.pending["words"], *self.elem_words[name][1], n_el)
            pj += n_el * e_upd
            if self.store is not None:
                self.store.write(self.fmt[name], v, self.owners.params[name], old=np.asarray(old[name]))
        if self.pending is not None:
            self.pending["update"] = (cyc, pj)
        return new

    def _hold_state(self, rule_state) -> None:
        for kind, spec, fmt, place in self.state_specs:
            a = self._array(kind, spec, rule_state)
            if isinstance(a, np.ndarray) and a.size:
                self.store.write(fmt, a, place)

    # --- pricing --------------------------------------------------------------------------------
    def flush(self) -> None:
        """Price the pending step: each sample in turn, the update after the last."""
        if self.pending is None:
            return
        pend, self.pending = self.pending, None
        C, P = self.C, len(PHASES)
        cycles, energy = np.zeros((C, P)), np.zeros((C, P))
        cycle_ns = self.profile.chip.cycle_ns
        step_ns, worst, crit_core = 0.0, -1.0, -1
        links: dict[int, int] = {}
        shape = None
        executed = {k: np.zeros(C, np.int64) for k in COUNT_KINDS}
        n_samples = len(pend["acts"])
        for b, (fired, nonzero) in enumerate(pend["acts"]):
            lead = np.zeros(C)
            for ph in LEARNING:
                c, e = pend["learn"][ph]
                if ph == "update":
                    if pend["update"] is None or b != n_samples - 1:
                        continue
                    c, e = pend["update"]
                cycles[:, PHASES.index(ph)] += c
                energy[:, PHASES.index(ph)] += e
                lead += c * cycle_ns
            fired_prev, nonzero_prev = self.prev[b]
            counts, by_phase, cyc, time, stats = self.net.price(fired, nonzero_prev, fired_prev, lead, self.timing)
            self.prev[b] = (fired, nonzero)
            for k in COUNT_KINDS:
                executed[k] += counts[k]
            for ph in ("neuron", "receive", "send"):
                cycles[:, PHASES.index(ph)] += cyc[ph]
                energy[:, PHASES.index(ph)] += by_phase[ph]
            step_ns += time + self.net.ev.barrier_ns
            if stats is not None:
                shape = stats["link_shape"]
                for k, v in stats["links"].items():
                    links[k] = links.get(k, 0) + v
                if time > worst:
                    worst = time
                    crit_core = int(np.argmax(stats["finished"][:C]))
        if crit_core < 0:
            crit_core = int(np.argmax(cycles.sum(1)))
        static = self.profile.chip.static_power_mw * step_ns  # mW × ns = pJ
        energy[self.cores_in_use, PHASES.index("static")] += static / len(self.cores_in_use)
        for k, v in links.items():
            self.link_totals[k] = self.link_totals.get(k, 0) + v
        self.link_shape = shape
        top = max(links, key=links.get) if links else None
        self.records.append({
            "sram_words": pend["words"], "events": executed,
            "cycles": cycles, "energy": energy, "step_ns": step_ns, "critical_core": crit_core,
            "critical_link": link_name(top, shape) if top is not None else "",
            "critical_link_packets": links.get(top, 0) if top is not None else 0,
        })  # fmt: skip

    # --- the result -----------------------------------------------------------------------------
    def memory(self) -> list[dict]:
        """Per core: region use (``core_store``, as ``budget`` stores the same layout) and, per
        stored item, the elements ``core_store`` declares beside those the simulation holds there."""
        net = Net(self.model, self.rule)
        entries = self.layout.entries()
        dests = destinations(net, entries)
        opts = {"opt_floats": OPTIMIZER_FLOATS[self.opt_name], "accumulate": self.accumulating, "seq_len": 1}
        held = self.resident()
        out = []
        for core, idx in cores_of(entries).items():
            store = core_store(net, self.profile, core, [entries[i] for i in idx], opts, n_sends(dests, idx, core))
            declared: dict[str, int] = {}
            for its in store.items:
                for it in its:
                    declared[f"{it.name}@{it.layer}"] = declared.get(f"{it.name}@{it.layer}", 0) + it.elements
            out.append({
                "core": core,
                "regions": {r.region: {"used_bits": r.used_bits, "capacity_bits": r.capacity_bits}
                            for r in store.regions},
                "declared_elements": declared,
                "resident_elements": {k: int(v[core]) for k, v in held.items() if v[core]},
            })  # fmt: skip
        return out

    def resident(self) -> dict[str, np.ndarray]:
        """Elements per core of every array the simulation stores, keyed as ``core_store``'s
        items (``NAME@LAYER``; parameters, their optimizer state and accumulator by full name)."""
        C, out = self.C, {}
        n_opt = OPTIMIZER_FLOATS[self.opt_name]
        for name, (layer, _) in self.param_layout.items():
            n = self.owners.params[name].count(n_cores=C)
            out[f"{name}@{layer}"] = n
            if n_opt:
                out[f"opt:{name}@{layer}"] = n * n_opt
            if self.accumulating:
                out[f"grad:{name}@{layer}"] = n
        for spec in list(self.model.state_arrays()) + list(self.rule.state_spec(self.model)):
            if spec.belongs == "event":
                continue
            n = self.owners.of_spec(spec).count(n_cores=C) * (2 if spec.complex else 1)
            key = f"{spec.name}@{max(spec.layer, 0)}"
            out[key] = out.get(key, 0) + n
        if self.profile.noc.routing_entry_bits:
            first = {}
            for e in self.layout.entries():  # core_store puts the table with the core's first entry
                first.setdefault(e.core, e.layer)
            routes = self.net.routing_entries()
            for core, layer in first.items():
                if routes[core]:
                    key = f"routing_table@{layer}"
                    out.setdefault(key, np.zeros(C, np.int64))[core] += routes[core]
        return out

    def result(self, res) -> ChipRun:
        T = len(self.records)
        C, P = self.C, len(PHASES)
        cycles = np.stack([r["cycles"] for r in self.records]) if T else np.zeros((0, C, P))
        energy = np.stack([r["energy"] for r in self.records]) if T else np.zeros((0, C, P))
        step_ns = np.array([r["step_ns"] for r in self.records])
        overflows = {"saturations": {}, "lost_updates": {}}
        if self.store is not None:
            overflows["saturations"] = {k: v.tolist() for k, v in self.store.saturations.items()}
            overflows["lost_updates"] = {k: v.tolist() for k, v in self.store.lost.items()}
        shape = getattr(self, "link_shape", None)
        links = sorted(self.link_totals.items(), key=lambda kv: -kv[1])
        link_load = {
            "packets_per_link": {link_name(k, shape): v for k, v in links} if shape else {},
            "busiest_per_step": [r["critical_link_packets"] for r in self.records],
        }
        regions = sorted({k for r in self.records for k in r["sram_words"]})
        sram_words = {
            reg: np.stack([np.broadcast_to(r["sram_words"].get(reg, 0.0), (C,)) for r in self.records])
            for reg in regions
        }
        events = {k: np.stack([r["events"][k] for r in self.records]) if T else np.zeros((0, C), np.int64)
                  for k in COUNT_KINDS}  # fmt: skip
        return ChipRun(
            model=self.model.kind, rule=self.rule.name, profile=self.profile.name, formats=self.formats,
            layout=self.layout, cores=self.cores_in_use, phases=PHASES, losses=np.asarray(res.losses),
            params=res.params, cycles=cycles, energy=energy, step_ns=step_ns,
            critical_core=np.array([r["critical_core"] for r in self.records], np.int64),
            critical_link=[r["critical_link"] for r in self.records], link_load=link_load,
            memory=self.memory(), overflows=overflows,
            number_formats={k: f.to_dict() for k, f in self.fmt.items()} if self.formats == "profile" else {},
            clock_mhz=float(self.profile.chip.clock_mhz), batch_size=self.batch, status=res.status,
            metrics=list(res.metrics), sram_words=sram_words, events=events,
        )  # fmt: skip


__all__ = ["simulate", "ChipRun", "FormatError", "FORMATS"]
