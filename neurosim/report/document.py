"""One canonical report per result, as JSON, Markdown and one self-contained HTML page.

``build(result)`` turns a budget (``hardware.budget``'s ``Budget``), a chip run (``chip.ChipRun``) or a
mapping (``mapping.MappingResult``) into a ``Report``: a title, a summary (label, value, unit),
sections with tables, figures (rendered with this package's plotting functions) and the
result's own JSON record (``source``). ``Report.to_dict`` follows the versioned schema shipped
beside this module (``report.schema.json``, JSON Schema 2020-12, ``SCHEMA``); ``to_markdown``
and ``to_html`` render it; ``write(out_dir)`` writes ``report.json``, ``report.md``,
``report.html`` and the figures' PNGs, each atomically. The HTML page embeds its figures as
data URIs and its style inline, has no script and no external reference (it opens offline),
and fits a phone-width screen (tables scroll inside their box, figures scale down).
``compare(reports)`` puts several reports' summaries side by side.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._io import atomic_write

SCHEMA = "neurosim.report/2"
SCHEMA_FILE = Path(__file__).with_name("report.schema.json")
KINDS = ("budget", "chip_run", "mapping", "training", "study", "profiles", "kernels", "sweep", "comparison")


@dataclass
class Figure:
    """A rendered figure: its title, the file it is written to, a caption, the PNG bytes."""

    title: str
    file: str
    caption: str = ""
    png: bytes = b""

    def to_dict(self) -> dict:
        return {"title": self.title, "file": self.file, "caption": self.caption}


@dataclass
class Report:
    kind: str
    title: str
    summary: list  # [label, value, unit]: value a number, a string or a bool
    sections: list = field(default_factory=list)  # {"title", "text", "table": {"columns", "rows"}}
    figures: list = field(default_factory=list)  # Figure
    source: dict = field(default_factory=dict)  # the result's own JSON record
    created: str = ""
    label: str = ""  # a short name (a column of ``compare``)

    def to_dict(self) -> dict:
        from .. import __version__

        return {
            "schema": SCHEMA,
            "kind": self.kind,
            "title": self.title,
            "label": self.label or self.title,
            "created": self.created or _now(),
            "neurosim_version": __version__,
            "summary": [{"label": a, "value": _plain(b), "unit": c} for a, b, c in self.summary],
            "sections": [_plain(s) for s in self.sections],
            "figures": [f.to_dict() for f in self.figures],
            "source": _plain(self.source),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=False)

    def to_markdown(self) -> str:
        out = [f"# {self.title}", ""]
        out += ["| | |", "|---|---|"]
        out += [f"| {_md(a)} | {_md(_fmt(b, c))} |" for a, b, c in self.summary]
        for s in self.sections:
            out += ["", f"## {s['title']}", ""]
            if s.get("text"):
                out += [s["text"], ""]
            if s.get("table"):
                t = s["table"]
                out.append("| " + " | ".join(map(_md, t["columns"])) + " |")
                out.append("|" + "---|" * len(t["columns"]))
                out += ["| " + " | ".join(_md(_fmt(x)) for x in row) + " |" for row in t["rows"]]
        for f in self.figures:
            out += ["", f"![{_md(f.title)}]({f.file})", ""]
            if f.caption:
                out.append(f"*{f.caption}*")
        return "\n".join(out).rstrip() + "\n"

    def to_html(self, fragment: bool = False) -> str:
        """The page (or, ``fragment``, its body for a notebook cell)."""
        body = [f"<h1>{_h(self.title)}</h1>", '<div class="scroll"><table class="summary">']
        body += [f"<tr><th>{_h(a)}</th><td>{_h(_fmt(b, c))}</td></tr>" for a, b, c in self.summary]
        body.append("</table></div>")
        for s in self.sections:
            body.append(f"<h2>{_h(s['title'])}</h2>")
            if s.get("text"):
                body.append(f"<p>{_h(s['text'])}</p>")
            if s.get("table"):
                t = s["table"]
                body.append('<div class="scroll"><table>')
                body.append("<tr>" + "".join(f"<th>{_h(c)}</th>" for c in t["columns"]) + "</tr>")
                body += ["<tr>" + "".join(f"<td>{_h(_fmt(x))}</td>" for x in row) + "</tr>" for row in t["rows"]]
                body.append("</table></div>")
        for f in self.figures:
            data = base64.b64encode(f.png).decode("ascii")
            body.append(f'<figure><img src="data:image/png;base64,{data}" alt="{_h(f.title)}">')
            body.append(f"<figcaption>{_h(f.title)}{': ' + _h(f.caption) if f.caption else ''}</figcaption></figure>")
        inner = "\n".join(body)
        if fragment:
            return f'<div class="neurosim-report"><style>{_CSS_FRAGMENT}</style>\n{inner}\n</div>'
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_h(self.title)}</title>\n<style>{_CSS}</style></head>\n"
            f'<body><main class="neurosim-report">\n{inner}\n'
            f"<footer>neurosim report ({SCHEMA}), {self.kind}, {_h(self.created or _now())}</footer>"
            "</main></body></html>\n"
        )

    def _repr_html_(self) -> str:
        return self.to_html(fragment=True)

    def write(self, out_dir: str, name: str = "report") -> dict:
        """``NAME.json``, ``NAME.md``, ``NAME.html`` (default ``report.*``) and each figure's PNG in
        ``out_dir`` (made if missing), each written atomically; returns {what: path}."""
        os.makedirs(out_dir, exist_ok=True)
        self.created = self.created or _now()
        paths = {}
        for f in self.figures:
            paths[f.file] = _write(os.path.join(out_dir, f.file), f.png)
        for file, text in ((f"{name}.json", self.to_json()), (f"{name}.md", self.to_markdown()),
                           (f"{name}.html", self.to_html())):  # fmt: skip
            paths[file] = _write(os.path.join(out_dir, file), text.encode())
        return paths


def build(result, profile=None, figures: bool = True, reference=None, *, model=None, rule=None, task=None) -> Report:
    """The report of ``result``: a ``Budget``, a ``ChipRun``, a ``MappingResult`` (its
    figures need the ``profile``: a name or a ``Profile``; without one they are left out), a
    ``TrainResult`` (``ns.train``; ``model``, ``rule`` and ``task`` name what was trained and set
    the chance levels), a study's result (``experiments.gradient_quality.run``), a list of
    ``Profile`` objects (a table of chips) or a list of the others (``compare``).
    ``figures=False`` leaves the figures out (faster). ``reference``: for a chip run, the float
    run's losses (``TrainResult.losses``), drawn beside the chip's."""
    from ..chip.run import ChipRun
    from ..hardware.accounting import Budget
    from ..hardware.profile import Profile
    from ..mapping.mapper import MappingResult
    from ..sweep.runner import SweepResult
    from ..train import TrainResult

    if isinstance(result, (list, tuple)) and result and all(isinstance(r, Profile) for r in result):
        return _profiles(result)
    if isinstance(result, (list, tuple)):
        return compare([r if isinstance(r, Report) else build(r, profile, figures) for r in result])
    if isinstance(result, Budget):
        return _budget(result, figures)
    if isinstance(result, ChipRun):
        return _chip_run(result, figures, reference)
    if isinstance(result, MappingResult):
        return _mapping(result, profile, figures)
    if isinstance(result, TrainResult):
        return _training(result, figures, model, rule, task)
    if isinstance(result, SweepResult):
        return _sweep(result, figures)
    if isinstance(result, dict) and str(result.get("schema", "")).startswith("neurosim.study."):
        return _study(result, figures)
    raise TypeError(
        f"ns.report.build: a {type(result).__name__} has no report; allowed a Budget (ns.hardware.budget), "
        "a ChipRun (ns.chip.simulate), a MappingResult (ns.mapping.map_network), a TrainResult (ns.train), "
        "a study's result, a list of Profiles, or a list of them"
    )


def compare(reports: list) -> Report:
    """Several reports side by side: one row per summary label, one column per report."""
    if not reports:
        raise ValueError("ns.report.compare: no reports to compare")
    labels = []
    for r in reports:
        labels += [a for a, _, _ in r.summary if a not in labels]
    cols = ["", *(r.label or r.title for r in reports)]
    rows = []
    for label in labels:
        row = [label]
        for r in reports:
            got = [(b, c) for a, b, c in r.summary if a == label]
            row.append(_fmt(*got[0]) if got else "–")
        rows.append(row)
    kinds = sorted({r.kind for r in reports})
    figs = [Figure(f.title + f" ({r.label or r.title})", f"{i}_{f.file}", f.caption, f.png)
            for i, r in enumerate(reports, 1) for f in r.figures[:1]]  # fmt: skip
    return Report(
        "comparison",
        f"{len(reports)} results side by side ({', '.join(kinds)})",
        [["results", len(reports), ""]],
        [{"title": "Side by side", "table": {"columns": cols, "rows": rows}}],
        figs,
        {"reports": [r.to_dict() for r in reports]},
        label="comparison",
    )


# --- the builders --------------------------------------------------------------------------------
def _budget(b, figures: bool) -> Report:
    d = b.to_dict()
    summary = [
        ["chip", b.profile, ""],
        ["model", _describe(b.model), ""],
        ["rule", b.rule, ""],
        ["runs as is", not b.cannot_run, ""],  # the chip can run the model (its messages, its neurons)
        ["fits", bool(b.fits), ""],  # the memory, the cores, the fan-in and fan-out limits
        ["cores", b.cores_used, ""],
        ["step time", float(b.step_ns), "ns"],
        ["energy per step", float(sum(b.energy_pj.values())), "pJ"],
        ["learning state / inference state", float(b.overhead_fraction), "×"],
    ]
    regions = {}
    for r in b.regions:  # the fullest core of each region
        u = r.used_bits / r.capacity_bits if r.capacity_bits else 0.0
        if r.region not in regions or u > regions[r.region][3]:
            regions[r.region] = (r.region, r.core, int(r.used_bits), u, int(r.capacity_bits), bool(r.fits))
    rows = [[n, c, used, cap, f"{100 * u:.1f} %", ok] for n, c, used, u, cap, ok in regions.values()]
    sections = [
        {"title": "Memory by region (the fullest core)", "table": {
            "columns": ["region", "core", "used bits", "capacity bits", "used", "fits"], "rows": rows}},
        {"title": "Energy per step by phase", "table": {
            "columns": ["phase", "pJ"], "rows": [[k, float(v)] for k, v in b.energy_pj.items()]}},
    ]  # fmt: skip
    if b.culprits:
        sections.insert(0, {"title": "What does not fit", "table": {
            "columns": ["where", "limit", "needs", "has", "over by", "what"],
            "rows": [["chip" if c.scope == "chip" else f"layer {c.layer}, core {c.core}", c.region, int(c.needed),
                      int(c.available), int(c.needed) - int(c.available), c.what] for c in b.culprits]}})  # fmt: skip
    if b.cannot_run:
        sections.insert(0, {"title": "What the chip cannot run", "text": "; ".join(map(str, b.cannot_run))})
    figs = []
    if figures:
        figs.append(_figure(_memory_bars, b, title="Memory by region", file="memory_by_region.png",
                            caption="the fullest core's use of each SRAM region, against its capacity"))  # fmt: skip
    return Report("budget", f"{b.rule} on {b.profile}: memory, energy and time per step", summary, sections, figs, d,
                  label=f"{b.rule} on {b.profile}")  # fmt: skip


def _chip_run(run, figures: bool, reference=None) -> Report:
    from .chip_plots import plot_cycles_by_core, plot_cycles_mesh, plot_energy_by_phase, plot_float_vs_chip

    s = run.summary()
    losses = np.asarray(run.losses, float)
    steps = max(int(np.asarray(run.step_ns).size), 1)
    summary = [
        ["chip", run.profile, ""],
        ["rule", run.rule, ""],
        ["number formats", run.formats, ""],
        ["status", run.status, ""],
        ["iterations", int(losses.size), ""],
        ["first loss", float(losses[0]) if losses.size else float("nan"), ""],
        ["last loss", float(losses[-1]) if losses.size else float("nan"), ""],
        ["cores", len(run.cores), ""],
        ["chip timesteps", int(np.asarray(run.step_ns).size), ""],
        ["step time (mean)", s["step_ns"]["mean"], "ns"],
        ["energy per timestep (mean)", run.energy_pj / steps, "pJ"],
    ]
    per_phase = {ph: float(run.energy[:, :, i].sum()) / steps for i, ph in enumerate(run.phases)}
    sections = [
        {"title": "Energy per timestep by phase", "table": {
            "columns": ["phase", "pJ"], "rows": [[k, v] for k, v in per_phase.items() if v]}},
        {"title": "Cycles per timestep by core (mean)", "table": {
            "columns": ["core", *run.phases],
            "rows": [[int(c), *(float(x) for x in np.asarray(run.cycles).mean(0)[i])]
                     for i, c in enumerate(run.cores)]}},
    ]  # fmt: skip
    over = [[kind, name, int(sum(v))] for kind, arrays in run.overflows.items() for name, v in arrays.items() if sum(v)]
    if over:
        sections.append({"title": "Saturations and lost updates", "table": {
            "columns": ["kind", "array", "count"], "rows": sorted(over, key=lambda r: -r[2])[:20]}})  # fmt: skip
    figs = []
    if figures:
        figs.append(_figure(plot_cycles_by_core, run, title="Cycles per core by phase", file="chip_cycles.png"))
        if run.layout is not None and len({c.chip for c in run.layout.cores}) == 1:
            figs.append(
                _figure(
                    lambda r, ax: plot_cycles_mesh(r, ax=ax),
                    run,
                    title="Cycles per core over the mesh",
                    file="chip_cycles_mesh.png",
                    size=(6.4, 4.6),
                    caption="mean cycles per timestep, all phases; each core's busiest phase named",
                )
            )
        if np.asarray(run.step_ns).size:
            figs.append(_figure(plot_energy_by_phase, run, title="Energy per timestep by phase",
                                file="chip_energy.png"))  # fmt: skip
        if losses.size:
            curve = (
                _chip_curve
                if reference is None
                else (
                    lambda r, ax: plot_float_vs_chip(
                        reference, r.losses, ax=ax, labels=("float", f"{r.profile} formats")
                    )
                )
            )
            figs.append(_figure(curve, run, title="Learning curve", file="chip_learning_curve.png"))
    source = {k: v for k, v in run.to_dict().items() if k not in _PER_STEP}  # those: chip_run.json
    return Report("chip_run", f"{run.rule} learning on {run.profile} ({run.formats} formats)", summary, sections,
                  figs, source, label=f"{run.rule} on {run.profile} ({run.formats})")  # fmt: skip


# a chip run's per-step arrays (megabytes on a long run) stay in its own chip_run.json
_PER_STEP = ("step_ns", "cycles", "energy_pj", "critical_core", "critical_link", "sram_words", "events")


def _mapping(res, profile, figures: bool) -> Report:
    from ..hardware.profile import Profile

    r = res.report
    keys = (("cores used", "cores_used", ""), ("packets per step", "packets_per_step", ""),
            ("packet-hops per step", "packet_hops_per_step", ""), ("learning packet-hops per step",
            "learning_packet_hops_per_step", ""), ("max link load", "max_link_load", "packets"))  # fmt: skip
    summary = [["method", res.method, ""], ["seed", res.seed, ""]]
    summary += [[label, r[k], unit] for label, k, unit in keys if k in r]
    cores = res.layout.cores
    rows = [[c.core, c.chip, c.x, c.y, c.n_units] for c in cores]
    sections = [{"title": "Cores", "table": {"columns": ["core", "chip", "x", "y", "units"], "rows": rows}}]
    figs = []
    if figures and profile is not None:
        from ..hardware import load_profile
        from .mapping_plots import plot_mesh, plot_region_bars

        prof = profile if isinstance(profile, Profile) else load_profile(profile)
        if len({c.chip for c in cores}) == 1:  # the mesh figure draws one chip's mesh
            figs.append(_figure(lambda m, ax: plot_mesh(m, prof, ax=ax), res, title="Layout and link loads",
                                file="mapping_mesh.png", size=(6.4, 5.2)))  # fmt: skip
        figs.append(_figure(lambda m, ax: plot_region_bars(m, prof, ax=ax), res, title="Memory per core by region",
                            file="mapping_regions.png"))  # fmt: skip
    return Report("mapping", f"{res.method} mapping: {r.get('cores_used', len(cores))} cores", summary, sections,
                  figs, res.to_dict(), label=res.method)  # fmt: skip


def _training(res, figures: bool, model=None, rule=None, task=None) -> Report:
    from .plots import plot_learning_curve

    losses = np.asarray(res.losses, float)
    k = max(1, losses.size // 10)  # iterations averaged at each end
    summary = [["model", _model_text(model), ""], ["rule", getattr(rule, "name", "–"), ""],
               ["task", getattr(task, "name", "–"), ""], ["status", res.status, ""],
               ["iterations", int(losses.size), ""], ["wall time", float(res.seconds), "s"],
               [f"loss, mean of the first {k}", float(losses[:k].mean()) if losses.size else None, ""],
               [f"loss, mean of the last {k}", float(losses[-k:].mean()) if losses.size else None, ""]]  # fmt: skip
    last = res.metrics[-k:] if res.metrics else []
    keys = [x for x in (res.metrics[0] if res.metrics else {}) if x not in ("loss", "grad_norm")]
    for key in keys:
        summary.append([f"{key}, mean of the last {k}", float(np.mean([m.get(key, np.nan) for m in last])), ""])
    if model is not None and rule is not None:
        summary.append(["learning state per sample", int(rule.memory_floats(model)), "floats"])
        summary.append(["parameters", int(sum(int(np.prod(v)) for v in model.shapes().values())), ""])
    sections = []
    if res.metrics:
        cols = list(res.metrics[0])
        every = max(1, len(res.metrics) // 10)
        picks = sorted({*range(0, len(res.metrics), every), len(res.metrics) - 1})
        sections.append({"title": "Metrics during training (every tenth of the run)", "table": {
            "columns": ["iteration", *cols], "rows": [[i + 1, *(float(res.metrics[i].get(c, np.nan)) for c in cols)]
                                                      for i in picks]}})  # fmt: skip
    figs = []
    if figures and res.metrics:
        shown = ("loss",) + tuple(x for x in ("bit_accuracy", "accuracy", "nmse") if x in res.metrics[0])[:1]
        chance = {"bit_accuracy": 0.5, "nmse": 1.0}
        if task is not None and getattr(task, "n_out", None):
            chance["accuracy"] = 1.0 / task.n_out
        name = f"{getattr(rule, 'name', 'training')} · {getattr(model, 'kind', '')} · {getattr(task, 'name', '')}"
        figs.append(_figure(lambda r, ax: plot_learning_curve(r.metrics, shown, chance, ax=ax, title=name,
                                                              smooth=max(1, min(10, len(r.metrics) // 5))),
                            res, title="Learning curve", file="learning_curve.png",
                            caption="per iteration (faint) and a running mean; dotted: chance"))  # fmt: skip
    source = {
        "schema": "neurosim.train/2",
        "status": res.status,
        "seconds": float(res.seconds),
        "start": int(res.start),
        "losses": losses.tolist(),
        "final": res.metrics[-1] if res.metrics else {},
    }
    label = f"{getattr(rule, 'name', 'training')} on {getattr(task, 'name', 'the task')}"
    return Report("training", f"{label}: online learning in float ({res.status})", summary, sections, figs, source,
                  label=label)  # fmt: skip


def _sweep(res, figures: bool) -> Report:
    from ..sweep.summary import metric_table, plot_summary, summarise

    s = summarise(res.spec, res.records)
    spec = res.spec
    ok = sum(1 for r in res.records if r["status"] == "ok")
    secs = [r.get("seconds") or 0.0 for r in res.records]
    summary = [["sweep", spec.name, ""], ["kind", spec.kind, ""], ["cells", len(spec.cells), ""],
               ["finished", ok, ""], ["failed", len(res.records) - ok, ""],
               ["missing", len(spec.cells) - len(res.records), ""], ["seeds", len(spec.seeds), ""],
               ["run by this call", res.ran, ""], ["cell time, sum", float(sum(secs)), "s"],
               ["cell time, mean", float(np.mean(secs)) if secs else None, "s"]]  # fmt: skip
    header, body = metric_table(s)
    sections = [{"title": f"{spec.metric}: mean ± std over seeds {spec.seeds}",
                 "text": spec.description or "", "table": {"columns": header, "rows": body}}]  # fmt: skip
    if s["failed"]:
        sections.append({"title": "Failed cells", "table": {"columns": ["cell", "overrides", "error"], "rows": [
            [f["id"], json.dumps(f["overrides"]), f["error"]] for f in s["failed"]]}})  # fmt: skip
    figs = []
    if figures and s["groups"]:
        figs.append(_figure(lambda x, ax: plot_summary(x, ax=ax), s, title=f"{spec.metric} across the sweep",
                            file="sweep_summary.png", size=(6.4, 4.0)))  # fmt: skip
    return Report("sweep", f"Sweep {spec.name}: {spec.metric}", summary, sections, figs, s, label=spec.name)


def _model_text(model) -> str:
    if model is None:
        return "–"
    n = getattr(model, "n_hidden", None) or getattr(model, "n", "")
    return f"{model.kind} ({getattr(model, 'n_layers', 1)} layer(s) of {n})"


def _study(result: dict, figures: bool) -> Report:
    from .plots import plot_gradient_similarity

    claims = result.get("claims", [])
    agree = sum(1 for c in claims if c["holds"] is True)
    differ = sum(1 for c in claims if c["holds"] is False)
    s = result.get("settings", {})
    summary = [["study", result["schema"].removeprefix("neurosim.study."), ""], ["cells", len(result["cells"]), ""],
               ["claims that agree", agree, ""], ["claims that differ", differ, ""],
               ["claims not measurable here", len(claims) - agree - differ, ""],
               ["wall time", float(result.get("seconds", 0.0)), "s"]]  # fmt: skip
    rules = [r for r in result["rules"] if r != "bptt"]
    rows = []
    for c in result["cells"]:
        row = [c["depth"], c["r_min"]]
        row += [None if c["similarity_trained"].get(r) is None else float(c["similarity_trained"][r]["cosine"])
                for r in rules]  # fmt: skip
        rows.append(row)
    sections = [
        {"title": "The papers' claims, checked on these measurements", "table": {
            "columns": ["claim", "holds", "source"],
            "rows": [[c["claim"], "n/a" if c["holds"] is None else bool(c["holds"]), c["source"]] for c in claims]}},
        {"title": "Cosine similarity with BPTT (trained parameters)", "table": {
            "columns": ["depth", "r_min", *rules], "rows": rows}},
        {"title": "Settings", "text": json.dumps(s)},
    ]  # fmt: skip
    figs = []
    if figures:
        for i, r_min in enumerate(sorted({c["r_min"] for c in result["cells"]})[:4], 1):
            figs.append(_figure(lambda res, ax, r=r_min: plot_gradient_similarity(res, r, ax=ax), result,
                                title=f"Gradient similarity against depth, r_min = {r_min}",
                                file=f"gradient_similarity_{i}.png", size=(5.6, 4.0)))  # fmt: skip
    return Report("study", "Gradient quality against BPTT: the papers' claims, measured", summary, sections, figs,
                  {k: v for k, v in result.items() if k != "cells"} | {"cells": _no_curves(result["cells"])},
                  label="gradient quality")  # fmt: skip


def _no_curves(cells):
    """The study's cells without the per-iteration loss curves (in gradient_quality.json)."""
    out = []
    for c in cells:
        c = dict(c)
        c["training"] = {r: None if v is None else {k: x for k, x in v.items() if k != "curve"}
                         for r, v in c.get("training", {}).items()}  # fmt: skip
        out.append(c)
    return out


