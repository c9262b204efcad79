"""Kernels against their numpy twins, and the trace kernels against the memory bandwidth.

Each case is timed as the numpy reference, the numba serial and the numba parallel variant on the
same arrays (min and median of ``repeats`` calls after a warm-up; the kernels update their state
in place). Every trace kernel runs at two sizes: ``cache``, whose working set (every array it
touches) fits in the last-level cache, and ``dram``, whose working set is more than twice the LLC.
Only a ``dram`` size is set against the STREAM references (``bench_stream.py``, same process): its
GB/s counts the minimum traffic of the update (each written array read and written once, inputs
read once), the serial variant against the single-thread triad and ``a += b``, the parallel one
against the all-thread triad. A cache-resident size gets no such percentage: it would compare a
cache bandwidth with a DRAM one. The element-wise model steps are cache-resident only.

Run: ``python benchmarks/bench_kernels.py`` (or ``python benchmarks/run_all.py`` for everything).
"""

from __future__ import annotations

import copy
import time

import numpy as np

import neurosim.kernels as K
from neurosim.kernels import _numba, reference

TRACE_KERNELS = ("online_lru_traces", "snap1_outer", "rtrl_traces", "uoro_update", "eprop_traces", "snapn_traces")
_SPECS = [  # (kernel, where, dims)
    ("online_lru_traces", "cache", {"B": 32, "N": 256, "H": 256}),
    ("online_lru_traces", "dram", {"B": 64, "N": 512, "H": 512}),
    ("snap1_outer", "cache", {"n": 1024, "density": 0.1, "m": 32, "B": 32}),
    ("snap1_outer", "dram", {"n": 1024, "density": 0.25, "m": 32, "B": 64}),
    ("rtrl_traces", "cache", {"n": 64, "m": 8, "B": 16}),
    ("rtrl_traces", "dram", {"n": 64, "m": 8, "B": 64}),
    ("uoro_update", "cache", {"n": 256, "m": 32, "B": 32}),
    ("uoro_update", "dram", {"n": 512, "m": 32, "B": 64}),
    ("eprop_traces", "cache", {"n": 500, "B": 8}),
    ("eprop_traces", "dram", {"n": 1000, "B": 16}),
    ("snapn_traces", "cache", {"n": 256, "density": 0.05, "m": 16, "B": 8}),
    ("snapn_traces", "dram", {"n": 512, "density": 0.02, "m": 16, "B": 64}),
    ("rnn_step", "cache", {"n": 1024, "B": 32}),
    ("gru_step", "cache", {"n": 1024, "B": 32}),
    ("lru_step", "cache", {"N": 1024, "B": 32}),
    ("lif_step", "cache", {"n": 1000, "B": 64}),
]
_LABELS = {
    "online_lru_traces": "online_lru traces (B={B}, N={N}, H={H})",
    "snap1_outer": "snap1 traces (RNN n={n}, density {density}, m={m}, B={B})",
    "rtrl_traces": "rtrl traces after J·G (RNN n={n}, m={m}, B={B})",
    "uoro_update": "uoro update (RNN n={n}, m={m}, B={B})",
    "eprop_traces": "eprop traces ({n} ALIF, recurrent, B={B})",
    "snapn_traces": "snap2 traces (RNN n={n}, density {density}, m={m}, B={B})",
    "rnn_step": "RNN step (n={n}, B={B})",
    "gru_step": "GRU step (n={n}, B={B})",
    "lru_step": "LRU step (N={N}, B={B})",
    "lif_step": "LIF/ALIF neuron step ({n} neurons, B={B})",
}


def specs() -> list[dict]:
    return [{"kernel": k, "where": w, "dims": d, "label": _LABELS[k].format(**d)} for k, w, d in _SPECS]


