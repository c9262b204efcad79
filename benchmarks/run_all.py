"""Run the benchmarks and write ``BENCHMARKS.md`` (machine, command, side-by-side ratios).

    python benchmarks/run_all.py                       # everything (~2 h on 2 vCPUs)
    python benchmarks/run_all.py --only jax,threads    # a subset; the other sections are kept

Each benchmark's results go to ``benchmarks/results/<name>.json`` (with its commit, date, machine
and duration); ``BENCHMARKS.md`` is then written from every result file present, so a subset run
refreshes its own sections only. Speed is measured here, never in the test suite. Names:
stream, kernels, threads, jax, versions, cuba, chip, mapping, mapping_100k, chip_scale, mapping_scale,
sweeps (issue 14: the reproductions' cell times from results/sweeps/ projected to paper scale, ~1 min)
(mapping and mapping_100k: issue 12's benchmark set at 10k and at 100k units, ~25 and ~30 min; the
last two the scale runs of issues 11 and 12: ~10 and ~15 min; ``--large`` adds their biggest sizes,
8192 and 16384 spiking neurons and 10⁶ mapped units, minutes and several GB more). Each result also records
``nproc``, the CPU model and the load average before and after its run (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numba  # noqa: E402
import numpy as np  # noqa: E402
import report  # noqa: E402

from neurosim._io import atomic_write  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
NAMES = ("stream", "kernels", "threads", "jax", "versions", "cuba", "chip", "mapping", "mapping_100k", "chip_scale",
         "mapping_scale", "sweeps")  # fmt: skip


def machine() -> str:
    from bench_stream import llc_bytes

    from neurosim.kernels.config import apply_threading_layer

    apply_threading_layer()  # before numba's first launch (get_num_threads below)
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
    threads = numba.get_num_threads()
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, last-level cache {llc_bytes() / 2**20:.0f} MiB, {mem:.0f} GiB RAM; "
        f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__} "
        f"({threads} threads, {numba.threading_layer()} layer)"
    )


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(  # what the runs themselves write (BENCHMARKS.md, results/) is not a change
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md", ":!benchmarks/results"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    return (out.stdout.strip() or "unknown") + (" + local changes" if dirty.stdout.strip() else "")


def _run_one(name: str, stream: dict | None, large: bool = False) -> object:
    if name == "stream":
        from bench_stream import stream as run

        return run()
    if name == "kernels":
        from bench_kernels import run

        return run(stream=stream)
    if name == "threads":
        from bench_threads import run

        return run()
    if name == "jax":
        from bench_jax import run

        return run()
    if name == "versions":
        from bench_versions import run

        return run()
    if name == "chip":
        from bench_chip import run

        return run()
    if name in ("mapping", "mapping_100k"):
        from bench_mapping import run

        return run(large=name == "mapping_100k")
    if name == "chip_scale":
        from bench_chip import run_scale

        return run_scale(large=large)
    if name == "mapping_scale":
        from bench_mapping import run_scale

        return run_scale(large=large)
    if name == "sweeps":
        from bench_sweeps import run

        return run()
    from bench_cuba import run

    return run()


def save(name: str, data, seconds: float, mach: str, load: dict | None = None) -> None:
    RESULTS.mkdir(exist_ok=True)
    payload = {"name": name, "commit": _commit(), "date": time.strftime("%Y-%m-%d"), "machine": mach}
    payload["nproc"] = os.cpu_count()
    if load:
        payload["load"] = load
    payload.update({"seconds": round(seconds, 1), "data": data})
    text = json.dumps(payload, indent=1)
    atomic_write(RESULTS / f"{name}.json", lambda p: Path(p).write_text(text))


def load_all() -> dict:
    out = {}
    for name in NAMES:
        p = RESULTS / f"{name}.json"
        if p.exists():
            out[name] = json.loads(p.read_text())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(NAMES), help=f"comma-separated subset of {', '.join(NAMES)}")
    ap.add_argument("--large", action="store_true", help="chip_scale, mapping_scale: add the biggest sizes")
    a = ap.parse_args(argv)
    only = [n.strip() for n in a.only.split(",") if n.strip()]
    bad = [n for n in only if n not in NAMES]
    if bad:
        ap.error(f"--only {','.join(bad)}: allowed {', '.join(NAMES)}")
    mach = machine()
    t_all = time.perf_counter()
    stream = load_all().get("stream", {}).get("data")
    for name in NAMES:  # stream first: kernels set their GB/s against it
        if name not in only:
            continue
        t0 = time.perf_counter()
        before = os.getloadavg()
        data = _run_one(name, stream, a.large)
        load = {"before": [round(x, 2) for x in before], "after": [round(x, 2) for x in os.getloadavg()]}
        save(name, data, time.perf_counter() - t0, mach, load)
        if name == "stream":
            stream = data
    text = report.markdown(load_all(), time.perf_counter() - t_all, only)
    atomic_write(ROOT / "BENCHMARKS.md", lambda p: Path(p).write_text(text))
    print(f"wrote {ROOT / 'BENCHMARKS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
