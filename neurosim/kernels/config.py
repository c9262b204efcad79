"""Kernel configuration: the one switch (numba | numpy), every numba flag and the thread policy.

* ``backend()`` / ``set_backend(name)`` / ``using(name)`` (a context manager). The default is
  ``"numba"``; the environment variable ``NEUROSIM_KERNELS=numpy`` changes it at import.
  ``"numpy"`` runs the references in ``reference.py`` — the specification every numba twin is
  tested against.
* ``FLAGS``: ``cache=True`` (compiled code is reused by later processes; nothing is compiled at
  import: signatures are lazy), ``nogil=True``, ``error_model="numpy"`` (no ZeroDivisionError
  checks in hot loops), ``fastmath=False`` (the kernels are memory-bound, fastmath gains nothing
  and would change results).

Threads (issue 9, item 14). Every kernel exists serial and ``prange``-parallel; per call the
parallel one runs only when ``choose_variant(work, free_threads())`` says so:

* ``work``: the elements the call updates (each wrapper states its count);
* ``threshold(kernel)``: the work from which two threads beat one by ≥ 1.3× on an idle machine,
  measured by ``benchmarks/bench_threads.py`` (BENCHMARKS.md, "Serial or parallel"): below it the
  fork/join (0.1–0.3 ms with workqueue on this VM) costs more than the split saves;
* ``free_threads()``: the CPUs this process may run on (``os.sched_getaffinity``) less the CPUs
  other processes kept busy over the last ``REFRESH_S`` seconds (``/proc/stat`` busy time on
  those CPUs minus this process's own CPU time, ``os.times``), capped by numba's thread count.
  A parallel region waits for its slowest thread, and a thread that shares its core with another
  process waits for a scheduler slice (milliseconds), so a loaded machine runs serial. Until a
  first window has been measured, and where ``/proc/stat`` is missing, it is 1 (serial: the
  variant that is never slower than itself).

The threading layer is chosen deliberately: ``THREADING_LAYER = "workqueue"`` (numba's own
pool), unless the user set ``NUMBA_THREADING_LAYER``. libgomp's (``omp``, numba's default here)
workers spin after each region and fight OpenBLAS's threads for the same cores: RTRL on a
32-unit RNN took 8 ms per step instead of 3. workqueue's workers sleep; it is not re-entrant, so a
second thread that calls a kernel while one runs gets the serial variant (``_PARALLEL_LOCK``).
"""

from __future__ import annotations

import math
import os
import threading
import time
from contextlib import contextmanager

BACKENDS = ("numba", "numpy")
FLAGS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}


# From this work on, two threads beat one by >= 1.3x on an idle machine (workqueue layer), measured by
# benchmarks/bench_threads.py (BENCHMARKS.md, "Serial or parallel"): online_lru_traces from 1.2e6-2.1e6
# elements (three runs), rtrl_traces (whose serial loop is cheaper per element) from 9.6e6. The
# kernels not swept take the online_lru figure, the larger of its runs.
# These were measured on one machine (a 2-vCPU VM, BENCHMARKS.md): on another, run
# benchmarks/bench_threads.py and set NEUROSIM_PARALLEL_MIN (elements, every kernel) to override.
PARALLEL_MIN = 1 << 21
PARALLEL_MIN_BY_KERNEL = {"rtrl_traces": 1 << 23}
THREADING_LAYER = "workqueue"
REFRESH_S = 0.5  # how often free_threads() re-reads /proc/stat

# The environment is read on first use, not at import: a bad value is then a one-line error of
# the command that needs it, not a traceback of every command (`neurosim --version` included).
_state: dict = {"backend": None, "parallel_min": None}


def _from_env(name: str, default: str, ok, allowed: str) -> str:
    value = os.environ.get(name, default)
    if not ok(value):
        raise ValueError(f"environment variable {name}={value!r} is invalid: allowed {allowed}")
    return value


_PARALLEL_LOCK = threading.Lock()


def backend() -> str:
    if _state["backend"] is None:
        allowed = "one of " + ", ".join(map(repr, BACKENDS))
        _state["backend"] = _from_env("NEUROSIM_KERNELS", "numba", lambda v: v in BACKENDS, allowed)
    return _state["backend"]


def set_backend(name: str) -> None:
    if name not in BACKENDS:
        raise ValueError(f"backend={name!r} is invalid: allowed one of {', '.join(map(repr, BACKENDS))}")
    _state["backend"] = name