def rnn_index(mask: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """unit and presynaptic column of every active parameter of a masked RNN cell (W, U, b)."""
    n = mask.shape[0]
    w_i, w_j = np.nonzero(mask)
    unit = np.concatenate([w_i, np.repeat(np.arange(n), m), np.arange(n)]).astype(np.int64)
    src = np.concatenate([w_j, n + np.tile(np.arange(m), n), np.full(n, n + m)]).astype(np.int64)
    return unit, src


def _mask(n: int, density: float) -> np.ndarray:
    return np.random.default_rng(1).random((n, n)) < density


def _snap2_pattern(n, density, m):
    mask = _mask(n, density)
    unit, src = rnn_index(mask, m)
    reach = mask | np.eye(n, dtype=bool)  # SnAp-2: a parameter's unit and that unit's readers
    rows, cols = np.nonzero(reach[:, unit])
    return mask, unit, src, rows.astype(np.int64), cols.astype(np.int64)


def _shapes(spec: dict) -> list[tuple[tuple, str]]:
    """(shape, kind) of every array argument, kind r (real), c (complex) or i (int64): sizes
    without allocating the arrays."""
    k, d = spec["kernel"], spec["dims"]
    B = d["B"]
    if k == "online_lru_traces":
        N, H = d["N"], d["H"]
        return [((N,), "c"), ((N,), "r")] + [((B, N), "c")] * 2 + [((B, H), "r")] + [((B, N), "c")] * 3 + [
            ((B, N, H), "c"), ((N,), "c"), ((N,), "c"), ((N, H), "c")]  # fmt: skip
    if k in ("snap1_outer", "rtrl_traces", "snapn_traces"):
        n, m = d["n"], d["m"]
        P = (int(_mask(n, d["density"]).sum()) if "density" in d else n * n) + n * m + n
        if k == "snap1_outer":
            return [((P, B), "r"), ((n, B), "r"), ((n, B), "r"), ((n + m + 1, B), "r"), ((P,), "i"), ((P,), "i"),
                    ((n, B), "r"), ((P,), "r")]  # fmt: skip
        if k == "rtrl_traces":
            return [((B, n, P), "r"), ((B, n), "r"), ((B, n + m + 1), "r"), ((P,), "i"), ((P,), "i"), ((B, n), "r"),
                    ((P,), "r")]  # fmt: skip
        E = _snap2_pattern(n, d["density"], m)[3].size  # kept entries: a parameter's unit and its readers
        return [((B, E), "r"), ((B, n, n), "r"), ((B, n), "r"), ((B, n + m + 1), "r"), ((P,), "i"), ((P,), "i"),
                ((E,), "i"), ((E,), "i"), ((P + 1,), "i"), ((E,), "i"), ((B, n), "r"), ((P,), "r")]  # fmt: skip
    if k == "uoro_update":
        n, P = d["n"], d["n"] * (d["n"] + d["m"] + 1)
        return [((B, 1, n), "r"), ((B, 1, P), "r"), ((B, 1, n), "r"), ((B, 1, n), "r"), ((B, 1, P), "r"),
                ((B, n), "r"), ((P,), "r")]  # fmt: skip
    if k == "eprop_traces":
        n = d["n"]
        return [((B, n), "r")] * 4 + [((B, n, n), "r")] * 2 + [((B, n), "r")] * 2 + [((n,), "r"), ((n, n), "r")]
    n = d.get("n", d.get("N"))
    count = {"rnn_step": 3, "gru_step": 8, "lif_step": 6}.get(k)
    if k == "lru_step":
        return [((n,), "c"), ((n,), "r"), ((B, n), "c"), ((B, n), "c")]
    return [((B, n), "r")] * count


def working_set(spec: dict, dtype: str) -> int:
    """Bytes of every array the kernel touches (from shapes)."""
    size = {"r": np.dtype(dtype).itemsize, "c": 2 * np.dtype(dtype).itemsize, "i": 8}
    return sum(int(np.prod(s)) * size[kind] for s, kind in _shapes(spec))


def of_triad(gbs: float, triad_gbs: float, ws: int, llc: int) -> float | None:
    """``gbs`` as a fraction of the triad, or None for a cache-resident working set."""
    return None if ws <= llc else gbs / triad_gbs


def build(spec: dict, dtype: str) -> tuple[tuple, int]:
    """(arguments, bytes of minimum traffic) for a spec."""
    rng = np.random.default_rng(0)
    rt = np.dtype(dtype)
    ct = np.dtype(np.complex64 if rt == np.float32 else np.complex128)
    R = lambda *s: rng.standard_normal(size=s, dtype=np.float64 if rt == np.float64 else np.float32)  # noqa: E731
    C = lambda *s: (R(*s) + 1j * R(*s)).astype(ct)  # noqa: E731
    k, d = spec["kernel"], spec["dims"]
    B = d["B"]
    if k == "online_lru_traces":
        N, H = d["N"], d["H"]
        lam = (0.99 * np.exp(1j * rng.uniform(0, 6, N))).astype(ct)
        a = (lam, R(N), C(B, N), C(B, N), R(B, H), C(B, N), C(B, N), C(B, N), C(B, N, H), C(N), C(N), C(N, H))
        return a, 2 * a[8].nbytes + 2 * a[11].nbytes + a[4].nbytes + 6 * a[2].nbytes
    if k in ("snap1_outer", "rtrl_traces"):
        n, m = d["n"], d["m"]
        unit, src = rnn_index(_mask(n, d.get("density", 1.0)) if "density" in d else np.ones((n, n), bool), m)
        P = unit.size
        if k == "snap1_outer":
            a = (R(P, B), R(n, B), R(n, B), R(n + m + 1, B), unit, src, R(n, B), R(P))
            return a, 2 * a[0].nbytes + unit.nbytes + src.nbytes + 2 * a[7].nbytes
        a = (R(B, n, P), R(B, n), R(B, n + m + 1), unit, src, R(B, n), R(P))
        return a, 2 * a[0].nbytes + unit.nbytes + src.nbytes + 2 * a[6].nbytes
    if k == "uoro_update":
        n, P = d["n"], d["n"] * (d["n"] + d["m"] + 1)
        a = (R(B, 1, n), R(B, 1, P), R(B, 1, n), np.sign(R(B, 1, n)), R(B, 1, P), R(B, n), 1e-5, 1, R(P))
        return a, 3 * a[1].nbytes + 2 * a[4].nbytes + 2 * a[8].nbytes
    if k == "eprop_traces":
        n = d["n"]
        a = (np.abs(R(B, n)), np.abs(R(B, n)), R(B, n), R(B, n), R(B, n, n), R(B, n, n), R(B, n), R(B, n),
             np.abs(R(n)) * 0.02, 0.95, 0.9995, 0.95, 0, R(n, n))  # fmt: skip
        return a, 2 * a[4].nbytes + 2 * a[5].nbytes + 2 * a[13].nbytes
    if k == "snapn_traces":
        n, m = d["n"], d["m"]
        mask, unit, src, rows, cols = _snap2_pattern(n, d["density"], m)
        order = np.lexsort((rows, cols)).astype(np.int64)
        colptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=unit.size))]).astype(np.int64)
        a = (R(B, rows.size), R(B, n, n) * mask, R(B, n), R(B, n + m + 1), unit, src, rows, cols, colptr, order,
             R(B, n), R(unit.size))  # fmt: skip
        return a, 2 * a[0].nbytes + rows.nbytes + order.nbytes
    n = d.get("n", d.get("N"))
    if k == "rnn_step":
        a = (R(B, n), R(B, n), 0.5, R(B, n))
        return a, 4 * a[0].nbytes
    if k == "gru_step":
        a = tuple(R(B, n) for _ in range(8))
        return a, 9 * a[0].nbytes
    if k == "lru_step":
        lam = (0.99 * np.exp(1j * rng.uniform(0, 6, n))).astype(ct)
        a = (lam, R(n), C(B, n), C(B, n))
        return a, 3 * a[2].nbytes
    a = (R(B, n), R(B, n), (rng.random((B, n)) < 0.1).astype(rt), np.zeros((B, n), np.int32), R(B, n),
         np.abs(R(n)) * 0.02, 0.95, 0.9995, 0.6, 0.3, 5, R(B, n))  # fmt: skip
    return a, 2 * (a[0].nbytes * 3 + a[3].nbytes) + a[4].nbytes + a[11].nbytes


