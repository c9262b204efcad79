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
units, and the error's messages between cores: ``costs.LearningNoC``, top layer first, counted
as ``error_message_out`` / ``_in`` / ``error_hops_*`` events), trace update (the rule's declared
trace operations for that share, and a read and a write of every trace element the core holds),
gradient accumulation (a read and a write of the accumulator for every parameter element on the
core with a non-zero gradient, when gradients are accumulated, ``update_every`` ≠ 1), the weight
update every ``update_every`` steps (an operation, a read and a write for every parameter
element on the core the optimizer changed), send (one packet per active unit and destination
core). Cycles are the profile's per-operation cycles and SRAM ``access_cycles`` for these
counts; energies the same counts' energies, plus static power × the step's time, shared equally
by the cores in use.

**Stored in the formats** (``formats="profile"``): weights after every update (and the initial
weights), the model's state (h, membrane, adaptation, pooled sum, readout) and the rule's
declared learning state after every step, the gradient accumulator after every accumulation.
What a step computes in between (the forward cache, the learning signal) is the core's
datapath, not stored. The optimizer's moments are stored at the optimizer width (memory and
accesses) and held in that format only with ``optimizer_formats=True`` (``simulate``).

**Batches.** A chip runs a batch's samples one after another. The rule's step stays vectorised
over the batch: the per-sample computations are independent and the gradient is their sum, so the
numbers are those of samples in sequence with the gradient accumulated (up to the order of that
sum, which vectorising keeps equal to ``ns.train``'s). Costs are per sample: each sample's step
is priced and scheduled on its own, with its own barrier, and the step's cycles, energy and time
are their sums (the weight update once, after the last sample).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os

import numpy as np

from .. import checkpoint as ckpt
from .. import losses as _losses
from .. import train as _train
from .._errors import bad, check_choice, check_positive_int
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
from .costs import LEARNING_KINDS, PHASES, ChipNet, LearningNoC, link_name
from .numbers import DEFAULT_RANGE, ArrayFormat, FormatError, Store, array_format, check_holds, weight_range
from .owners import Owners
from .run import ChipRun
from .stream import Steps

FORMATS = ("profile", "float")
OPT_ARRAYS = {"momentum": ("m",), "adam": ("m", "v"), "adamw": ("m", "v")}  # OptState's per-element arrays
LEARNING = ("error", "trace", "gradient", "update")
CHECKPOINT = "chip_checkpoint.npz"
STEPS_DIR = "chip_steps"


def _chip_fingerprint(profile, layout, formats, learn, ranges, timing) -> dict:
    """What, beside the training run, defines a chip run: the chip's numbers (a digest of every
    typed profile section), the layout, the formats mode, learning on or off, ranges, timing."""
    sections = (profile.chip, profile.core, profile.srams, profile.formats, profile.array_bits, profile.ops,
                profile.noc)  # fmt: skip
    layout_text = json.dumps(layout.to_dict(), sort_keys=True, default=str)
    return {
        "chip.profile": profile.name,
        "chip.profile_numbers": hashlib.sha256(repr(sections).encode()).hexdigest()[:16],
        "chip.layout": hashlib.sha256(layout_text.encode()).hexdigest()[:16],
        "chip.formats": formats,
        "chip.learn": learn,
        "chip.ranges": json.loads(json.dumps(ranges, sort_keys=True, default=str)),
        "chip.timing": timing,
    }


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
    optimizer_formats: bool = False,
    timing: str = "detailed",
    clip: float | None = None,
    activity: str = "raise",
    progress: bool = False,
    out_dir: str | None = None,
    resume: bool = False,
    checkpoint_every: int = 50,
    chunk_steps: int = 1024,
    params: dict | None = None,
) -> ChipRun:
    """Train ``model`` with ``rule`` on ``task`` for ``steps`` iterations as ``profile``'s chip
    would, on ``layout`` (default ``layers_in_order``), and count it (module docstring).

    ``formats``: "profile" (every stored array in the profile's formats) or "float" (the model's
    dtype: ``ns.train``'s numbers exactly). ``learn=False``: inference only (no learning phases,
    no weight updates). ``ranges``: the fixed-point range of arrays or roles (``numbers.py``).
    ``optimizer_formats=True`` (with ``formats="profile"``): the optimizer's moments (momentum's
    m, Adam's m and v) are held in the optimizer format too (``[formats.array_bits] optimizer``,
    else the gradient width; range ``ranges["opt:NAME"]`` or the role ``"optimizer"``), rounded
    after every update; by default they are stored at that width (memory, accesses) but computed
    in float, as a host-side optimizer would. A 16-bit fixed-point v underflows for small
    gradients and Adam's step m / (√v + ε) then blows up: chips learn with SGD.
    ``timing``: the event model's NoC scheduler, "detailed" or "simple".
    ``params``: the starting weights (a trained network's, say; default ``model.init(seed)``),
    checked by ``train.start_params``; held in the formats like any other.

    ``out_dir``: write ``chip_run.json`` there (atomically), stream the per-step arrays to
    ``out_dir/chip_steps/`` in chunks of ``chunk_steps`` steps (``stream.py``; the ``ChipRun``
    then holds them as read-only memory maps) and save a checkpoint ``chip_checkpoint.npz``
    every ``checkpoint_every`` iterations (and on Ctrl-C, the last complete iteration): the
    training state with the chip's own (the stochastic-rounding write count, the saturation and
    lost-update counters, the last step's activity, the link totals). ``resume=True`` continues
    from it to the result of an uninterrupted run, bit for bit; a checkpoint of another run
    (model, rule, task, optimizer, profile, layout, formats, ...) is refused naming what differs,
    and without ``resume`` an existing checkpoint is refused rather than overwritten.

    Bad input — an unknown formats mode, a layout that does not fit the model or the chip, a
    format that cannot hold the initial weights — is refused before the first step, naming the
    problem. A run that diverges raises ``TrainingDiverged`` naming the iteration and step, and
    the arrays and cores that saturated in the iteration it diverged in."""
    formats = check_choice("formats", formats, FORMATS)
    timing = check_choice("timing", timing, ("detailed", "simple"))
    if not isinstance(learn, bool):
        raise bad("learn", learn, "True or False")
    if ranges is not None and not isinstance(ranges, dict):
        raise bad("ranges", ranges, "a dict of array key or role → range")
    if not isinstance(optimizer_formats, bool):
        raise bad("optimizer_formats", optimizer_formats, "True or False")
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
    if not isinstance(resume, bool):
        raise bad("resume", resume, "True or False")
    check_positive_int("checkpoint_every", checkpoint_every)
    check_positive_int("chunk_steps", chunk_steps)
    checkpoint = steps_dir = None
    if out_dir is not None:
        prepare_output_dir(out_dir)  # an unwritable directory fails now, not after the run
        checkpoint = os.path.join(out_dir, CHECKPOINT)
        steps_dir = os.path.join(out_dir, STEPS_DIR)
        if os.path.exists(checkpoint) and not resume:
            raise FileExistsError(
                f"{checkpoint}: a chip run's checkpoint is there already: pass resume=True to continue it, or "
                "choose another out_dir (or delete it to start afresh)"
            )
    elif resume:
        raise ValueError("resume=True needs an out_dir: the checkpoint and the per-step records are kept there")
    given_params = params
    params = _train.start_params(model, seed, params)
    ranges = dict(ranges or {})
    chip = _Chip(model, rule, task, profile, layout, params, formats, learn, ranges, timing, seed,
                 batch_size, accumulate, opt_name, steps_dir, chunk_steps, optimizer_formats)  # fmt: skip
    fingerprint = None
    if checkpoint is not None:
        fingerprint = ckpt.run_fingerprint(
            model, rule, task, optimizer, seed=seed, batch_size=batch_size, update_every=update_every, clip=clip
        )
        fingerprint.update(_chip_fingerprint(profile, layout, formats, learn, ranges, timing))
        fingerprint["chip.optimizer_formats"] = optimizer_formats
        if given_params is not None:  # older checkpoints (no starting weights given) still resume
            fingerprint["chip.params"] = {name: ckpt._digest(v) for name, v in params.items()}
    try:
        with _one_blas_thread():
            res = _train.train(
                model, rule if learn else _Inference(rule), task, optimizer, steps, batch_size=batch_size,
                seed=seed, params=chip.params, update_every=update_every, clip=clip, progress=progress,
                activity=activity, hooks=chip, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                fingerprint=fingerprint,
            )  # fmt: skip
    except _train.TrainingDiverged as e:
        where = chip.saturated_since_boundary()
        if where:
            e.args = (f"{e.args[0]}; on {profile.name}, {where}",)
        raise
    chip.flush()
    run = chip.result(res)
    if out_dir is not None:
        run.save(out_dir)
    return run


