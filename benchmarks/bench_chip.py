"""The chip simulation against ``ns.train``, side by side in one run (issue 11's targets: float
formats ≤ 2× ``ns.train``, fixed point ≤ 3×; spiking ≥ 10⁷ synaptic events per second of wall
time on one core).

    python benchmarks/bench_chip.py [--repeats K]

*Training*: the quickstart (2-layer LRU, online_lru, copy task, batch 32) on loihi2, one
iteration of each of ``ns.train``, ``chip.simulate(formats="float")`` and
``chip.simulate(formats="profile")`` in turn, after a warm-up of each; min and median.
*Spiking inference*: a 1000-neuron LIF network (e-prop's ALIF defaults, learning off) on loihi,
the synaptic events the chip executed per second of wall time. Nothing here asserts.

Scale (section ``chip_scale``, issue 11's "steps per second for a 4-layer LRU on 32 cores and a
16k-neuron spiking network on 16 cores"):

* ``lru32``: a 4-layer LRU (N = H = 64) learning the copy task with online_lru on loihi2, on an
  explicit 32-core layout (each layer's 64 units split over 8 cores; the default layout packs it
  on 4), batch 1, float and profile formats, beside ``ns.train``; chip timesteps per second.
* ``spiking_scale``: LIF networks (all-to-all recurrence, no autapses) of 2k–8k neurons on loihi,
  1024 neurons per core (n / 1024 cores: 16 cores at 16k), e-prop on a shortened evidence task
  (T = 40 ms), learning off and on; each size in its own process (its peak RSS is its own). The
  synaptic events per second of wall time, over the whole call and over the time steps alone (the
  call less the event graph's construction, ``ChipNet`` and its ``routing_entries``, timed on
  their own).

    python benchmarks/bench_chip.py --scale [--sizes 2048,4096] [--large]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

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


def training(repeats: int = 3, more: int = 4) -> dict:
    """One iteration of each (setup included), and the steady state: the time of 1 + ``more``
    iterations less that of 1, per iteration (the one-time setup — event graph, owners, formats —
    cancels). Min over ``repeats`` of each, taken in turn."""
    model, rule, task, opt, batch, seed = _quickstart()
    params = model.init(seed)

    def runs(n):
        return {
            "train": lambda: ns.train(model, rule, task, opt, n, batch_size=batch, seed=seed, params=params,
                                      progress=False),
            "chip float": lambda: ns.chip.simulate(model, rule, task, "loihi2", None, n, opt, batch, seed,
                                                   formats="float"),
            "chip fixed": lambda: ns.chip.simulate(model, rule, task, "loihi2", None, n, opt, batch, seed),
        }  # fmt: skip

    for fn in runs(1).values():  # warm-up: numba loads, caches fill
        fn()
    times = {n: {k: [] for k in runs(n)} for n in (1, 1 + more)}
    for _ in range(repeats):
        for n in times:
            for k, fn in runs(n).items():
                times[n][k].append(_timed(fn))
    one, many = times[1], times[1 + more]
    out = {k: {"min_s": min(v), "median_s": statistics.median(v)} for k, v in one.items()}
    steady = {k: (min(many[k]) - min(one[k])) / more for k in one}
    for k in out:
        out[k]["steady_s_per_iteration"] = steady[k]
    for k in ("chip float", "chip fixed"):
        out[k]["ratio_min"] = out[k]["min_s"] / out["train"]["min_s"]
        out[k]["ratio_steady"] = steady[k] / steady["train"]
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


# --- scale ---------------------------------------------------------------------------------------
def split_layout(model, profile, per_layer: int):
    """Each layer's units split evenly over ``per_layer`` cores of their own, cores in part order."""
    from neurosim.hardware.layout import CoreUnits, Layout, Units, layer_units
    from neurosim.hardware.mesh import default_site

    cores = []
    for layer, n in enumerate(layer_units(model)):
        cuts = np.linspace(0, n, per_layer + 1).astype(int)
        for a, b in zip(cuts[:-1], cuts[1:]):
            x, y = default_site(profile, len(cores))
            cores.append(CoreUnits(len(cores), x, y, ((layer, Units.range(int(a), int(b))),)))
    return Layout(tuple(cores), f"bench: each layer on {per_layer} cores")


