"""A sweep's table and summary, from its cells' records alone.

``rows(records)`` — one flat row per cell (id, status, the cell's overrides, its metrics, error);
``results.csv`` holds them. ``summarise(spec, records)`` — per group (``group_by`` × ``columns``
values), over the seeds: n, mean and sample standard deviation of every numeric metric;
``summary.json``, ``summary.md`` (the spec's metric as a table, rows ``group_by``, columns
``columns``: "mean ± std") and ``summary.png`` (the metric against the first ``group_by`` key,
a line per column value, ± std as error bars).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from .._io import atomic_write

SUMMARY_SCHEMA = "neurosim.sweep.summary/1"


def rows(records: list) -> list[dict]:
    out = []
    for r in records:
        row = {"id": r["id"], "status": r["status"]}
        row.update({f"{k}": v for k, v in _overrides(r).items()})
        row.update(r.get("metrics", {}))
        row["seconds"] = r.get("seconds")
        row["error"] = r.get("error", "")
        out.append(row)
    return out


def _overrides(record: dict) -> dict:
    """The cell's grid keys and seed, read back from its configuration (``spec.Cell.overrides``
    are not stored: the record is self-contained)."""
    return record.get("overrides", {})


def csv_text(table: list[dict]) -> str:
    cols = list(dict.fromkeys(k for row in table for k in row))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for row in table:
        w.writerow({k: _cell(row.get(k)) for k in cols})
    return buf.getvalue()


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return v


def summarise(spec, records: list) -> dict:
    """Groups (``group_by`` + ``columns`` values) → {metric: {n, mean, std}} over the ok cells."""
    keys = [*spec.group_by, *spec.columns]
    groups: dict = {}
    for r in records:
        if r["status"] != "ok":
            continue
        ov = _overrides(r)
        g = tuple(ov.get(k) for k in keys)
        timing = {}
        if r.get("seconds") is not None:  # measured, so not in the metrics (which any machine reproduces)
            timing["seconds"] = r["seconds"]
            if r["metrics"].get("iterations"):
                timing["seconds_per_iteration"] = r["seconds"] / r["metrics"]["iterations"]
        groups.setdefault(g, []).append({**r["metrics"], **timing})
    out = []
    for g, ms in groups.items():
        stats = {}
        for name in dict.fromkeys(k for m in ms for k in m):
            vals = [m.get(name) for m in ms]
            vals = [float(v) for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None]
            if not vals:
                continue
            a = np.asarray(vals)
            stats[name] = {
                "n": int(a.size),
                "mean": float(a.mean()),
                "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
            }
        out.append({"group": dict(zip(keys, g)), "metrics": stats})
    failed = [{"id": r["id"], "overrides": _overrides(r), "error": r.get("error", "")} for r in records
              if r["status"] != "ok"]  # fmt: skip
    return {"schema": SUMMARY_SCHEMA, "spec": spec.name, "metric": spec.metric, "group_by": spec.group_by,
            "columns": spec.columns, "cells": len(records), "failed": failed, "groups": out}  # fmt: skip


def metric_table(summary: dict, metric: str | None = None, digits: int = 3) -> tuple[list, list]:
    """(columns, rows) of the summary's metric: rows the ``group_by`` values, columns the
    ``columns`` values, each cell "mean ± std" over the seeds (n in the header when it differs)."""
    metric = metric or summary["metric"]
    gb, cols = summary["group_by"], summary["columns"]
    row_keys = list(dict.fromkeys(tuple(g["group"][k] for k in gb) for g in summary["groups"]))
    col_keys = list(dict.fromkeys(tuple(g["group"][k] for k in cols) for g in summary["groups"]))
    cell = {}
    full = max((g["metrics"].get(metric, {}).get("n", 0) for g in summary["groups"]), default=0)
    for g in summary["groups"]:
        s = g["metrics"].get(metric)
        rk, ck = tuple(g["group"][k] for k in gb), tuple(g["group"][k] for k in cols)
        cell[rk, ck] = (
            "–"
            if s is None
            else f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f}" + (f" (n = {s['n']})" if s["n"] < full else "")
        )  # a group with fewer seeds than the others says so
    header = [", ".join(gb) or "", *(", ".join(map(str, c)) or metric for c in col_keys)]
    body = [[", ".join(map(str, rk)), *(cell.get((rk, ck), "–") for ck in col_keys)] for rk in row_keys]
    return header, body


def measured(summary: dict) -> list[str]:
    """The metrics some group has (what ``metric`` may name)."""
    return sorted({k for g in summary["groups"] for k in g["metrics"]})


def markdown(summary: dict, spec=None) -> str:
    header, body = metric_table(summary)
    out = [f"# Sweep {summary['spec']}: {summary['metric']} (mean ± std over seeds)", ""]
    if spec is not None and spec.description:
        out += [spec.description, ""]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "---|" * len(header))
    out += ["| " + " | ".join(r) + " |" for r in body]
    if summary["failed"]:
        out += ["", f"{len(summary['failed'])} cell(s) failed:", ""]
        out += [f"- {f['id']} {json.dumps(f['overrides'])}: {f['error']}" for f in summary["failed"]]
    return "\n".join(out) + "\n"


def plot_summary(summary: dict, metric: str | None = None, ax=None, title: str | None = None):
    """The metric (mean ± std over seeds) against the first ``group_by`` key, a line per
    ``columns`` value (a numeric key on a numeric axis; others as categories)."""
    from ..report.chip_plots import OKABE_ITO, _axes

    metric = metric or summary["metric"]
    gb, cols = summary["group_by"], summary["columns"]
    ax = _axes(ax, size=(6.4, 4.0))
    xkey = gb[0] if gb else None
    rest = gb[1:]
    series: dict = {}
    for g in summary["groups"]:
        s = g["metrics"].get(metric)
        if s is None:
            continue
        label = ", ".join(str(g["group"][k]) for k in [*cols, *rest]) or metric
        x = g["group"][xkey] if xkey else 0
        series.setdefault(label, []).append((x, s["mean"], s["std"]))
    xs_all = sorted({x for pts in series.values() for x, _, _ in pts}, key=lambda v: (isinstance(v, str), v))
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs_all)
    pos = {x: (x if numeric else i) for i, x in enumerate(xs_all)}
    markers = "osD^vx<>"
    for k, (label, pts) in enumerate(series.items()):
        pts.sort(key=lambda p: pos[p[0]])
        ax.errorbar([pos[p[0]] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], label=label,
                    color=OKABE_ITO[k % 8], marker=markers[k % 8], capsize=3, lw=1.5, ms=5)  # fmt: skip
    if not numeric:
        ax.set_xticks(range(len(xs_all)), [str(x) for x in xs_all])
    elif xs_all:
        ax.set_xticks(xs_all)
    ax.set_xlabel(xkey or "")
    ax.set_ylabel(f"{metric} (mean ± std over seeds)")
    ax.set_title(title or f"sweep {summary['spec']}: {metric}", fontsize=9)
    ax.grid(True, color="0.9", lw=0.6)
    if series:
        ax.legend(fontsize=8, title=", ".join([*cols, *rest]) or None, title_fontsize=8)
    return ax


def write_summary(result) -> dict:
    """results.csv, summary.json, summary.md, summary.png in the sweep's directory (atomically)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(result.out_dir)
    table = rows(result.records)
    atomic_write(out / "results.csv", lambda p: Path(p).write_text(csv_text(table)))
    s = summarise(result.spec, result.records)
    atomic_write(out / "summary.json", lambda p: Path(p).write_text(json.dumps(s, indent=1)))
    atomic_write(out / "summary.md", lambda p: Path(p).write_text(markdown(s, result.spec)))
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    plot_summary(s, ax=fig.add_subplot())
    atomic_write(out / "summary.png", lambda p: fig.savefig(p, dpi=110, format="png"))
    return s


