"""``neurosim`` command line: ``train``, ``budget``, ``compare``, ``map``, ``profiles``, ``study``,
``sweep``, ``warmup``, ``--version``.

Exit codes: 0 done, 1 a run failed (diverged, a spiking layer fell silent, the system refused a
write), 2 bad input (configuration, profile, option, path; one line naming file, key, value and
what is allowed), 130 interrupted (Ctrl-C; a run with ``resume = true`` saved its checkpoint
first), 141 the reader of the output went away (``| head``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from . import __version__
from . import config as cfgmod
from ._io import RunLock, atomic_write, clean_stale_temporaries, prepare_output_dir


def cmd_train(args) -> int:
    from .train import NetworkActivityError, TrainingDiverged, train

    if args.config:
        cfg = cfgmod.load(args.config)
        source = args.config
    else:
        cfg = cfgmod.validate(cfgmod.QUICKSTART, "<built-in quickstart>")
        source = "<built-in quickstart>"
        print("neurosim quickstart: an LRU stack learns the copy task online with online_lru")
    if args.steps is not None:
        if args.steps < 1:
            raise ValueError(f"--steps {args.steps}: allowed a positive number of iterations")
        cfg["train"]["steps"] = args.steps
    for flag, value in (("--layout", args.layout), ("--formats", args.formats)):
        if value is not None and not args.profile:
            raise ValueError(f"{flag} {value}: needs --profile (the chip the layout and formats are for)")
    if args.out is not None:
        if not args.out.strip():
            raise ValueError("--output '': allowed a directory path (or no --output: the configuration's [output] dir)")
        cfg["output"]["dir"] = args.out
    cfg = cfgmod.validate(cfg, source)
    model, rule, task, opt, kw = cfgmod.build(cfg, source)
    chip = _chip_inputs(args, model, rule) if args.profile else None  # refused before any training
    if args.chip_steps is not None and (chip is None or not 1 <= args.chip_steps <= int(kw.get("steps", 1000))):
        why = "needs --profile" if chip is None else f"allowed: 1 … {kw.get('steps', 1000)} (the run's iterations)"
        raise ValueError(f"--chip-steps {args.chip_steps}: {why}")
    out = prepare_output_dir(cfg["output"].get("dir", "runs/" + Path(source).stem.strip("<>").replace(" ", "_")))
    steps = _capped(int(kw.pop("steps", 1000)), "iterations")
    resume = cfg["train"].get("resume", False)
    chip_steps = steps if args.chip_steps is None else min(args.chip_steps, steps)
    n_params = sum(int(np.prod(s)) for s in model.shapes().values())
    print(f"model {model.kind} ({n_params} parameters), rule {rule.name}, task {task.name}, {steps} iterations")
    t0 = time.perf_counter()

    def report(i, params, m):
        every = max(1, steps // 20)
        if (i + 1) % every == 0 or i == 0:
            extra = "  ".join(f"{k} {v:.3f}" for k, v in m.items() if k not in ("loss", "grad_norm"))
            print(
                f"iter {i + 1:5d}/{steps}  loss {m['loss']:.4f}  {extra}  ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )

    with RunLock(out):
        clean_stale_temporaries(out)
        ckpt = str(out / "checkpoint.npz") if resume else None
        try:
            res = train(model, rule, task, opt, steps, progress=False, callback=report, checkpoint=ckpt, **kw)
        except (TrainingDiverged, NetworkActivityError) as e:
            _write_run(out, cfg, e.result, model, rule, task, str(e))
            print(f"neurosim: {e}", file=sys.stderr)
            print(
                f"wrote what was learned in its {len(e.result.losses)} complete iteration(s) to {out}/", file=sys.stderr
            )
            return 1
        except KeyboardInterrupt as e:
            result = getattr(e, "result", None)
            if result is not None and len(result.losses):
                _write_run(out, cfg, result, model, rule, task, str(e))
            resume_hint = "run the same command again to continue" if resume else "set resume = true to keep progress"
            print(f"neurosim: {e or 'interrupted'}; {resume_hint}", file=sys.stderr)
            return 130
        if res.start >= steps and (out / "metrics.json").exists():
            print(
                f"neurosim: the run in {out}/ already finished ({res.start} of {steps} iterations in its checkpoint); "
                "nothing to do: its outputs are left as they are (raise steps to continue it)"
            )
            return 0
        stem = "report" if chip is None else "float_report"  # with --profile, report.* is the chip run's
        rep = _write_run(out, cfg, res, model, rule, task, stem=stem)
        print(
            f"done in {res.seconds:.0f} s; wrote {out}/metrics.json, params.npz, learning_curve.png, "
            f"{stem}.json, {stem}.md, {stem}.html"
        )
        if chip is not None:
            rep = _run_on_chip(out, chip, model, rule, task, opt, kw, chip_steps, res, resume, not args.quiet)
    if args.json is not None:
        _emit_json(args.json, rep.to_json())
    return 0


def _chip_inputs(args, model, rule) -> dict:
    """The chip, layout and formats of ``train --profile``, checked before the first step."""
    from . import hardware
    from .hardware.capabilities import check_runs

    profile = hardware.load_profile(args.profile)
    rule.check_model(model)
    check_runs(model, profile)
    layout = _load_layout(args.layout, model, profile) if args.layout else None
    return {"profile": profile, "layout": layout, "formats": args.formats or "profile"}


def _run_on_chip(out: Path, chip: dict, model, rule, task, opt, kw, steps: int, res, resume: bool = False,
                 progress: bool = True):  # fmt: skip
    """The same run on the chip (``chip.simulate``): chip_run.json, and its report (report.json,
    report.md, report.html) with figures of its cycles per core (bars and over the mesh), energy
    per step and learning curve beside the float run's. With ``resume = true`` it
    continues from its own checkpoint (chip_checkpoint.npz); without, an earlier chip run's
    checkpoint and per-step files in the directory are replaced, as the float run's outputs are."""
    import shutil

    from .chip import simulate
    from .chip.simulate import CHECKPOINT, STEPS_DIR

    if not resume:
        (out / CHECKPOINT).unlink(missing_ok=True)
        shutil.rmtree(out / STEPS_DIR, ignore_errors=True)
    profile = chip["profile"]
    print(f"the same run on {profile.name} ({chip['formats']} formats): {profile.description}", flush=True)
    opts = {k: kw[k] for k in ("batch_size", "seed", "update_every", "clip", "activity") if k in kw}
    run = simulate(model, rule, task, profile, chip["layout"], steps, opt, formats=chip["formats"], progress=progress,
                   out_dir=str(out), resume=resume, **opts)  # fmt: skip
    from .report import build

    rep = build(run, reference=res.losses)  # report.json, report.md, report.html (ns.report)
    k = max(1, len(res.losses) // 10)
    rep.summary.append([f"float run: loss, mean of the last {k}", float(np.mean(res.losses[-k:])), ""])
    rep.write(str(out))
    step_us = float(np.mean(run.step_ns)) / 1e3
    energy_uj = run.energy_pj / max(1, run.step_ns.size) / 1e6
    print(
        f"on {profile.name}: final loss {run.losses[-1]:.4f} (float {res.losses[-1]:.4f}); {len(run.cores)} cores; "
        f"{step_us:.3g} µs and {energy_uj:.3g} µJ per timestep; wrote {out}/chip_run.json, "
        + ", ".join(f.file for f in rep.figures)
        + ", report.json, report.md, report.html"
    )
    return rep


def _write_run(out: Path, cfg: dict, res, model, rule, task, message: str | None = None, stem: str = "report"):
    """metrics.json, params.npz and the training report (STEM.json, STEM.md, STEM.html and
    learning_curve.png: ``ns.report.build``) of a run (finished, diverged, stopped); returns the
    report."""
    from .report import build

    summary = {
        "schema": "neurosim.train/2",
        "status": res.status,
        "message": message,
        "config": cfg,
        "seconds": res.seconds,
        "iterations": len(res.losses),
        "final": res.metrics[-1] if res.metrics else {},
        "metrics": res.metrics,
    }
    atomic_write(out / "metrics.json", lambda p: Path(p).write_text(json.dumps(summary, indent=1)))
    atomic_write(out / "params.npz", lambda p: np.savez(p, **res.params))
    rep = build(res, model=model, rule=rule, task=task)
    if message:
        rep.sections.insert(0, {"title": f"The run {res.status}", "text": message})
    rep.write(str(out), stem)
    return rep


def cmd_study(args) -> int:
    from .experiments import STUDIES

    study = STUDIES[args.name]
    settings = study.default_settings(quick=args.quick)
    if args.out is not None and not args.out.strip():
        raise ValueError("--output '': allowed a directory path (or no --output: runs/NAME)")
    out = prepare_output_dir(args.out or f"runs/{args.name}{'-quick' if args.quick else ''}")
    print(f"neurosim study {args.name}: settings {json.dumps(settings)}")
    result = study.run(settings, out, progress=lambda line: print(line, flush=True))
    print("the papers' claims, checked on these measurements:")
    for claim in result["claims"]:
        v = claim["holds"]
        print(f"  {'agrees ' if v else 'DIFFERS' if v is False else 'n/a    '}  {claim['claim']}  [{claim['source']}]")
    from .report import build

    rep = build(result)
    rep.write(str(out))
    print(
        f"done in {result['seconds']:.0f} s; wrote {out}/gradient_quality.json, gradient_quality.png, "
        "report.json, report.md, report.html, " + ", ".join(f.file for f in rep.figures)
    )
    if args.json is not None:
        _emit_json(args.json, rep.to_json())
    return 0


def cmd_sweep(args) -> int:
    """Run a sweep spec's cells on Dask (``ns.sweep``): a record per cell in DIR/cells/, the table
    (results.csv), the summary (summary.json, summary.md, summary.png) and the report."""
    from . import sweep

    if args.scheduler not in (None, "local", "inline") and not re.fullmatch(r"[a-z]+://[^/\s]+:\d+", args.scheduler):
        raise ValueError(f"--scheduler {args.scheduler!r}: allowed a Dask scheduler's address (tcp://host:port), "
                         "'local' or 'inline'")  # fmt: skip
    cap = _cap()
    spec = sweep.load(args.spec, max_steps=cap)
    if cap is not None and not args.quiet:
        print(f"neurosim: every cell's iterations cut to at most {cap} by {MAX_STEPS_ENV} (cells of their own)",
              file=sys.stderr)  # fmt: skip
    if args.workers is not None and not 1 <= args.workers <= 1024:
        raise ValueError(f"--workers {args.workers}: allowed 1 … 1024 (processes of the local cluster)")
    if args.workers is not None and args.scheduler not in (None, "local"):
        raise ValueError(f"--workers {args.workers}: only for the local cluster (the scheduler {args.scheduler} "
                         "has its own workers)")  # fmt: skip
    if args.max_cells is not None and args.max_cells < 0:
        raise ValueError(f"--max-cells {args.max_cells}: allowed an integer >= 0")
    if args.output is not None and not args.output.strip():
        raise ValueError("--output '': allowed a directory path (or no --output: runs/sweeps/NAME)")
    out = prepare_output_dir(args.output or f"runs/sweeps/{spec.name}")
    where = args.scheduler or f"a local Dask cluster of {args.workers or os.cpu_count()} process(es)"
    print(f"neurosim sweep {spec.name}: {len(spec.cells)} cells ({spec.kind}, seeds {spec.seeds}) on {where}")
    res = sweep.runner.run(
        spec,
        out,
        scheduler=args.scheduler,
        workers=args.workers,
        retry_failed=not args.keep_failed,
        progress=not args.quiet,
        max_cells=args.max_cells,
    )
    from .report import build

    rep = build(res)
    rep.write(str(out))
    header, body = sweep.summary.metric_table(sweep.summary.summarise(spec, res.records))
    width = max(len(str(r[0])) for r in [header, *body])
    for row in [header, *body]:
        print("  ".join([str(row[0]).ljust(width), *(str(x).ljust(16) for x in row[1:])]).rstrip())
    if res.not_run:
        print(f"{res.not_run} cell(s) not run yet (--max-cells {args.max_cells}): run the command again to finish")
    summ = sweep.summary.summarise(spec, res.records)
    if res.records and spec.metric not in sweep.summary.measured(summ):
        print(f"neurosim: warning: metric {spec.metric!r} was measured by no cell; measured: "
              f"{', '.join(sweep.summary.measured(summ))}", file=sys.stderr)  # fmt: skip
    print(f"ran {res.ran} cell(s), {res.skipped} already finished, {len(res.failed)} failed, in {res.seconds:.0f} s; "
          f"wrote {out}/: cells/, results.csv, summary.json, summary.md, summary.png, report.json, report.md, "
          "report.html")  # fmt: skip
    for r in res.failed:
        print(f"  failed: cell {r['id']} {json.dumps(r.get('overrides', {}))}: {r.get('error', '')}")
    if args.json is not None:
        _emit_json(args.json, rep.to_json())
    missing = len(spec.cells) - len(res.records)
    return 1 if res.failed or missing else 0


def cmd_warmup(args) -> int:
    from . import kernels

    dtypes = tuple(args.dtype or ("float32", "float64"))
    out = _output_dir(args.output)
    t0 = time.perf_counter()
    times = kernels.warmup(dtypes=dtypes, verbose=not (args.quiet or args.json == "-"))
    print(
        f"compiled or loaded {len(times)} kernels in {time.perf_counter() - t0:.1f} s (cached on disk for later runs)"
    )
    if out is not None or args.json is not None:
        from .report.document import kernels_report

        _deliver(kernels_report(times), out, args.json)
    return 0


def _deliver(rep, out: Path | None, json_dest: str | None) -> None:
    """A command's report: written to ``--output``'s directory (said so), its JSON to ``--json``'s."""
    if out is not None:
        rep.write(str(out))
        print(
            f"wrote {out}/: " + ", ".join(["report.json", "report.md", "report.html", *(f.file for f in rep.figures)])
        )
    if json_dest is not None:
        _emit_json(json_dest, rep.to_json())


def _output_dir(value: str | None):
    """``--output DIR``: made and proven writable before any work, or None."""
    if value is None:
        return None
    if not value.strip():
        raise ValueError("--output '': allowed a directory path")
    return prepare_output_dir(value)


def cmd_profiles(args) -> int:
    from . import hardware

    if args.schema:
        if args.name:
            raise ValueError(f"--schema prints the format of every profile: allowed without a NAME (got {args.name!r})")
        out = _output_dir(args.output)
        text = hardware.schema_text()
        if out is not None:
            atomic_write(out / "profile.schema.json", lambda p: Path(p).write_text(text))
            print(f"wrote {out}/profile.schema.json")
        if args.json is not None:
            _emit_json(args.json, text)
        elif out is None:
            print(text)
        return 0
    out = _output_dir(args.output)
    profiles = [hardware.load_profile(args.name)] if args.name else [hardware.load_profile(n) for n in
                                                                     hardware.list_profiles()]  # fmt: skip
    for p in profiles:
        print(p.describe() if args.name else p.summary())
    if out is not None or args.json is not None:
        from .report import build

        _deliver(build(profiles), out, args.json)
    return 0


def _literal(text: str):
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _spec(text: str) -> tuple[str, dict]:
    """'name' or 'name:key=value,key=value' (values as TOML literals)."""
    name, colon, rest = text.partition(":")
    if colon and not rest.strip():
        raise ValueError(f"{text!r} is invalid: allowed 'name' or 'name:key=value,...' (nothing after ':')")
    opts = {}
    for part in rest.split(",") if colon else ():
        if "=" not in part or not part.split("=", 1)[0].strip():
            raise ValueError(f"option {part!r} in {text!r} is invalid: allowed key=value")
        k, v = (x.strip() for x in part.split("=", 1))
        if k in opts:
            raise ValueError(f"option {k!r} in {text!r} is given twice: allowed once")
        opts[k] = _literal(v)
    return name.strip(), opts


def cmd_budget(args) -> int:
    from . import hardware
    from ._errors import check_positive_int
    from .models import MAX_SIZE

    check_positive_int("--search-max", args.search_max, maximum=MAX_SIZE)
    if args.output is not None and not args.output.strip():
        raise ValueError("--output '': allowed a directory path")
    out = prepare_output_dir(args.output) if args.output else None
    profile = hardware.load_profile(args.profile)
    name, m, rule_list = _budget_subjects(args)
    build = _builder(name, m)
    model = build(m["n_hidden"])
    layout = _load_layout(args.layout, model, profile) if args.layout else None
    kw = dict(activity=args.activity, optimizer=args.optimizer, update_every=args.update_every, seq_len=args.seq_len)
    try:  # the sizes the model's own options allow (alif with n_alif = 50: n_hidden >= 50)
        if layout is not None:
            raise ValueError("--layout places these units, so the size is fixed")
        low, high = hardware.buildable_range(build, 1, args.search_max, start=m["n_hidden"])
        search = f"in [{low}, {high}]"
    except ValueError as e:
        low = high = None
        search = f"not searched: {e}" if layout is not None else f"none in [1, {args.search_max}] builds: {e}"
    results = []
    for label, rule in rule_list:
        rule.check_model(model)
        b = hardware.budget(model, rule, profile, layout, **kw)
        largest = None if low is None else hardware.largest_in(build, rule, profile, low, high, **kw)
        results.append((label, b, largest))
    if out is not None:  # one report per rule side by side (ns.report.compare), or the one rule's
        from .report import build as build_report
        from .report import compare

        reports = [build_report(b) for _, b, _ in results]
        for r, (label, _, largest) in zip(reports, results):
            r.label = label
            r.summary.append(["largest n_hidden that fits", largest, ""])
        rep = reports[0] if len(reports) == 1 else compare(reports)
        if len(reports) > 1:
            rep.title = f"{name} (n_hidden {m['n_hidden']}) on {profile.name}: {', '.join(r.label for r in reports)}"
        if low is not None:  # memory of each region against n_hidden, a line per rule, capacity drawn
            from functools import partial

            from .report.document import _figure
            from .report.plots import plot_memory_vs_hidden

            sizes = np.unique(np.geomspace(low, high, 12).astype(int))
            rules_by_label = {label: rule for label, rule in rule_list}
            for k, s in enumerate(profile.srams, 1):
                draw = partial(plot_memory_vs_hidden, build, rules_by_label, profile, sizes, s.name, **kw)
                rep.figures.append(
                    _figure(
                        lambda _, ax, draw=draw: draw(ax=ax),
                        None,
                        title=f"Memory of {s.name} against n_hidden",
                        file=f"memory_vs_n_hidden_{k}.png",
                        caption=f"the fullest core's {s.name}, a line per rule, n_hidden in [{low}, {high}]; "
                        "filled: the whole budget fits",
                    )
                )
        rep.write(str(out))
    if args.json:
        out = {
            "schema": "neurosim.budget_compare/2",
            "profile": profile.name,
            "model": {"name": name, **m},
            "search": search,
            "rules": [{"rule_spec": label, "largest_fitting_n_hidden": lg, **b.to_dict()} for label, b, lg in results],
        }
        _emit_json(args.json, json.dumps(out, indent=1, default=float))
        return 0
    _print_budgets(profile, name, m, results, search, low is not None)
    return 0


MAX_STEPS_ENV = "NEUROSIM_MAX_STEPS"


def _cap() -> int | None:
    """``$NEUROSIM_MAX_STEPS`` as a positive integer, or None when it is not set."""
    raw = os.environ.get(MAX_STEPS_ENV)
    if raw is None:
        return None
    try:
        cap = int(raw)
        if cap < 1:
            raise ValueError
    except ValueError:
        raise ValueError(f"{MAX_STEPS_ENV}={raw!r}: allowed a positive integer (the most iterations)") from None
    return cap


def _capped(steps: int, what: str) -> int:
    """``steps``, at most ``$NEUROSIM_MAX_STEPS`` when it is set (the README's commands run in the
    test suite as written, shortened this way); says so when it cuts."""
    cap = _cap()
    if cap is None:
        return steps
    if steps > cap and not QUIET[0]:
        print(f"neurosim: {steps} {what} cut to {cap} by {MAX_STEPS_ENV}", file=sys.stderr)
    return min(steps, cap)


def cmd_compare(args) -> int:
    """Several rules and/or chips on one model and task, side by side (``ns.report.compare``):
    per (rule, chip) the budget — fits, memory of the fullest region, energy and time per step —
    and with ``--steps N`` N iterations of online learning on the chip in its formats
    (``chip.simulate``), with the task's metric reached. A pair the chip cannot run (a rate model
    on a spiking chip) or the rule cannot train is reported as such, not an error."""
    from . import chip, hardware, rules
    from .report import build, compare

    if args.steps is not None and not 0 <= args.steps <= 100_000:
        raise ValueError(f"--steps {args.steps}: allowed 0 … 100000 (iterations on each chip)")
    if args.output is not None and not args.output.strip():
        raise ValueError("--output '': allowed a directory path")
    source = args.config or "<built-in quickstart>"
    cfg = cfgmod.load(args.config) if args.config else cfgmod.validate(cfgmod.QUICKSTART, source)
    model, rule0, task, opt, kw = cfgmod.build(cfg, source)
    specs = [(s, *_spec(s)) for s in args.rule] if args.rule else [(_label(cfg["rule"]), *_split(cfg["rule"]))]
    pairs = []
    for label, rname, ropts in specs:
        cfgmod.check_section("rule", {"name": rname, **ropts}, "--rule")
        pairs.append((label, rules.make(rname, **ropts)))
    profiles = [hardware.load_profile(p) for p in (args.profile or ["loihi2"])]
    out = prepare_output_dir(args.output) if args.output else None
    if args.steps:
        args.steps = _capped(args.steps, "iterations")
    reports, rows = [], []
    for label, rule in pairs:
        try:
            rule.check_model(model)
        except ValueError as e:
            rows.append((label, "–", f"rule cannot train the model: {e}"))
            continue
        for prof in profiles:
            b = hardware.budget(model, rule, prof)
            r = build(b)
            r.label = f"{label} on {prof.name}"
            note = ""
            if args.steps:
                if b.cannot_run:
                    note = "the chip cannot run the model: " + "; ".join(map(str, b.cannot_run))
                elif not b.fits:
                    note = "does not fit: not run"
                else:
                    opts = {k: kw[k] for k in ("batch_size", "seed", "update_every", "clip") if k in kw}
                    run = chip.simulate(model, rule, task, prof, None, args.steps, opt, activity="off", **opts)
                    r.summary.append(["iterations on the chip", len(run.losses), ""])
                    r.summary.append(["final loss on the chip", float(run.losses[-1]), ""])
                    for k, v in run.metrics[-1].items() if run.metrics else ():
                        if k not in ("loss", "grad_norm"):
                            r.summary.append([f"{k} reached on the chip", float(v), ""])
            if note:
                r.summary.append(["on the chip", note, ""])
            reports.append(r)
            state = "cannot run as is" if b.cannot_run else "fits" if b.fits else "does not fit"
            rows.append((label, prof.name, state))
    if not reports:
        raise ValueError("nothing to compare: " + "; ".join(f"{a}: {c}" for a, _, c in rows))
    rep = compare(reports)
    rep.title = f"{model.kind} on {task.name}: {len(pairs)} rule(s) × {len(profiles)} chip(s)"
    _deliver(rep, out, args.json)
    table = rep.sections[0]["table"]
    width = max(len(str(r[0])) for r in table["rows"])
    for row in [table["columns"], *table["rows"]]:
        print("  ".join([str(row[0]).ljust(width), *(str(x).ljust(22) for x in row[1:])]).rstrip())
    for label, prof, what in rows:
        if prof == "–":
            print(f"{label}: {what}")
    for r in reports:
        why = next((v for a, v, _ in r.summary if a == "on the chip"), None)
        if not next(v for a, v, _ in r.summary if a == "runs as is"):
            cannot = "; ".join(map(str, r.source.get("cannot_run", []))) or "see its budget"
            print(f"{r.label}: the chip cannot run the model as it is: {cannot}")
        elif why:
            print(f"{r.label}: {why}")
    return 0


def _load_layout(path: str, model, profile):
    """A ``Layout`` from a JSON file (``neurosim.layout/1``: what ``--json`` writes under each
    rule's ``layout``), checked against the model and the profile; errors name the file."""
    from .hardware import Layout

    p = Path(path)
    if not p.is_file():
        raise ValueError(
            f"--layout {path!r}: {'a directory' if p.is_dir() else 'no such file'}; allowed: a layout JSON file"
        )
    try:
        text = p.read_text()
        json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"--layout {path}: not JSON ({e}); allowed a layout JSON file (neurosim.layout/1, "
                         "as map --json writes)") from None  # fmt: skip
    try:
        return Layout.from_json(text).validate(model, profile)
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"--layout {path}: {e}") from None


