"""STREAM-style triad a = b + s·c (McCalpin): the machine's sustainable memory bandwidth.

Counts 3 arrays × 8 bytes per element (two reads, one write; write-allocate traffic not
counted, as in STREAM). Arrays of 2^25 doubles (256 MiB each) are far larger than any cache.
Best of ``repeats`` runs, numba serial and ``prange``-parallel, and numpy for reference.
"""

from __future__ import annotations

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


def triad(n: int = 1 << 25, repeats: int = 10) -> dict:
    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    out = {"n": n, "threads": numba.get_num_threads()}
    for name, fn in (("serial", _triad_serial), ("parallel", _triad_parallel)):
        fn(a, b, c, 3.0)
        best = min(_timed(fn, a, b, c) for _ in range(repeats))
        out[f"{name}_gbs"] = 3 * 8 * n / best / 1e9
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.multiply(c, 3.0, out=a)
        np.add(a, b, out=a)
        best = min(best, time.perf_counter() - t0)
    out["numpy_gbs"] = 3 * 8 * n / best / 1e9  # two passes: numpy cannot fuse the triad
    print(
        f"STREAM triad, {n} doubles: numba parallel {out['parallel_gbs']:.1f} GB/s ({out['threads']} threads), "
        f"serial {out['serial_gbs']:.1f} GB/s, numpy (2 passes) {out['numpy_gbs']:.1f} GB/s",
        flush=True,
    )
    return out


def _timed(fn, a, b, c):
    t0 = time.perf_counter()
    fn(a, b, c, 3.0)
    return time.perf_counter() - t0


if __name__ == "__main__":
    triad()
