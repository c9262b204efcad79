"""One sweep cell, run where a Dask worker (or this process) runs it: a pure function of the
cell's kind and configuration (its seed included), returning a JSON-ready record — never
raising: an error is the record's ``status = "failed"`` with its type, message and traceback.

Kinds:
* ``train`` — ``ns.train`` in float; metrics: the loss and the task's metrics averaged over the
  last tenth of the iterations (``final_*``), on the task's held-out set when it has one
  (``test_*``, the learned weights run from the zero state), the learning state in floats per
  sample, the parameters, and the loss curve (subsampled to at most 200 points).
* ``chip`` — ``ns.chip.simulate`` on ``chip.profile`` in ``chip.formats`` (default the
  profile's): the same metrics, plus energy and time per chip timestep, cores, and the learning
  state's bits on the chip (``hardware.budget``).
* ``budget`` — ``hardware.budget`` only: fits, cores, memory per region, energy and time per step.
"""

from __future__ import annotations

import platform
import time
import traceback

import numpy as np

SCHEMA = "neurosim.sweep.cell/1"
CURVE_POINTS = 200


def run_cell(kind: str, config: dict, cell_id: str = "") -> dict:
    """The record of one cell (``SCHEMA``); ``metrics`` are what the cell measured (numbers
    only; the same on any machine for the same configuration), ``seconds`` its wall time."""
    t0 = time.perf_counter()
    record = {"schema": SCHEMA, "id": cell_id, "kind": kind, "config": config}
    try:
        metrics, extra = _KINDS[kind](config)
        record.update(status="ok", metrics=_finite(metrics), **extra)
    except Exception as e:  # noqa: BLE001 - a cell's failure is its result
        record.update(status="failed", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc(limit=8))
    from .. import __version__

    record["seconds"] = time.perf_counter() - t0
    record["host"] = {"neurosim": __version__, "python": platform.python_version(), "node": platform.node()}
    return record


def _finite(metrics: dict) -> dict:
    out = {}
    for k, v in metrics.items():
        if isinstance(v, (bool, np.bool_)):
            out[k] = bool(v)
        elif isinstance(v, (int, np.integer)):
            out[k] = int(v)
        else:
            v = float(v)
            out[k] = v if np.isfinite(v) else None
    return out


def _build(config: dict):
    from .. import config as cfgmod

    run = {s: config[s] for s in ("model", "rule", "task", "optimizer", "train")}
    model, rule, task, opt, kw = cfgmod.build(cfgmod.validate(run, "<sweep cell>"), "<sweep cell>")
    kw.pop("fingerprint", None)
    kw.pop("checkpoint_every", None)
    return model, rule, task, opt, kw


def _learning(losses, metrics: list, prefix: str = "final_") -> dict:
    losses = np.asarray(losses, float)
    k = max(1, losses.size // 10)
    out = {"iterations": int(losses.size), f"{prefix}loss": float(np.mean(losses[-k:])) if losses.size else None}
    # the trajectory's noise: the loss's standard deviation over the last tenth (a drift included)
    out[f"{prefix}loss_std"] = float(np.std(losses[-k:])) if losses.size else None
    for key in metrics[0] if metrics else ():
        if key not in ("loss", "grad_norm"):
            out[f"{prefix}{key}"] = float(np.nanmean([m.get(key, np.nan) for m in metrics[-k:]]))
    if metrics and "length" in metrics[0]:  # a curriculum: the longest sequence it reached
        out["length_reached"] = float(max(m["length"] for m in metrics))
    return out


def _curve(losses) -> list:
    losses = np.asarray(losses, float)
    if losses.size <= CURVE_POINTS:
        return [float(x) for x in losses]
    idx = np.linspace(0, losses.size - 1, CURVE_POINTS).round().astype(int)
    return [float(x) for x in losses[idx]]


def _test(model, task, params) -> dict:
    """The task's held-out set (``task.test_batch()``), the learned weights run from zero state."""
    if not hasattr(task, "test_batch"):
        return {}
    from ..losses import get

    batch = task.test_batch()
    ys = model.run(params, batch.xs)
    if isinstance(ys, tuple):
        ys = ys[0]
    loss_fn = get(task.loss)
    total = sum(loss_fn(ys[t], batch.ys[t].astype(ys.dtype), batch.mask[t])[0] for t in range(ys.shape[0]))
    out = {"test_loss": float(total / (float(batch.mask.mean(1).sum()) or 1.0))}  # as ns.train's: per masked step
    out.update({f"test_{k}": float(v) for k, v in task.metrics(ys, batch).items()})
    return out


def _train(config: dict):
    from ..train import NetworkActivityError, TrainingDiverged, train

    model, rule, task, opt, kw = _build(config)
    steps = int(kw.pop("steps", 1000))
    try:
        res = train(model, rule, task, opt, steps, progress=False, **kw)
    except (TrainingDiverged, NetworkActivityError) as e:
        res = e.result
    m = _learning(res.losses, res.metrics)
    m.update(_test(model, task, res.params))
    m["diverged"] = res.status != "finished"
    m["memory_floats"] = int(rule.memory_floats(model))
    m["parameters"] = int(sum(int(np.prod(s)) for s in model.shapes().values()))
    m["learning_macs_per_step"] = float(sum(sum(ph.get("mac", 0) for ph in layer.values())
                                            for layer in rule.op_counts(model)))  # fmt: skip
    return m, {"run_status": res.status, "curve": _curve(res.losses)}


def _chip_run(config: dict):
    from .. import hardware
    from ..chip import simulate
    from ..train import TrainingDiverged

    model, rule, task, opt, kw = _build(config)
    chip = config["chip"]
    profile = hardware.load_profile(chip["profile"])
    steps = int(chip.get("steps", kw.pop("steps", 1000)))
    kw.pop("steps", None)
    opts = {k: kw[k] for k in ("batch_size", "seed", "update_every", "clip", "activity") if k in kw}
    try:
        run = simulate(model, rule, task, profile, None, steps, opt, formats=chip.get("formats", "profile"), **opts)
    except TrainingDiverged as e:
        run = e.result
    m = _learning(run.losses, run.metrics)
    m.update(_test(model, task, run.params))
    n = max(1, int(np.asarray(run.step_ns).size))
    m["diverged"] = run.status != "finished"
    m["energy_pj_per_step"] = float(run.energy_pj) / n
    m["step_ns"] = float(np.mean(run.step_ns)) if n else None
    m["cores"] = len(run.cores)
    m.update(_budget_metrics(model, rule, profile))
    return m, {"run_status": run.status, "curve": _curve(run.losses)}


def _budget_metrics(model, rule, profile) -> dict:
    from .. import hardware

    b = hardware.budget(model, rule, profile)
    out = {
        "fits": bool(b.fits),
        "cores_needed": int(b.cores_needed),
        "learning_bits": int(b.learning_bits),
        "budget_energy_pj_per_step": float(sum(b.energy_pj.values())),
        "budget_step_ns": float(b.step_ns),
    }
    for s in profile.srams:
        out[f"{s.name}_bits"] = int(sum(r.used_bits for r in b.regions if r.region == s.name))
    return out


def _budget(config: dict):
    from .. import hardware

    model, rule, _, _, _ = _build(config)
    profile = hardware.load_profile(config["chip"]["profile"])
    m = _budget_metrics(model, rule, profile)
    m["memory_floats"] = int(rule.memory_floats(model))
    return m, {}


_KINDS = {"train": _train, "chip": _chip_run, "budget": _budget}
