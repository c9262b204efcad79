"""CUBA (Brette et al. 2007, benchmark 2) for 1 s of biological time at 4k, 16k and 64k neurons:
neurosim's event-driven simulator against Brian2's runtime target (cython) and its
cpp_standalone target, in the same run.

Every network keeps 80 inputs per neuron (p = 80/N), as the Brian2 paper's scaling does
(the Brian2 example `CUBA.py`). dt = 0.1 ms, exact integration, no delays. Reported per simulator:
*simulation* time (the time loop only) and *total* time (network construction, code generation
and compilation included; Brian2's cython cache is cleared first, so its compile is cold).
Each Brian2 run is a fresh subprocess (cpp_standalone needs its own device). Every simulator
runs ``REPEATS`` times: *sim* is the minimum, with the median beside it; *total* is the first
run's (Brian2's cython compile cold; its later runs reuse the cache).

    python benchmarks/bench_cuba.py               # all sizes, all simulators
    python benchmarks/bench_cuba.py --one brian2-cython 4000   # a single measurement (JSON)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time

SIZES = (4000, 16000, 64000)
REPEATS = 3
EQS = """dv/dt = (ge+gi-(v-El))/taum : volt (unless refractory)
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt"""


def run_neurosim(n: int, repeats: int = REPEATS) -> dict:
    import statistics

    import neurosim.snn as snn

    t0 = time.perf_counter()
    net, v0 = snn.cuba(n, seed=0)
    snn.simulate(net, 10, v0=v0)  # compile or load the loop from the numba cache
    res = snn.simulate(net, 10_000, v0=v0)
    total = time.perf_counter() - t0
    sims = [res.seconds] + [snn.simulate(net, 10_000, v0=v0).seconds for _ in range(repeats - 1)]
    return {"sim_s": min(sims), "sim_median_s": statistics.median(sims), "total_s": total,
            "spikes": int(res.spike_i.size), "synapses": net.n_synapses}  # fmt: skip


def run_brian2(target: str, n: int, warm: bool = False) -> dict:
    t0 = time.perf_counter()
    import brian2 as b2
    from brian2 import NeuronGroup, SpikeMonitor, Synapses, ms, mV, second

    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", directory=tempfile.mkdtemp(prefix="ns-bench-"), build_on_run=True)
    else:
        b2.prefs.codegen.target = "cython"
        try:
            if not warm:
                b2.clear_cache("cython")
        except FileNotFoundError:  # no cache yet: the compile is cold anyway
            pass
    b2.defaultclock.dt = 0.1 * ms
    b2.seed(0)
    ns = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, Vt=-50 * mV, Vr=-60 * mV, El=-49 * mV)
    P = NeuronGroup(n, EQS, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact", namespace=ns)
    P.v = "Vr + rand() * (Vt - Vr)"
    Ce = Synapses(P, P, on_pre="ge += 1.62*mV")
    Ci = Synapses(P, P, on_pre="gi += -9*mV")
    n_exc = int(round(0.8 * n))
    Ce.connect(f"i<{n_exc}", p=80.0 / n)
    Ci.connect(f"i>={n_exc}", p=80.0 / n)
    mon = SpikeMonitor(P)
    net = b2.Network(P, Ce, Ci, mon)
    if target == "cpp_standalone":
        net.run(1 * second)
        total = time.perf_counter() - t0
        sim = b2.device._last_run_time
    else:
        net.run(0 * ms)  # code generation and cython compilation happen here
        t1 = time.perf_counter()
        net.run(1 * second)
        sim = time.perf_counter() - t1
        total = time.perf_counter() - t0
    return {"sim_s": float(sim), "total_s": total, "spikes": int(mon.num_spikes), "synapses": len(Ce) + len(Ci)}


def run(sizes=SIZES) -> list[dict]:
    rows = []
    for n in sizes:
        row = {"n": n, "neurosim": run_neurosim(n)}
        for target in ("cython", "cpp_standalone"):
            runs = []
            for k in range(REPEATS):
                out = subprocess.run(
                    [sys.executable, __file__, "--one", f"brian2-{target}", str(n)] + (["--warm"] if k else []),
                    capture_output=True, text=True,
                )  # fmt: skip
                try:
                    runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
                except (IndexError, json.JSONDecodeError):
                    runs = [{"error": (out.stderr or out.stdout)[-500:]}]
                    break
            if "error" in runs[0]:
                row[f"brian2_{target}"] = runs[0]
            else:
                import statistics

                sims = [r["sim_s"] for r in runs]
                row[f"brian2_{target}"] = {**runs[0], "sim_s": min(sims), "sim_median_s": statistics.median(sims)}
        rows.append(row)
        ns = row["neurosim"]
        line = f"CUBA n={n:6d}: neurosim sim {ns['sim_s']:.2f} s (total {ns['total_s']:.2f} s, {ns['spikes']} spikes)"
        for t in ("cython", "cpp_standalone"):
            r = row[f"brian2_{t}"]
            if "error" in r:
                line += f"; brian2 {t}: failed"
            else:
                line += f"; brian2 {t} sim {r['sim_s']:.2f} s (total {r['total_s']:.1f} s, {r['spikes']} spikes)"
        print(line, flush=True)
    return rows


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--one":
        kind, n, warm = sys.argv[2], int(sys.argv[3]), sys.argv[4:] == ["--warm"]
        res = run_neurosim(n) if kind == "neurosim" else run_brian2(kind.removeprefix("brian2-"), n, warm)
        print(json.dumps(res))
    else:
        run()
