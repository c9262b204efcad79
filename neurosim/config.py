"""Run configurations (TOML): strict validation, every unknown key or value named.

[model]      name + ns.models.make options (n_in / n_out default to the task's)
[rule]       name + ns.rules.make options
[task]       name + ns.tasks.make options (seed defaults to [train] seed)
[optimizer]  name ("sgd" | "adam" | "adamw" | "kalman") + its options
[train]      steps, batch_size, seed, update_every, clip, checkpoint_every, resume
[output]     dir (where metrics.json, params.npz, learning_curve.png go)
"""

from __future__ import annotations

import inspect
import tomllib
from pathlib import Path

from . import models, rules, tasks
from .optim import OPTIMIZERS

SECTIONS = ("model", "rule", "task", "optimizer", "train", "output")
TRAIN_KEYS = ("steps", "batch_size", "seed", "update_every", "clip", "checkpoint_every", "resume", "activity")
OUTPUT_KEYS = ("dir",)

QUICKSTART = {
    "model": {"name": "lru", "n_hidden": 64, "width": 64, "n_layers": 2, "dtype": "float32"},
    "rule": {"name": "online_lru"},
    "task": {"name": "copy", "pattern_len": 20},
    "optimizer": {"name": "adam", "lr": 3e-3, "rec_lr_factor": 0.5},
    "train": {"steps": 1000, "batch_size": 32, "seed": 0},
    "output": {"dir": "runs/quickstart"},
}


class ConfigError(ValueError):
    """A configuration problem, naming the file, the section, the key and what is allowed."""


def _options(fn, skip=()) -> list[str]:
    return [p for p in inspect.signature(fn).parameters if p not in ("self",) + tuple(skip)]


def load(path: str | Path) -> dict:
    path = Path(path)
    try:
        with open(path, "rb") as f:
            cfg = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    return validate(cfg, str(path))


def validate(cfg: dict, source: str = "<config>") -> dict:
    """Check sections, names and keys; returns the config with defaults filled in."""
    for sec in cfg:
        if sec not in SECTIONS:
            raise ConfigError(f"{source}: unknown section [{sec}]; allowed sections: {', '.join(SECTIONS)}")
        if not isinstance(cfg[sec], dict):
            raise ConfigError(f"{source}: {sec} must be a table [{sec}], got {cfg[sec]!r}")
    for sec in ("model", "rule", "task"):
        if "name" not in cfg.get(sec, {}):
            raise ConfigError(f"{source}: [{sec}] needs a 'name'")
    out = {s: dict(cfg.get(s, {})) for s in SECTIONS}
    out["optimizer"].setdefault("name", "adam")
    checks = {
        "model": (models.MODELS, lambda n: _options(models.make, ("name",))),
        "rule": (tuple(rules.RULES), lambda n: _options(rules.RULES[n])),
        "task": (tuple(tasks.TASKS), lambda n: _options(tasks.TASKS[n].__init__, ("seed",))),
        "optimizer": (tuple(OPTIMIZERS), lambda n: _options(OPTIMIZERS[n])),
    }
    for sec, (names, opts) in checks.items():
        name = out[sec]["name"]
        if name not in names:
            raise ConfigError(f"{source}: [{sec}] name = {name!r} is unknown; allowed: {', '.join(sorted(names))}")
        allowed = opts(name)
        for key, value in out[sec].items():
            if key != "name" and key not in allowed:
                raise ConfigError(
                    f"{source}: [{sec}] {key} = {value!r} is not an option of {sec} {name!r}; "
                    f"allowed: {', '.join(allowed)}"
                )
    for sec, allowed in (("train", TRAIN_KEYS), ("output", OUTPUT_KEYS)):
        for key, value in out[sec].items():
            if key not in allowed:
                raise ConfigError(f"{source}: [{sec}] {key} = {value!r} is unknown; allowed: {', '.join(allowed)}")
    return out


def build(cfg: dict, source: str = "<config>"):
    """(model, rule, task, optimizer, train kwargs) from a validated config."""
    tr = cfg["train"]
    seed = int(tr.get("seed", 0))
    try:
        t = dict(cfg["task"])
        task = tasks.make(t.pop("name"), seed=seed, **t)
        m = dict(cfg["model"])
        m.setdefault("n_in", task.n_in)
        m.setdefault("n_out", task.n_out)
        model = models.make(m.pop("name"), **m)
        r = dict(cfg["rule"])
        rule = rules.make(r.pop("name"), **r)
        o = dict(cfg["optimizer"])
        opt = OPTIMIZERS[o.pop("name")](**o)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{source}: {e}") from None
    kwargs = {
        k: tr[k] for k in ("steps", "batch_size", "update_every", "clip", "checkpoint_every", "activity") if k in tr
    }
    kwargs["seed"] = seed
    return model, rule, task, opt, kwargs