@contextmanager
def using(name: str):
    """``with ns.kernels.using("numpy"): ...`` runs the block on the given backend."""
    old = backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(old)


# --- serial or parallel ------------------------------------------------------------------------
def threshold(kernel: str | None = None) -> int:
    """The work from which ``kernel`` runs parallel: ``NEUROSIM_PARALLEL_MIN`` when set (every
    kernel), else ``PARALLEL_MIN_BY_KERNEL`` or ``PARALLEL_MIN``."""
    if _state["parallel_min"] is None:
        text = _from_env("NEUROSIM_PARALLEL_MIN", "", lambda v: v == "" or v.isdigit(), "an integer >= 0")
        _state["parallel_min"] = int(text) if text else -1  # -1: not set
    if _state["parallel_min"] >= 0:
        return _state["parallel_min"]
    return PARALLEL_MIN_BY_KERNEL.get(kernel, PARALLEL_MIN)


def choose_variant(work: int, free: int, threshold: int = PARALLEL_MIN) -> str:
    """The variant: "parallel" when two threads are free and ``work`` ≥ ``threshold``, else "serial"."""
    return "parallel" if free >= 2 and work >= threshold else "serial"


def variant(size: int, parallel: bool | None = None, kernel: str | None = None) -> str:
    """The variant for one call: as asked (``parallel=True/False``), else ``choose_variant``."""
    if parallel is None:
        return choose_variant(size, free_threads(), threshold(kernel))
    return "parallel" if parallel else "serial"


def free_from(n_cpus: int, others_busy: float) -> int:
    """Threads free on ``n_cpus`` CPUs of which other processes keep ``others_busy`` busy (≥ 1)."""
    return max(1, n_cpus - math.floor(others_busy + 0.5))


def parse_stat(text: str, cpus) -> tuple[int, int]:
    """(busy, total) jiffies summed over ``cpus`` from the text of /proc/stat.

    busy = user + nice + system + irq + softirq + steal (steal: the hypervisor ran someone else);
    total = busy + idle + iowait. guest time is already inside user."""
    busy = total = 0
    want = {f"cpu{c}" for c in cpus}
    for line in text.splitlines():
        f = line.split()
        if f and f[0] in want:
            v = [int(x) for x in f[1:9]] + [0] * max(0, 9 - len(f))
            b = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
            busy += b
            total += b + v[3] + v[4]
    return busy, total


def others_busy(prev: tuple, cur: tuple, n_cpus: int, clk_tck: float) -> float:
    """CPUs kept busy by other processes between two samples (busy, total, own CPU seconds)."""
    d_busy, d_total = cur[0] - prev[0], cur[1] - prev[1]
    if d_total <= 0:
        return 0.0
    wall = d_total / n_cpus  # jiffies that passed per CPU
    return max(0.0, (d_busy - (cur[2] - prev[2]) * clk_tck) / wall)


_load = {"t": None, "sample": None, "free": 1, "cpus": None}


def _sample(cpus) -> tuple[int, int, float] | None:
    try:
        with open("/proc/stat") as f:
            busy, total = parse_stat(f.read(), cpus)
    except OSError:
        return None
    t = os.times()
    return busy, total, t.user + t.system


def free_threads() -> int:
    """Threads this process can use now (see the module docstring); refreshed every REFRESH_S."""
    now = time.monotonic()
    if _load["t"] is not None and now - _load["t"] < REFRESH_S:
        return _load["free"]
    if _load["cpus"] is None:
        _load["cpus"] = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    cpus = _load["cpus"]
    cur = _sample(cpus)
    prev = _load["sample"]
    if cur is not None and prev is not None and cpus:
        busy = others_busy(prev, cur, len(cpus), os.sysconf("SC_CLK_TCK"))
        _load["free"] = min(free_from(len(cpus), busy), _numba_threads())
    _load["t"], _load["sample"] = now, cur
    return _load["free"]


def _numba_threads() -> int:
    import numba

    apply_threading_layer()  # before numba's first launch, which get_num_threads() triggers
    return numba.get_num_threads()


def apply_threading_layer() -> str:
    """Set numba's threading layer to ``THREADING_LAYER`` unless the user chose one; returns the
    layer asked for (numba fixes it at its first parallel launch)."""
    import numba

    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = THREADING_LAYER
    return numba.config.THREADING_LAYER