def _budget_subjects(args) -> tuple[str, dict, list]:
    """The model (name, options) and the rules [(label, rule)] to price, from a configuration or
    from --model / --rule; every name and option checked as a configuration's are. --n-in,
    --n-out and --n-hidden override the configuration; given in --model too, they must agree."""
    from . import rules

    if args.config and args.model:
        raise ValueError("a CONFIG file and --model both name the model: allowed one of them")
    if args.config:
        cfg = cfgmod.load(args.config)
        m = dict(cfg["model"])
        task_model = cfgmod.build(cfg, args.config)[0]
        m.setdefault("n_in", task_model.n_in)
        m.setdefault("n_out", task_model.n_out)
        specs = [(s, *_spec(s)) for s in args.rule] if args.rule else [(_label(cfg["rule"]), *_split(cfg["rule"]))]
        given = {}
    else:
        if not args.model:
            raise ValueError("--model (or a CONFIG file) is required")
        name, opts = _spec(args.model)
        m = given = {"name": name, **opts}
        cfgmod.check_section("model", m, "--model")
        specs = [(s, *_spec(s)) for s in (args.rule or ["bptt"])]
    for key, flag in (("n_in", args.n_in), ("n_out", args.n_out), ("n_hidden", args.n_hidden)):
        if flag is None:
            continue
        if key in given and given[key] != flag:
            raise ValueError(f"{key} is given twice: --model says {given[key]}, --{key.replace('_', '-')} says {flag}")
        m[key] = flag
    m = {"n_in": 8, "n_out": 2, "n_hidden": 64, **m}
    name = m.pop("name")
    out = []
    for label, rname, ropts in specs:
        cfgmod.check_section("rule", {"name": rname, **ropts}, "--rule")
        out.append((label, rules.make(rname, **ropts)))
    return name, m, out