def _one_blas_thread():
    """BLAS on one thread for the run (``threadpoolctl``, which scikit-learn brings): a chip
    step's products are small (a layer's units × a batch), and a threaded BLAS on a shared
    2-core machine ran the 1000-neuron spiking benchmark 2.5× slower than one thread
    (BENCHMARKS.md). A no-op where threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class _Inference:
    """``rule`` with learning off (``simulate(learn=False)``): each step is the model's forward
    pass and the loss only — no learning signal, no trace update, no gradient — so inference
    costs what inference costs, on the chip and in wall time. The traces stay as ``rule.init``
    made them (declared and resident, not updated); everything else is the rule's own."""

    learns = False  # ``train`` neither accumulates nor applies gradients

    def __init__(self, rule):
        self._rule = rule

    def __getattr__(self, name):
        return getattr(self._rule, name)

    def step(self, model, params, state, x_t, y_t, *, loss="mse", mask_t=None):
        ms, y, _ = model.forward(params, state.model, model.check_input(x_t))
        loss_t, _ = _losses.get(loss)(y, np.asarray(y_t, y.dtype), mask_t)
        return state._replace(model=ms), {}, loss_t

    def finish(self, model, params, state, *, loss="mse"):
        return state, {}


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
                 accumulate, opt_name, steps_dir=None, chunk_steps=1024, hold_optimizer=False):  # fmt: skip
        self.model, self.rule, self.task, self.profile, self.layout = model, rule, task, profile, layout
        self.formats, self.learn, self.ranges, self.timing, self.batch = formats, learn, ranges, timing, batch
        self.accumulating, self.opt_name = accumulate, opt_name
        self.opt_arrays = OPT_ARRAYS.get(opt_name, ()) if hold_optimizer and formats == "profile" else ()
        self.owners = Owners(model, rule, layout, params)
        self.net = ChipNet(model, rule, profile, layout)
        self.C = self.net.n_cores
        self.cores_in_use = sorted({e.core for e in layout.entries()})
        self.spiking = self.net.spiking
        self.store = Store(seed, self.C) if formats == "profile" else None
        self._written: dict = {}  # the gradient accumulators as last written (``accumulate``) …
        self._unchanged: set = set()  # … and those this step's gradient left as they were
        self.param_layout = model.param_layout()
        self.fmt: dict[str, ArrayFormat] = {}
        self.params = dict(params)
        self.param_order = list(params)  # model.init's order: the order of every write (and rounding draw)
        self._formats_for_params()
        self._formats_for_state()
        self._learning_constants()
        regions = sorted(set(self.trace_words) | {r for w in self.elem_words.values() for r, _ in w if r})
        self.steps = Steps(self.C, len(PHASES), regions, COUNT_KINDS + LEARNING_KINDS, steps_dir, chunk_steps)
        self.link_totals: dict[int, int] = {}
        self.link_shape = None
        self.pending = None
        self.prev = None
        self._snap = self.snapshot_now()  # the chip's counters at the last complete iteration

    # --- formats --------------------------------------------------------------------------------
    def _range(self, key: str, role: str, *alias) -> float:
        for k in (key, *alias, role):
            if k in self.ranges:
                return float(self.ranges[k])
        return DEFAULT_RANGE["gradient" if role == "optimizer" else role]

    def _formats_for_params(self) -> None:
        p, gbits = self.profile, self.profile.bits_of("gradient", "gradient")
        obits = p.bits_of("optimizer", "gradient")  # as ``budget`` stores optimizer state
        for name, value in self.params.items():
            place = self.owners.params[name]
            bits = p.bits_of(name.split(".")[-1], "weight")
            stored = None if place.all_stored() else place.cores  # None: every element (no map built)
            fmt = array_format(p, name, "weight", bits, weight_range(value, stored, self.ranges, name))
            self.fmt[name] = fmt
            for part in self.opt_arrays:  # the optimizer's moments, per element (optimizer_formats)
                key = f"{part}:{name}"
                self.fmt[key] = array_format(p, key, "optimizer", obits,
                                             self._range(key, "optimizer", f"opt:{name}"))  # fmt: skip
            if self.accumulating:  # the accumulator's format (no accumulator: no stored gradient)
                self.fmt["grad:" + name] = array_format(p, "grad:" + name, "gradient", gbits,
                                                        self._range("grad:" + name, "gradient"))  # fmt: skip
            if self.store is not None:
                check_holds(fmt, value, stored)
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
            if bits and self._holds(spec):
                key = spec.name
                fmt = array_format(self.profile, key, spec.role, bits, self._range(key, spec.role))
                self.state_specs.append(("model", spec, fmt, self.owners.of_spec(spec)))
        for spec in self.rule.state_spec(self.model):
            if spec.dtype == "int" or not self._holds(spec):
                continue
            bits = spec_bits(self.profile, spec, self.rule.name)
            key = f"{self.rule.name}.{spec.name}@{spec.layer}"
            fmt = array_format(self.profile, key, spec.role, bits,
                               self._range(key, spec.role, f"{self.rule.name}.{spec.name}"))  # fmt: skip
            self.state_specs.append(("rule", spec, fmt, self.owners.of_spec(spec)))
        for item in self.state_specs:
            self.fmt[item[2].key] = item[2]

    def _holds(self, spec) -> bool:
        """Whether any core stores an element of ``spec`` (a LIF layer's adaptation: none)."""
        return bool(self.owners.of_spec(spec).count(n_cores=self.C).any())

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
        err_ns = []  # per layer and core: the error operations' time, before the layer's wave
        for layer, n in enumerate(self.net.units):
            share = np.bincount(self.owners.core_of[layer], minlength=C)[:C] / n
            err, tr = counts[layer]["error"], counts[layer]["trace"]
            cyc, pj = self.per_sample["error"]
            cyc += share * err.get("mac", 0) * ops.mac_cycles
            pj += share * err.get("mac", 0) * ops.mac_energy_pj
            err_ns.append(share * err.get("mac", 0) * ops.mac_cycles * p.chip.cycle_ns)
            cyc, pj = self.per_sample["trace"]
            cyc += share * (tr.get("trace_update", 0) * ops.trace_update_cycles + tr.get("mac", 0) * ops.mac_cycles)
            pj += share * (
                tr.get("trace_update", 0) * ops.trace_update_energy_pj + tr.get("mac", 0) * ops.mac_energy_pj
            )
        # the error messages on the NoC (none when learning is off): their sends and receipts in the
        # error phase; the phases after it start when the core's last error has arrived
        self.noc = LearningNoC(self.net, self.rule, err_ns) if self.learn else None
        if self.noc is not None:
            cyc, pj = self.per_sample["error"]
            cyc += self.noc.cycles
            pj += self.noc.energy
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
        self.opt_cost = {}  # name → (cycles, pJ, (region, words)) per element: its moments read and written
        gbits = p.bits_of("gradient", "gradient")
        obits, n_opt = p.bits_of("optimizer", "gradient"), OPTIMIZER_FLOATS[self.opt_name]
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
            region, words = _words(g_sram, obits)
            self.opt_cost[name] = (n_opt * 2 * access_cycles(g_sram, obits),
                                   n_opt * (access(g_sram, obits) + access(g_sram, obits, write=True)),
                                   (region, n_opt * words))  # fmt: skip

    # --- the hooks ------------------------------------------------------------------------------
    def start(self, it, batch, rule_state):
        self.flush()
        if self.prev is None or not self.task.continuing:
            z = np.zeros((batch.xs.shape[1], self.net.n), bool)
            self.prev = (z, z)  # (fired, state non-zero) per sample at the step before
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
                zero = self._accumulation(grads, learn["gradient"], words, x_batch)
                # an accumulator this step adds nothing to is not written again (the last step's
                # may still change: the rule's ``finish`` adds to it)
                self._unchanged = zero if t < np.shape(batch.xs)[0] - 1 else set()
        acts = self.net.activity_batch(np.asarray(batch.xs[t]), rule_state.model)
        self.pending = {"learn": learn, "acts": acts, "update": None, "words": words}
        return rule_state

    def _accumulation(self, grads, learn, words, x_batch) -> set:
        """The gradient phase's work for this step's gradient: every non-zero element of each
        parameter's gradient is accumulated on the core that holds it (``Placement.count``). Made
        once per name: a dense gradient's per-core cost, and the core of a parameter held on one
        core (its count then needs no per-core binning). A gradient that is all zeros (a step
        without loss, as most of the copy task's) costs nothing; the sums over the dense names are
        kept per set of names (the usual steps: all dense, or all zero). Returns the names whose
        gradient is all zeros."""
        cyc, pj = learn
        consts = self.__dict__.get("_acc_consts")
        if consts is None:
            consts = self._acc_consts = {}
            self._acc_totals = {}
            for name, pl in self.owners.params.items():
                full = pl.count(n_cores=self.C)
                (c_acc, e_acc), _ = self.elem_cost[name]
                region, w = self.elem_words[name][0]
                shape = np.shape(self.params[name])
                same = pl.rows is not None and tuple(pl.shape) == shape or pl.map is not None and pl.map.shape == shape
                consts[name] = (shape, full, c_acc, e_acc, region, w, pl.one_core() if same else -1)
        dense, partial, zero = [], [], set()
        for name, g in grads.items():
            nz = np.count_nonzero(g)
            if nz == 0:
                zero.add(name)
                continue
            if nz == np.size(g) and np.shape(g) == consts[name][0]:
                dense.append(name)
            else:
                partial.append((name, g, nz))
        if dense:
            key = tuple(dense)
            tot = self._acc_totals.get(key)
            if tot is None:
                tot = [0.0, 0.0, {}]
                for name in dense:
                    _, full, c_acc, e_acc, region, w, _ = consts[name]
                    tot[0] = tot[0] + full * c_acc
                    tot[1] = tot[1] + full * e_acc
                    _add_words(tot[2], region, w, full)
                if len(self._acc_totals) < 64:
                    self._acc_totals[key] = tot
            cyc += tot[0]
            pj += tot[1]
            for region, w in tot[2].items():
                _add_words(words, region, 1.0, w * x_batch)
        for name, g, nz in partial:
            shape, full, c_acc, e_acc, region, w, one = consts[name]
            if one >= 0 and np.shape(g) == shape:  # on one core: a count there, no binning
                n_el = np.zeros(self.C, np.int64)
                n_el[one] = nz
            else:
                n_el = self.owners.params[name].count(np.asarray(g) != 0, self.C)
            cyc += n_el * c_acc
            pj += n_el * e_acc
            _add_words(words, region, w, n_el * x_batch)
        return zero

    def accumulate(self, acc):
        # stored only when there is an accumulator (update_every != 1): a gradient applied at once
        # is the datapath's, not memory, and keeps its precision (as ReckOn's learning engine does);
        # in the model's order, whatever the dict's (a resumed run's is sorted)
        if self.store is not None and self.accumulating:
            unchanged, written = self._unchanged, self._written
            for name in self.param_order:
                if name in unchanged and written.get(name) is acc[name]:  # held as it was written
                    continue
                self.store.write(self.fmt["grad:" + name], acc[name], self.owners.params[name])
                written[name] = acc[name]
        return acc

    def update(self, old, new, t):
        if not self.learn:
            return old
        C = self.C
        cyc, pj = np.zeros(C), np.zeros(C)
        for name in self.param_order:  # the stochastic-rounding draws go to arrays in a fixed order
            v = new[name]
            changed = np.asarray(v) != np.asarray(old[name])
            n_el = self.owners.params[name].count(changed, C)
            _, (c_upd, e_upd) = self.elem_cost[name]
            c_opt, e_opt, opt_words = self.opt_cost[name]  # every element's moments, changed or not
            n_all = self.owners.params[name].count(n_cores=C)
            cyc += n_el * c_upd + n_all * c_opt
            if self.pending is not None:
                _add_words(self.pending["words"], *self.elem_words[name][1], n_el)
                _add_words(self.pending["words"], *opt_words, n_all)
            pj += n_el * e_upd + n_all * e_opt
            if self.store is not None:
                self.store.write(self.fmt[name], v, self.owners.params[name], old=np.asarray(old[name]))
        if self.pending is not None:
            self.pending["update"] = (cyc, pj)
        return new

    def optimizer_state(self, state):
        """The optimizer's moments (``OptState.m``, ``.v``) held in the optimizer format after every
        update (``optimizer_formats=True``; a Kalman filter's state stays float), in the model's
        order, after the weights' writes."""
        parts = self.opt_arrays
        if self.store is None or not parts or not hasattr(state, "_replace") or not hasattr(state, "m"):
            return state
        held = {}
        for part in parts:
            arrays = dict(getattr(state, part))
            for name in self.param_order:
                a = np.array(arrays[name], copy=True)
                self.store.write(self.fmt[f"{part}:{name}"], a, self.owners.params[name])
                arrays[name] = a
            held[part] = arrays
        return state._replace(**held)

    def _hold_state(self, rule_state) -> None:
        for kind, spec, fmt, place in self.state_specs:
            if kind == "rule" and not self.learn:  # inference: the traces are not written
                continue
            a = self._array(kind, spec, rule_state)
            if isinstance(a, np.ndarray) and a.size:
                self.store.write(fmt, a, place)

    # --- checkpoints (``train`` calls boundary, snapshot, restore) ----------------------------------
    def snapshot_now(self) -> tuple[dict, dict]:
        """(JSON meta, arrays) of everything the chip carries from one iteration to the next."""
        meta = {
            "steps": len(self.steps),
            "writes": self.store.writes if self.store is not None else None,
            "link_totals": [[int(k), int(v)] for k, v in self.link_totals.items()],
            "link_shape": list(self.link_shape) if self.link_shape is not None else None,
            "has_prev": self.prev is not None,
            "saturations": sorted(self.store.saturations) if self.store is not None else [],
            "lost": sorted(self.store.lost) if self.store is not None else [],
        }
        arrays = {}
        if self.store is not None:
            arrays.update({f"sat.{k}": v.copy() for k, v in self.store.saturations.items()})
            arrays.update({f"lost.{k}": v.copy() for k, v in self.store.lost.items()})
        if self.prev is not None:
            arrays["prev.fired"], arrays["prev.nonzero"] = self.prev[0].copy(), self.prev[1].copy()
        return copy.deepcopy(meta), arrays

    def boundary(self, it: int) -> None:
        self.flush()
        where = self._saturated_since(self._snap)
        if where:
            self._last_saturated = (it, where)
        self._snap = self.snapshot_now()

    def snapshot(self, it: int) -> tuple[dict, dict]:
        return self._snap

    def restore(self, meta: dict | None, arrays: dict, it: int) -> None:
        if meta is None:
            raise ckpt.CheckpointError("the checkpoint holds no chip state (written by ns.train, not chip.simulate)")
        self.steps.truncate(int(meta["steps"]))
        if self.store is not None:
            self.store.writes = int(meta["writes"])
            self.store.saturations = {k: np.asarray(arrays[f"sat.{k}"]).copy() for k in meta["saturations"]}
            self.store.lost = {k: np.asarray(arrays[f"lost.{k}"]).copy() for k in meta["lost"]}
        self.link_totals = {int(k): int(v) for k, v in meta["link_totals"]}
        self.link_shape = tuple(meta["link_shape"]) if meta["link_shape"] is not None else None
        self.prev = (arrays["prev.fired"].copy(), arrays["prev.nonzero"].copy()) if meta["has_prev"] else None
        self._snap = (copy.deepcopy(meta), dict(arrays))

    def saturated_since_boundary(self) -> str:
        """Where the formats saturated: in the iteration under way ('in that iteration: array on
        core c (n element(s)), ...'), else the last iteration that saturated."""
        where = self._saturated_since(self._snap)
        if where:
            return f"saturated in that iteration: {where}"
        last = getattr(self, "_last_saturated", None)
        return f"saturated last in iteration {last[0]}: {last[1]}" if last else ""

    def _saturated_since(self, snap) -> str:
        if self.store is None:
            return ""
        _, arrays = snap
        rows = []
        for key, now in self.store.saturations.items():
            before = arrays.get(f"sat.{key}", np.zeros_like(now))
            for core in np.flatnonzero(now - before):
                rows.append((int(now[core] - before[core]), key, int(core)))
        rows.sort(reverse=True)
        return ", ".join(f"{k} on core {c} ({n} element(s))" for n, k, c in rows[:5])

    # --- pricing --------------------------------------------------------------------------------
    def flush(self) -> None:
        """Price the pending step: each sample's on its own (its own schedule and barrier), all
        samples in one call (``ChipNet.price_batch``); the update after the last sample."""
        if self.pending is None:
            return
        pend, self.pending = self.pending, None
        C, P = self.C, len(PHASES)
        fired, nonzero = pend["acts"]
        B = fired.shape[0]
        cycles, energy = np.zeros((C, P)), np.zeros((C, P))
        lead = np.zeros((B, C))
        for ph in LEARNING:
            c, e = pend["learn"][ph]
            if ph == "update":
                if pend["update"] is None:
                    continue
                c, e = pend["update"]
                lead[-1] += c * self.profile.chip.cycle_ns  # once, after the last sample
                cycles[:, PHASES.index(ph)] += c
                energy[:, PHASES.index(ph)] += e
                continue
            if ph == "error" and self.noc is not None:  # the error compute and its messages' waves
                lead += self.noc.done_ns
            else:
                lead += c * self.profile.chip.cycle_ns
            cycles[:, PHASES.index(ph)] += B * c
            energy[:, PHASES.index(ph)] += B * e
        fired_prev, nonzero_prev = self.prev
        counts, by_phase, cyc, times, crit, links, shape = self.net.price_batch(
            fired, nonzero_prev, fired_prev, lead, self.timing
        )
        self.prev = (fired, nonzero)
        executed = {k: counts[k].sum(0) for k in COUNT_KINDS}
        for k in LEARNING_KINDS:  # every sample's step sends the error waves' packets
            executed[k] = B * self.noc.counts[k] if self.noc is not None else np.zeros(C, np.int64)
        for ph in ("neuron", "receive", "send"):
            cycles[:, PHASES.index(ph)] += cyc[ph].sum(0)
            energy[:, PHASES.index(ph)] += by_phase[ph].sum(0)
        step_ns = float(np.sum(times + self.net.ev.barrier_ns))  # summed in sample order
        if crit is not None:
            crit_core = int(crit[int(np.argmax(times))])
        else:
            crit_core = int(np.argmax(cycles.sum(1)))
        static = self.profile.chip.static_power_mw * step_ns  # mW × ns = pJ
        energy[self.cores_in_use, PHASES.index("static")] += static / len(self.cores_in_use)
        top, top_packets = None, 0
        if links is not None:
            self.link_shape = tuple(shape)
            if self.noc is not None and self.noc.links:  # the error waves', once per sample
                links = links.copy()
                slot = np.fromiter(self.noc.links, np.int64)
                links[slot] += B * np.fromiter(self.noc.links.values(), np.int64)
            nz = np.flatnonzero(links)
            for k in nz:
                self.link_totals[int(k)] = self.link_totals.get(int(k), 0) + int(links[k])
            if nz.size:
                top = int(nz[np.argmax(links[nz])])
                top_packets = int(links[top])
        self.steps.append({
            "sram_words": pend["words"], "events": executed,
            "cycles": cycles, "energy": energy, "step_ns": step_ns, "critical_core": crit_core,
            "critical_link": link_name(top, self.link_shape) if top is not None else "",
            "critical_link_packets": top_packets,
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
        a = self.steps.finish()
        overflows = {"saturations": {}, "lost_updates": {}}
        if self.store is not None:
            overflows["saturations"] = {k: v.tolist() for k, v in self.store.saturations.items()}
            overflows["lost_updates"] = {k: v.tolist() for k, v in self.store.lost.items()}
        shape = self.link_shape
        links = sorted(self.link_totals.items(), key=lambda kv: -kv[1])
        link_load = {
            "packets_per_link": {link_name(k, shape): v for k, v in links} if shape else {},
            "busiest_per_step": a["critical_link_packets"],
        }
        return ChipRun(
            model=self.model.kind, rule=self.rule.name, profile=self.profile.name, formats=self.formats,
            layout=self.layout, cores=self.cores_in_use, phases=PHASES, losses=np.asarray(res.losses),
            params=res.params, cycles=a["cycles"], energy=a["energy"], step_ns=a["step_ns"],
            critical_core=a["critical_core"], critical_link=a["critical_link"], link_load=link_load,
            memory=self.memory(), overflows=overflows,
            number_formats={k: f.to_dict() for k, f in self.fmt.items()} if self.formats == "profile" else {},
            clock_mhz=float(self.profile.chip.clock_mhz), batch_size=self.batch, status=res.status,
            metrics=list(res.metrics),
            sram_words={k[11:]: v for k, v in a.items() if k.startswith("sram_words.")},
            events={k[7:]: v for k, v in a.items() if k.startswith("events.")},
            steps_dir=self.steps.directory, opt_state=res.opt_state,
        )  # fmt: skip


__all__ = ["simulate", "ChipRun", "FormatError", "FORMATS"]
