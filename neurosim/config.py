"""Run configurations (TOML): strict validation, every unknown key or value named.

[model]      name + ns.models.make options (n_in / n_out default to the task's)
[rule]       name + ns.rules.make options
[task]       name + ns.tasks.make options (seed defaults to [train] seed)
[optimizer]  name ("sgd" | "adam" | "adamw" | "kalman") + its options
[train]      steps, batch_size, seed, update_every, clip, checkpoint_every, resume, activity
[output]     dir (where metrics.json, params.npz, learning_curve.png go)

Types are strict: an option whose Python signature says ``bool`` takes ``true``/``false`` only
(never the string ``"false"``, which Python would read as true), ``int`` takes integers only
(``5.5`` is an error, not 5), ``float`` takes any number. ``[train]`` keys are checked here, at
load, with their ranges, so every error names the file, the section, the key, the value and
what is allowed before anything runs.

``build`` also returns, in its keyword arguments for ``train``, the run's ``fingerprint``: every
option of every section with the defaults filled in, plus the training settings that change the
numbers (seed, batch size, update interval, clipping). A checkpoint stores it; resuming with a
different configuration is refused, naming the keys that differ.
"""

from __future__ import annotations

import inspect
import tomllib
import types
import typing
from pathlib import Path

from . import models, rules, tasks
from .checkpoint import RUN_SETTINGS
from .optim import OPTIMIZERS
from .train import OPTION_CHECKS, train

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


def _parameters(fn, skip=()) -> dict[str, inspect.Parameter]:
    params = inspect.signature(fn, eval_str=True).parameters
    return {k: p for k, p in params.items() if k not in ("self",) + tuple(skip)}


_TRAIN_DEFAULTS = {k: p.default for k, p in _parameters(train).items()}


_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _accepts(value, kinds: set) -> bool:
    for kind in kinds:
        if kind is bool and isinstance(value, bool):
            return True
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if kind is str and isinstance(value, str):
            return True
    return False


def _check_type(source: str, sec: str, key: str, value, param: inspect.Parameter) -> None:
    """Check a section option against its Python annotation (bool, int, float, str, unions of
    them with None); unannotated options with a tuple default take a list."""
    ann = param.annotation
    if ann is inspect.Parameter.empty:
        if isinstance(param.default, tuple) and not isinstance(value, list):
            raise ConfigError(f"{source}: [{sec}] {key} = {value!r} is invalid: allowed a list")
        return
    args = (
        typing.get_args(ann) if isinstance(ann, types.UnionType) or typing.get_origin(ann) is typing.Union else (ann,)
    )
    kinds = {a for a in args if a in _TYPE_WORDS}
    if kinds and not _accepts(value, kinds):
        words = " or ".join(_TYPE_WORDS[k] for k in (bool, int, float, str) if k in kinds)
        raise ConfigError(f"{source}: [{sec}] {key} = {value!r} is invalid: allowed {words}")


def load(path: str | Path) -> dict:
    path = Path(path)
    try:
        with open(path, "rb") as f:
            cfg = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file: allowed a path to a TOML run configuration") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory: allowed a path to a TOML run configuration") from None
    except PermissionError:
        raise ConfigError(f"{path}: permission denied: allowed a readable TOML file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read ({e.strerror or e}): allowed a readable TOML file") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a text file ({e.reason} at byte {e.start}): allowed a TOML file") from None
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
    for sec in _FACTORIES:
        check_section(sec, out[sec], source)
    for sec, allowed in (("train", TRAIN_KEYS), ("output", OUTPUT_KEYS)):
        for key, value in out[sec].items():
            if key not in allowed:
                raise ConfigError(f"{source}: [{sec}] {key} = {value!r} is unknown; allowed: {', '.join(allowed)}")
            _check_setting(source, sec, key, value)
    return out


def check_section(sec: str, options: dict, source: str) -> None:
    """A [model] / [rule] / [task] / [optimizer] table: its name, its option names, their types."""
    name = options.get("name")
    names = _names(sec)
    if not isinstance(name, str) or name not in names:
        raise ConfigError(f"{source}: [{sec}] name = {name!r} is unknown; allowed: {', '.join(sorted(names))}")
    params = _section_parameters(sec, name)
    for key, value in options.items():
        if key == "name":
            continue
        if key not in params:
            raise ConfigError(
                f"{source}: [{sec}] {key} = {value!r} is not an option of {sec} {name!r}; "
                f"allowed: {', '.join(params) or 'none'}"
            )
        _check_type(source, sec, key, value, params[key])


