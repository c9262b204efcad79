"""Kernels against their numpy twins at realistic sizes, and against the memory bandwidth.

Each trace kernel is timed as the numpy reference, the numba serial and the numba parallel
variant on the same arrays (median of ``repeats`` calls after a warm-up call). "GB/s" counts the
minimum traffic the update needs (every written state array read and written once, the read-only
arrays read once); "of triad" divides it by the STREAM-style triad bandwidth measured in the same
process (``bench_stream.py``).

Run: ``python benchmarks/bench_kernels.py`` (or ``python benchmarks/run_all.py`` for everything).
"""

from __future__ import annotations

import copy
import time

import numpy as np

import neurosim.kernels as K
from neurosim.kernels import _numba, reference


def _time(fn, args, repeats):
    a = copy.deepcopy(args)
    fn(*a)  # warm-up (and compile)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*a)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def rnn_index(mask: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """unit and presynaptic column of every active parameter of a masked RNN cell (W, U, b)."""
    n = mask.shape[0]
    w_i, w_j = np.nonzero(mask)
    unit = np.concatenate([w_i, np.repeat(np.arange(n), m), np.arange(n)]).astype(np.int64)
    src = np.concatenate([w_j, n + np.tile(np.arange(m), n), np.full(n, n + m)]).astype(np.int64)
    return unit, src


def cases(dtype: str):
    """(label, kernel name, args, bytes of minimum traffic)."""
    rng = np.random.default_rng(0)
    rt = np.dtype(dtype)
    ct = np.dtype(np.complex64 if rt == np.float32 else np.complex128)
    R = lambda *s: rng.normal(size=s).astype(rt)  # noqa: E731
    C = lambda *s: (rng.normal(size=s) + 1j * rng.normal(size=s)).astype(ct)  # noqa: E731
    out = []

    # online_lru traces: N = 256 complex states, width H = 256, batch 32
    B, N, H = 32, 256, 256
    lam = (0.99 * np.exp(1j * rng.uniform(0, 6, N))).astype(ct)
    args = (lam, R(N), C(B, N), C(B, N), R(B, H), C(B, N), C(B, N), C(B, N), C(B, N, H), C(N), C(N), C(N, H))
    traffic = 2 * args[8].nbytes + 2 * args[11].nbytes + args[4].nbytes + 6 * args[2].nbytes
    out.append((f"online_lru traces (B={B}, N={N}, H={H})", "online_lru_traces", args, traffic))

    # snap1 on a 1024-unit RNN, recurrent density 0.1, 32 inputs, batch 32
    n, m, B = 1024, 32, 32
    mask = rng.random((n, n)) < 0.1
    unit, src = rnn_index(mask, m)
    P = unit.size
    args = (R(P, B), R(n, B), R(n, B), R(n + m + 1, B), unit, src, R(n, B), R(P))
    traffic = 2 * args[0].nbytes + unit.nbytes + src.nbytes + 2 * args[7].nbytes
    out.append((f"snap1 traces (RNN n={n}, density 0.1, m={m}, B={B}, P={P})", "snap1_outer", args, traffic))

    # RTRL's fused M-scatter and contraction after J·G (RNN n = 64, m = 8, batch 16)
    n, m, B = 64, 8, 16
    unit, src = rnn_index(np.ones((n, n), bool), m)
    P = unit.size
    args = (R(B, n, P), R(B, n), R(B, n + m + 1), unit, src, R(B, n), R(P))
    traffic = 2 * args[0].nbytes + unit.nbytes + src.nbytes + 2 * args[6].nbytes
    out.append((f"rtrl traces after J·G (RNN n={n}, m={m}, B={B})", "rtrl_traces", args, traffic))

    # UORO's fused update (rank 1, RNN n = 256, m = 32, batch 32)
    n, m, B = 256, 32, 32
    P = n * (n + m + 1)
    args = (R(B, 1, n), R(B, 1, P), R(B, 1, n), np.sign(R(B, 1, n)), R(B, 1, P), R(B, n), 1e-5, 1, R(P))
    traffic = 3 * args[1].nbytes + 2 * args[4].nbytes + 2 * args[8].nbytes
    out.append((f"uoro update (RNN n={n}, m={m}, B={B})", "uoro_update", args, traffic))

    # e-prop on 1000 ALIF neurons (recurrent synapses), κ-filtered traces, batch 8
    n, B = 1000, 8
    args = (np.abs(R(B, n)), np.abs(R(B, n)), R(B, n), R(B, n), R(B, n, n), R(B, n, n), R(B, n), R(B, n),
            np.abs(R(n)) * 0.02, 0.95, 0.9995, 0.95, 0, R(n, n))  # fmt: skip
    traffic = 2 * args[4].nbytes + 2 * args[5].nbytes + 2 * args[13].nbytes
    out.append((f"eprop traces (1000 ALIF, recurrent, B={B})", "eprop_traces", args, traffic))

    # SnAp-2 on a sparse RNN (n = 256, density 0.05, m = 16, batch 8): the masked product per column
    n, m, B = 256, 16, 8
    mask = rng.random((n, n)) < 0.05
    unit, src = rnn_index(mask, m)
    reach = mask | np.eye(n, dtype=bool)  # SnAp-2: a parameter's unit and that unit's readers
    rows, cols = np.nonzero(reach[:, unit])
    order = np.lexsort((rows, cols)).astype(np.int64)
    colptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=unit.size))]).astype(np.int64)
    J = R(B, n, n) * mask
    args = (R(B, rows.size), J, R(B, n), R(B, n + m + 1), unit, src, rows.astype(np.int64), cols.astype(np.int64),
            colptr, order, R(B, n), R(unit.size))  # fmt: skip
    traffic = 2 * args[0].nbytes + rows.nbytes + order.nbytes
    out.append((f"snap2 traces (RNN n={n}, density 0.05, B={B}, {rows.size} kept)", "snapn_traces", args, traffic))

    # the model steps: element-wise parts after BLAS (B = 32, 1024 units)
    n, B = 1024, 32
    args = (R(B, n), R(B, n), 0.5, R(B, n))
    out.append((f"RNN step (n={n}, B={B})", "rnn_step", args, 4 * args[0].nbytes))
    args = (R(B, n), R(B, n), R(B, n), R(B, n), R(B, n), R(B, n), R(B, n), R(B, n))
    out.append((f"GRU step (n={n}, B={B})", "gru_step", args, 9 * args[0].nbytes))
    lam = (0.99 * np.exp(1j * rng.uniform(0, 6, n))).astype(ct)
    args = (lam, R(n), C(B, n), C(B, n))
    out.append((f"LRU step (N={n}, B={B})", "lru_step", args, 3 * args[2].nbytes))

    # LIF/ALIF neuron update: 1000 neurons × batch 64 (elementwise, small)
    n, B = 1000, 64
    args = (R(B, n), R(B, n), (rng.random((B, n)) < 0.1).astype(rt), np.zeros((B, n), np.int32), R(B, n),
            np.abs(R(n)) * 0.02, 0.95, 0.9995, 0.6, 0.3, 5, R(B, n))  # fmt: skip
    traffic = 2 * (args[0].nbytes * 3 + args[3].nbytes) + args[4].nbytes + args[11].nbytes
    out.append((f"LIF/ALIF neuron step ({n} neurons, B={B})", "lif_step", args, traffic))
    return out


