"""neurosim against an earlier version of itself, side by side: one training iteration at the
quickstart size and at a 4-layer width-256 size, the two versions timed alternately in one run.

    python benchmarks/bench_versions.py [--baseline REV] [--repeats K]

The baseline (default: the last release before these changes) is checked out into a temporary git
worktree and imported from there (``PYTHONPATH``) by a worker process; the current tree is
imported by another. Each worker builds the model, rule and task of ``bench_jax.SIZES``, runs one
warm-up iteration (numba loads or compiles), then times single iterations of ``ns.train``; the
runner alternates one iteration of each version, so load from other processes hits both alike.
Min and median per version. Nothing here asserts: it measures (speed is never tested).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "d153e25"  # v0.2, before the hardening of issue 9
REPEATS = {"quickstart": 15, "large": 3}

WORKER = r"""
import sys, time
sys.path.insert(0, {bench!r})
from bench_jax import build
import neurosim as ns
model, rule, task, opt, batch = build({size!r})
params = model.init(0)
ns.train(model, rule, task, opt, steps=1, batch_size=batch, params=params, progress=False)  # warm-up
print("ready", flush=True)
it = 1
for line in sys.stdin:
    t0 = time.perf_counter()
    r = ns.train(model, rule, task, opt, steps=1, batch_size=batch, params=params, progress=False)
    params = r.params
    print(time.perf_counter() - t0, flush=True)
"""


def _worker(tree: Path, size: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    code = WORKER.format(bench=str(Path(__file__).parent), size=size)
    p = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tree
    )
    assert p.stdout.readline().strip() == "ready", f"worker for {tree} did not start"
    return p


def _tick(p: subprocess.Popen) -> float:
    p.stdin.write("go\n")
    p.stdin.flush()
    return float(p.stdout.readline())


def _stats(xs: list[float]) -> dict:
    return {"min_s": min(xs), "median_s": statistics.median(xs), "n": len(xs)}


def compare(baseline_tree: Path, size: str, repeats: int) -> dict:
    old, new = _worker(baseline_tree, size), _worker(ROOT, size)
    try:
        t_old, t_new = [], []
        for _ in range(repeats):
            t_old.append(_tick(old))
            t_new.append(_tick(new))
    finally:
        for p in (old, new):
            p.stdin.close()
            p.wait()
    return {"size": size, "baseline": _stats(t_old), "current": _stats(t_new)}


def run(baseline: str = BASELINE, repeats: dict | None = None) -> dict:
    repeats = repeats or REPEATS
    with tempfile.TemporaryDirectory(prefix="neurosim-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), baseline], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        try:
            rows = [compare(tree, size, k) for size, k in repeats.items()]
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
    return {"baseline": baseline, "rows": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=BASELINE, help="a git revision (default: %(default)s)")
    ap.add_argument("--repeats", type=int, help="iterations per version and size (default: 15 / 3)")
    a = ap.parse_args(argv)
    reps = {k: a.repeats for k in REPEATS} if a.repeats else None
    print(json.dumps(run(a.baseline, reps), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