def _check_setting(source: str, sec: str, key: str, value) -> None:
    """[train] keys with ``train``'s own checks (``OPTION_CHECKS``); resume and [output] dir here."""
    if key == "resume":
        ok, what = isinstance(value, bool), "true or false"
    elif key == "dir":
        ok, what = isinstance(value, str) and value.strip() != "", "a non-empty path string"
    else:
        try:
            OPTION_CHECKS[key](value)
            return
        except ValueError as e:
            raise ConfigError(f"{source}: [{sec}] {key} = {value!r} is invalid: {str(e).split(': ', 1)[-1]}") from None
    if not ok:
        raise ConfigError(f"{source}: [{sec}] {key} = {value!r} is invalid: allowed {what}")


# section → (the names it allows, name → the factory whose parameters are its options, skipped)
_FACTORIES = {
    "model": (lambda: models.MODELS, lambda n: models.make, ("name",)),
    "rule": (lambda: tuple(rules.RULES), lambda n: rules.RULES[n], ()),
    "task": (lambda: tuple(tasks.TASKS), lambda n: tasks.TASKS[n].__init__, ("seed",)),
    "optimizer": (lambda: tuple(OPTIMIZERS), lambda n: OPTIMIZERS[n], ()),
}


def _names(sec: str) -> tuple:
    return _FACTORIES[sec][0]()


def _section_parameters(sec: str, name: str) -> dict[str, inspect.Parameter]:
    """The options a section's factory takes for ``name`` (a model kind: only its own options)."""
    _, factory, skip = _FACTORIES[sec]
    params = _parameters(factory(name), skip)
    if sec == "model":
        params = {k: v for k, v in params.items() if k in models.OPTIONS[name]}
    return params


def fingerprint(cfg: dict, model_io: tuple[int, int]) -> dict:
    """Every option of every section (defaults filled in) and the training settings that change
    the numbers: what identifies a run in its checkpoint. ``model_io``: the task's (n_in, n_out),
    the model's defaults."""
    fp: dict = {}
    for sec in _FACTORIES:
        opts = dict(cfg[sec])
        name = opts.pop("name")
        fp[f"{sec}.name"] = name
        full = {k: p.default for k, p in _section_parameters(sec, name).items() if p.default is not p.empty}
        if sec == "model":
            full["n_in"], full["n_out"] = model_io
        full.update(opts)
        fp.update({f"{sec}.{k}": (list(v) if isinstance(v, tuple) else v) for k, v in sorted(full.items())})
    fp.update({f"train.{k}": cfg["train"].get(k, _TRAIN_DEFAULTS[k]) for k in RUN_SETTINGS})
    return fp


def build(cfg: dict, source: str = "<config>"):
    """(model, rule, task, optimizer, train kwargs) from a validated config; an error names the
    file and the section."""
    tr = cfg["train"]
    seed = tr.get("seed", _TRAIN_DEFAULTS["seed"])

    def made(sec: str, factory, section: dict):
        opts = dict(section)
        name = opts.pop("name")
        try:
            return factory(name, **opts)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"{source}: [{sec}] {e}") from None

    task = made("task", lambda name, **o: tasks.make(name, seed=seed, **o), cfg["task"])
    model = made("model", models.make, {"n_in": task.n_in, "n_out": task.n_out, **cfg["model"]})
    rule = made("rule", rules.make, cfg["rule"])
    opt = made("optimizer", lambda name, **o: OPTIMIZERS[name](**o), cfg["optimizer"])
    kwargs = {
        k: tr[k] for k in ("steps", "batch_size", "update_every", "clip", "checkpoint_every", "activity") if k in tr
    }
    kwargs["seed"] = seed
    kwargs["fingerprint"] = fingerprint(cfg, (task.n_in, task.n_out))
    return model, rule, task, opt, kwargs