def run(dtypes=("float32", "float64"), repeats: int = 7, triad_gbs: float | None = None) -> list[dict]:
    rows = []
    for dt in dtypes:
        for label, name, args, traffic in cases(dt):
            prep = K._prepare(name, args)
            t_np = _time(getattr(reference, name), prep, repeats)
            t_s = _time(_numba.SERIAL[name], prep, repeats)
            t_p = _time(_numba.PARALLEL[name], prep, repeats)
            best = min(t_s, t_p)
            row = {
                "kernel": label,
                "dtype": dt,
                "numpy_ms": t_np * 1e3,
                "serial_ms": t_s * 1e3,
                "parallel_ms": t_p * 1e3,
                "speedup": t_np / best,
                "traffic_mb": traffic / 1e6,
                "gbs": traffic / best / 1e9,
            }
            if triad_gbs:
                row["of_triad"] = row["gbs"] / triad_gbs
            rows.append(row)
            print(
                f"{label:62s} {dt:8s} numpy {row['numpy_ms']:8.2f} ms  serial {row['serial_ms']:8.2f} ms  "
                f"parallel {row['parallel_ms']:8.2f} ms  ×{row['speedup']:5.1f}  {row['gbs']:5.1f} GB/s"
                + (f" ({row['of_triad']:.0%} of triad)" if triad_gbs else ""),
                flush=True,
            )
    return rows


if __name__ == "__main__":
    from bench_stream import triad

    run(triad_gbs=triad()["parallel_gbs"])
