"""The papers' experiments as sweeps (issue 14): time per cell measured here, and the projected wall
time of the paper-scale sweep on an N-worker Dask cluster; and the sweep machinery's own speed
(inline, 1 and 2 local workers on the same small sweep).

Projection, per reproduction: a cell's time is iterations × (seconds per iteration); seconds per
iteration scale with sequence length T × batch B × the work per sample and step C — the forward
pass's multiply-accumulates (≈ the model's parameters) plus the rule's learning MACs
(``Rule.op_counts``). From a measured cell: t_paper = t_here · (T·B·C)_paper / (T·B·C)_here ·
iterations_paper / iterations_here, per rule; the sweep's wall time on N workers is the sum over
its cells / N (cells are independent; the scheduler's overhead is below a second a cell here).
The cost model is checked on the measurements themselves: depth 1's time per iteration predicts
depth 4's. Paper-scale settings are those of reference/algorithms.md §4 (Zucchet et al.'s
experiments/table2_*.yaml; the SnAp and UORO settings are marked recalled there).

    python benchmarks/run_all.py --only sweeps
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import neurosim as ns
from neurosim.sweep import runner

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = ROOT / "results" / "sweeps"

# the paper-scale sweep of each reproduction: model and task sizes, iterations, cells (rules ×
# seeds × hyperparameters), and where the numbers come from
PAPER = {
    "zucchet_digits": {
        "what": "sCIFAR (grey, T = 1024), 4-layer LRU d_model 256 / d_hidden 128, batch 100, 180 epochs of 50 000 "
        "images (90 000 iterations); 4 rules × 3 seeds × 4 (lr, wd)",
        "model": {"name": "lru", "n_in": 1, "n_out": 10, "n_hidden": 128, "width": 256, "n_layers": 4},
        "T": 1024,
        "B": 100,
        "iterations": 90_000,
        "cells": 48,
        "source": "Zucchet et al. 2023, experiments/table2_scifar.yaml (algorithms.md §4.2)",
    },
    "zucchet_listops": {
        "what": "ListOps (T <= 2048, mean ~1000), 4-layer LRU 256 / 128, batch 32, 40 epochs of 96 000 "
        "(120 000 iterations); 4 rules × 3 seeds × 4 (lr, r_min)",
        "model": {"name": "lru", "n_in": 16, "n_out": 10, "n_hidden": 128, "width": 256, "n_layers": 4},
        "T": 1000,
        "B": 32,
        "iterations": 120_000,
        "cells": 48,
        "source": "Zucchet et al. 2023, experiments/table2_listops.yaml (algorithms.md §4.2)",
    },
    "zucchet_charlm": {
        "what": "IMDB byte-level (T <= 4096, mean ~1300), 4-layer LRU 64 / 64, batch 32, 35 epochs of 25 000 "
        "(27 300 iterations); 4 rules × 3 seeds × 4 (lr, r_min) — the LRA text task this stands in for",
        "model": {"name": "lru", "n_in": 256, "n_out": 2, "n_hidden": 64, "width": 64, "n_layers": 4},
        "T": 1300,
        "B": 32,
        "iterations": 27_300,
        "cells": 48,
        "source": "Zucchet et al. 2023, experiments/table2_imdb.yaml (algorithms.md §4.2)",
    },
    "menick_copy": {
        "what": "copy curriculum to L ~ 100 (T ~ 200), GRU of 128 at density 0.25 / 0.1, batch 16, 10⁵ "
        "iterations [recalled]; 4 rules × 3 seeds × 2 densities",
        "model": {"name": "gru", "n_in": 3, "n_out": 1, "n_hidden": 128, "density": 0.25},
        "T": 200,
        "B": 16,
        "iterations": 100_000,
        "cells": 24,
        "source": "Menick et al. 2021 [recalled sizes: algorithms.md §4.3]",
    },
    "uoro_anbn": {
        "what": "aⁿbⁿ (n <= 32), GRU of 64, batch 1, fully online over 10⁷ characters; 2 optimizers × 3 seeds",
        "model": {"name": "gru", "n_in": 3, "n_out": 3, "n_hidden": 64},
        "T": 1,
        "B": 1,
        "iterations": 10_000_000,
        "cells": 6,
        "source": "ctallec/uoro train.lua (algorithms.md §4.4)",
    },
}
WORKERS = (8, 64)


def _work(model_cfg: dict, rule) -> float:
    """Multiply-accumulates per sample and step: the forward pass (≈ parameters) + learning."""
    model = ns.models.make(model_cfg["name"], **{k: v for k, v in model_cfg.items() if k != "name"})
    params = sum(int(_prod(s)) for s in model.shapes().values())
    learning = sum(sum(ph.get("mac", 0) for ph in layer.values()) for layer in rule.op_counts(model))
    return float(params + learning)


def _prod(shape) -> int:
    out = 1
    for s in shape:
        out *= int(s)
    return out


def _here(spec, rec) -> tuple[float, float]:
    """(T, B) of a cell here: the task's sequence length (its test set's for variable ones) and batch."""
    cfg = rec["config"]
    task = ns.tasks.make(cfg["task"]["name"], **{k: v for k, v in cfg["task"].items() if k != "name"})
    T = getattr(task, "T", None)
    if not isinstance(T, (int, float)):
        T = task.batch(0, 1).xs.shape[0]
    if cfg["task"]["name"] == "copy_curriculum":  # T grows with the curriculum: its mean over the run
        T = 2 * rec["metrics"].get("final_length", 1) + 2
    return float(T), float(cfg["train"].get("batch_size", 32))


def projections() -> dict:
    out = {}
    for name, paper in PAPER.items():
        path = SWEEPS / name
        spec_file = ROOT / "examples" / "sweeps" / f"{name}.toml"
        if not (path / "summary.json").exists() or not spec_file.exists():
            continue
        spec = ns.sweep.load(spec_file)
        recs = [r for r in (runner.read_record(path, c.id) for c in spec.cells) if r and r["status"] == "ok"]
        by_rule: dict = {}
        for r in recs:
            cfg = r["config"]
            rule = ns.rules.make(cfg["rule"]["name"], **{k: v for k, v in cfg["rule"].items() if k != "name"})
            model_cfg = dict(cfg["model"])
            task = ns.tasks.make(cfg["task"]["name"], **{k: v for k, v in cfg["task"].items() if k != "name"})
            model_cfg.update(n_in=task.n_in, n_out=task.n_out)
            T, B = _here(spec, r)
            spi = r["seconds"] / max(1, r["metrics"]["iterations"])
            cost_here = T * B * _work(model_cfg, rule)
            paper_rule = rule
            try:
                paper_model = dict(paper["model"])
                paper_rule.check_model(ns.models.make(paper_model["name"], **{k: v for k, v in paper_model.items()
                                                                              if k != "name"}))  # fmt: skip
                cost_paper = paper["T"] * paper["B"] * _work(paper["model"], paper_rule)
            except ValueError:
                continue
            t_paper = spi * cost_paper / cost_here * paper["iterations"]
            by_rule.setdefault(cfg["rule"]["name"], []).append(
                {
                    "seconds": r["seconds"],
                    "seconds_per_iteration": spi,
                    "cost_here": cost_here,
                    "depth": cfg["model"].get("n_layers", 1),
                    "projected_cell_s": t_paper,
                }  # fmt: skip
            )
        if not by_rule:
            continue
        rules = {}
        for rule, rows in by_rule.items():
            rules[rule] = {
                "cells": len(rows),
                "cell_s_median": statistics.median(x["seconds"] for x in rows),
                "projected_cell_s_median": statistics.median(x["projected_cell_s"] for x in rows),
            }
        per_cell = statistics.median(v["projected_cell_s_median"] for v in rules.values())
        total = per_cell * paper["cells"]
        check = _depth_check(by_rule)
        out[name] = {"paper": {k: v for k, v in paper.items() if k != "model"}, "rules": rules,
                     "cells_here": len(recs), "cell_s_here_sum": sum(r["seconds"] for r in recs),
                     "projected_cell_s": per_cell, "projected_total_s": total,
                     "wall_s": {str(n): total / n for n in WORKERS}, "cost_model_check": check}  # fmt: skip
    return out


def _depth_check(by_rule: dict) -> dict | None:
    """The cost model on the measurements: depth 1's seconds per unit of cost predicts the deepest
    stack's seconds per iteration (median over rules and seeds)."""
    ratios = []
    for rows in by_rule.values():
        shallow = [x for x in rows if x["depth"] == 1]
        deep = [x for x in rows if x["depth"] == max(r["depth"] for r in rows)]
        if not shallow or not deep or deep[0]["depth"] == 1:
            continue
        per_cost = statistics.median(x["seconds_per_iteration"] / x["cost_here"] for x in shallow)
        for x in deep:
            ratios.append(x["seconds_per_iteration"] / (per_cost * x["cost_here"]))
    if not ratios:
        return None
    return {"measured_over_predicted_median": statistics.median(ratios), "min": min(ratios), "max": max(ratios),
            "n": len(ratios)}  # fmt: skip


SMALL = """[sweep]
seeds = [0, 1, 2, 3]
[base.model]
name = "lru"
n_hidden = 16
[base.task]
name = "copy"
pattern_len = 5
pad = 2
[base.train]
steps = 60
batch_size = 16
[grid]
"rule.name" = ["online_lru", "spatial"]
"""


def machinery(repeats: int = 2) -> dict:
    """The same 8-cell sweep inline (no Dask), on a local cluster of 1 and of 2 workers: wall time,
    min and median of ``repeats`` (each run into a fresh directory, so every cell runs)."""
    out = {}
    spec = ns.sweep.parse(__import__("tomllib").loads(SMALL))
    for label, kw in (("inline", {"scheduler": "inline"}), ("local, 1 worker", {"workers": 1}),
                      ("local, 2 workers", {"workers": 2})):  # fmt: skip
        times = []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as d:
                t0 = time.perf_counter()
                res = runner.run(spec, d, progress=False, **kw)
                times.append(time.perf_counter() - t0)
                assert res.ran == len(spec.cells) and not res.failed
        out[label] = {"min_s": min(times), "median_s": statistics.median(times)}
    out["cells"] = len(spec.cells)
    return out


def run() -> dict:
    return {"projections": projections(), "machinery": machinery()}


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
