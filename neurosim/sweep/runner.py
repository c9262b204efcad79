"""Running a sweep's cells on Dask, resumably.

``run(spec, out_dir)`` submits every cell that has no finished record in ``out_dir/cells/`` to a
Dask cluster — a ``distributed.LocalCluster`` of ``workers`` single-threaded processes on this
machine by default, an existing scheduler with ``scheduler="tcp://host:port"``, or this process
with ``scheduler="inline"`` (no Dask: for debugging) — and writes each record as it arrives
(``cells/ID.json``, atomically, by this process: workers need no shared file system). A killed
sweep, run again, runs only the cells without a record; a failed cell's record holds its error
and is run again on the next call (``retry_failed=False`` keeps it). The table of every cell
(``results.csv``), the summary (``summary.json``, ``summary.md``) and its figure
(``summary.png``) are written at the end, from the records alone (``summarise``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .._io import atomic_write, prepare_output_dir
from .cell import run_cell
from .spec import Spec

CELLS_DIR = "cells"


@dataclass
class SweepResult:
    """The records of the spec's cells (in the spec's order), what this call ran, and where."""

    spec: Spec
    out_dir: Path
    records: list
    ran: int
    skipped: int  # cells finished before this call
    seconds: float
    not_run: int = 0  # cells left for a later call (max_cells)

    @property
    def failed(self) -> list:
        return [r for r in self.records if r["status"] != "ok"]


def record_path(out_dir: Path, cell_id: str) -> Path:
    return Path(out_dir) / CELLS_DIR / f"{cell_id}.json"


def read_record(out_dir: Path, cell_id: str) -> dict | None:
    """A cell's record, or None when it has none (or an unreadable one: it runs again)."""
    p = record_path(out_dir, cell_id)
    try:
        r = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return r if isinstance(r, dict) and r.get("id") == cell_id else None


def run(
    spec: Spec,
    out_dir: str | Path,
    scheduler: str | None = None,
    workers: int | None = None,
    retry_failed: bool = True,
    progress: bool = True,
    max_cells: int | None = None,
) -> SweepResult:
    """Run the cells of ``spec`` that ``out_dir`` has no finished record of; then write the table,
    the summary and its figure. ``max_cells`` stops after that many new cells (a partial sweep:
    what a kill leaves, on purpose)."""
    from .summary import write_summary

    t0 = time.perf_counter()
    out = prepare_output_dir(out_dir)
    (out / CELLS_DIR).mkdir(exist_ok=True)
    atomic_write(out / "spec.json", lambda p: Path(p).write_text(json.dumps(spec.to_dict(), indent=1)))
    todo = []
    for c in spec.cells:
        r = read_record(out, c.id)
        if r is None or (retry_failed and r["status"] != "ok"):
            todo.append(c)
    skipped = len(spec.cells) - len(todo)  # finished before this call
    held = todo[max_cells:] if max_cells is not None else []
    todo = todo[:max_cells] if max_cells is not None else todo
    bar = _Progress(len(todo), skipped, enabled=progress)
    if todo:
        for c, record in _execute(todo, scheduler, workers):
            record["overrides"] = c.overrides  # the grid keys and the seed: the table's columns
            atomic_write(record_path(out, c.id), lambda p, r=record: Path(p).write_text(json.dumps(r, indent=1)))
            bar.step(record)
    bar.close()
    records = [read_record(out, c.id) for c in spec.cells]
    records = [r for r in records if r is not None]
    result = SweepResult(spec, out, records, len(todo), skipped, time.perf_counter() - t0, len(held))
    write_summary(result)
    return result


def _execute(cells: list, scheduler: str | None, workers: int | None):
    """(cell, record) as each finishes."""
    if scheduler == "inline":
        for c in cells:
            yield c, run_cell(c.kind, c.config, c.id)
        return
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ValueError("a sweep on Dask needs the package 'distributed': pip install 'neurosim[sweep]' "
                         "(or scheduler 'inline': the cells in this process, one after another)") from None  # fmt: skip

    cluster = None
    if scheduler in (None, "local"):
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
        )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=30)
        except OSError as e:
            raise ValueError(f"--scheduler {scheduler}: cannot connect ({e}); allowed a running Dask scheduler's "
                             "address (tcp://host:port), 'local' or 'inline'") from None  # fmt: skip
    try:
        by_key = {}
        futures = []
        for c in cells:
            f = client.submit(run_cell, c.kind, c.config, c.id, key=f"neurosim-cell-{c.id}", pure=False)
            by_key[f.key] = c
            futures.append(f)
        for f, record in as_completed(futures, with_results=True, raise_errors=False):
            c = by_key[f.key]
            if not isinstance(record, dict):  # the worker died: the cell's error is the task's
                record = {
                    "schema": "neurosim.sweep.cell/1",
                    "id": c.id,
                    "kind": c.kind,
                    "config": c.config,
                    "status": "failed",
                    "error": f"worker failure: {f.exception()!r}",
                    "seconds": None,
                }
            yield c, record
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class _Progress:
    """A one-line progress bar on stderr (a line per cell when stderr is not a terminal)."""

    def __init__(self, total: int, skipped: int, enabled: bool = True):
        self.total, self.done, self.failed, self.enabled = total, 0, 0, enabled
        self.t0 = time.perf_counter()
        self.tty = sys.stderr.isatty()
        if enabled and skipped:
            print(f"sweep: {skipped} cell(s) already finished, skipped", file=sys.stderr)
        if enabled and total:
            print(f"sweep: {total} cell(s) to run", file=sys.stderr)

    def step(self, record: dict) -> None:
        self.done += 1
        self.failed += record["status"] != "ok"
        if not self.enabled:
            return
        el = time.perf_counter() - self.t0
        left = el / self.done * (self.total - self.done)
        width = 30
        fill = int(width * self.done / max(1, self.total))
        line = (f"[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} cells"
                + (f", {self.failed} failed" if self.failed else "") + f"  {el:.0f} s, ~{left:.0f} s left")  # fmt: skip
        if self.tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        else:
            what = "ok" if record["status"] == "ok" else f"FAILED: {record.get('error', '')}"
            print(f"{line}  (cell {record['id']}: {what})", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled and self.tty and self.total:
            print(file=sys.stderr)