def _profiles(profiles) -> Report:
    from .tables import PROFILE_COLUMNS, profile_row

    rows = [[x.strip("`") for x in profile_row(p)] for p in profiles]
    summary = [["profiles", len(profiles), ""]]
    sections = [{"title": "Chips", "table": {"columns": PROFILE_COLUMNS, "rows": rows}}]
    for p in profiles:
        est = [k for k, v in p.provenance.items() if v.confidence == "estimate"]
        sections.append({"title": f"{p.name}: {p.description}", "text": f"file {p.path}; sources: "
                         + "; ".join(f"{k}: {v}" for k, v in p.sources.items())
                         + (f". Estimated (no published number): {', '.join(est)}" if est else "")})  # fmt: skip
    return Report("profiles", f"{len(profiles)} chip profile(s)", summary, sections, [],
                  {"profiles": [_profile_record(p) for p in profiles]}, label="profiles")  # fmt: skip


def _profile_record(p) -> dict:
    return {"name": p.name, "description": p.description, "path": str(p.path), "sources": dict(p.sources),
            "values": {k: {"value": _plain(v.value), "confidence": v.confidence, "source": v.source}
                       for k, v in p.provenance.items()}}  # fmt: skip


def kernels_report(times: dict) -> Report:
    """The report of ``kernels.warmup``'s compile (or cache-load) seconds per (kernel, dtype, variant)."""
    rows = [[k, dt, var, float(t)] for (k, dt, var), t in sorted(times.items())]
    summary = [["kernels", len({k for k, _, _ in times}), ""], ["signatures", len(times), ""],
               ["seconds in all", float(sum(times.values())), "s"]]  # fmt: skip
    sections = [{"title": "Compile or cache-load time per signature", "table": {
        "columns": ["kernel", "dtype", "variant", "seconds"], "rows": rows}}]  # fmt: skip
    source = {"schema": "neurosim.kernels.warmup/1", "seconds": [{"kernel": k, "dtype": dt, "variant": var,
              "seconds": float(t)} for (k, dt, var), t in sorted(times.items())]}  # fmt: skip
    return Report("kernels", f"numba kernels: {len(times)} signatures compiled or loaded", summary, sections, [],
                  source, label="kernels")  # fmt: skip


