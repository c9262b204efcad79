"""The gradient-quality study (issue 3; Zucchet et al. 2023, Fig. 2 style, at laptop scale).

On the copy task, for LRU stacks of depth 1…4 and r_min ∈ {0, 0.5, 0.9} (r_max = 1):

* **cosine similarity with the BPTT gradient** (global and per layer) of every rule's total
  gradient over one batch, parameters held fixed, averaged over ``n_batches`` batches, at the
  initial parameters and again at the parameters BPTT reaches after ``steps`` iterations;
* **training loss**: each rule trains its own copy of the network for ``steps`` iterations
  (Adam, one update per sequence); the mean loss over the last 20 % of iterations is reported.
  snap1 computes the same gradients as online_lru on the LRU (O4) at about 10× the cost of
  neurosim's generic SnAp-1 path, so it is trained at depth 1 (where the study records the largest
  difference between the two loss curves) and reuses online_lru's trajectory deeper.

Rules: spatial, trunc1, online_lru, snap1, uoro, rflo, bptt. On the LRU, snap1 *is* online_lru
(the recurrence is element-wise; O4), and rflo with symmetric feedback is snap1 too, so rflo is
run with random feedback, which neurosim defines for one-layer networks only: deeper cells are
recorded as ``null`` with the reason.

``orderings`` checks the papers' statements (``CLAIMS``: each with its source) on the measured
numbers and records True/False for each; ``claims`` lists them with their sources. Nothing is
asserted: the study reports. The statements, as the papers make them:

* Zucchet et al. 2023 (NeurIPS), Table 2: on long-range tasks the test accuracies order as
  BPTT ≥ online LRU ≫ 1-step truncated BPTT ≈ spatial backpropagation (checked here on the
  training loss of the copy task);
* Zucchet et al. 2023, Fig. 2 (a memory task with 7-bit patterns of length 20): the online LRU
  gradient's bias (1 − cosine with BPTT) grows with depth and as |λ| approaches 1, and deeper
  networks still learn better;
* Menick et al. 2021 (ICLR), §3 and §5: SnAp-1 is exact when the recurrence is element-wise (so
  it equals the online LRU rule there) and is a better gradient than UORO and RFLO at equal cost.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .. import models, optim, rules, tasks
from .._io import atomic_write
from ..train import train

RULES = ("spatial", "trunc1", "online_lru", "snap1", "uoro", "rflo", "bptt")
RULE_OPTS = {"rflo": {"feedback": "random"}, "uoro": {"seed": 0}}
SCHEMA = "neurosim.study.gradient_quality/1"


def default_settings(quick: bool = False) -> dict:
    if quick:
        return dict(
            depths=[1, 2],
            r_mins=[0.0, 0.9],
            n_hidden=8,
            width=8,
            pattern_len=4,
            pad=2,
            n_bits=3,
            batch_size=4,
            n_batches=1,
            steps=3,
            lr=3e-3,
            seed=0,
        )
    return dict(
        depths=[1, 2, 3, 4],
        r_mins=[0.0, 0.5, 0.9],
        n_hidden=32,
        width=32,
        pattern_len=10,
        pad=5,
        n_bits=3,
        batch_size=16,
        n_batches=2,
        steps=200,
        lr=3e-3,
        seed=0,
    )


def _model(depth: int, r_min: float, s: dict):
    return models.make(
        "lru",
        n_in=s["n_bits"] + 1,
        n_out=s["n_bits"],
        n_hidden=s["n_hidden"],
        width=s["width"],
        n_layers=depth,
        r_min=r_min,
    )


def _applicable(rule: str, depth: int) -> str | None:
    if rule == "rflo" and depth > 1:
        return "rflo's random feedback is defined for one-layer networks only"
    return None


def _similarity(model, params, task, s) -> dict:
    out = {}
    sims = {r: [] for r in RULES}
    for b in range(s["n_batches"]):
        batch = task.batch(10_000 + b, s["batch_size"])
        ref = rules.total_gradient(rules.make("bptt"), model, params, batch.xs, batch.ys, task.loss, batch.mask)
        for r in RULES:
            if _applicable(r, model.n_layers):
                continue
            g = rules.total_gradient(
                rules.make(r, **RULE_OPTS.get(r, {})), model, params, batch.xs, batch.ys, task.loss, batch.mask
            )
            sims[r].append(rules.gradient_similarity(g, ref))
    for r, lst in sims.items():
        if not lst:
            out[r] = None
            continue
        out[r] = {
            "cosine": float(np.mean([x["cosine"] for x in lst])),
            "rel_norm": float(np.mean([x["rel_norm"] for x in lst])),
            "per_layer": {k: float(np.mean([x["per_layer"][k]["cosine"] for x in lst])) for k in lst[0]["per_layer"]},
        }
    return out


def run(settings: dict | None = None, out_dir: str | Path | None = None, progress=print) -> dict:
    """Run the study; write ``gradient_quality.json`` and ``gradient_quality.png`` to ``out_dir``."""
    s = {**default_settings(), **(settings or {})}
    t0 = time.perf_counter()
    task = tasks.make("copy", seed=s["seed"], n_bits=s["n_bits"], pattern_len=s["pattern_len"], pad=s["pad"])
    cells = []
    for depth in s["depths"]:
        for r_min in s["r_mins"]:
            model = _model(depth, r_min, s)
            params0 = model.init(s["seed"])
            cell = {"depth": depth, "r_min": r_min, "similarity_init": _similarity(model, params0, task, s)}
            losses, trained_bptt = {}, None
            for r in RULES:
                why = _applicable(r, depth)
                if why:
                    losses[r] = None
                    continue
                if r == "snap1" and depth > 1 and "online_lru" in losses:
                    # identical gradients on the LRU (O4): reuse the trajectory (checked at depth 1)
                    losses[r] = {**losses["online_lru"], "trained_as": "online_lru"}
                    continue
                res = train(
                    model,
                    rules.make(r, **RULE_OPTS.get(r, {})),
                    task,
                    optim.adam(s["lr"]),
                    s["steps"],
                    batch_size=s["batch_size"],
                    seed=s["seed"],
                    params=params0,
                    progress=False,
                )
                tail = res.losses[-max(1, len(res.losses) // 5) :]
                losses[r] = {
                    "final_loss": float(np.mean(tail)),
                    "final_bit_accuracy": float(np.mean(res.metric("bit_accuracy")[-len(tail) :])),
                    "curve": [float(v) for v in res.losses],
                }
                if r == "bptt":
                    trained_bptt = res.params
            if depth == 1:
                a, b = losses["snap1"]["curve"], losses["online_lru"]["curve"]
                cell["snap1_vs_online_lru_max_loss_diff"] = float(np.max(np.abs(np.subtract(a, b))))
            cell["training"] = losses
            cell["similarity_trained"] = _similarity(model, trained_bptt, task, s)
            cell["skipped"] = {r: _applicable(r, depth) for r in RULES if _applicable(r, depth)}
            cells.append(cell)
            if progress:
                cos = {r: round(v["cosine"], 3) for r, v in cell["similarity_trained"].items() if v}
                progress(f"depth {depth} r_min {r_min}: cosine (trained) {cos}  ({time.perf_counter() - t0:.0f} s)")
    found = orderings(cells)
    result = {
        "schema": SCHEMA,
        "settings": s,
        "rules": list(RULES),
        "cells": cells,
        "orderings": found,
        "claims": [{"claim": k, "source": CLAIMS[k], "holds": v} for k, v in found.items()],
        "seconds": time.perf_counter() - t0,
    }
    if out_dir is not None:
        out = Path(out_dir)
        atomic_write(out / "gradient_quality.json", lambda p: Path(p).write_text(json.dumps(result, indent=1)))
        fig = plot(result)
        atomic_write(out / "gradient_quality.png", lambda p: fig.savefig(p, dpi=110, format="png"))
        import matplotlib.pyplot as plt

        plt.close(fig)
    return result


def _get(cells, depth, r_min, rule, key="similarity_trained"):
    for c in cells:
        if c["depth"] == depth and c["r_min"] == r_min:
            v = c[key].get(rule)
            if v is None:
                return None
            return v["cosine"] if key.startswith("similarity") else v["final_loss"]
    return None


ZUCCHET_T2 = "Zucchet et al. 2023, Table 2 (BPTT >= online LRU >> 1-step TBPTT ~ spatial)"
ZUCCHET_F2 = "Zucchet et al. 2023, Fig. 2 (memory task, 7-bit patterns of length 20)"
MENICK = "Menick et al. 2021, §5 (SnAp-1 beats UORO and RFLO at equal cost)"
CLAIMS = {
    "loss: bptt <= online_lru (every cell)": ZUCCHET_T2,
    "loss: online_lru < trunc1 and < spatial (every cell)": ZUCCHET_T2,
    "cosine: online_lru > trunc1 (every cell)": ZUCCHET_F2,
    "cosine: snap1 == online_lru on the LRU (every cell)": "Menick et al. 2021, §3 (SnAp-1 is exact for an "
    "element-wise recurrence); Zucchet et al. 2023, §3",
    "cosine: snap1 > uoro (every cell)": MENICK,
    "cosine: snap1 > rflo (depth 1)": MENICK,
    "bias 1 - cosine(online_lru) grows with depth (each r_min)": ZUCCHET_F2,
    "deeper learns better: online_lru loss at max depth < depth 1 (each r_min)": ZUCCHET_F2,
    "bias grows as |lambda| -> 1: cosine(online_lru) at the largest r_min <= smallest (depth > 1)": ZUCCHET_F2,
}


def orderings(cells) -> dict:
    """The papers' statements (``CLAIMS``), checked on the measurements (True / False / None
    when not measurable)."""
    depths = sorted({c["depth"] for c in cells})
    r_mins = sorted({c["r_min"] for c in cells})
    out = {}

    def all_cells(pred):
        vals = [pred(c) for c in cells]
        vals = [v for v in vals if v is not None]
        return bool(all(vals)) if vals else None

    def loss(c, r):
        v = c["training"].get(r)
        return None if v is None else v["final_loss"]

    out["loss: bptt <= online_lru (every cell)"] = all_cells(lambda c: loss(c, "bptt") <= loss(c, "online_lru") * 1.02)
    out["loss: online_lru < trunc1 and < spatial (every cell)"] = all_cells(
        lambda c: loss(c, "online_lru") < min(loss(c, "trunc1"), loss(c, "spatial"))
    )
    out["cosine: online_lru > trunc1 (every cell)"] = all_cells(
        lambda c: c["similarity_trained"]["online_lru"]["cosine"] > c["similarity_trained"]["trunc1"]["cosine"]
    )
    out["cosine: snap1 == online_lru on the LRU (every cell)"] = all_cells(
        lambda c: (
            abs(c["similarity_trained"]["snap1"]["cosine"] - c["similarity_trained"]["online_lru"]["cosine"]) < 1e-9
        )
    )
    out["cosine: snap1 > uoro (every cell)"] = all_cells(
        lambda c: c["similarity_trained"]["snap1"]["cosine"] > c["similarity_trained"]["uoro"]["cosine"]
    )
    out["cosine: snap1 > rflo (depth 1)"] = all_cells(
        lambda c: (
            None
            if c["similarity_trained"].get("rflo") is None
            else c["similarity_trained"]["snap1"]["cosine"] > c["similarity_trained"]["rflo"]["cosine"]
        )
    )
    if len(depths) > 1:
        out["bias 1 - cosine(online_lru) grows with depth (each r_min)"] = all(
            all(
                _get(cells, d2, r, "online_lru") <= _get(cells, d1, r, "online_lru") + 1e-9
                for d1, d2 in zip(depths, depths[1:])
            )
            for r in r_mins
        )
        out["deeper learns better: online_lru loss at max depth < depth 1 (each r_min)"] = all(
            _get(cells, depths[-1], r, "online_lru", "training") < _get(cells, depths[0], r, "online_lru", "training")
            for r in r_mins
        )
    if len(r_mins) > 1 and len(depths) > 1:
        out["bias grows as |lambda| -> 1: cosine(online_lru) at the largest r_min <= smallest (depth > 1)"] = all(
            _get(cells, d, r_mins[-1], "online_lru") <= _get(cells, d, r_mins[0], "online_lru") + 1e-9
            for d in depths
            if d > 1
        )
    return out


def plot(result: dict):
    """Two rows: cosine with BPTT (trained parameters) and final loss, against depth, per r_min."""
    import matplotlib.pyplot as plt

    cells = result["cells"]
    r_mins = sorted({c["r_min"] for c in cells})
    depths = sorted({c["depth"] for c in cells})
    fig, axes = plt.subplots(2, len(r_mins), figsize=(4.2 * len(r_mins), 7), squeeze=False, sharex=True)
    styles = {"bptt": "k-", "online_lru": "C0-o", "snap1": "C1--x", "trunc1": "C2-s", "spatial": "C3-^"}
    styles.update({"uoro": "C4-d", "rflo": "C5-v"})
    for j, r in enumerate(r_mins):
        for rule in result["rules"]:
            cos = [_get(cells, d, r, rule) for d in depths]
            los = [_get(cells, d, r, rule, "training") for d in depths]
            xs = [d for d, v in zip(depths, cos) if v is not None]
            if rule != "bptt" and xs:
                axes[0, j].plot(xs, [v for v in cos if v is not None], styles[rule], label=rule)
            xl = [d for d, v in zip(depths, los) if v is not None]
            if xl:
                axes[1, j].plot(xl, [v for v in los if v is not None], styles[rule], label=rule)
        axes[0, j].set_title(f"r_min = {r}")
        axes[0, j].set_ylabel("cosine with BPTT gradient")
        axes[0, j].set_ylim(-0.1, 1.05)
        axes[1, j].set_ylabel("training loss (last 20 %)")
        axes[1, j].set_xlabel("depth (LRU layers)")
        axes[1, j].set_xticks(depths)
    axes[0, 0].legend(fontsize=8)
    s = result["settings"]
    fig.suptitle(
        f"Gradient quality on the copy task (P={s['pattern_len']}, N=H={s['n_hidden']}, "
        f"{s['steps']} iterations × batch {s['batch_size']})"
    )
    fig.tight_layout()
    return fig
