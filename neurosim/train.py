"""``train``: run a rule on a task's batches, updating parameters online or every k steps.

One iteration = one batch of B sequences (or, for continuing tasks, the next chunk of B
streams, with the network's and the rule's state carried over). Within it, every timestep
calls ``rule.step``; gradients are accumulated and applied every ``update_every`` timesteps
(``1`` = fully online) or once at the end of the sequence (``"sequence"``).

Nothing is lost:

* Messages count iterations and timesteps from 1, as the progress log does (``iter 3/1000`` is
  the third); exceptions' ``.iteration`` / ``.timestep`` are 0-based indices.
* A non-finite loss, gradient or parameter stops the run with ``TrainingDiverged``, which names
  the iteration, the timestep and the last finite loss (including one read from a checkpoint)
  and carries ``.result``: the parameters, losses and metrics as they were at the end of the
  last finite iteration (``NetworkActivityError`` carries the same).
* Ctrl-C (``KeyboardInterrupt``) stops the run at once and rolls back to the end of the last
  complete iteration: with a checkpoint, that state is saved before ``TrainingInterrupted`` (a
  ``KeyboardInterrupt``) is raised with the same ``.result``.
* With ``checkpoint=PATH`` the state is written atomically every ``checkpoint_every``
  iterations and at the end; a later call with the same path resumes from it, bit for bit, after
  checking that the checkpoint belongs to this run (``checkpoint.py``: a fingerprint of model,
  rule, task, optimizer, seed, batch size, update interval and clipping; ``CheckpointMismatch``
  names the keys that differ). A checkpoint that already reached ``steps`` trains nothing
  (``TrainResult.start >= steps``: the checkpoint's iteration). For a continuing task the rule's
  state is copied once per iteration (so that a rollback has it whole): with rtrl that is one
  more pass over G per iteration of T steps.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field

import numpy as np

from . import checkpoint as ckpt
from ._errors import bad, check_choice, check_float, check_positive_int
from ._io import clean_stale_temporaries
from .optim import Optimizer, adam


class TrainingDiverged(RuntimeError):
    """Raised when a loss, gradient or parameter stops being finite.

    ``.result``: a ``TrainResult`` of the run up to the end of its last finite iteration
    (``.result.status == "diverged"``); ``.iteration``, ``.timestep``: where it happened.
    """

    result: TrainResult | None = None
    iteration: int = -1
    timestep: int = -1


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``train``: ``.result`` holds the run up to its last complete iteration,
    ``.checkpoint`` the path it was saved to (None without a checkpoint)."""

    def __init__(self, message: str, result: TrainResult, checkpoint: str | None):
        super().__init__(message)
        self.result, self.checkpoint = result, checkpoint


class NetworkActivityError(RuntimeError):
    """Raised when a spiking layer falls silent or saturates (its gradients would be zero).
    ``.result``: the run up to its last complete iteration (``status == "inactive"``)."""

    result: TrainResult | None = None


SATURATION = 0.9  # fraction of the maximum rate 1/(n_ref + 1) spikes per step


def _check_activity(model, counts, steps, it, mode):
    """Per spiking layer: the mean rate and the silent fraction; raise or warn when the whole
    layer is silent or fires at ≥ 90 % of its maximum rate."""
    out = {}
    max_rate = 1.0 / (model.n_ref + 1)
    every = np.concatenate([np.ravel(c) for c in counts]) if counts else np.zeros(0)
    out["rate_hz"] = float(every.mean() / steps * 1000.0 / model.dt) if every.size else 0.0  # all layers' neurons
    out["silent_frac"] = float((every == 0).mean()) if every.size else 0.0
    for layer, c in enumerate(counts):
        rate = c / steps  # spikes per step, per neuron
        if len(counts) > 1:  # and each layer's own
            out[f"rate_hz_layer{layer}"] = float(rate.mean() * 1000.0 / model.dt)
            out[f"silent_frac_layer{layer}"] = float((c == 0).mean())
        problem = None
        if not c.any():
            problem = (
                f"spiking layer {layer} fell silent in iteration {it + 1}: no spike from any of its "
                f"{c.size} neurons over {steps} steps (timesteps × batch)"
            )
        elif rate.mean() >= SATURATION * max_rate:
            problem = (
                f"spiking layer {layer} saturated in iteration {it + 1}: mean rate {rate.mean():.3f} spikes/step, "
                f">= {SATURATION:.0%} of the maximum 1/(n_ref+1) = {max_rate:.3f}"
            )
        if problem:
            problem += "; its surrogate gradients are (nearly) zero. Check v_th, the input scale and the learning rate."
            if mode == "raise":
                raise NetworkActivityError(problem)
            if mode == "warn":
                import warnings

                warnings.warn(problem, RuntimeWarning, stacklevel=3)
    return out


