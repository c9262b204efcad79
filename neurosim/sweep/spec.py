"""A sweep's specification: a base run configuration, a grid (and/or a list) of overrides by
dotted key, seeds, and what to summarise — expanded into cells, each a whole configuration with a
stable id (the hash of what it runs, so the same cell has the same id in every run of the spec).

A spec is a TOML file (``neurosim sweep SPEC.toml``) or the same as a dict (``ns.sweep.run``)::

    [sweep]
    name = "digits-depth"          # the default output directory: runs/sweeps/NAME
    kind = "train"                 # train (ns.train, float), chip (ns.chip.simulate) or budget
    seeds = [0, 1, 2]              # each cell runs once per seed ([train] seed; the task's seed too)
    metric = "test_accuracy"       # the summary's number: mean ± std over the seeds
    group_by = ["model.n_layers"]  # the summary's rows (default: every grid key); columns: "rule.name"

    [base.model]                   # a run configuration, as ``neurosim train`` reads it
    name = "lru"
    ...

    [grid]                         # every combination of these lists
    "rule.name" = ["bptt", "online_lru", "spatial"]
    "model.n_layers" = [1, 2]

    [[cells]]                      # and/or cells listed one by one (dotted keys)
    "rule.name" = "snap1"

    [[exclude]]                    # grid points to leave out (every key given must match)
    "rule.name" = "spatial"
    "model.n_layers" = 1

Keys are ``section.key`` of the run configuration (``model``, ``rule``, ``task``, ``optimizer``,
``train``) or of ``chip`` (``profile``, ``formats``: for kind ``chip`` and ``budget``). A rule
name given in the grid replaces the whole ``[rule]`` section (its options come from keys such as
``"rule.k"`` in the same cell): the base's rule options would not fit another rule.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .. import config as cfgmod

KINDS = ("train", "chip", "budget")
SECTIONS = ("model", "rule", "task", "optimizer", "train", "chip")
SPEC_KEYS = ("name", "kind", "seeds", "metric", "group_by", "columns", "description", "source")
CHIP_KEYS = ("profile", "formats", "steps")


class SpecError(ValueError):
    """A spec problem, naming the file (or ``<spec>``), the table, the key and what is allowed."""


@dataclass(frozen=True)
class Cell:
    """One run: ``config`` (sections model, rule, task, optimizer, train, chip; validated),
    ``overrides`` (the dotted keys the grid or list set, and ``seed``), ``id`` (its hash)."""

    id: str
    kind: str
    config: dict
    overrides: dict


@dataclass
class Spec:
    name: str
    kind: str
    base: dict
    seeds: list
    metric: str
    group_by: list
    columns: list
    cells: list = field(default_factory=list)  # Cell, in order
    source: str = "<spec>"
    description: str = ""
    paper: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "seeds": self.seeds, "metric": self.metric,
                "group_by": self.group_by, "columns": self.columns, "description": self.description,
                "source": self.paper, "base": self.base, "cells": [c.id for c in self.cells]}  # fmt: skip


def load(path: str | Path, max_steps: int | None = None) -> Spec:
    """A spec from a TOML file; errors name the file. ``max_steps``: see ``parse``."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{path}: {'a directory' if p.is_dir() else 'no such file'}; allowed: a sweep spec TOML file")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SpecError(f"{path}: not valid TOML ({e})") from None
    return parse(data, str(path), max_steps)