def same_results(a: list, b: list) -> bool:
    """Whether two lists of records measured the same (ids, statuses and metrics; not timing)."""

    def key(rs):
        return sorted((r["id"], r["status"], json.dumps(r.get("metrics", {}), sort_keys=True)) for r in rs)

    return key(a) == key(b)


def plot_frontier(summaries: list, x: str = "energy_pj_per_step", y: str | None = None, ax=None, title=None):
    """The rule/precision frontier: each group of each summary as a point, ``x`` (default the
    chip's energy per timestep) against ``y`` (default each summary's metric), mean over seeds;
    filled where the group's ``columns`` value is "profile" (the chip's formats), hollow for float,
    one colour per group label."""
    from ..report.chip_plots import OKABE_ITO, _axes

    ax = _axes(ax, size=(7.2, 4.6))
    colours: dict = {}
    markers = "osD^vP<>X"
    for s in summaries:
        ym = y or s["metric"]
        for g in s["groups"]:
            if x not in g["metrics"] or ym not in g["metrics"]:
                continue
            label = ", ".join(str(v) if k in ("rule.name", "chip.profile") else f"{k.split('.')[-1]}={v}"
                              for k, v in ((k, g["group"][k]) for k in s["group_by"]))  # fmt: skip
            label = (s.get("label_prefix") or "") + label
            fmt = ", ".join(str(g["group"][k]) for k in s["columns"])
            k = colours.setdefault(label, len(colours))
            filled = fmt == "profile"
            ax.errorbar(g["metrics"][x]["mean"], g["metrics"][ym]["mean"], yerr=g["metrics"][ym]["std"],
                        marker=markers[k % len(markers)], ms=7, color=OKABE_ITO[k % 8],
                        mfc=OKABE_ITO[k % 8] if filled else "white", capsize=2, ls="none",
                        label=label if filled else None)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel(f"{x} (mean over seeds)" + (" — pJ per chip timestep" if x == "energy_pj_per_step" else ""))
    ax.set_ylabel(f"{y or summaries[0]['metric']} (mean ± std over seeds)")
    ax.set_title(title or "rule and precision frontier: filled = the chip's formats, hollow = float", fontsize=9)
    ax.grid(True, color="0.9", lw=0.6)
    ax.legend(fontsize=7, loc="best", ncol=2)
    return ax


