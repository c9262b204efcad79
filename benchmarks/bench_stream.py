"""Memory bandwidth references (McCalpin's STREAM, its conventions): the triad a = b + s·c and the
in-place add a += b (the access pattern of a trace update: read the state and an input, write the
state), single-thread and with all of numba's threads.

Traffic counts 3 × 8 bytes per element for both (two reads, one write; write-allocate traffic
not counted, as in STREAM). The arrays are sized from the last-level cache (``llc_bytes``: sysfs,
else ``lscpu``): each is at least 4× the LLC, so every pass streams from DRAM. Min and median of
``repeats`` passes after a warm-up.
"""

from __future__ import annotations

import glob
import re
import subprocess
import time

import numba
import numpy as np
from numba import prange


@numba.njit(cache=True, parallel=True)
def _triad_parallel(a, b, c, s):
    for i in prange(a.size):
        a[i] = b[i] + s * c[i]


@numba.njit(cache=True)
def _triad_serial(a, b, c, s):
    for i in range(a.size):
        a[i] = b[i] + s * c[i]


@numba.njit(cache=True, parallel=True)
def _add_parallel(a, b, c, s):
    for i in prange(a.size):
        a[i] += b[i]


@numba.njit(cache=True)
def _add_serial(a, b, c, s):
    for i in range(a.size):
        a[i] += b[i]


def parse_size(text: str) -> int:
    """Bytes from a cache size as sysfs or lscpu write it ("32768K", "32 MiB", "1M", "512")."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([KMG]?)(?:i?B)?\s*", text.strip(), re.IGNORECASE)
    if not m:
        raise ValueError(f"cache size {text!r}: allowed a number with an optional K/M/G suffix")
    return int(float(m.group(1)) * 1024 ** " KMG".index(m.group(2).upper() or " "))


def llc_bytes() -> int:
    """The last-level cache of CPU 0 (the highest ``level`` in sysfs; else ``lscpu``; else 32 MiB)."""
    best = (0, 0)
    for d in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*"):
        try:
            with open(f"{d}/level") as f:
                level = int(f.read())
            with open(f"{d}/size") as f:
                best = max(best, (level, parse_size(f.read())))
        except (OSError, ValueError):
            continue
    if best[1]:
        return best[1]
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"L3 cache:\s*([\d.]+\s*[KMG]i?B)", out)
        if m:
            return parse_size(m.group(1))
    except OSError:
        pass
    return 32 * 2**20


def _times(fn, a, b, c, repeats):
    fn(a, b, c, 3.0)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(a, b, c, 3.0)
        ts.append(time.perf_counter() - t0)
    return ts


def stream(repeats: int = 10) -> dict:
    """GB/s (from the min and the median time) of triad and a += b, 1 thread and all threads."""
    llc = llc_bytes()
    n = max(1 << 22, 4 * llc // 8)
    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    out = {"n": n, "llc_bytes": llc, "threads": numba.get_num_threads()}
    kernels = {
        "triad_1t": _triad_serial,
        "triad_all": _triad_parallel,
        "add_1t": _add_serial,
        "add_all": _add_parallel,
    }
    for name, fn in kernels.items():
        ts = _times(fn, a, b, c, repeats)
        out[f"{name}_gbs"] = 3 * 8 * n / min(ts) / 1e9
        out[f"{name}_median_gbs"] = 3 * 8 * n / float(np.median(ts)) / 1e9
    print(
        f"STREAM over {n:,} doubles ({3 * 8 * n / 2**20:.0f} MiB, LLC {llc / 2**20:.0f} MiB), GB/s best (median): "
        f"triad 1 thread {out['triad_1t_gbs']:.1f} ({out['triad_1t_median_gbs']:.1f}), "
        f"{out['threads']} threads {out['triad_all_gbs']:.1f} ({out['triad_all_median_gbs']:.1f}); "
        f"a += b 1 thread {out['add_1t_gbs']:.1f} ({out['add_1t_median_gbs']:.1f}), "
        f"{out['threads']} threads {out['add_all_gbs']:.1f} ({out['add_all_median_gbs']:.1f})",
        flush=True,
    )
    return out


if __name__ == "__main__":
    stream()