def _split(section: dict) -> tuple[str, dict]:
    opts = dict(section)
    return opts.pop("name"), opts


def _label(section: dict) -> str:
    name, opts = _split(section)
    return name + (":" + ",".join(f"{k}={v}" for k, v in opts.items()) if opts else "")


def _builder(name: str, m: dict):
    from . import models

    return lambda n: models.make(name, **{**m, "n_hidden": n})


def _print_budgets(profile, name: str, m: dict, results: list, search: str, searched: bool) -> None:
    from . import hardware

    print(f"profile {profile.name}: {profile.description}")
    kind = results[0][1].layout.kind if results else "layers in order, greedily packed"
    print(f"model {name} {m}; layout: {kind}")
    rows = [("", [label for label, _, _ in results])]
    add = lambda label, fmt: rows.append((label, [fmt(b) for _, b, _ in results]))  # noqa: E731
    add(f"cores needed (of {profile.n_cores:,})", lambda b: f"{b.cores_needed:,}")
    for s in profile.srams:
        add(f"{s.name} bits (of {s.capacity_bits:,} per core)",
            lambda b, s=s: f"{sum(r.used_bits for r in b.regions if r.region == s.name):,}")  # fmt: skip
    add("learning-state bits", lambda b: f"{b.learning_bits:,}")
    add("learning / inference memory", lambda b: f"{b.overhead_fraction:.2%}")
    add("fits", lambda b: "yes" if b.fits else "NO")
    add("runs as is", lambda b: "yes" if not b.cannot_run else "NO (see below)")
    label = f"largest fitting n_hidden {search}" if searched else "largest fitting n_hidden"
    rows.append((label, ["n/a" if lg is None else str(lg) if lg else "none" for _, _, lg in results]))
    for ph in hardware.PHASES:
        add(f"energy/step {ph} (nJ)", lambda b, ph=ph: f"{b.energy_pj[ph] / 1e3:.3g}")
    add("energy/step total (nJ)", lambda b: f"{sum(b.energy_pj.values()) / 1e3:.4g}")
    add("time/step (µs)", lambda b: f"{b.step_ns / 1e3:.4g}")
    add("energy per weight update (nJ)", lambda b: f"{b.update_energy_pj / 1e3:.4g}")
    add("time per weight update (µs)", lambda b: f"{b.update_ns / 1e3:.4g}")
    lw = max(len(label) for label, _ in rows) + 2
    w = max(len(v) for _, vals in rows for v in vals) + 2  # the widest cell sets every column
    for label, vals in rows:
        print(f"{label:{lw}s}" + "".join(f"{v:>{w}}" for v in vals))
    if not searched:
        print(f"  largest n_hidden: {search}")
    for label, b, _ in results:
        for c in b.culprits[:5]:
            print(f"  {label}: does not fit: {c}")
        if len(b.culprits) > 5:
            print(f"  {label}: … and {len(b.culprits) - 5} more")
    lacks = results[0][1].cannot_run if results else []
    if lacks:  # the same for every rule: the model against the chip
        print(f"  {profile.name} cannot run this model as it is: {'; '.join(lacks)}")