def _chip_curve(run, ax):
    from .plots import plot_learning_curve

    n = len(run.losses)
    plot_learning_curve([{"loss": float(x)} for x in run.losses], ax=ax, smooth=max(1, min(10, n // 5)),
                        title=f"{run.rule} on {run.profile} ({run.formats} formats): loss per iteration")  # fmt: skip
    ax.set_ylabel("loss")
    return ax


def _memory_bars(b, ax):
    from .chip_plots import OKABE_ITO

    used, cap, names = {}, {}, []
    for r in b.regions:
        if r.region not in names:
            names.append(r.region)
        frac = r.used_bits / r.capacity_bits if r.capacity_bits else 0.0
        if frac >= used.get(r.region, (-1.0,))[0]:
            used[r.region] = (frac, r.used_bits)
            cap[r.region] = r.capacity_bits
    y = np.arange(len(names))
    fracs = [100 * used[n][0] for n in names]
    colors = [OKABE_ITO[0] if f <= 100 else OKABE_ITO[5] for f in fracs]
    ax.barh(y, fracs, color=colors)
    ax.axvline(100, color="black", lw=1, ls="--", label="capacity")
    ax.set_yticks(y, names)
    ax.set_xlabel("used, % of the region's capacity (fullest core)")
    ax.set_title(f"{b.rule} on {b.profile}: memory by region")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def _figure(fn, obj, title: str, file: str, caption: str = "", size=(6.4, 3.6)) -> Figure:
    """``fn(obj, ax=ax)`` drawn on a figure of its own, outside pyplot (no backend is chosen or
    switched: a notebook's inline backend stays), rendered to PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    fn(obj, ax=fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return Figure(title, file, caption, buf.getvalue())


# --- helpers ----------------------------------------------------------------------------------------
def _describe(model) -> str:
    if isinstance(model, dict):
        kind = model.get("kind", "")
        sizes = model.get("n_hidden", model.get("units", ""))
        return f"{kind} {sizes}".strip()
    return str(model)


_SCALES = {"pJ": ("pJ", "nJ", "µJ", "mJ", "J"), "ns": ("ns", "µs", "ms", "s")}


def _scaled(x: float, unit: str) -> tuple[float, str]:
    """Energy and time in the unit that keeps the number below 1000 (pJ → nJ → µJ …)."""
    steps = _SCALES.get(unit)
    if not steps:
        return x, unit
    i = 0
    while abs(x) >= 1000 and i < len(steps) - 1:
        x, i = x / 1000, i + 1
    return x, steps[i]


def _fmt(v, unit: str = "") -> str:
    if isinstance(v, (float, np.floating)) and not isinstance(v, bool) and np.isfinite(v):
        v, unit = _scaled(float(v), unit)
    if isinstance(v, bool) or v is None:
        s = {True: "yes", False: "no", None: "–"}[v]
    elif isinstance(v, (int, np.integer)):
        s = f"{int(v):,}"
    elif isinstance(v, (float, np.floating)):
        x = float(v)
        s = "–" if not np.isfinite(x) else f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.4g}"
    else:
        s = str(v)
    return f"{s} {unit}".strip() if unit and s != "–" else s


def _plain(x):
    """JSON-ready: numpy scalars and arrays as Python ones, non-finite floats as None."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    if x is None or isinstance(x, str):
        return x
    return str(x)


def _md(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _h(s) -> str:
    return html.escape(str(s), quote=True)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()


def _write(path: str, data: bytes) -> str:
    def put(tmp):
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(path, put)
    return path


_CSS_FRAGMENT = (
    ".neurosim-report{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;"
    "line-height:1.45;max-width:60rem}"
    ".neurosim-report h1{font-size:1.45rem;margin:.6rem 0}.neurosim-report h2{font-size:1.15rem;"
    "margin:1.2rem 0 .4rem}"
    ".neurosim-report .scroll{overflow-x:auto;max-width:100%}"
    ".neurosim-report table{border-collapse:collapse;font-size:.9rem;margin:.3rem 0}"
    ".neurosim-report th,.neurosim-report td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left;"
    "white-space:nowrap}"
    ".neurosim-report th{background:#f3f5f8}"
    ".neurosim-report figure{margin:1rem 0}.neurosim-report img{max-width:100%;height:auto}"
    ".neurosim-report figcaption{font-size:.85rem;color:#555}"
)
_CSS = "body{margin:0;padding:0 .8rem}main{margin:0 auto}footer{font-size:.75rem;color:#777;margin:2rem 0 1rem}" + (
    _CSS_FRAGMENT
)
