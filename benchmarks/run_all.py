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
        "## Not measured yet",
        "",
        "- CUBA (Brette et al. 2007) against Brian2's runtime and cpp_standalone targets: needs the",
        "  event-driven simulator of issue 4, part 3, which has not landed.",
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