def cmd_map(args) -> int:
    """Map a model onto a chip (``neurosim.mapping.map_network``): the quality report, the layout
    as JSON (``--json``) that ``budget --layout`` reads, and with ``--output DIR`` the files
    ``layout.json``, ``quality.json`` and the figures ``mesh.png`` and ``region_bars.png``, each
    written atomically (JSON first; the figures are drawn from what the JSON files hold)."""
    from . import hardware, mapping

    if args.method not in mapping.METHODS:
        raise ValueError(f"--method {args.method!r}: allowed one of {', '.join(mapping.METHODS)}")
    if args.output is not None and not args.output.strip():
        raise ValueError("--output '': allowed a directory path")
    profile = hardware.load_profile(args.profile)
    args.config = None
    name, m, rule_list = _budget_subjects(args)
    model = _builder(name, m)(m["n_hidden"])
    rule = rule_list[0][1] if args.rule else None
    activity = _map_activity(args.activity, mapping.from_model(model).n_units)
    if args.seed < 0:
        raise ValueError(f"--seed {args.seed}: allowed an integer >= 0")
    if args.judge is not None and args.judge < 1:
        raise ValueError(f"--judge {args.judge}: allowed a positive number of timesteps (default 20)")
    if args.time_limit is not None and not 0 < args.time_limit < float("inf"):
        raise ValueError(f"--time-limit {args.time_limit}: allowed a positive number of seconds")
    out = prepare_output_dir(args.output) if args.output else None
    res = mapping.map_network(model, profile, rule=rule, activity=activity, method=args.method, seed=args.seed,
                              judge_steps=args.judge, time_limit_s=args.time_limit)  # fmt: skip
    r = res.report
    print(
        f"{name} on {profile.name}, method {args.method}: {r['cores_used']} cores, deciding region "
        f"{r['deciding_region']}, {r['packets_per_step']:.1f} packets/step, {r['packet_hops_per_step']:.1f} "
        f"packet-hops/step, mean hops {r['mean_hops']:.2f}, max link load {r['max_link_load']:.1f}"
    )
    if "board" in r:
        bd = r["board"]
        worst = bd["worst_inter_chip_route"]
        print(
            f"  board: {bd['chips_used']} of {profile.n_chips} chips used (chips {', '.join(map(str, bd['chips']))}), "
            f"{bd['inter_chip_packets_per_step']:.1f} inter-chip packets/step, "
            f"{bd['inter_chip_packet_hops_per_step']:.1f} inter-chip packet-hops/step, "
            f"{bd['inter_chip_energy_pj_per_step']:.4g} pJ/step on the chip-to-chip links"
            + (f", worst route {worst['hops']} hops {worst['latency_ns']:.0f} ns" if worst else "")
        )
    if "judge" in r:
        j = r["judge"]
        if "skipped" in j:
            print(f"  judge: skipped: {j['skipped']}")
        else:
            print(
                f"  judge (ns.chip.simulate, {j['timesteps']} steps, rule {j['rule']}): step time "
                f"{j['step_ns_mean']:.1f} ns (max {j['step_ns_max']:.1f}), energy {j['energy_pj_per_step']:.4g} pJ/step"
            )
    if args.json:
        _emit_json(args.json, res.layout.to_json())
    if out is not None:
        rule_name = rule_list[0][0] if args.rule else None
        quality = {
            "schema": QUALITY_SCHEMA,
            "model": {"name": name, **m},
            "rule": rule_name,
            "profile": profile.name,
            "method": res.method,
            "seed": res.seed,
            "activity": args.activity if args.activity is not None else "uniform (1 per unit per step)",
            "report": r,
        }
        _write_map_outputs(out, res.layout.to_json(), json.dumps(quality, indent=1, default=float), profile)
        from .report import build

        build(res, profile).write(str(out))  # report.json, report.md, report.html (ns.report)
    return 0


