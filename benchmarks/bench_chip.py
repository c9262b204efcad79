"""The chip simulation against ``ns.train``, side by side in one run (issue 11's targets: float
formats ≤ 2× ``ns.train``, fixed point ≤ 3×; spiking ≥ 10⁷ synaptic events per second of wall
time on one core).

    python benchmarks/bench_chip.py [--repeats K]

*Training*: the quickstart (2-layer LRU, online_lru, copy task, batch 32) on loihi2, one
iteration of each of ``ns.train``, ``chip.simulate(formats="float")`` and
``chip.simulate(formats="profile")`` in turn, after a warm-up of each; min and median.
*Spiking inference*: a 1000-neuron LIF network (e-prop's ALIF defaults, learning off) on loihi,
the synaptic events the chip executed per second of wall time. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import neurosim as ns
from neurosim import config as cfgmod


def _quickstart():
    cfg = cfgmod.validate(cfgmod.QUICKSTART, "<built-in quickstart>")
    model, rule, task, opt, kw = cfgmod.build(cfg, "<built-in quickstart>")
    return model, rule, task, opt, kw["batch_size"], kw["seed"]


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def training(repeats: int = 3) -> dict:
    model, rule, task, opt, batch, seed = _quickstart()
    params = model.init(seed)
    runs = {
        "train": lambda: ns.train(
            model, rule, task, opt, 1, batch_size=batch, seed=seed, params=params, progress=False
        ),
        "chip float": lambda: ns.chip.simulate(model, rule, task, "loihi2", None, 1, opt, batch, seed, formats="float"),
        "chip fixed": lambda: ns.chip.simulate(model, rule, task, "loihi2", None, 1, opt, batch, seed),
    }
    for fn in runs.values():  # warm-up: numba loads, caches fill
        fn()
    times: dict[str, list] = {k: [] for k in runs}
    for _ in range(repeats):
        for k, fn in runs.items():
            times[k].append(_timed(fn))
    out = {k: {"min_s": min(v), "median_s": statistics.median(v)} for k, v in times.items()}
    for k in ("chip float", "chip fixed"):
        out[k]["ratio_min"] = out[k]["min_s"] / out["train"]["min_s"]
    return out


def spiking(n: int = 1000, steps: int = 2) -> dict:
    task = ns.tasks.make("evidence", seed=0)
    model = ns.models.make("alif", n_in=task.n_in, n_out=task.n_out, n_hidden=n, n_alif=n // 2)
    rule = ns.rules.make("eprop")
    ns.chip.simulate(model, rule, task, "loihi", steps=1, learn=False, formats="float")  # warm-up
    t0 = time.perf_counter()
    run = ns.chip.simulate(model, rule, task, "loihi", steps=steps, learn=False, formats="float")
    wall = time.perf_counter() - t0
    synops = float(run.events["synop"].sum())
    return {"neurons": n, "timesteps": int(run.step_ns.size), "synops": synops, "wall_s": wall,
            "synops_per_s": synops / wall}  # fmt: skip


def run(repeats: int = 3) -> dict:
    return {"training": training(repeats), "spiking": spiking()}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    print(json.dumps(run(ap.parse_args().repeats), indent=1))