@dataclass
class TrainResult:
    """``params`` and ``opt_state`` at the end; ``losses`` and ``metrics`` per iteration (those
    read from a checkpoint included); ``start``: the iteration this call began at (0, or where it
    resumed); ``status``: "finished", "diverged", "interrupted" or "inactive" (a spiking layer fell silent)."""

    params: dict
    losses: np.ndarray
    metrics: list = field(default_factory=list)
    opt_state: object = None
    seconds: float = 0.0
    start: int = 0
    status: str = "finished"

    def metric(self, name: str) -> np.ndarray:
        return np.array([m.get(name, np.nan) for m in self.metrics])


@dataclass(frozen=True)
class _Boundary:
    """The run at the end of a complete iteration: what an interruption or a divergence rolls
    back to. Replaced by one assignment per iteration, so Ctrl-C never sees half of one."""

    it: int
    params: dict
    opt_state: object
    rule_state: object  # continuing tasks only (None otherwise)
    task_state: dict

    def result(self, losses, metrics, seconds, start, status) -> TrainResult:
        n = self.it
        return TrainResult(self.params, np.array(losses[:n]), list(metrics[:n]), self.opt_state, seconds, start, status)


def _finite(d: dict) -> bool:
    return all(np.all(np.isfinite(v)) for v in d.values())


def _copy_tree(obj):
    """A copy of a state tree whose arrays the next iteration may update in place."""
    return copy.deepcopy(obj)


def train(
    model,
    rule,
    task,
    optimizer: Optimizer | None = None,
    steps: int = 1000,
    *,
    batch_size: int = 32,
    seed: int = 0,
    params: dict | None = None,
    update_every: int | str = "sequence",
    clip: float | None = None,
    progress: bool = True,
    checkpoint: str | None = None,
    checkpoint_every: int = 50,
    callback=None,
    activity: str = "raise",
    fingerprint: dict | None = None,
    hooks=None,
) -> TrainResult:
    """Train ``model`` with ``rule`` on ``task`` for ``steps`` iterations (batches).

    ``params`` defaults to ``model.init(seed)`` (given: checked and copied, ``start_params``).
    Returns a ``TrainResult`` with the final parameters, the per-iteration loss (mean per masked
    step) and metrics (``task.metrics`` plus loss, gradient norm, curriculum state; for spiking models the mean
    rate ``rate_hz`` and the fraction of silent neurons ``silent_frac``). A spiking layer that
    falls silent or saturates within an iteration raises ``NetworkActivityError`` naming the
    iteration and layer (``activity="warn"`` warns instead, ``"off"`` does neither).
    ``checkpoint``: a path to save to and resume from (see the module docstring);
    ``fingerprint``: what identifies the run in the checkpoint (default: built from the objects,
    ``checkpoint.run_fingerprint``). ``hooks``: the chip simulation's (``chip.simulate``; see
    ``_Loop.iteration``), which holds and counts what the same loop computes.
    """
    _check_objects(model=model, rule=rule, task=task, optimizer=optimizer)
    opts = _check_args(
        model, task, steps=steps, batch_size=batch_size, seed=seed, update_every=update_every, clip=clip,
        checkpoint_every=checkpoint_every, activity=activity,
    )  # fmt: skip
    steps, batch_size, update_every, clip = opts["steps"], opts["batch_size"], opts["update_every"], opts["clip"]
    optimizer = optimizer or adam(1e-3)
    check_memory(model, rule, task, batch_size)
    if checkpoint and fingerprint is None:
        fingerprint = ckpt.run_fingerprint(
            model, rule, task, optimizer, seed=seed, batch_size=batch_size, update_every=update_every, clip=clip
        )
    params = start_params(model, seed, params)
    opt_state = optimizer.init(params, model.param_groups())
    rule_state = rule.init(model, params, batch_size) if task.continuing else None
    start, losses, metrics = 0, [], []
    if checkpoint:
        clean_stale_temporaries(os.path.dirname(os.path.abspath(checkpoint)), os.path.basename(checkpoint))
        if os.path.exists(checkpoint):
            tmpl = {"params": params, "opt": opt_state, "rule": rule_state if task.continuing else {}}
            payload, meta = ckpt.load(checkpoint, tmpl, fingerprint)
            params, opt_state = payload["params"], payload["opt"]
            rule_state = payload["rule"] if task.continuing else None
            start, losses, metrics = meta["iteration"], list(meta["losses"]), list(meta["metrics"])
            task.load_state(meta["task"])
            if hooks is not None:  # the chip simulation's counters at the same boundary
                hooks.restore(meta.get("hooks"), ckpt.load_extra(checkpoint), start)
    boundary = _Boundary(start, params, opt_state, rule_state, task.state())
    loop = _Loop(model, rule, task, optimizer, batch_size, update_every, clip, activity, hooks)
    keep_rule_copy = task.continuing and checkpoint is not None
    saved = start
    bar = _bar(progress, steps, start, f"{rule.name} on {task.name}")
    t0 = time.perf_counter()
    # numpy's overflow/invalid warnings are noise here: every loss, gradient and parameter is
    # checked for finiteness below, and a non-finite one stops the run with a named error
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            for it in range(start, steps):
                prev = _last_finite(losses, boundary.it)
                working = _copy_tree(boundary.rule_state) if keep_rule_copy else boundary.rule_state
                p, o, r, m = loop.iteration(it, boundary.params, boundary.opt_state, working, prev)
                losses.append(m["loss"])
                metrics.append(m)
                task.update(m)
                boundary = _Boundary(it + 1, p, o, r if task.continuing else None, task.state())
                if hooks is not None:
                    hooks.boundary(boundary.it)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in m.items() if k != "grad_norm"})
                if checkpoint and (boundary.it % checkpoint_every == 0 or boundary.it == steps):
                    _save(checkpoint, boundary, losses, metrics, fingerprint, hooks)
                    saved = boundary.it
                if callback is not None:
                    callback(it, boundary.params, m)
        except (TrainingDiverged, NetworkActivityError) as e:
            status = "diverged" if isinstance(e, TrainingDiverged) else "inactive"
            e.result = boundary.result(losses, metrics, time.perf_counter() - t0, start, status)
            raise
        except KeyboardInterrupt:
            if checkpoint and boundary.it > saved:
                _save(checkpoint, boundary, losses, metrics, fingerprint, hooks)
            res = boundary.result(losses, metrics, time.perf_counter() - t0, start, "interrupted")
            if checkpoint and os.path.exists(checkpoint):
                where = f"; checkpoint saved to {checkpoint}"
            else:
                where = "; nothing to save yet" if checkpoint else ""
            raise TrainingInterrupted(
                f"interrupted after {boundary.it} complete iteration(s) of {steps}{where}", res, checkpoint
            ) from None
        finally:
            if bar is not None:
                bar.close()
    return boundary.result(losses, metrics, time.perf_counter() - t0, start, "finished")