QUALITY_SCHEMA = "neurosim.mapping.quality/1"


def _map_activity(value: str | None, n_units: int):
    """``--activity``: a number (every unit), or a file of one rate per unit in global order (layer
    after layer): ``.npy`` (a 1-D array) or ``.json`` (a list of numbers); rates are spikes (or
    non-zero activations) per unit per step, finite and non-negative."""
    if value is None:
        return None
    try:
        x = float(value)
    except ValueError:
        x = None
    if x is not None:
        if not np.isfinite(x) or x < 0:
            raise ValueError(f"--activity {value}: allowed a finite number >= 0 (spikes per unit per step) or a file")
        return x
    path = Path(value)
    where = f"--activity {value}"
    if path.suffix not in (".npy", ".json"):
        raise ValueError(f"{where}: neither a number nor a .npy or .json file: allowed one of those")
    try:
        if path.suffix == ".npy":
            a = np.load(path, allow_pickle=False)
        else:
            a = json.loads(path.read_text())
            if not isinstance(a, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in a):
                raise ValueError("the JSON is not a list of numbers")
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{where}: cannot be read ({getattr(e, 'strerror', None) or e}): allowed a .npy array "
                         "or a JSON list of numbers, one per unit") from None  # fmt: skip
    a = np.asarray(a)
    if a.ndim != 1 or a.size != n_units or not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"{where}: has shape {a.shape} ({a.dtype}); allowed {n_units} numbers, one per unit "
                         "(layer after layer)")  # fmt: skip
    a = a.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(a) | (a < 0))
    if bad.size:
        raise ValueError(f"{where}: unit {int(bad[0])} has rate {a[bad[0]]}; allowed finite numbers >= 0 "
                         "(spikes per unit per step)")  # fmt: skip
    return a


