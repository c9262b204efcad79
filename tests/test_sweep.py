"""``ns.sweep`` / ``neurosim sweep``: a grid of runs on Dask, resumable.

Shown here: a sweep killed part-way (SIGKILL) and run again runs only the missing cells and gives
the same table as an uninterrupted run; the same spec on the default local cluster, on an
explicitly started ``distributed`` scheduler with 2 worker processes, and in-process gives
identical results; a cell that raises is recorded with its error and the others finish; a cell's
id depends only on what it runs; bad specs are refused naming the file, table and key."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

import neurosim as ns
from neurosim import cli
from neurosim.sweep import summary

pytest.importorskip("distributed")

SPEC = """
[sweep]
name = "tiny"
seeds = [0, 1]
metric = "final_loss"
group_by = ["model.n_layers"]
[base.model]
name = "lru"
n_hidden = 6
[base.task]
name = "copy"
pattern_len = 3
pad = 1
[base.optimizer]
name = "adam"
lr = 0.01
[base.train]
steps = {steps}
batch_size = 4
[grid]
"rule.name" = ["online_lru", "spatial", "trunc1"]
"model.n_layers" = [1, 2]
"""


def _spec(tmp_path, steps=4, extra="") -> Path:
    p = tmp_path / "spec.toml"
    p.write_text(SPEC.format(steps=steps) + extra)
    return p


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny spec run in this process, uninterrupted: the table every other run must equal."""
    d = tmp_path_factory.mktemp("ref")
    res = ns.sweep.run(_spec(d), d / "out", scheduler="inline", progress=False)
    assert res.ran == 12 and not res.failed
    return res


def test_the_local_cluster_and_an_explicit_scheduler_with_two_workers_give_identical_results(reference, tmp_path):
    local = ns.sweep.run(_spec(tmp_path), tmp_path / "local", workers=2, progress=False)
    assert local.ran == 12 and summary.same_results(local.records, reference.records)
    # a scheduler and two worker processes started by hand, as on a real cluster
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file",
                               str(sched_file), "--port", "0", "--dashboard-address", ":0"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
    try:
        for _ in range(200):
            if sched_file.exists() and sched_file.read_text().strip():
                break
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                           "--nthreads", "1", "--nworkers", "1", "--no-dashboard"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        from distributed import Client

        with Client(address, timeout=30) as c:
            c.wait_for_workers(2, timeout=60)
        assert cli.main(["sweep", str(_spec(tmp_path)), "--scheduler", address, "--output", str(tmp_path / "remote"),
                         "--quiet"]) == 0  # fmt: skip
    finally:
        for p in procs[::-1]:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    remote = ns.sweep.run(_spec(tmp_path), tmp_path / "remote", scheduler="inline", progress=False)
    assert remote.ran == 0 and summary.same_results(remote.records, reference.records)
    # control: another seed's results are not the same
    text = _spec(tmp_path).read_text().replace("seeds = [0, 1]", "seeds = [0, 2]")
    other = ns.sweep.run(ns.sweep.parse(tomllib.loads(text)), tmp_path / "other", scheduler="inline", progress=False)
    assert not summary.same_results(other.records, reference.records)


