"""Run every benchmark in one process and write ``BENCHMARKS.md`` (machine, command, ratios).

    python benchmarks/run_all.py            # writes BENCHMARKS.md at the repository root

Speed is measured here, never in the test suite. Ratios are side by side in one run.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numba  # noqa: E402
import numpy as np  # noqa: E402
from bench_cuba import run as run_cuba  # noqa: E402
from bench_kernels import run as run_kernels  # noqa: E402
from bench_stream import triad  # noqa: E402

from neurosim._io import atomic_write  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, {mem:.0f} GiB RAM; Python {platform.python_version()}, "
        f"numpy {np.__version__}, numba {numba.__version__} ({numba.get_num_threads()} threads)"
    )


def main() -> int:
    t0 = time.perf_counter()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    stream = triad()
    rows = run_kernels(triad_gbs=stream["parallel_gbs"])
    cuba = run_cuba()
    lines = [
        "# Benchmarks",
        "",
        "Measured side by side in one process by `python benchmarks/run_all.py` "
        f"(commit {commit.stdout.strip() or 'unknown'}, {time.strftime('%Y-%m-%d')}).",
        "",
        f"**Machine:** {machine()}.",
        "",
        "## Memory bandwidth (STREAM-style triad, `benchmarks/bench_stream.py`)",
        "",
        f"a = b + s·c over {stream['n']:,} doubles: **{stream['parallel_gbs']:.1f} GB/s** numba parallel "
        f"({stream['threads']} threads), {stream['serial_gbs']:.1f} GB/s serial, "
        f"{stream['numpy_gbs']:.1f} GB/s numpy (two passes). The parallel figure is the limit used below.",
        "",
        "## Kernels against their numpy twins (`benchmarks/bench_kernels.py`)",
        "",
        "Median of 7 calls after a warm-up; the kernels update their traces in place. GB/s counts the",
        "minimum traffic of the update (each written array read and written once, inputs read once).",
        "",
        "| kernel | dtype | numpy ms | numba serial ms | numba parallel ms | speed-up (best) | GB/s | of triad |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['kernel']} | {r['dtype']} | {r['numpy_ms']:.2f} | {r['serial_ms']:.2f} | {r['parallel_ms']:.2f} "
            f"| ×{r['speedup']:.1f} | {r['gbs']:.1f} | {r['of_triad']:.0%} |"
        )
    lines += [
        "",
        "Reading the table: above 100 % of the triad means the working set fits in the 32 MB L3",
        "cache (the online_lru traces at these sizes are 16.8 MB in float32, the neuron step's",
        "arrays are < 1 MB), so DRAM bandwidth is not the limit there. snap1's update gathers the",
        "presynaptic value of every parameter (an indirect load per trace element), which caps it",
        "below the streaming bandwidth; its traces are stored batch-minor so the update vectorises",
        "over the batch. SnAp-2 is bound by its masked product (|column|² multiply-adds per",
        "parameter through an index), not by memory: its GB/s column is not a bandwidth figure.",
        "RTRL's and UORO's numpy twins are BLAS calls already near the memory limit, so ×5 over",
        "them is out of reach; the kernels match or beat them at 50–80 % of the triad.",
        "The RNN and GRU steps: numba's scalar tanh/exp loop is ~10× slower than numpy's SIMD",
        "ufuncs, so the cells keep numpy for them (the kernels exist, tested, for the fixed-point",
        "chip simulation to come); the LRU step and everything else use the kernels.",
    ]
    miss = [r for r in rows if r["speedup"] < 5 or r["of_triad"] < 0.5]
    lines += ["", "## Targets (issue 4): ≥ 5× the numpy twin and ≥ 50 % of the triad bandwidth", ""]
    if not miss:
        lines.append("Every trace kernel above meets both targets.")
    for r in miss:
        what = []
        if r["speedup"] < 5:
            what.append(f"speed-up ×{r['speedup']:.1f} < ×5")
        if r["of_triad"] < 0.5:
            what.append(f"{r['of_triad']:.0%} < 50 % of the triad")
        lines.append(f"- **missed** {r['kernel']}, {r['dtype']}: {'; '.join(what)}.")
    lines += [
        "",
        "## CUBA: neurosim against Brian2 (`benchmarks/bench_cuba.py`)",
        "",
        "Brette et al.'s CUBA network, 80 inputs per neuron, dt = 0.1 ms, 1 s of biological time.",
        "*sim* is the time loop only; *total* adds construction, code generation and compilation",
        "(Brian2's cython cache cleared first; neurosim's numba loop loaded from its on-disk cache).",
        "Each simulator builds its own random network, so spike counts differ slightly; the",
        "test suite checks spike-for-spike equality on identical networks (numpy target).",
        "",
        "| N | synapses | neurosim sim s | total s | Brian2 cython sim s | total s | cpp_standalone sim s | total s |"
        " neurosim vs cpp_standalone | neurosim vs cython |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in cuba:
        ns_, cy, cpp = r["neurosim"], r["brian2_cython"], r["brian2_cpp_standalone"]

        def cell(d, key):
            return f"{d[key]:.3f}" if key in d else "failed"

        def ratio(d, ref=ns_):
            return f"×{d['sim_s'] / ref['sim_s']:.2f}" if "sim_s" in d else "n/a"

        lines.append(
            f"| {r['n']:,} | {ns_['synapses']:,} | {ns_['sim_s']:.3f} | {ns_['total_s']:.2f} | {cell(cy, 'sim_s')} "
            f"| {cell(cy, 'total_s')} | {cell(cpp, 'sim_s')} | {cell(cpp, 'total_s')} | {ratio(cpp)} | {ratio(cy)} |"
        )
    lines += [
        "",
        "Ratios are Brian2's simulation time divided by neurosim's (above 1: neurosim is faster).",
        "On this 2-vCPU virtual machine repeated runs vary by up to ±30 % (16k neurons: neurosim",
        "0.27–0.33 s, cpp_standalone 0.20–0.33 s across runs of the same commit).",
        "Targets (issue 4): no slower than cpp_standalone (ratio ≥ 1) and ≥ 10× faster than the runtime",
        "target (ratio ≥ 10).",
        "",
        f"Total benchmark time: {time.perf_counter() - t0:.0f} s.",
        "",
    ]
    text = "\n".join(lines)
    atomic_write(ROOT / "BENCHMARKS.md", lambda p: Path(p).write_text(text))
    print(f"wrote {ROOT / 'BENCHMARKS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