def _number(arg: str, value, lo: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise bad(arg, value, f"a number > {lo}")
    return check_float(arg, value, lo, None, lo_open=True)


def _every(value):
    if value == "sequence":
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise bad("update_every", value, "'sequence' or an integer >= 1")
    return int(value)


# One check per option of ``train`` that a configuration can set (``config.py`` uses the same).
OPTION_CHECKS = {
    "steps": lambda v: check_positive_int("steps", v, minimum=0),
    "batch_size": lambda v: check_positive_int("batch_size", v),
    "seed": lambda v: check_positive_int("seed", v, minimum=0),
    "update_every": _every,
    "clip": lambda v: None if v is None else _number("clip", v, 0.0),
    "checkpoint_every": lambda v: check_positive_int("checkpoint_every", v),
    "activity": lambda v: check_choice("activity", v, ("raise", "warn", "off")),
}


_KINDS = {  # argument → (a method it must have, an example)
    "model": ("forward", "ns.models.make('lru', n_in=8, n_out=7)"),
    "rule": ("step", "ns.rules.make('online_lru')"),
    "task": ("batch", "ns.tasks.make('copy')"),
    "optimizer": ("update", "ns.optim.adam(1e-3)"),
}


def start_params(model, seed: int, given) -> dict:
    """The run's starting weights: ``given`` (copied) checked against ``model.init(seed)`` — the same
    keys and shapes, real where those are real, finite, zero outside the model's structural masks
    (a weight off its mask would run but be stored and priced nowhere) — or ``model.init(seed)``."""
    init = model.init(seed)
    if given is None:
        return init
    if not isinstance(given, dict):
        raise bad("params", type(given).__name__, f"a dict of the model's parameters: {sorted(init)}")
    if set(given) != set(init):
        missing, extra = sorted(set(init) - set(given)), sorted(set(given) - set(init))
        raise bad("params", f"missing {missing}, unknown {extra}", f"exactly the model's parameters {sorted(init)}")
    masks = model.param_masks() if hasattr(model, "param_masks") else {}
    out = {}
    for name, ref in init.items():  # model.init's order: the order of every write
        raw = np.asarray(given[name])
        if np.iscomplexobj(raw) and not np.iscomplexobj(ref):
            raise bad(f"params[{name!r}]", f"dtype {raw.dtype}", f"real values ({ref.dtype})")
        v = np.array(raw, dtype=ref.dtype)
        if v.shape != ref.shape:
            raise bad(f"params[{name!r}]", f"shape {v.shape}", f"the model's shape {ref.shape}")
        if not np.isfinite(v).all():
            raise bad(f"params[{name!r}]", "non-finite values", "finite weights")
        if name in masks:  # the chip stores (and prices) only the structure's synapses
            off = int(np.count_nonzero(v[~np.asarray(masks[name], bool)]))
            if off:
                raise bad(f"params[{name!r}]", f"{off} non-zero weight(s) outside the structural mask",
                          "zeros where the model's mask (param_masks) has none")  # fmt: skip
        out[name] = v
    return out


def _check_objects(**objects) -> None:
    """A name where an object belongs (``ns.train(model, "rtrl", ...)``) is a named error."""
    for arg, obj in objects.items():
        method, example = _KINDS[arg]
        if obj is not None and not callable(getattr(obj, method, None)):
            raise bad(arg, obj, f"{'an' if arg[0] in 'aeiou' else 'a'} {arg} object, e.g. {example}")


def _check_args(model, task, **options) -> dict:
    out = {k: OPTION_CHECKS[k](v) for k, v in options.items()}
    if (task.n_in, task.n_out) != (model.n_in, model.n_out):
        raise ValueError(
            f"model has n_in={model.n_in}, n_out={model.n_out} but task {task.name!r} needs "
            f"n_in={task.n_in}, n_out={task.n_out}"
        )
    return out


def _available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (None where it cannot be read)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(model, rule, task, batch_size: int, optimizer_floats: int = 2) -> int:
    """Bytes the run needs at least — parameters, optimizer state (``optimizer_floats`` per
    parameter), the gradient accumulator and the rule's learning state for ``batch_size``
    samples (bptt: its history over one sequence) — from shapes alone; raises a ``ValueError``
    that names the parts when it exceeds the memory this machine has available, rather than a
    ``MemoryError`` deep inside the first step."""
    rule.check_model(model)  # a rule on a model it cannot train: its named error, not a missing attribute
    item = np.dtype(model.dtype).itemsize
    params = sum(int(np.prod(s, dtype=object)) for s in model.shapes().values())
    state = rule.memory_floats(model) * batch_size
    if any(spec.belongs == "history" for spec in rule.state_spec(model)):
        state *= task.batch(0, 1).xs.shape[0]  # one sequence of history
    need = (params * (2 + optimizer_floats) + state) * item
    free = _available_bytes()
    if free is not None and need > free:
        gib = 2**30
        raise ValueError(
            f"the run needs at least {need / gib:,.1f} GiB (parameters {params * item / gib:,.2f} GiB, "
            f"optimizer and gradients {params * (1 + optimizer_floats) * item / gib:,.2f} GiB, {rule.name}'s "
            f"learning state for batch_size={batch_size} {state * item / gib:,.1f} GiB) but this machine has "
            f"{free / gib:,.1f} GiB available: allowed a smaller model, batch or another rule "
            "(`neurosim budget` prices any size)"
        )
    return need


def _bar(progress: bool, steps: int, start: int, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, initial=start, desc=desc, leave=True)


def _last_finite(losses: list, n: int) -> str:
    if n == 0:
        return "no finite loss yet"
    return f"last finite loss {losses[n - 1]:.6g} in iteration {n}"


def _save(path: str, b: _Boundary, losses: list, metrics: list, fingerprint: dict | None, hooks=None) -> None:
    extra = None
    meta = {
        "iteration": b.it,
        "losses": losses[: b.it],
        "metrics": metrics[: b.it],
        "task": b.task_state,
        "fingerprint": fingerprint,
    }
    if hooks is not None:  # the chip simulation's counters as they were at this boundary
        meta["hooks"], extra = hooks.snapshot(b.it)
    ckpt.save(path, {"params": b.params, "opt": b.opt_state, "rule": b.rule_state if b.rule_state else {}}, meta, extra)


@dataclass
class _Loop:
    """One iteration: a batch through every timestep, gradients applied every ``update_every``."""

    model: object
    rule: object
    task: object
    optimizer: Optimizer
    batch_size: int
    update_every: int | str
    clip: float | None
    activity: str
    hooks: object = None  # the chip simulation's (``chip.simulate``): see ``_Loop.iteration``

    def iteration(self, it, params, opt_state, rule_state, prev):
        """One batch. With ``hooks`` (the chip simulation), the same loop also calls
        ``hooks.start(it, batch, rule_state)``, ``hooks.step(t, rule_state, grads, batch) ->
        rule_state`` after every ``rule.step``, ``hooks.accumulate(acc) -> acc`` after every
        accumulation, ``hooks.update(old, new, t) -> params`` after every weight update and
        ``hooks.optimizer_state(state) -> state`` right after it.
        ``train`` itself calls ``hooks.boundary(it)`` after every complete iteration,
        ``hooks.snapshot(it) -> (meta, arrays)`` when it saves a checkpoint at that boundary and
        ``hooks.restore(meta, arrays, it)`` when it resumes from one."""
        model, rule, task = self.model, self.rule, self.task
        spikes = getattr(model, "spikes", None)
        use_fisher = getattr(self.optimizer, "kind", None) == "kalman" and hasattr(rule, "fisher")
        batch = task.batch(it, self.batch_size)
        if not task.continuing:
            rule_state = rule.init(model, params, self.batch_size)
        hooks = self.hooks
        if hooks is not None:
            rule_state = hooks.start(it, batch, rule_state)
        learning = getattr(rule, "learns", True)  # the chip's inference runs (``learns = False``): no updates
        acc = {k: np.zeros_like(v) for k, v in params.items()} if learning else {}
        acc_f: dict = {}
        total, outs, n_acc, gnorm, counts = 0.0, [], 0, 0.0, None
        T = batch.xs.shape[0]
        for t in range(T):
            rule_state, g, loss_t = rule.step(
                model, params, rule_state, batch.xs[t], batch.ys[t], loss=task.loss, mask_t=batch.mask[t]
            )
            if not np.isfinite(loss_t):
                _diverged(it, t, "loss", loss_t, prev)
            if hooks is not None:
                rule_state = hooks.step(t, rule_state, g, batch)
            total += loss_t
            outs.append(rule_state.model.y)
            if spikes is not None:
                zs = [z.sum(0) for z in spikes(rule_state.model)]
                counts = zs if counts is None else [c + z for c, z in zip(counts, zs)]
            if not learning:
                continue
            for k, v in g.items():
                acc[k] += v
            if use_fisher:
                for k, v in rule.fisher(model, params, rule_state).items():
                    acc_f[k] = acc_f.get(k, 0.0) + v
            n_acc += 1
            last = t == T - 1
            if last:
                rule_state, g = rule.finish(model, params, rule_state, loss=task.loss)
                for k, v in g.items():
                    acc[k] += v
            if hooks is not None:
                acc = hooks.accumulate(acc)
            if (self.update_every != "sequence" and n_acc == self.update_every) or last:
                old = params
                params, opt_state, gnorm = _apply(self.optimizer, params, opt_state, acc, self.clip, it, t, prev, acc_f)
                if hooks is not None:
                    params = hooks.update(old, params, t)
                    opt_state = hooks.optimizer_state(opt_state)
                acc = {k: np.zeros_like(v) for k, v in params.items()}
                acc_f, n_acc = {}, 0
        loss = total / (float(batch.mask.mean(1).sum()) or 1.0)
        m = {"loss": loss, "grad_norm": gnorm, **task.metrics(np.stack(outs), batch)}
        if spikes is not None:
            m.update(_check_activity(model, counts, T * batch.xs.shape[1], it, self.activity))
        return params, opt_state, rule_state, m


def _diverged(it, t, what, value, prev):
    err = TrainingDiverged(f"training diverged in iteration {it + 1}, timestep {t + 1}: {what} is {value}; {prev}")
    err.iteration, err.timestep = it, t
    raise err


def _apply(optimizer, params, opt_state, grads, clip, it, t, prev, fisher=None):
    if not _finite(grads):
        bad_keys = [k for k, v in grads.items() if not np.all(np.isfinite(v))]
        _diverged(it, t, f"gradient of {bad_keys[0]}", "non-finite", prev)
    gnorm = float(np.sqrt(sum(float((v * v).sum()) for v in grads.values())))
    if clip is not None and gnorm > clip:
        grads = {k: v * (clip / gnorm) for k, v in grads.items()}
    params, opt_state = optimizer.update(grads, opt_state, params, fisher=fisher or None)
    if not _finite(params):
        _diverged(it, t, "a parameter", "non-finite after the update", prev)
    return params, opt_state, gnorm
