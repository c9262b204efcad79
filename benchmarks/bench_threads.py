"""Serial or parallel (issue 9, item 14): where the ``prange`` variant pays, and the default policy
against both variants forced, idle and with another process running.

1. ``sweep``: ``online_lru_traces`` and ``rtrl_traces`` at growing work (elements updated per
   call), serial against parallel (all of numba's threads, the configured threading layer), min of
   repeats. ``crossover`` is the smallest work from which parallel is ≥ 1.3× faster at that size
   and every larger one: the measurement behind ``kernels.config.PARALLEL_MIN``.
2. ``policy``: three workloads — one RTRL step of a 32-unit RNN (B = 32), one quickstart training
   iteration (online_lru, 2 × 64, T = 48, B = 32) and one online_lru step of the 4-layer width-256
   stack (B = 32) — with the variant forced serial, forced parallel (workqueue, the layer neurosim
   sets, and omp, numba's default where libgomp is found), and the default policy. Each
   configuration runs in its own process, round-robin, idle and with one busy process (a Python
   spin loop started here and killed afterwards) on the machine; min and median over rounds.

    python benchmarks/bench_threads.py [--rounds 3] [--no-policy]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CONFIGS = {  # name → (forced variant or None for the default policy, NUMBA_THREADING_LAYER or None)
    "serial": ("serial", None),
    "parallel (workqueue)": ("parallel", "workqueue"),
    "parallel (omp)": ("parallel", "omp"),
    "default": (None, None),
}
WORKLOADS = ("rtrl n=32 step", "quickstart iteration", "online_lru large step")
SPEEDUP = 1.3


# --- 1. sweep ----------------------------------------------------------------------------------
def _min_time(fn, args, repeats: int) -> float:
    fn(*args)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def _lru_args(B, N, H, rng):
    import numpy as np

    import neurosim.kernels as K

    C = lambda *s: (rng.normal(size=s) + 1j * rng.normal(size=s)).astype(np.complex64)  # noqa: E731
    lam = (0.99 * np.exp(1j * rng.uniform(0, 6, N))).astype(np.complex64)
    R = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    args = (lam, R(N), C(B, N), C(B, N), R(B, H), C(B, N), C(B, N), C(B, N), C(B, N, H), C(N), C(N), C(N, H))
    return K._prepare("online_lru_traces", args), B * N * H


def _rtrl_args(B, n, m, rng):
    import numpy as np
    from bench_kernels import rnn_index

    import neurosim.kernels as K

    unit, src = rnn_index(np.ones((n, n), bool), m)
    P = unit.size
    R = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    args = (R(B, n, P), R(B, n), R(B, n + m + 1), unit, src, R(B, n), R(P))
    return K._prepare("rtrl_traces", args), B * n * P


def sweep(repeats: int = 30) -> list[dict]:
    """Serial and parallel time of two trace kernels over a range of work (float32)."""
    import numpy as np

    from neurosim.kernels import _numba

    rng = np.random.default_rng(0)
    cases = [("online_lru_traces", _lru_args(32, s, s, rng)) for s in (16, 32, 64, 96, 128, 192, 256, 384)]
    cases += [("rtrl_traces", _rtrl_args(32, n, 8, rng)) for n in (8, 16, 24, 32, 40, 48, 64)]
    rows = []
    for name, (args, work) in cases:
        ts = _min_time(_numba.SERIAL[name], args, repeats)
        tp = _min_time(_numba.PARALLEL[name], args, repeats)
        rows.append({"kernel": name, "work": work, "serial_ms": ts * 1e3, "parallel_ms": tp * 1e3})
        print(f"{name:18s} work {work:>9,d}  serial {ts * 1e3:8.3f} ms  parallel {tp * 1e3:8.3f} ms", flush=True)
    return rows


def crossover(rows: list[dict], kernel: str) -> int | None:
    """Smallest work from which parallel is ≥ SPEEDUP× faster at every larger size of ``kernel``."""
    rs = sorted((r for r in rows if r["kernel"] == kernel), key=lambda r: r["work"])
    out = None
    for r in reversed(rs):
        if r["serial_ms"] < SPEEDUP * r["parallel_ms"]:
            break
        out = r["work"]
    return out


# --- 2. policy ---------------------------------------------------------------------------------
def _workload_times(name: str) -> list[float]:
    import numpy as np

    import neurosim as ns
    from neurosim import config

    rng = np.random.default_rng(0)
    if name == "quickstart iteration":
        model, rule, task, opt, kw = config.build(config.validate(config.QUICKSTART))
        params, ts = model.init(0), []
        for _ in range(4):
            t0 = time.perf_counter()
            params = ns.train(model, rule, task, opt, steps=1, batch_size=32, params=params, progress=False).params
            ts.append(time.perf_counter() - t0)
        return ts[1:]
    if name == "rtrl n=32 step":
        model, rule, T = ns.models.make("rnn", 8, 4, 32, dtype="float32"), ns.rules.make("rtrl"), 40
    else:
        model = ns.models.make("lru", 8, 7, 256, 4, "float32", width=256)
        rule, T = ns.rules.make("online_lru"), 20
    params = model.init(0)
    xs = rng.normal(size=(T, 32, 8)).astype(np.float32)
    ys = (rng.random((T, 32, model.n_out)) < 0.5).astype(np.float32)
    st, ts = rule.init(model, params, 32), []
    for t in range(T):
        t0 = time.perf_counter()
        st, _, _ = rule.step(model, params, st, xs[t], ys[t])
        ts.append(time.perf_counter() - t0)
    return ts[3:]


def _child(config_name: str) -> None:
    forced, _ = CONFIGS[config_name]
    if forced:
        import neurosim.kernels.config as kc

        kc.choose_variant = lambda work, free, threshold=None: forced
    import numba

    from neurosim.kernels import _numba

    calls = {"serial": 0, "parallel": 0}
    for table, label in ((_numba.SERIAL, "serial"), (_numba.PARALLEL, "parallel")):
        for k, f in list(table.items()):  # count which variant ran (the dispatch is unchanged)
            table[k] = lambda *a, _f=f, _l=label: (calls.__setitem__(_l, calls[_l] + 1), _f(*a))[1]
    out = {}
    for w in WORKLOADS:
        calls.update(serial=0, parallel=0)
        ts = _workload_times(w)
        share = calls["parallel"] / max(1, calls["serial"] + calls["parallel"])
        out[w] = {"min_s": min(ts), "median_s": sorted(ts)[len(ts) // 2], "parallel_share": share}
    import neurosim.kernels.config as kc

    out["layer"] = numba.threading_layer() if forced != "serial" else "-"
    out["free_threads"] = kc.free_threads()
    print(json.dumps(out), flush=True)


def _spinners(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def policy(rounds: int = 3, loads=(0, 1)) -> list[dict]:
    """Per (load, configuration, workload): min and median seconds over rounds and repeats."""
    rows = []
    for load in loads:
        procs = _spinners(load)
        try:
            time.sleep(1.0 if load else 0.0)
            acc: dict = {}
            for _ in range(rounds):
                for name, (_, layer) in CONFIGS.items():
                    env = dict(os.environ)
                    env.pop("NUMBA_THREADING_LAYER", None)
                    if layer:
                        env["NUMBA_THREADING_LAYER"] = layer
                    cmd = [sys.executable, __file__, "--child", name]
                    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
                    if out.returncode:
                        print(f"{name}: failed: {out.stderr.strip().splitlines()[-1]}", flush=True)
                        continue
                    res = json.loads(out.stdout.strip().splitlines()[-1])
                    for w in WORKLOADS:
                        acc.setdefault((name, w), []).append(res[w])
        finally:
            for p in procs:
                p.kill()
                p.wait()
        for (name, w), rs in acc.items():
            row = {"load": load, "config": name, "workload": w}
            row["min_s"] = min(r["min_s"] for r in rs)
            row["median_s"] = sorted(r["median_s"] for r in rs)[len(rs) // 2]
            row["parallel_share"] = sum(r["parallel_share"] for r in rs) / len(rs)
            rows.append(row)
            print(
                f"busy processes {load}  {name:22s} {w:24s} min {row['min_s'] * 1e3:9.2f} ms  "
                f"median {row['median_s'] * 1e3:9.2f} ms",
                flush=True,
            )
    return rows


def run(rounds: int = 3, with_policy: bool = True) -> dict:
    rows = sweep()
    out = {"sweep": rows, "crossover": {k: crossover(rows, k) for k in ("online_lru_traces", "rtrl_traces")}}
    print(f"crossover (parallel ≥ {SPEEDUP}× serial from here on): {out['crossover']}", flush=True)
    out["policy"] = policy(rounds) if with_policy else []
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-policy", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        _child(a.child)
        return 0
    run(a.rounds, not a.no_policy)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    raise SystemExit(main())