def _write_map_outputs(out: Path, layout_text: str, quality_text: str, profile) -> None:
    """layout.json and quality.json, then the figures drawn from what they hold (each atomic)."""
    import matplotlib.pyplot as plt

    from .hardware.layout import Layout
    from .report import mapping_plots

    atomic_write(out / "layout.json", lambda p: Path(p).write_text(layout_text))
    atomic_write(out / "quality.json", lambda p: Path(p).write_text(quality_text))
    layout, report = Layout.from_json(layout_text), json.loads(quality_text)["report"]
    figures = [("mesh.png", mapping_plots.plot_mesh), ("region_bars.png", mapping_plots.plot_region_bars)]
    chips = {c.chip for c in layout.cores}
    if len(chips) > 1:  # the mesh figure draws one chip's mesh
        figures = figures[1:]
    for fname, plot in figures:
        ax = plot((layout, report), profile)
        atomic_write(out / fname, lambda p, ax=ax: ax.figure.savefig(p, dpi=120, format="png"))
        plt.close(ax.figure)
    print(f"wrote {out}/: layout.json, quality.json, {', '.join(f for f, _ in figures)}")
    if len(chips) > 1:
        print(f"  no mesh.png: the layout spans {len(chips)} chips and the figure draws one chip's mesh")


_STDOUT = [sys.stdout]  # where --json - prints: the real stdout (--quiet and --json - silence the rest)