def test_a_killed_sweep_run_again_finishes_only_the_missing_cells_with_the_same_table(reference, tmp_path):
    spec = _spec(tmp_path)
    out = tmp_path / "out"
    # slow the cells down so the kill lands part-way: the same spec, but each cell sleeps first
    proc = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; import neurosim.sweep.cell as c; run = c.run_cell\n"
        "c.run_cell = lambda *a, **k: (time.sleep(0.4), run(*a, **k))[1]\n"
        "import neurosim.sweep.runner as r; r.run_cell = c.run_cell\n"
        "from neurosim.cli import main; sys.exit(main(sys.argv[1:]))"),
        "sweep", str(spec), "--scheduler", "inline", "--output", str(out), "--quiet"])  # fmt: skip
    cells = out / "cells"
    t0 = time.time()
    while time.time() - t0 < 60 and not (cells.exists() and len(list(cells.glob("*.json"))) >= 4):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_before = {p.stem for p in cells.glob("*.json")}
    assert 4 <= len(done_before) < 12, len(done_before)
    mtimes = {p.stem: p.stat().st_mtime_ns for p in cells.glob("*.json")}
    again = ns.sweep.run(spec, out, scheduler="inline", progress=False)
    assert again.ran == 12 - len(done_before) and again.skipped == len(done_before)
    assert {p.stem: p.stat().st_mtime_ns for p in cells.glob("*.json") if p.stem in mtimes} == mtimes  # untouched
    assert summary.same_results(again.records, reference.records)
    assert (out / "results.csv").read_text().count("\n") == 13  # header + 12 cells

    def measured(path):  # the summary's statistics of the metrics (not of the timing: not reproducible)
        groups = json.loads((path / "summary.json").read_text())["groups"]
        return [{**g, "metrics": {k: v for k, v in g["metrics"].items() if not k.startswith("seconds")}}
                for g in groups]  # fmt: skip

    assert measured(out) == measured(reference.out_dir)


def test_a_cell_that_raises_is_recorded_and_the_others_finish(tmp_path, capsys):
    # builds (the spec is checked), but RTRL's n³ traces at n = 5000 need terabytes: the run refuses
    extra = '\n[[cells]]\n"rule.name" = "rtrl"\n"model.name" = "rnn"\n"model.n_hidden" = 5000\n'
    spec = _spec(tmp_path, extra=extra)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(spec), "--workers", "2", "--output", str(out), "--quiet"]) == 1  # a cell failed
    s = json.loads((out / "summary.json").read_text())
    assert len(s["failed"]) == 2 and s["cells"] == 14  # the listed cell, for both seeds
    assert all("the run needs at least" in f["error"] and "GiB" in f["error"] for f in s["failed"])
    rec = json.loads((out / "cells" / f"{s['failed'][0]['id']}.json").read_text())
    assert rec["status"] == "failed" and "Traceback" in rec["traceback"]
    ok = [json.loads(p.read_text()) for p in (out / "cells").glob("*.json")]
    assert sum(r["status"] == "ok" for r in ok) == 12
    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == "sweep" and any(sec["title"] == "Failed cells" for sec in report["sections"])
    # run again: the failed cells run again (and fail again); --keep-failed leaves them
    res = ns.sweep.run(spec, out, scheduler="inline", progress=False)
    assert res.ran == 2 and res.skipped == 12
    res = ns.sweep.run(spec, out, scheduler="inline", progress=False, retry_failed=False)
    assert res.ran == 0


def test_a_cells_id_is_what_it_runs():
    base = {"sweep": {"seeds": [0]}, "base": {"model": {"name": "lru", "n_hidden": 4}, "task": {"name": "copy"}},
            "grid": {"rule.name": ["online_lru", "spatial"]}}  # fmt: skip
    a = ns.sweep.parse(base)
    b = ns.sweep.parse({**base, "grid": {"rule.name": ["spatial", "online_lru"]}})  # another order
    assert {c.id for c in a.cells} == {c.id for c in b.cells}
    c = ns.sweep.parse({**base, "base": {**base["base"], "model": {"name": "lru", "n_hidden": 5}}})
    assert not {x.id for x in c.cells} & {x.id for x in a.cells}  # control: another size, other ids
    assert [x.overrides for x in a.cells] == [{"rule.name": "online_lru", "seed": 0}, {"rule.name": "spatial",
                                                                                       "seed": 0}]  # fmt: skip