def _short(key: str) -> str:
    """'optimizer.name' → 'optimizer', 'model.n_layers' → 'n_layers'."""
    sec, _, name = key.partition(".")
    return sec if name == "name" else name


def plot_curves(records: list, key: str, ax=None, title: str | None = None, smooth: int = 5):
    """The loss curves the cells recorded (``curve``: at most 200 points over the run), one line per
    seed, one colour per value of the grid key ``key`` (e.g. ``"optimizer.name"``)."""
    from ..report.chip_plots import OKABE_ITO, _axes
    from ..report.plots import _smooth

    ax = _axes(ax, size=(6.8, 4.0))
    values = list(dict.fromkeys(r["overrides"].get(key) for r in records if r.get("curve")))
    for r in records:
        if not r.get("curve"):
            continue
        k = values.index(r["overrides"].get(key))
        y = _smooth(np.asarray(r["curve"], float), smooth)
        x = np.linspace(0, r["metrics"].get("iterations", len(r["curve"])), len(r["curve"]))[len(r["curve"]) - len(y) :]
        first = all(o["overrides"].get(key) != r["overrides"].get(key) or o is r or not o.get("curve")
                    for o in records[: records.index(r)])  # fmt: skip
        ax.plot(x, y, color=OKABE_ITO[k % 8], lw=1.3, alpha=0.85, label=f"{_short(key)} = {values[k]}"
                if first else None)  # fmt: skip
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"loss (running mean of {smooth} recorded points)")
    ax.set_title(title or f"loss curves, one line per seed, by {key}", fontsize=9)
    ax.grid(True, color="0.9", lw=0.6)
    ax.legend(fontsize=8)
    return ax
