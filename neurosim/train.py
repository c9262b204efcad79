"""``train``: run a rule on a task's batches, updating parameters online or every k steps.

One iteration = one batch of B sequences (or, for continuing tasks, the next chunk of B
streams, with the network's and the rule's state carried over). Within it, every timestep
calls ``rule.step``; gradients are accumulated and applied every ``update_every`` timesteps
(``1`` = fully online) or once at the end of the sequence (``"sequence"``).

Non-finite losses, gradients or parameters stop the run with ``TrainingDiverged``, which names
the iteration and timestep and the last finite loss. With ``checkpoint=PATH`` the state is
written atomically (temporary file, then rename) every ``checkpoint_every`` iterations, and a
later call with the same path resumes from it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ._errors import bad, check_choice, check_positive_int
from ._io import atomic_write
from .optim import Optimizer, adam


class TrainingDiverged(RuntimeError):
    """Raised when a loss, gradient or parameter stops being finite."""


class NetworkActivityError(RuntimeError):
    """Raised when a spiking layer falls silent or saturates (its gradients would be zero)."""


SATURATION = 0.9  # fraction of the maximum rate 1/(n_ref + 1) spikes per step


def _check_activity(model, counts, steps, it, mode):
    """Per spiking layer: the mean rate and the silent fraction; raise or warn when the whole
    layer is silent or fires at ≥ 90 % of its maximum rate."""
    out = {}
    max_rate = 1.0 / (model.n_ref + 1)
    for layer, c in enumerate(counts):
        rate = c / steps  # spikes per step, per neuron
        out["rate_hz"] = float(rate.mean() * 1000.0 / model.dt)
        out["silent_frac"] = float((c == 0).mean())
        problem = None
        if not c.any():
            problem = (
                f"spiking layer {layer} fell silent at iteration {it}: no spike from any of its "
                f"{c.size} neurons over {steps} steps (timesteps × batch)"
            )
        elif rate.mean() >= SATURATION * max_rate:
            problem = (
                f"spiking layer {layer} saturated at iteration {it}: mean rate {rate.mean():.3f} spikes/step, "
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
    params: dict
    losses: np.ndarray
    metrics: list = field(default_factory=list)
    opt_state: object = None
    seconds: float = 0.0

    def metric(self, name: str) -> np.ndarray:
        return np.array([m.get(name, np.nan) for m in self.metrics])


def _leaves(obj) -> list:
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, dict):
        return [x for k in sorted(obj) for x in _leaves(obj[k])]
    if isinstance(obj, (tuple, list)):
        return [x for o in obj for x in _leaves(o)]
    return [np.asarray(obj)]


def _fill(template, leaves: list):
    if isinstance(template, np.ndarray):
        return leaves.pop(0)
    if isinstance(template, dict):
        return {k: _fill(template[k], leaves) for k in sorted(template)}
    if isinstance(template, tuple) and hasattr(template, "_fields"):
        return type(template)(*[_fill(t, leaves) for t in template])
    if isinstance(template, (tuple, list)):
        return type(template)(_fill(t, leaves) for t in template)
    return type(template)(leaves.pop(0))


def save_checkpoint(path: str, payload: dict, meta: dict) -> None:
    """Write arrays and JSON metadata atomically."""
    arrays = {f"a{i}": a for i, a in enumerate(_leaves(payload))}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    atomic_write(path, lambda tmp: np.savez(tmp, **arrays))


def load_checkpoint(path: str, template: dict) -> tuple[dict, dict]:
    with np.load(path) as z:
        n = len([k for k in z.files if k.startswith("a")])
        leaves = [z[f"a{i}"] for i in range(n)]
        meta = json.loads(z["meta"].tobytes().decode())
    return _fill(template, leaves), meta


def _finite(d: dict) -> bool:
    return all(np.all(np.isfinite(v)) for v in d.values())


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
) -> TrainResult:
    """Train ``model`` with ``rule`` on ``task`` for ``steps`` iterations (batches).

    ``params`` defaults to ``model.init(seed)``. Returns a ``TrainResult`` with the final
    parameters, the per-iteration loss (mean per masked step) and metrics
    (``task.metrics`` plus loss, gradient norm, curriculum state; for spiking models the mean
    rate ``rate_hz`` and the fraction of silent neurons ``silent_frac``). A spiking layer that
    falls silent or saturates within an iteration raises ``NetworkActivityError`` naming the
    iteration and layer (``activity="warn"`` warns instead, ``"off"`` does neither).
    """
    steps = check_positive_int("steps", steps, minimum=0)
    batch_size = check_positive_int("batch_size", batch_size)
    if update_every != "sequence":
        if isinstance(update_every, str):
            raise bad("update_every", update_every, "'sequence' or an integer >= 1")
        update_every = check_positive_int("update_every", update_every)
    if (task.n_in, task.n_out) != (model.n_in, model.n_out):
        raise ValueError(
            f"model has n_in={model.n_in}, n_out={model.n_out} but task {task.name!r} needs "
            f"n_in={task.n_in}, n_out={task.n_out}"
        )
    check_choice("activity", activity, ("raise", "warn", "off"))
    spikes = getattr(model, "spikes", None)
    use_fisher = getattr(optimizer, "kind", None) == "kalman" and hasattr(rule, "fisher")
    optimizer = optimizer or adam(1e-3)
    params = dict(params) if params is not None else model.init(seed)
    opt_state = optimizer.init(params, model.param_groups())
    start, losses, metrics = 0, [], []
    rule_state = rule.init(model, params, batch_size) if task.continuing else None
    if checkpoint and os.path.exists(checkpoint):
        tmpl = {"params": params, "opt": opt_state, "rule": rule_state if task.continuing else {}}
        payload, meta = load_checkpoint(checkpoint, tmpl)
        params, opt_state = payload["params"], payload["opt"]
        rule_state = payload["rule"] if task.continuing else None
        start, losses, metrics = meta["iteration"], meta["losses"], meta["metrics"]
        task.load_state(meta["task"])

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, initial=start, desc=f"{rule.name} on {task.name}", leave=True)
    t0 = time.perf_counter()
    last_finite = (None, None)
    for it in range(start, steps):
        batch = task.batch(it, batch_size)
        if not task.continuing:
            rule_state = rule.init(model, params, batch_size)
        acc = {k: np.zeros_like(v) for k, v in params.items()}
        acc_f: dict = {}
        total, outs, n_acc, gnorm = 0.0, [], 0, 0.0
        T = batch.xs.shape[0]
        counts = None
        for t in range(T):
            rule_state, g, loss_t = rule.step(
                model, params, rule_state, batch.xs[t], batch.ys[t], loss=task.loss, mask_t=batch.mask[t]
            )
            if not np.isfinite(loss_t):
                _diverged(it, t, "loss", loss_t, last_finite)
            total += loss_t
            outs.append(rule_state.model.y)
            if spikes is not None:
                zs = [z.sum(0) for z in spikes(rule_state.model)]
                counts = zs if counts is None else [c + z for c, z in zip(counts, zs)]
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
            if (update_every != "sequence" and n_acc == update_every) or last:
                params, opt_state, gnorm = _apply(
                    optimizer, params, opt_state, acc, clip, it, t, last_finite, acc_f or None
                )
                acc = {k: np.zeros_like(v) for k, v in params.items()}
                acc_f = {}
                n_acc = 0
        denom = float(batch.mask.mean(1).sum()) or 1.0
        loss = total / denom
        m = {"loss": loss, "grad_norm": gnorm, **task.metrics(np.stack(outs), batch)}
        if spikes is not None:
            m.update(_check_activity(model, counts, T * batch.xs.shape[1], it, activity))
        task.update(m)
        losses.append(loss)
        metrics.append(m)
        last_finite = (it, loss)
        if bar is not None:
            bar.update(1)
            bar.set_postfix({k: f"{v:.3g}" for k, v in m.items() if k != "grad_norm"})
        if callback is not None:
            callback(it, params, m)
        if checkpoint and ((it + 1) % checkpoint_every == 0 or it + 1 == steps):
            meta = {"iteration": it + 1, "losses": losses, "metrics": metrics, "task": task.state()}
            save_checkpoint(
                checkpoint, {"params": params, "opt": opt_state, "rule": rule_state if task.continuing else {}}, meta
            )
    if bar is not None:
        bar.close()
    return TrainResult(params, np.array(losses), metrics, opt_state, time.perf_counter() - t0)


def _diverged(it, t, what, value, last_finite):
    j, lf = last_finite
    prev = "no finite loss yet" if j is None else f"last finite loss {lf:.6g} at iteration {j}"
    raise TrainingDiverged(f"training diverged at iteration {it}, timestep {t}: {what} is {value}; {prev}")


def _apply(optimizer, params, opt_state, grads, clip, it, t, last_finite, fisher=None):
    if not _finite(grads):
        bad_keys = [k for k, v in grads.items() if not np.all(np.isfinite(v))]
        _diverged(it, t, f"gradient of {bad_keys[0]}", "non-finite", last_finite)
    gnorm = float(np.sqrt(sum(float((v * v).sum()) for v in grads.values())))
    if clip is not None and gnorm > clip:
        grads = {k: v * (clip / gnorm) for k, v in grads.items()}
    params, opt_state = optimizer.update(grads, opt_state, params, fisher=fisher)
    if not _finite(params):
        _diverged(it, t, "a parameter", "non-finite after the update", last_finite)
    return params, opt_state, gnorm