@pytest.mark.parametrize(
    "data,said",
    [
        ({"sweep": {"kind": "nosuch"}}, "kind = 'nosuch'; allowed one of train, chip, budget"),
        ({"sweep": {"seeds": []}}, "seeds = []; allowed a non-empty list"),
        ({"sweep": {"seeds": [1, 1]}}, "lists a seed twice"),
        ({"grid": {"rulename": ["x"]}}, "[grid] key 'rulename'; allowed 'section.key'"),
        ({"grid": {"rule.name": "snap1"}}, "allowed a non-empty list of values"),
        ({"grid": {"rule.name": ["nosuch"]}}, 'cell 0 {"rule.name": "nosuch"}, seed 0: [rule] name = \'nosuch\''),
        ({"sweep": {"kind": "chip"}}, "kind 'chip' needs chip.profile"),
        ({"colours": {}}, "unknown table(s) ['colours']"),
        ({"sweep": {"group_by": ["model.width"]}}, "group_by/columns key 'model.width' is not a grid or cell key"),
        ({"grid": {"rule.name": ["online_lru", "eprop"]}}, "rule 'eprop' cannot train model 'lru'"),
        ({"grid": {"model.n_hidden": [4, -8]}}, "n_hidden=-8 is invalid"),
        ({"grid": {"rule.name": ["online_lru"]}, "exclude": [{"rule.nam": "x"}]}, "[[exclude]] key 'rule.nam' is not"),
        ({"grid": {"chip.profile": ["loihi2"]}}, "'chip.profile' in a sweep of kind 'train'"),
    ],
)
def test_bad_specs_are_refused_by_name(data, said):
    base = {"base": {"model": {"name": "lru", "n_hidden": 4}, "rule": {"name": "online_lru"},
                     "task": {"name": "copy"}}}  # fmt: skip
    with pytest.raises(ns.sweep.SpecError) as e:
        ns.sweep.parse({**base, **data}, "spec.toml")
    assert said in str(e.value) and str(e.value).startswith("spec.toml")


def test_a_partial_sweep_says_what_is_left_and_its_table_says_n(tmp_path, capsys):
    spec = _spec(tmp_path)
    assert cli.main(["sweep", str(spec), "--scheduler", "inline", "--output", str(tmp_path / "o"), "--max-cells",
                     "3"]) == 1  # fmt: skip
    out = capsys.readouterr().out
    assert "ran 3 cell(s), 0 already finished" in out and "9 cell(s) not run yet (--max-cells 3)" in out
    assert "(n = 1)" in (tmp_path / "o" / "summary.md").read_text()  # a group with one of its two seeds
    assert cli.main(["sweep", str(spec), "--scheduler", "inline", "--output", str(tmp_path / "o")]) == 0
    assert "ran 9 cell(s), 3 already finished" in capsys.readouterr().out
    assert "(n = " not in (tmp_path / "o" / "summary.md").read_text()


def test_the_step_cap_gives_cells_of_their_own(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEUROSIM_MAX_STEPS", "2")
    assert cli.main(["sweep", str(_spec(tmp_path, steps=6)), "--scheduler", "inline", "--output",
                     str(tmp_path / "o"), "--quiet"]) == 0  # fmt: skip
    recs = [json.loads(p.read_text()) for p in (tmp_path / "o" / "cells").glob("*.json")]
    assert {r["metrics"]["iterations"] for r in recs} == {2}
    full = ns.sweep.load(_spec(tmp_path, steps=6))
    assert not {r["id"] for r in recs} & {c.id for c in full.cells}  # not mistaken for the full run's


def test_the_cli_says_a_bad_spec_in_one_line(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text("[sweep]\nkind = 'nosuch'\n")
    assert cli.main(["sweep", str(p)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(p) in err[0] and "kind" in err[0]
    assert cli.main(["sweep", str(tmp_path / "none.toml")]) == 2
    assert cli.main(["sweep", str(p), "--scheduler", "bogus"]) == 2
    assert "--scheduler 'bogus': allowed a Dask scheduler's address" in capsys.readouterr().err
    shutil.rmtree(tmp_path)