def lru32(repeats: int = 3, n: int = 64) -> dict:
    """4-layer LRU on 32 cores of loihi2, online_lru, batch 1 (module docstring)."""
    task = ns.tasks.make("copy", pattern_len=20, seed=0)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=n, width=n, n_layers=4, dtype="float32")
    rule = ns.rules.make("online_lru")
    profile = ns.hardware.load_profile("loihi2")
    layout = split_layout(model, profile, 8)
    b = ns.hardware.budget(model, rule, profile, layout, optimizer="adam")
    opt = ns.optim.adam(3e-3)
    params = model.init(0)
    runs = {
        "train": lambda: ns.train(model, rule, task, opt, 1, batch_size=1, seed=0, params=params, progress=False),
        "chip float": lambda: ns.chip.simulate(model, rule, task, profile, layout, 1, opt, 1, 0, formats="float"),
        "chip fixed": lambda: ns.chip.simulate(model, rule, task, profile, layout, 1, opt, 1, 0),
    }
    for fn in runs.values():
        fn()
    times: dict[str, list] = {k: [] for k in runs}
    for _ in range(repeats):
        for k, fn in runs.items():
            times[k].append(_timed(fn))
    T = int(task.batch(0, 1)[0].shape[0])
    out = {"n_hidden": n, "width": n, "layers": 4, "cores": len(layout.cores), "fits": bool(b.fits),
           "timesteps": T, "runs": {}}  # fmt: skip
    for k, v in times.items():
        out["runs"][k] = {"min_s": min(v), "median_s": statistics.median(v), "steps_per_s": T / min(v),
                          "ratio_min": min(v) / min(times["train"])}  # fmt: skip
    return out


def _scale_task():
    return ns.tasks.make("evidence", seed=0, n_cues=1, cue_ms=20, gap_ms=0, delay_ms=10, recall_ms=10)


def spiking_one(n: int, learn: bool) -> dict:
    """One LIF network of ``n`` neurons on loihi (module docstring), in this process."""
    from neurosim.chip.costs import ChipNet

    task = _scale_task()
    model = ns.models.make("lif", n_in=task.n_in, n_out=task.n_out, n_hidden=n, dtype="float32")
    rule = ns.rules.make("eprop")
    profile = ns.hardware.load_profile("loihi")
    layout = ns.hardware.layout.layers_in_order(model, profile)
    small = ns.models.make("lif", n_in=task.n_in, n_out=task.n_out, n_hidden=64, dtype="float32")
    ns.chip.simulate(small, rule, task, profile, None, 1, None, 1, 0, formats="float", learn=learn)  # numba loads
    t0 = time.perf_counter()
    ChipNet(model, rule, profile, layout).routing_entries()  # what simulate builds before its first step
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = ns.chip.simulate(model, rule, task, profile, layout, 1, None, 1, 0, formats="float", learn=learn)
    wall = time.perf_counter() - t0
    synops = float(run.events["synop"].sum())
    return {"neurons": n, "synapses": n * (n - 1) + n * task.n_in + n * task.n_out, "cores": len(layout.cores),
            "learn": learn, "timesteps": int(run.step_ns.size), "synops": synops, "wall_s": wall,
            "chipnet_s": setup, "synops_per_s": synops / wall, "synops_per_s_steps": synops / max(wall - setup, 1e-9),
            "steps_per_s": run.step_ns.size / max(wall - setup, 1e-9),
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}  # fmt: skip


def spiking_scale(sizes=(2048, 4096), large: bool = False) -> list[dict]:
    """``spiking_one`` for each size, learning off then on, each in a fresh process; ``large``
    adds 8192 neurons (learning off) and the 16k network on 16 cores, learning off and on (about
    10 minutes and 15 GB peak here)."""
    rows = []
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    cases = [(n, learn) for n in sizes for learn in (False, True)]
    cases += [(8192, False), (16384, False), (16384, True)] if large else []
    for n, learn in cases:
        cmd = [sys.executable, __file__, "--spiking-one", str(n), "--learn", str(int(learn))]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if out.returncode:
            rows.append({"neurons": n, "learn": learn, "error": out.stderr.strip().splitlines()[-1:]})
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def run_scale(repeats: int = 3, sizes=(2048, 4096), large: bool = False) -> dict:
    return {"lru32": lru32(repeats), "spiking": spiking_scale(sizes, large)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scale", action="store_true", help="the scale benchmarks (lru32, spiking_scale)")
    ap.add_argument("--sizes", default="2048,4096", help="--scale: spiking network sizes")
    ap.add_argument("--large", action="store_true", help="--scale: add 8192 and 16384 neurons (~10 min, 15 GB)")
    ap.add_argument("--spiking-one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--learn", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.spiking_one:
        print(json.dumps(spiking_one(a.spiking_one, bool(a.learn))))
    elif a.scale:
        print(json.dumps(run_scale(a.repeats, tuple(int(x) for x in a.sizes.split(",")), a.large), indent=1))
    else:
        print(json.dumps(run(a.repeats), indent=1))
