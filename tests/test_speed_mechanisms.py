"""The mechanisms behind issue 9's speed items (14–17), pinned without timing anything.

Timings live in ``benchmarks/`` (BENCHMARKS.md); here: which kernel variant runs for a given work
and number of free threads, the threading layer, GELU's arithmetic (no ``power``, no float64), the
B outer products online_lru no longer forms, parameter groups built once per parameter set,
kernel arguments checked once per signature, and the benchmark's sizes against the cache.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numba
import numpy as np
import pytest

import neurosim as ns
import neurosim.kernels as K
import neurosim.kernels.config as kc
import neurosim.models.cells as cells_mod
import neurosim.models.stack as stack_mod
from neurosim.kernels import _numba
from neurosim.models.layers import gelu


# --- item 14: serial or parallel ---------------------------------------------------------------
def test_parallel_needs_both_the_work_and_two_free_threads():
    big = kc.PARALLEL_MIN
    assert kc.choose_variant(big, 2) == "parallel"
    assert kc.choose_variant(big, 1) == "serial"  # another process holds the second core
    assert kc.choose_variant(big - 1, 2) == "serial"  # fork/join costs more than it saves
    assert kc.choose_variant(10**9, 1) == "serial"
    assert kc.choose_variant(100, 4, threshold=100) == "parallel"
    # the cases: RTRL on a 32-unit RNN (B = 32) and the quickstart's online_lru traces
    # (B = 32, N = H = 64) run serial even with both cores free; the 4-layer width-256 traces do not
    rtrl32 = 32 * 32 * (32 * (32 + 8 + 1))
    assert kc.choose_variant(rtrl32, 2, kc.threshold("rtrl_traces")) == "serial"
    assert kc.choose_variant(32 * 64 * 64, 2, kc.threshold("online_lru_traces")) == "serial"
    assert kc.choose_variant(32 * 256 * 256, 2, kc.threshold("online_lru_traces")) == "parallel"
    assert kc.threshold("rtrl_traces") > kc.threshold("online_lru_traces") == kc.PARALLEL_MIN


def test_free_threads_subtract_the_cpu_time_of_other_processes_only():
    # /proc/stat: user nice system idle iowait irq softirq steal (jiffies); cpu2 is outside the mask
    before = "cpu  0 0 0 0 0 0 0 0\ncpu0 100 0 0 900 0 0 0 0\ncpu1 100 0 0 900 0 0 0 0\ncpu2 0 0 0 5 0 0 0 0\n"
    after = "cpu  0 0 0 0 0 0 0 0\ncpu0 190 0 10 900 0 0 0 0\ncpu1 100 0 50 950 0 0 0 0\ncpu2 0 0 0 9 0 0 0 0\n"
    b0, t0 = kc.parse_stat(before, [0, 1])
    b1, t1 = kc.parse_stat(after, [0, 1])
    assert (b1 - b0, t1 - t0) == (150, 200)  # 100 jiffies per CPU passed, 150 of them busy
    # this process used 0.5 s = 50 jiffies of them: others kept one CPU busy → one thread free
    busy = kc.others_busy((b0, t0, 1.0), (b1, t1, 1.5), 2, 100)
    assert busy == pytest.approx(1.0)
    assert kc.free_from(2, busy) == 1
    # the same busy time, all of it ours: both threads free
    assert kc.others_busy((b0, t0, 1.0), (b1, t1, 2.5), 2, 100) == 0.0
    assert kc.free_from(2, 0.0) == 2
    assert kc.free_from(2, 3.0) == 1  # never below one


def _recording(monkeypatch, name):
    calls = []
    for table, label in ((_numba.SERIAL, "serial"), (_numba.PARALLEL, "parallel")):
        real = table[name]
        monkeypatch.setitem(table, name, lambda *a, _f=real, _l=label: (calls.append(_l), _f(*a))[1])
    return calls


def test_the_default_runs_serial_unless_two_threads_are_free(monkeypatch):
    args = K.example_args("online_lru_traces", "float32", B=8, n=64, K=64)  # 32768 elements
    monkeypatch.setattr(kc, "PARALLEL_MIN_BY_KERNEL", {"online_lru_traces": 1000}, raising=False)
    monkeypatch.setattr(kc, "PARALLEL_MIN", 1000)
    calls = _recording(monkeypatch, "online_lru_traces")
    monkeypatch.setattr(kc, "free_threads", lambda: 1, raising=False)
    K.online_lru_traces(*args)
    monkeypatch.setattr(kc, "free_threads", lambda: 2, raising=False)
    K.online_lru_traces(*args)
    monkeypatch.setattr(kc, "PARALLEL_MIN_BY_KERNEL", {"online_lru_traces": 10**6}, raising=False)
    monkeypatch.setattr(kc, "PARALLEL_MIN", 10**6)
    K.online_lru_traces(*args)
    assert calls == ["serial", "parallel", "serial"]


def test_a_second_concurrent_caller_gets_the_serial_variant(monkeypatch):
    args = K.example_args("online_lru_traces", "float32")
    calls = _recording(monkeypatch, "online_lru_traces")
    with kc._PARALLEL_LOCK:  # another thread is inside a parallel kernel (workqueue is not re-entrant)
        K.online_lru_traces(*args, parallel=True)
    K.online_lru_traces(*args, parallel=True)
    assert calls == ["serial", "parallel"]
    # and threads calling at once all finish (none aborts the process)
    errs = []

    def work():
        try:
            for _ in range(20):
                K.online_lru_traces(*K.example_args("online_lru_traces", "float32", B=4, n=16, K=16), parallel=True)
        except Exception as e:  # pragma: no cover - reported below
            errs.append(e)

    ts = [threading.Thread(target=work) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errs


@pytest.mark.skipif("NUMBA_THREADING_LAYER" in os.environ, reason="the user chose a threading layer")
def test_the_threading_layer_is_set_deliberately():
    K.lru_step(*K.example_args("lru_step", "float64"), parallel=True)
    assert numba.threading_layer() == "workqueue"  # not omp, whose workers spin (config.py)
    assert kc.THREADING_LAYER == "workqueue"


# --- item 15: GELU -----------------------------------------------------------------------------
def _gelu64(x):
    c = np.sqrt(2.0 / np.pi)
    t = np.tanh(c * (x + 0.044715 * x**3))
    return 0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)


def test_gelu_matches_the_exact_formula_in_float32():
    x = np.concatenate([np.linspace(-12, 12, 4001), np.random.default_rng(0).normal(0, 3, 4000)]).astype(np.float32)
    y, dy = gelu(x)
    assert y.dtype == dy.dtype == np.float32
    y64, dy64 = _gelu64(x.astype(np.float64))
    eps = np.finfo(np.float32).eps
    np.testing.assert_allclose(y, y64, rtol=16 * eps, atol=16 * eps)
    np.testing.assert_allclose(dy, dy64, rtol=16 * eps, atol=16 * eps)
    assert np.abs(y - y64).max() > 0  # computed in float32, not float64 and cast


def test_gelu_derivative_matches_finite_differences():
    x = np.linspace(-6, 6, 241)
    h = 1e-6
    _, dy = gelu(x)
    fd = (gelu(x + h)[0] - gelu(x - h)[0]) / (2 * h)
    np.testing.assert_allclose(dy, fd, rtol=1e-8, atol=1e-9)
    assert not np.allclose(dy, 0.5 * (1 + np.tanh(x)), atol=1e-3)  # control: a wrong derivative fails


class _Recorder(np.ndarray):
    """An ndarray that logs every ufunc applied to it (and to arrays derived from it)."""

    log: list = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = [i.view(np.ndarray) if isinstance(i, _Recorder) else i for i in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, _Recorder) else o for o in kwargs["out"])
        res = getattr(ufunc, method)(*args, **kwargs)
        _Recorder.log.append((ufunc.__name__, np.result_type(res)))
        return res.view(_Recorder) if isinstance(res, np.ndarray) else res


def test_gelu_calls_no_power_and_never_promotes_float32():
    x = np.linspace(-3, 3, 64).astype(np.float32).view(_Recorder)
    _Recorder.log = []
    _ = x**3  # the recorder sees power: the check below can fail
    assert ("power", np.float32) in _Recorder.log
    _Recorder.log = []
    gelu(x)
    names = [n for n, _ in _Recorder.log]
    assert "tanh" in names and "power" not in names
    assert {dt for _, dt in _Recorder.log} == {np.dtype(np.float32)}


# --- item 16: benchmark sizes against the last-level cache ---------------------------------------
@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_kernels
    import bench_stream

    return bench_stream, bench_kernels


def test_benchmark_reads_the_last_level_cache_size(bench):
    bench_stream, _ = bench
    assert bench_stream.parse_size("32768K") == 32 * 2**20
    assert bench_stream.parse_size("1M") == 2**20
    assert bench_stream.parse_size("512") == 512
    assert bench_stream.llc_bytes() > 0


def test_each_trace_kernel_is_measured_beyond_the_last_level_cache(bench):
    bench_stream, bench_kernels = bench
    llc = 32 * 2**20
    specs = bench_kernels.specs()
    for kernel in bench_kernels.TRACE_KERNELS:
        dram = [s for s in specs if s["kernel"] == kernel and s["where"] == "dram"]
        assert dram, kernel
        for s in dram:
            assert bench_kernels.working_set(s, "float32") > 2 * llc, s["label"]
    # a cache-resident size gets no "% of triad"; a DRAM size gets a fraction of it
    small = next(s for s in specs if s["where"] == "cache")
    assert bench_kernels.working_set(small, "float32") < llc
    assert bench_kernels.of_triad(1e9, 20e9, bench_kernels.working_set(small, "float32"), llc) is None
    assert bench_kernels.of_triad(10e9, 20e9, 4 * llc, llc) == pytest.approx(0.5)


# --- item 17: what the online_lru step no longer does --------------------------------------------
def _lru_setup(**kw):
    model = ns.models.make("lru", 3, 2, 6, 2, "float64", width=5, **kw)
    rng = np.random.default_rng(0)
    return model, model.init(0), rng.normal(size=(6, 4, 3)), rng.normal(size=(6, 4, 2))


def _count_B_outer_products(monkeypatch, rule_name):
    model, params, xs, ys = _lru_setup()
    shapes = {(b.cell.N, b.cell.n_in) for b in model.blocks}
    seen = []
    real = cells_mod.outer

    def outer(a, b, per_sample):
        out = real(a, b, per_sample)
        seen.append(out.shape[-2:] in shapes)
        return out

    monkeypatch.setattr(cells_mod, "outer", outer)
    ns.rules.total_gradient(ns.rules.make(rule_name), model, params, xs, ys)
    return sum(seen)


def test_online_lru_does_not_form_the_B_outer_products_it_replaces(monkeypatch):
    assert _count_B_outer_products(monkeypatch, "online_lru") == 0
    assert _count_B_outer_products(monkeypatch, "trunc1") == 2 * 2 * 6  # control: trunc1 uses them


def test_skipped_cell_gradients_leave_every_other_gradient_unchanged():
    model, params, xs, _ = _lru_setup()
    st = model.initial_state(4)
    st, y, cache = model.forward(params, st, xs[0])
    dy = np.ones_like(y)
    full, _, err_full = model.vjp(params, cache, dy)
    names = [frozenset(b.cell_names()) for b in model.blocks]
    part, _, err_part = model.vjp(params, cache, dy, skip=names)
    assert set(full) - set(part) == {f"layer{i}.{k}" for i, n in enumerate(names) for k in n}
    for k in part:
        np.testing.assert_array_equal(part[k], full[k])
    for a, b in zip(err_full, err_part):
        np.testing.assert_array_equal(a, b)


def test_a_rule_that_skips_a_gradient_must_return_it():
    from neurosim.rules.online_lru import OnlineLRU

    class DropsB(OnlineLRU):
        def layer_step(self, model, layer, p, tr, cache, c):
            tr, g = super().layer_step(model, layer, p, tr, cache, c)
            del g["B_re"]
            return tr, g

    model, params, xs, ys = _lru_setup()
    with pytest.raises(RuntimeError, match=r"returned no gradient for \['B_re'\]"):
        ns.rules.total_gradient(DropsB(), model, params, xs, ys)


def test_parameter_groups_are_built_once_per_parameter_set(monkeypatch):
    model, params, xs, ys = _lru_setup()
    calls = []
    real = stack_mod._sub
    monkeypatch.setattr(stack_mod, "_sub", lambda p, prefix: (calls.append(prefix), real(p, prefix))[1])
    rule = ns.rules.make("online_lru")
    ns.rules.total_gradient(rule, model, params, xs, ys)  # 6 steps, one parameter set
    assert len(calls) == 2 * model.n_layers  # norm. and mix. per layer, once for the 6 steps
    # a replaced entry is seen at the next step; so is an array changed in place
    p2 = dict(params)
    y0 = model.run(p2, xs)
    p2["dec.b"] = p2["dec.b"] + 1.0
    np.testing.assert_allclose(model.run(p2, xs), y0 + 1.0)
    p2["dec.b"] -= 1.0
    np.testing.assert_allclose(model.run(p2, xs), y0)


def test_kernel_arguments_are_checked_once_per_signature(monkeypatch):
    calls = []
    real = K._prepare
    monkeypatch.setattr(K, "_prepare", lambda name, args: (calls.append(name), real(name, args))[1])
    a = K.example_args("online_lru_traces", "float64", B=3, n=5, K=4, seed=11)
    for _ in range(4):
        K.online_lru_traces(*a)
    assert len(calls) == 1
    b = K.example_args("online_lru_traces", "float64", B=2, n=7, K=4)  # another shape: checked again
    K.online_lru_traces(*b)
    assert len(calls) == 2
    bad = list(a)
    bad[8] = np.asfortranarray(a[8])  # same shape, written array not C-contiguous: still refused
    with pytest.raises(ValueError, match="E_B is not a writeable C-contiguous array"):
        K.online_lru_traces(*bad)
    # an input that needs converting is converted at every call, with the same result
    c1, c2 = (
        K.example_args("online_lru_traces", "float64", seed=3),
        K.example_args("online_lru_traces", "float64", seed=3),
    )
    c2 = list(c2)
    c2[4] = c2[4].astype(np.float32).astype(np.float64)
    c1 = list(c1)
    c1[4] = c2[4].copy()
    c2[4] = np.asfortranarray(c2[4].astype(np.float32))
    for _ in range(2):
        K.online_lru_traces(*c1)
        K.online_lru_traces(*c2)
    for x, y in zip(c1[6:], c2[6:]):
        np.testing.assert_array_equal(x, y)