def parse(data: dict, source: str = "<spec>", max_steps: int | None = None) -> Spec:
    """A spec from its dict form; every cell's configuration is validated (a bad key or value
    names the spec, the cell and what is allowed) and its model and rule built (a rule that
    cannot train the model, a size the model refuses) before anything runs. ``max_steps`` caps
    every cell's iterations (``train.steps``, ``chip.steps``): other cells, with other ids."""
    unknown = set(data) - {"sweep", "base", "grid", "cells", "exclude"}
    if unknown:
        raise SpecError(f"{source}: unknown table(s) {sorted(unknown)}; allowed: sweep, base, grid, cells, exclude")
    sw = dict(data.get("sweep", {}))
    for k in sw:
        if k not in SPEC_KEYS:
            raise SpecError(f"{source}: [sweep] {k} is unknown; allowed: {', '.join(SPEC_KEYS)}")
    kind = sw.get("kind", "train")
    if kind not in KINDS:
        raise SpecError(f"{source}: [sweep] kind = {kind!r}; allowed one of {', '.join(KINDS)}")
    seeds = sw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise SpecError(f"{source}: [sweep] seeds = {seeds!r}; allowed a non-empty list of integers >= 0")
    if len(set(seeds)) != len(seeds):
        raise SpecError(f"{source}: [sweep] seeds = {seeds!r} lists a seed twice; allowed distinct seeds")
    base = copy.deepcopy(data.get("base", {}))
    for sec in base:
        if sec not in SECTIONS:
            raise SpecError(f"{source}: unknown section [base.{sec}]; allowed: {', '.join(SECTIONS)}")
    grid = data.get("grid", {})
    listed = data.get("cells", [])
    excludes = data.get("exclude", [])
    for key, values in grid.items():
        _check_key(key, source, "[grid]")
        if not isinstance(values, list) or not values:
            raise SpecError(f"{source}: [grid] {key} = {values!r}; allowed a non-empty list of values")
    for i, c in enumerate([*listed, *excludes]):
        for key in c:
            _check_key(key, source, "[[cells]]" if i < len(listed) else "[[exclude]]")
    for ex in excludes:
        for key in ex:
            if key not in grid:
                raise SpecError(f"{source}: [[exclude]] key {key!r} is not a grid key: allowed {list(grid)}")
    if kind == "train":
        chip_keys = [k for k in [*grid, *(k for c in listed for k in c)] if k.startswith("chip.")]
        if chip_keys or base.get("chip"):
            what = repr(chip_keys[0]) if chip_keys else "[base.chip]"
            raise SpecError(f"{source}: {what} in a sweep of kind 'train' (float training, no chip): allowed "
                            "with kind 'chip' or 'budget'")  # fmt: skip
    points = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())] if grid else []
    points = [p for p in points if not any(all(p.get(k) == v for k, v in ex.items()) for ex in excludes)]
    points += [dict(c) for c in listed]
    if not points:
        points = [{}]
    grid_keys = list(dict.fromkeys([k for p in points for k in p]))
    spec = Spec(
        name=str(sw.get("name") or Path(source).stem.strip("<>") or "sweep"),
        kind=kind,
        base=base,
        seeds=list(seeds),
        metric=str(sw.get("metric", "final_loss")),
        group_by=list(sw.get("group_by", [k for k in grid_keys if k != "rule.name"] or grid_keys)),
        columns=list(sw.get("columns", ["rule.name"] if "rule.name" in grid_keys else [])),
        source=source,
        description=str(sw.get("description", "")),
        paper=str(sw.get("source", "")),
    )
    for k in [*spec.group_by, *spec.columns]:
        if k not in grid_keys:
            raise SpecError(f"{source}: [sweep] group_by/columns key {k!r} is not a grid or cell key: allowed "
                            f"{grid_keys}")  # fmt: skip
    seen, tasks_seen = {}, {}
    for n, point in enumerate(points):
        for seed in seeds:
            cfg = _apply(base, point, seed, max_steps)
            where = f"{source}: cell {n} {json.dumps(point)}, seed {seed}"
            try:
                run_cfg = cfgmod.validate({s: cfg[s] for s in cfg if s != "chip"}, where)
            except cfgmod.ConfigError as e:
                raise SpecError(str(e)) from None
            run_cfg.pop("output", None)
            run_cfg["chip"] = _chip(cfg.get("chip", {}), kind, where)
            _check_buildable(run_cfg, where, tasks_seen)
            overrides = {**point, "seed": seed}
            cid = cell_id(kind, run_cfg)
            if cid in seen:
                raise SpecError(f"{where}: runs the same configuration as cell {seen[cid]}: allowed distinct cells")
            seen[cid] = n
            spec.cells.append(Cell(cid, kind, run_cfg, overrides))
    return spec


def _check_key(key: str, source: str, table: str) -> None:
    sec, dot, name = key.partition(".")
    if not dot or sec not in SECTIONS or not name:
        raise SpecError(f"{source}: {table} key {key!r}; allowed 'section.key' with section one of "
                        f"{', '.join(SECTIONS)} (e.g. 'rule.name', 'model.n_hidden')")  # fmt: skip
    if sec == "chip" and name not in CHIP_KEYS:
        raise SpecError(f"{source}: {table} key {key!r}; allowed chip keys: {', '.join(CHIP_KEYS)}")


def _check_buildable(cfg: dict, where: str, tasks_seen: dict) -> None:
    """The cell's model and rule can be made and the rule can train the model (the task built
    once per distinct [task] section, for its input and output sizes)."""
    from .. import models, rules, tasks

    key = json.dumps(cfg["task"], sort_keys=True, default=str)
    try:
        if key not in tasks_seen:
            t = dict(cfg["task"])
            task = tasks.make(t.pop("name"), **t)
            tasks_seen[key] = (task.n_in, task.n_out)
        n_in, n_out = tasks_seen[key]
        m = dict(cfg["model"])
        model = models.make(m.pop("name"), **{"n_in": n_in, "n_out": n_out, **m})
        r = dict(cfg["rule"])
        rules.make(r.pop("name"), **r).check_model(model)
    except (ValueError, TypeError) as e:
        raise SpecError(f"{where}: {e}") from None


def _apply(base: dict, point: dict, seed: int, max_steps: int | None = None) -> dict:
    cfg = copy.deepcopy(base)
    for sec in SECTIONS:
        cfg.setdefault(sec, {})
    if "rule.name" in point:  # another rule: the base's options belong to the base's rule
        cfg["rule"] = {}
    for key, value in point.items():
        sec, _, name = key.partition(".")
        cfg[sec][name] = value
    cfg["train"]["seed"] = seed
    if max_steps is not None:
        cfg["train"]["steps"] = min(int(cfg["train"].get("steps", 1000)), max_steps)
        if "steps" in cfg["chip"]:
            cfg["chip"]["steps"] = min(int(cfg["chip"]["steps"]), max_steps)
    return cfg


def _chip(chip: dict, kind: str, where: str) -> dict:
    for k in chip:
        if k not in CHIP_KEYS:
            raise SpecError(f"{where}: [chip] {k} is unknown; allowed: {', '.join(CHIP_KEYS)}")
    if kind in ("chip", "budget") and "profile" not in chip:
        raise SpecError(f"{where}: kind {kind!r} needs chip.profile (in [base.chip] or the grid)")
    out = dict(chip)
    if "formats" in out and out["formats"] not in ("profile", "float"):
        raise SpecError(f"{where}: chip.formats = {out['formats']!r}; allowed 'profile' or 'float'")
    return out


def cell_id(kind: str, config: dict) -> str:
    """The hash of what a cell runs (its kind and whole configuration): 16 hex digits."""
    text = json.dumps({"kind": kind, "config": config}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