QUIET = [False]  # --quiet: the informational lines on stderr are left out too


def _check_json_dest(dest: str | None) -> None:
    """``--json PATH``: a file path whose directory can be written, checked before any work."""
    if dest is None or dest == "-":
        return
    if not dest.strip() or Path(dest).is_dir():
        raise ValueError(f"--json {dest!r}: allowed a file path, or '-' (or no PATH) for stdout")
    prepare_output_dir(Path(dest).parent if str(Path(dest).parent) else ".")


def _emit_json(dest: str, text: str) -> None:
    """``--json``: to stdout for '-', else written atomically to the path (and said so)."""
    if dest == "-":
        print(text, file=_STDOUT[0], flush=True)
    else:
        atomic_write(Path(dest), lambda p: Path(p).write_text(text))
        print(f"wrote {dest}")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line each (no source file and line of code: the reader runs a command)."""
    print(f"neurosim: warning: {message}", file=file or sys.stderr)


def _command(sub, name: str, help: str, example: str, description: str | None = None):
    """A subcommand whose --help ends with an example (and the options every command shares)."""
    return sub.add_parser(name, help=help, description=description or help[0].upper() + help[1:] + ".",
                          epilog=f"example:\n  {example}\n\nexit codes: 0 done, 1 a run failed, 2 bad input",
                          formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip


def _outputs(p, output_help: str, json_help: str, out_alias: bool = False) -> None:
    """--output DIR, --json [PATH] and --quiet: the same names and meanings on every command."""
    names = ("--output", "--out") if out_alias else ("--output",)
    p.add_argument(*names, dest="out" if out_alias else "output", metavar="DIR", help=output_help)
    p.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help=f"{json_help}: to stdout (no PATH, or '-'; nothing else is printed there), or to PATH",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing but errors (and --json's JSON)")


def build_parser() -> argparse.ArgumentParser:
    """The ``neurosim`` argument parser: one subcommand per command (``COMMANDS``)."""
    parser = argparse.ArgumentParser(
        prog="neurosim", description="Online learning rules for recurrent networks, priced on chips."
    )
    parser.add_argument("--version", action="version", version=f"neurosim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = _command(
        sub,
        "train",
        "train from a TOML config (no argument: the built-in quickstart)",
        "neurosim train --steps 200 --output runs/quick\n"
        "  neurosim train --steps 20 --profile loihi2 --chip-steps 20 --output runs/chip",
    )
    p.add_argument("config", nargs="?", help="path to a TOML run configuration")
    p.add_argument("--steps", type=int, help="override [train] steps")
    p.add_argument("--profile", help="also run it on this chip (a bundled profile or a path): chip_run.json, figures")
    p.add_argument("--layout", help="with --profile: a layout JSON file (default: layers in order)")
    p.add_argument("--formats", choices=["profile", "float"], default=None,
                   help="with --profile: the chip's number formats (default) or float")  # fmt: skip
    p.add_argument("--chip-steps", type=int, default=None,
                   help="with --profile: run the first N iterations on the chip (default: all of them)")  # fmt: skip
    _outputs(p, "override [output] dir: metrics.json, params.npz, the report and figures (--out: the same)",
             "the report's JSON (the chip run's with --profile)", out_alias=True)  # fmt: skip
    p.set_defaults(func=cmd_train)
    p = _command(sub, "study", "run a study (JSON result, report and figures): gradient-quality",
                 "neurosim study gradient-quality --quick --output runs/gq")  # fmt: skip
    p.add_argument("name", choices=["gradient-quality"])
    p.add_argument("--quick", action="store_true", help="tiny sizes, a smoke run in seconds")
    _outputs(p, "output directory (default runs/NAME, runs/NAME-quick with --quick)", "the report's JSON",
             out_alias=True)  # fmt: skip
    p.set_defaults(func=cmd_study)
    p = _command(sub, "profiles", "list the bundled hardware profiles, or show one with its sources",
                 "neurosim profiles loihi2\n  neurosim profiles --output runs/chips")  # fmt: skip
    p.add_argument("name", nargs="?", help="a profile name or a path to a profile TOML")
    p.add_argument("--schema", action="store_true", help="print the profile format as a JSON Schema")
    _outputs(p, "a directory for report.json, report.md, report.html (the profiles as a table, sources)",
             "the report's JSON (every number with its source and confidence)")  # fmt: skip
    p.set_defaults(func=cmd_profiles)
    p = _command(sub, "budget", "memory, energy and time of online learning on a chip, rules side by side",
                 "neurosim budget --model lru --n-hidden 64 --rule online_lru --rule rtrl --profile loihi2 "
                 "--output runs/budget")  # fmt: skip
    p.add_argument("config", nargs="?", help="a run configuration (its [model] and [rule]) instead of --model")
    p.add_argument("--model", help="model name, with options: 'lif:n_ref=0,readout_bias=false'")
    p.add_argument("--n-in", type=int, help="inputs (default: the configuration's task, else 8)")
    p.add_argument("--n-out", type=int, help="outputs (default: the configuration's task, else 2)")
    p.add_argument("--n-hidden", type=int, help="units per layer (default: the model's, else 64)")
    p.add_argument("--rule", action="append", help="rule name with options ('eprop:filter=false'); repeatable")
    p.add_argument("--profile", required=True, help="a bundled profile name or a path")
    p.add_argument("--activity", type=float, help="active fraction per step (default 0.02 spiking, 1 otherwise)")
    p.add_argument("--optimizer", choices=["sgd", "momentum", "adam", "adamw"], help="optimizer state to store")
    p.add_argument("--update-every", type=int, default=1, help="steps per weight update")
    p.add_argument("--seq-len", type=int, default=1000, help="sequence length for rules that store history (bptt)")
    p.add_argument("--search-max", type=int, default=4096, help="upper bound of the largest-size search")
    p.add_argument("--layout", help="a layout JSON file (neurosim.layout/1, as --json writes) instead of the default")
    _outputs(
        p,
        "a directory for report.json, report.md, report.html and the figures (memory by region, and against n_hidden)",
        "the comparison as JSON (neurosim.budget_compare/2, with each rule's layout)",
    )
    p.set_defaults(func=cmd_budget)
    p = _command(sub, "compare", "rules and/or chips side by side on one model and task: fits, memory, energy, "
                 "time, accuracy", "neurosim compare --rule online_lru --rule snap1 --profile loihi2 --profile "
                 "spinnaker2 --steps 20 --output runs/compare",
                 description="Several rules and/or chips on one model and task (a run configuration's, default the "
                 "quickstart's), side by side: whether each fits, its fullest memory region, energy and time per "
                 "step, and with --steps N the loss and task metric after N iterations of online learning on the "
                 "chip.")  # fmt: skip
    p.add_argument("config", nargs="?", help="a run configuration (model, task, optimizer); default the quickstart")
    p.add_argument("--rule", action="append", help="rule name with options ('eprop:filter=false'); repeatable")
    p.add_argument("--profile", action="append", help="a bundled profile name or a path; repeatable (default loihi2)")
    p.add_argument("--steps", type=int, help="also run N iterations on each chip that fits (default: budget only)")
    _outputs(p, "a directory for report.json, report.md, report.html and the figures", "the report's JSON")
    p.set_defaults(func=cmd_compare)
    p = _command(
        sub,
        "map",
        "place a model on a chip's cores (learning state included): quality report",
        "neurosim map --model rnn:density=0.1 --n-hidden 2000 --rule snap1 --profile loihi --output "
        "runs/map\n  neurosim map --model lru --rule online_lru --profile loihi2 --json layout.json",
    )
    p.add_argument("--model", required=True, help="model name, with options: 'rnn:density=0.1'")
    p.add_argument("--n-in", type=int, help="inputs (default 8)")
    p.add_argument("--n-out", type=int, help="outputs (default 2)")
    p.add_argument("--n-hidden", type=int, help="units per layer (default 64)")
    p.add_argument(
        "--rule", action="append", help="the rule whose learning state the cores hold ('eprop:filter=false')"
    )
    p.add_argument("--profile", required=True, help="a bundled profile name or a path")
    p.add_argument("--method", default="auto", help="auto (default), round_robin, greedy, metis or hypergraph")
    p.add_argument(
        "--activity",
        help="spikes or activations per unit per step: a number for every unit (default 1), or a .npy / .json "
        "file with one per unit (layer after layer)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="seconds for the whole mapping (map_network's time_limit_s): the search stops early enough "
        "to repair, place, route and report the best layout found by then",
    )
    p.add_argument(
        "--judge",
        nargs="?",
        type=int,
        const=20,
        metavar="STEPS",
        help="run the layout on the chip simulation for STEPS timesteps (default 20): step time and energy per step",
    )
    _outputs(
        p,
        "a directory for layout.json, quality.json, mesh.png, region_bars.png and the report "
        "(report.json, report.md, report.html, with its figures mapping_mesh.png, mapping_regions.png)",
        "the layout JSON (neurosim.layout/1, what budget --layout reads)",
    )
    p.set_defaults(func=cmd_map)
    p = _command(sub, "sweep", "run a grid of runs (rules × sizes × chips × seeds) on Dask, resumably",
                 "neurosim sweep examples/sweeps/zucchet_digits.toml --workers 2   (from a clone of the repository)\n"
                 "  neurosim sweep SPEC.toml --scheduler tcp://10.0.0.5:8786 --output runs/big")  # fmt: skip
    p.add_argument("spec", help="a sweep spec TOML file ([sweep], [base.*], [grid], [[cells]], [[exclude]])")
    p.add_argument("--scheduler", help="a running Dask scheduler's address (tcp://host:port); 'local' (default: "
                   "a local cluster, one process per core) or 'inline' (this process, no Dask)")  # fmt: skip
    p.add_argument("--workers", type=int, help="processes of the local cluster (default: the machine's cores)")
    p.add_argument("--keep-failed", action="store_true",
                   help="do not run again the cells whose record is a failure (default: they run again)")  # fmt: skip
    p.add_argument("--max-cells", type=int, metavar="N", help="run at most N new cells, then write the summary")
    _outputs(p, "the sweep's directory (default runs/sweeps/NAME): cells/, results.csv, summary.*, report.*",
             "the report's JSON")  # fmt: skip
    p.set_defaults(func=cmd_sweep)
    p = _command(sub, "warmup", "compile every numba kernel ahead of time (float32, float64)",
                 "neurosim warmup --dtype float32")  # fmt: skip
    p.add_argument("--dtype", action="append", choices=["float32", "float64"], help="only this dtype (repeatable)")
    _outputs(p, "a directory for report.json, report.md, report.html (seconds per kernel signature)",
             "the report's JSON")  # fmt: skip
    p.set_defaults(func=cmd_warmup)
    return parser


COMMANDS = ("train", "study", "profiles", "budget", "compare", "map", "sweep", "warmup")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _one_line_warning
    _STDOUT[0] = sys.stdout
    silent = getattr(args, "quiet", False) or getattr(args, "json", None) == "-"
    QUIET[0] = bool(getattr(args, "quiet", False))
    devnull = open(os.devnull, "w") if silent else None  # noqa: SIM115 (closed in the finally)
    try:
        _check_json_dest(getattr(args, "json", None))
        if devnull is not None:
            sys.stdout = devnull  # the human-readable lines; --json - keeps the real stdout
        code = args.func(args)
        _STDOUT[0].flush()  # inside the try: a reader that left surfaces here, not at exit
        return code
    except (
        cfgmod.ConfigError,
        ValueError,
    ) as e:  # bad input (a sweep's SpecError too): configs, profiles, options, paths
        print(f"neurosim: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neurosim: interrupted", file=sys.stderr)
        return 130
    except MemoryError as e:
        print(f"neurosim: error: out of memory ({e or 'MemoryError'}): try a smaller model or batch", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `neurosim ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a Unix filter killed by the signal
    except OSError as e:  # the system refused a read or write (disk full, a path vanished, ...)
        print(f"neurosim: error: {e}", file=sys.stderr)
        return 1
    finally:
        if devnull is not None:
            sys.stdout = _STDOUT[0]
            devnull.close()


if __name__ == "__main__":
    raise SystemExit(main())