TWIN_MAX_BYTES = 1 << 30  # numpy twins whose temporaries exceed this are not timed (SnAp-2's dense B·n·P)


def _twin_temp(spec: dict, dtype: str) -> int:
    """Bytes of the numpy twin's largest temporary (only SnAp-2's dense influence matrix matters)."""
    if spec["kernel"] != "snapn_traces":
        return 0
    d = spec["dims"]
    P = (int(_mask(d["n"], d["density"]).sum())) + d["n"] * d["m"] + d["n"]
    return d["B"] * d["n"] * P * np.dtype(dtype).itemsize


def _times(fn, args, repeats: int) -> tuple[float, float]:
    a = copy.deepcopy(args)
    fn(*a)  # warm-up (and compile)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*a)
        ts.append(time.perf_counter() - t0)
    return float(np.min(ts)), float(np.median(ts))


def run(dtypes=("float32", "float64"), repeats: int = 7, stream: dict | None = None) -> list[dict]:
    """One row per (spec, dtype): min/median ms of numpy, serial, parallel; GB/s and, for DRAM
    sizes with ``stream`` given (``bench_stream.stream()``), the fractions of its references."""
    llc = stream["llc_bytes"] if stream else None
    rows = []
    for dt in dtypes:
        for spec in specs():
            args, traffic = build(spec, dt)
            prep = K._prepare(spec["kernel"], args)
            del args
            ws = working_set(spec, dt)
            where = "dram" if llc and ws > llc else "cache" if llc else spec["where"]
            row = {"kernel": spec["label"], "name": spec["kernel"], "where": where, "dtype": dt}
            row["working_set_mb"] = ws / 1e6
            for var, fn in (
                ("numpy", getattr(reference, spec["kernel"])),
                ("serial", _numba.SERIAL[spec["kernel"]]),
                ("parallel", _numba.PARALLEL[spec["kernel"]]),
            ):
                if var == "numpy" and _twin_temp(spec, dt) > TWIN_MAX_BYTES:
                    row["numpy_ms"] = row["numpy_median_ms"] = None
                    continue
                row[f"{var}_ms"], row[f"{var}_median_ms"] = (t * 1e3 for t in _times(fn, prep, repeats))
            del prep
            fast = min(row["serial_ms"], row["parallel_ms"])
            row["speedup"] = None if row["numpy_ms"] is None else row["numpy_ms"] / fast
            row["serial_gbs"] = traffic / row["serial_ms"] / 1e6
            row["parallel_gbs"] = traffic / row["parallel_ms"] / 1e6
            if stream:
                row["serial_of_triad"] = of_triad(row["serial_gbs"], stream["triad_1t_gbs"], ws, llc)
                row["serial_of_add"] = of_triad(row["serial_gbs"], stream["add_1t_gbs"], ws, llc)
                row["parallel_of_triad"] = of_triad(row["parallel_gbs"], stream["triad_all_gbs"], ws, llc)
            rows.append(row)
            _print(row)
    return rows


def _pct(x: float | None) -> str:
    return "cache" if x is None else f"{x:.0%}"


def _ms(x: float | None) -> str:
    return "     n/a" if x is None else f"{x:8.2f}"


def _print(r: dict) -> None:
    extra = ""
    if "serial_of_triad" in r:
        extra = (
            f"  of 1-thread triad {_pct(r['serial_of_triad'])}, a+=b {_pct(r['serial_of_add'])}; "
            f"parallel of triad {_pct(r['parallel_of_triad'])}"
        )
    print(
        f"{r['kernel']:58s} {r['dtype']:8s} {r['where']:5s} {r['working_set_mb']:7.1f} MB  numpy {_ms(r['numpy_ms'])}  "
        f"serial {r['serial_ms']:8.2f}  parallel {r['parallel_ms']:8.2f} ms (min)  ×{_ms(r['speedup'])}  "
        f"{r['serial_gbs']:5.1f} / {r['parallel_gbs']:5.1f} GB/s" + extra,
        flush=True,
    )


if __name__ == "__main__":
    from bench_stream import stream

    run(stream=stream())
