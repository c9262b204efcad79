"""Checkpoints that know which run they belong to.

A checkpoint is one ``.npz`` file written atomically: the leaves of (params, optimizer state,
rule state for continuing tasks) as arrays ``a0, a1, …`` and a JSON ``meta`` record with the
iteration reached, the losses and metrics so far, the task's state and the run's
**fingerprint** — a flat ``{key: value}`` of everything that defines the run. Resuming compares
the stored fingerprint with the current one key by key and refuses, naming every differing key
with both values, before a single array is read into the new run (a checkpoint of a 64-unit model
loaded into a 128-unit one would otherwise fail in a matmul, or worse, not fail).

``run_fingerprint(model, rule, task, optimizer, ...)`` builds the fingerprint from the options the
objects were made with (``models.make``, ``rules.make`` and ``tasks.make`` record them, defaults
filled in; arrays as shape + dtype + SHA-256) — for an object built directly, from its public
attributes, recursively — and the training settings that change the numbers (seed, batch size,
update interval, clipping). The task's
mutable state (``task.state()``, e.g. a curriculum's length) is not part of it: that is restored
from the checkpoint. The CLI passes a fingerprint built from the run's configuration instead
(``config.fingerprint``), so its messages use the configuration's own keys.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import zipfile

import numpy as np

from ._io import atomic_write

FORMAT = "neurosim.checkpoint/2"
RUN_SETTINGS = ("seed", "batch_size", "update_every", "clip")  # the options of ``train`` that change the numbers
_SCALARS = (bool, int, float, str, type(None))


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: names the file and the problem."""


class CheckpointMismatch(CheckpointError):
    """The checkpoint was written by a different run (names the differing keys)."""


def _digest(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return f"array{list(a.shape)} {a.dtype} sha256:{hashlib.sha256(a.view(np.uint8)).hexdigest()[:16]}"


def describe(obj, prefix: str, out: dict | None = None, depth: int = 0) -> dict:
    """Flatten ``obj``'s public attributes into ``{prefix.attr[.sub]: JSON value}``."""
    out = {} if out is None else out
    if isinstance(obj, _SCALARS):
        out[prefix] = obj
    elif isinstance(obj, (np.integer, np.floating, np.bool_)):
        out[prefix] = obj.item()
    elif isinstance(obj, np.dtype):
        out[prefix] = obj.name
    elif isinstance(obj, np.ndarray):
        out[prefix] = _digest(obj)
    elif isinstance(obj, (list, tuple)):
        out[prefix] = f"{type(obj).__name__}[{len(obj)}]"
        for i, v in enumerate(obj):
            describe(v, f"{prefix}.{i}", out, depth + 1)
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            describe(obj[k], f"{prefix}.{k}", out, depth + 1)
    elif depth < 6 and (dataclasses.is_dataclass(obj) or hasattr(obj, "__dict__")):
        out[prefix] = type(obj).__name__
        fields = (
            {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            if dataclasses.is_dataclass(obj)
            else vars(obj)
        )
        for k, v in sorted(fields.items()):
            if not k.startswith("_") and not callable(v) and not _derived(obj, k):
                describe(v, f"{prefix}.{k}", out, depth + 1)
    else:
        out[prefix] = type(obj).__name__
    return out


def _derived(obj, name: str) -> bool:
    """A ``functools.cached_property`` filled in on first use: derived, not a setting."""
    return isinstance(getattr(type(obj), name, None), functools.cached_property)


def _made_with(obj):
    """What ``obj`` was made with: the options ``models.make`` / ``rules.make`` / ``tasks.make``
    record (so a mismatch names ``model.n_hidden``), else the object itself, attribute by
    attribute (objects built directly)."""
    options = getattr(obj, "options", None)
    return options if isinstance(options, dict) else obj


def run_fingerprint(model, rule, task, optimizer, *, seed, batch_size, update_every, clip) -> dict:
    """Everything that defines a training run, from the objects (see the module docstring)."""
    fp: dict = {}
    describe(_made_with(model), "model", fp)
    describe(_made_with(rule), "rule", fp)
    task_fp = describe(_made_with(task), "task")
    for key in task.state():  # mutable task state is restored from the checkpoint, not compared
        task_fp = {k: v for k, v in task_fp.items() if k != f"task.{key}" and not k.startswith(f"task.{key}.")}
    fp.update(task_fp)
    describe(optimizer, "optimizer", fp)
    settings = {"seed": seed, "batch_size": batch_size, "update_every": update_every, "clip": clip}
    fp.update({f"train.{k}": settings[k] for k in RUN_SETTINGS})
    return json.loads(json.dumps(fp, default=str))  # exactly what JSON will give back


def compare(stored: dict | None, current: dict, path: str) -> None:
    """Raise ``CheckpointMismatch`` naming every key whose value differs."""
    if stored is None:
        raise CheckpointMismatch(
            f"{path}: the checkpoint has no run fingerprint (written by neurosim 0.2 or earlier), so it cannot be "
            "checked against this run: delete it to start afresh, or choose another output directory"
        )
    keys = sorted(set(stored) | set(current))
    diff = [k for k in keys if stored.get(k, "<absent>") != current.get(k, "<absent>")]
    if diff:
        shown = "; ".join(
            f"{k}: checkpoint {stored.get(k, '<absent>')!r}, now {current.get(k, '<absent>')!r}" for k in diff[:8]
        )
        more = f"; and {len(diff) - 8} more" if len(diff) > 8 else ""
        raise CheckpointMismatch(
            f"{path}: the checkpoint belongs to a different run ({len(diff)} setting(s) differ: {shown}{more}): "
            "resume only with the settings it was written with; to start afresh, delete it or choose another "
            "output directory"
        )


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


def save(path: str, payload: dict, meta: dict, extra: dict | None = None) -> None:
    """Write the arrays of ``payload`` and the JSON ``meta`` atomically; ``extra``: named arrays
    stored beside them (``x:NAME``; the chip simulation's counters, ``load_extra``)."""
    arrays = {f"a{i}": a for i, a in enumerate(_leaves(payload))}
    arrays.update({f"x:{k}": np.asarray(v) for k, v in (extra or {}).items()})
    arrays["meta"] = np.frombuffer(json.dumps({"format": FORMAT, **meta}).encode(), np.uint8)
    atomic_write(path, lambda tmp: np.savez(tmp, **arrays))


def read_meta(path: str) -> dict:
    """The JSON record of a checkpoint, without its arrays."""
    try:
        with np.load(path) as z:
            return json.loads(z["meta"].tobytes().decode())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(
            f"{path}: not a readable neurosim checkpoint ({type(e).__name__}: {e}): delete it to start afresh"
        ) from None


def load(path: str, template: dict, fingerprint: dict | None = None) -> tuple[dict, dict]:
    """(payload shaped like ``template``, meta); with ``fingerprint``, refuse another run's checkpoint."""
    meta = read_meta(path)
    if fingerprint is not None:
        compare(meta.get("fingerprint"), fingerprint, path)
    with np.load(path) as z:
        n = len([k for k in z.files if k.startswith("a") and k[1:].isdigit()])
        leaves = [z[f"a{i}"] for i in range(n)]
    return _fill(template, leaves), meta


def load_extra(path: str) -> dict[str, np.ndarray]:
    """The named arrays ``save`` stored with ``extra`` (empty for a checkpoint without them)."""
    with np.load(path) as z:
        return {k[2:]: z[k] for k in z.files if k.startswith("x:")}
