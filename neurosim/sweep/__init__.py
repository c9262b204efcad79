"""Sweeps: a grid of runs over any configuration keys, executed on Dask, resumable.

``ns.sweep.run(spec, out_dir)`` (a ``Spec`` from ``load(path)`` or ``parse(dict)``, or a path)
runs the cells that have no finished record in ``out_dir``: on a local Dask cluster (one
single-threaded process per core) by default, on a running scheduler with
``scheduler="tcp://..."``, or in this process with ``scheduler="inline"``. Each cell's record is
``out_dir/cells/ID.json`` (``cell.run_cell``: a pure function of the cell's configuration and
seed); the table ``results.csv``, the summary ``summary.json`` / ``summary.md`` and its figure
``summary.png`` follow (``summary``). ``neurosim sweep SPEC.toml`` is the same from the shell.
"""

from __future__ import annotations

from pathlib import Path

from . import cell, runner, spec, summary
from .cell import run_cell
from .runner import SweepResult
from .spec import Cell, Spec, SpecError, load, parse


def run(spec_or_path, out_dir: str | Path | None = None, **kw) -> SweepResult:
    """Run a sweep (``runner.run``): ``spec_or_path`` a ``Spec``, a spec dict or a TOML path;
    ``out_dir`` default ``runs/sweeps/NAME``."""
    s = spec_or_path
    if isinstance(s, (str, Path)):
        s = load(s)
    elif isinstance(s, dict):
        s = parse(s)
    return runner.run(s, out_dir or f"runs/sweeps/{s.name}", **kw)


__all__ = [
    "Cell",
    "Spec",
    "SpecError",
    "SweepResult",
    "cell",
    "load",
    "parse",
    "run",
    "run_cell",
    "runner",
    "spec",
    "summary",
]
