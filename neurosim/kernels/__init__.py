"""The hot per-neuron and per-trace updates: numpy references and numba twins behind one switch.

``ns.kernels.online_lru_traces(...)`` etc. run on the configured backend (``config.backend()``:
``"numba"`` by default, ``"numpy"`` on request via ``set_backend`` / ``using`` /
``NEUROSIM_KERNELS``) and, for numba, on the serial or the ``prange`` variant by the work of the
call and the threads free (``config.choose_variant``; or ``parallel=True/False``). Every wrapper
checks its arrays: arrays a kernel writes (state and outputs) must be C-contiguous and of the
kernel's dtype, else a ``ValueError`` names the argument, its dtype/layout and what is allowed
(converting them would silently drop the update); read-only inputs are converted
(``np.ascontiguousarray``, dtype cast). The full check runs once per argument signature (types,
dtypes, shapes, layouts); later calls with that signature only apply its conversions (``_PLANS``).
``warmup()`` compiles every kernel for float32 and float64, both variants (``neurosim warmup``).
"""

from __future__ import annotations

import inspect
import re
import time

import numpy as np

from . import reference
from .config import _PARALLEL_LOCK, BACKENDS, backend, choose_variant, free_threads, set_backend, using, variant

__all__ = [
    "online_lru_traces",
    "snap1_outer",
    "eprop_traces",
    "lif_step",
    "rnn_step",
    "gru_step",
    "rtrl_traces",
    "snapn_traces",
    "uoro_update",
    "lru_step",
    "warmup",
    "backend",
    "set_backend",
    "using",
    "BACKENDS",
    "SPECS",
    "choose_variant",
    "free_threads",
]

# Each kernel's arguments in order, as ``name:kind`` (read) or ``name!kind`` (written in place).
# Kinds: r real, c complex, i int64 index, i32 int32, s scalar, si integer scalar. The kernel's
# dtype is that of its first written real or complex array.
_ARGS = {
    "online_lru_traces": "lam:c gam:r hc:c bu:c u:r delta:c e_lam!c e_gam!c E_B!c s_lam!c s_gam!c dB!c",
    "snap1_outer": "G!r J:r a:r pre:r unit:i src:i c:r grad!r",
    "eprop_traces": "psi:r psi_prev:r pre:r ev!r ea!r eb!r L:r R:r beta:r alpha:s rho:s kappa:s first_alif:si grad!r",
    "lif_step": "v!r a!r z!r r!i32 current:r beta:r alpha:s rho:s v_th:s gamma_pd:s n_ref:si psi!r",
    "rnn_step": "h!r pre_act:r alpha:s phi!r",
    "gru_step": "ar:r az:r an:r hn:r h!r r!r z!r n!r",
    "rtrl_traces": "G!r a:r pre:r unit:i src:i c:r grad!r",
    "snapn_traces": "vals!r J:r a:r pre:r unit:i src:i rows:i cols:i colptr:i col_entries:i c:r grad!r",
    "uoro_update": "v!r w!r u:r nu:r q:r c:r eps:s equalize:si grad!r",
    "lru_step": "lam:c gam:r h!c bu:c",
}
# name → [(argument, "in" | "out", kind)]
SPECS = {
    name: [(a, "out" if sep == "!" else "in", kind) for a, sep, kind in re.findall(r"(\w+)([:!])(\w+)", spec)]
    for name, spec in _ARGS.items()
}
for _name, _spec in SPECS.items():  # the table must follow the references' signatures
    assert [a for a, _, _ in _spec] == list(inspect.signature(getattr(reference, _name)).parameters), _name

_COMPLEX = {np.dtype(np.float32): np.dtype(np.complex64), np.dtype(np.float64): np.dtype(np.complex128)}
_REAL = {v: k for k, v in _COMPLEX.items()}


def _prepare(name: str, args: tuple) -> list:
    spec = SPECS[name]
    if len(args) != len(spec):
        raise TypeError(f"kernel {name} takes {len(spec)} arguments ({', '.join(s[0] for s in spec)}), got {len(args)}")
    real = None
    for (arg, role, kind), val in zip(spec, args):
        if role == "out" and kind in ("r", "c"):
            dt = np.asarray(val).dtype
            real = dt if dt in _COMPLEX else _REAL.get(dt)
            if real is None:
                raise ValueError(
                    f"kernel {name}: {arg} has dtype {dt}: allowed float32/float64"
                    + (" (complex64/complex128 for complex arrays)" if kind == "c" else "")
                )
            break
    out = []
    for (arg, role, kind), val in zip(spec, args):
        if kind in ("s", "si"):  # scalars in the kernel's dtype: no float64 promotion in float32 kernels
            out.append(int(val) if kind == "si" else real.type(val))
            continue
        want = {"r": real, "c": _COMPLEX[real], "i": np.dtype(np.int64), "i32": np.dtype(np.int32)}[kind]
        if role == "out":
            if not isinstance(val, np.ndarray):
                raise ValueError(
                    f"kernel {name}: {arg} must be a numpy array (it is written in place), got {type(val)}"
                )
            if val.dtype != want:
                raise ValueError(f"kernel {name}: {arg} has dtype {val.dtype}: allowed {want} (it is written in place)")
            if not val.flags.c_contiguous or not val.flags.writeable:
                raise ValueError(
                    f"kernel {name}: {arg} is not a writeable C-contiguous array: allowed a C-contiguous "
                    "array (it is written in place; pass np.ascontiguousarray(...) and keep the result)"
                )
            out.append(val)
        else:
            a = np.asarray(val)
            if kind in ("r", "c") and not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
                raise ValueError(f"kernel {name}: {arg} has dtype {a.dtype}: allowed a numeric array")
            if kind == "r" and np.iscomplexobj(a):
                raise ValueError(f"kernel {name}: {arg} is complex: allowed a real array")
            out.append(np.ascontiguousarray(a, dtype=want))
    return out


# Argument checks once per signature: (kernel, then per argument its type and, for arrays, dtype,
# shape, C-contiguity and writeability) → per argument what the call needs: None (pass as is), a
# dtype (np.ascontiguousarray to it), or a scalar type (cast). Anything not an ndarray or a scalar
# (lists, ...) is checked in full at every call.
_PLANS: dict[tuple, tuple] = {}
_SCALARS = (int, float, bool, np.generic)


def _key(name: str, args: tuple) -> tuple | None:
    key = [name]
    for a in args:
        if type(a) is np.ndarray:
            f = a.flags
            key.append((a.dtype, a.shape, f.c_contiguous, f.writeable))
        elif isinstance(a, _SCALARS):
            key.append(type(a))
        else:
            return None
    return tuple(key)


def _plan(args: tuple, prepared: list) -> tuple:
    out = []
    for a, p in zip(args, prepared):
        if p is a:
            out.append(None)
        elif isinstance(p, np.ndarray):
            out.append(p.dtype)
        else:
            out.append(type(p))
    return tuple(out)


def _checked(name: str, args: tuple) -> list:
    """``_prepare``'s result; the full check runs once per argument signature (``_PLANS``)."""
    key = _key(name, args)
    plan = None if key is None else _PLANS.get(key)
    if plan is None:
        prepared = _prepare(name, args)
        if key is not None:
            if len(_PLANS) > 4096:  # shapes that keep changing: start over rather than grow
                _PLANS.clear()
            _PLANS[key] = _plan(args, prepared)
        return prepared
    return [
        a if p is None else np.ascontiguousarray(a, p) if isinstance(p, np.dtype) else p(a) for a, p in zip(args, plan)
    ]


def _run(name: str, args: tuple, size: int, parallel: bool | None):
    a = _checked(name, args)
    if backend() == "numpy":
        return getattr(reference, name)(*a)
    from . import _numba

    if variant(size, parallel, name) == "parallel" and _PARALLEL_LOCK.acquire(blocking=False):
        try:  # workqueue is not re-entrant: a second concurrent caller runs serial (config.py)
            return _numba.PARALLEL[name](*a)
        finally:
            _PARALLEL_LOCK.release()
    return _numba.SERIAL[name](*a)


def online_lru_traces(lam, gam, hc, bu, u, delta, e_lam, e_gam, E_B, s_lam, s_gam, dB, *, parallel=None):
    """See ``reference.online_lru_traces``."""
    _run("online_lru_traces", (lam, gam, hc, bu, u, delta, e_lam, e_gam, E_B, s_lam, s_gam, dB), E_B.size, parallel)


def snap1_outer(G, J, a, pre, unit, src, c, grad, *, parallel=None):
    """See ``reference.snap1_outer``."""
    _run("snap1_outer", (G, J, a, pre, unit, src, c, grad), G.size, parallel)


def eprop_traces(psi, psi_prev, pre, ev, ea, eb, L, R, beta, alpha, rho, kappa, first_alif, grad, *, parallel=None):
    """See ``reference.eprop_traces``."""
    args = (psi, psi_prev, pre, ev, ea, eb, L, R, beta, alpha, rho, kappa, first_alif, grad)
    _run("eprop_traces", args, int(np.size(psi)) * int(np.shape(pre)[1]), parallel)


def lif_step(v, a, z, r, current, beta, alpha, rho, v_th, gamma_pd, n_ref, psi, *, parallel=None):
    """See ``reference.lif_step``."""
    _run("lif_step", (v, a, z, r, current, beta, alpha, rho, v_th, gamma_pd, n_ref, psi), v.size, parallel)


def rnn_step(h, pre_act, alpha, dphi, *, parallel=None):
    """See ``reference.rnn_step``."""
    _run("rnn_step", (h, pre_act, alpha, dphi), h.size, parallel)


def gru_step(ar, az, an, hn, h, r, z, n, *, parallel=None):
    """See ``reference.gru_step``."""
    _run("gru_step", (ar, az, an, hn, h, r, z, n), h.size, parallel)


def rtrl_traces(G, a, pre, unit, src, c, grad, *, parallel=None):
    """See ``reference.rtrl_traces``."""
    _run("rtrl_traces", (G, a, pre, unit, src, c, grad), G.size, parallel)


def snapn_traces(vals, J, a, pre, unit, src, rows, cols, colptr, col_entries, c, grad, *, parallel=None):
    """See ``reference.snapn_traces``."""
    args = (vals, J, a, pre, unit, src, rows, cols, colptr, col_entries, c, grad)
    _run("snapn_traces", args, vals.size * max(1, vals.shape[1] // max(1, unit.size)), parallel)


def uoro_update(v, w, u, nu, q, c, eps, equalize, grad, *, parallel=None):
    """See ``reference.uoro_update``."""
    _run("uoro_update", (v, w, u, nu, q, c, eps, int(bool(equalize)), grad), w.size, parallel)


def lru_step(lam, gam, h, bu, *, parallel=None):
    """See ``reference.lru_step``."""
    _run("lru_step", (lam, gam, h, bu), h.size, parallel)


def example_args(name: str, dtype="float64", B: int = 2, n: int = 5, K: int = 4, seed: int = 0) -> tuple:
    """Small random arguments for ``name`` (tests and ``warmup``)."""
    rng = np.random.default_rng(seed)
    rt = np.dtype(dtype)
    ct = _COMPLEX[rt]
    R = lambda *s: rng.normal(size=s).astype(rt)  # noqa: E731
    C = lambda *s: (rng.normal(size=s) + 1j * rng.normal(size=s)).astype(ct)  # noqa: E731
    if name == "online_lru_traces":
        N, H = n, K
        lam = (0.9 * np.exp(1j * rng.uniform(0, 6, N))).astype(ct)
        return (lam, R(N), C(B, N), C(B, N), R(B, H), C(B, N), C(B, N), C(B, N), C(B, N, H), C(N), C(N), C(N, H))
    if name == "snap1_outer":
        P = n * K
        return (R(P, B), R(n, B), R(n, B), R(K, B), rng.integers(0, n, P), rng.integers(0, K, P), R(n, B), R(P))
    if name == "eprop_traces":
        na = n // 2
        psi = np.abs(R(B, n))
        beta = np.abs(R(n))
        return (psi, np.abs(R(B, na)), R(B, K), R(B, K), R(B, na, K), R(B, n, K), R(B, n), R(B, n), beta,
                0.95, 0.99, 0.9, n - na, R(n, K))  # fmt: skip
    if name == "lif_step":
        z = (rng.random((B, n)) < 0.3).astype(rt)
        r = rng.integers(0, 3, (B, n)).astype(np.int32)
        return (R(B, n), np.abs(R(B, n)), z, r, R(B, n), np.abs(R(n)), 0.95, 0.99, 0.6, 0.3, 2, R(B, n))
    if name == "rnn_step":
        return (R(B, n), R(B, n), 0.7, R(B, n))
    if name == "gru_step":
        return (R(B, n), R(B, n), R(B, n), R(B, n), R(B, n), R(B, n), R(B, n), R(B, n))
    if name == "rtrl_traces":
        P = n * K
        return (R(B, n, P), R(B, n), R(B, K), rng.integers(0, n, P), rng.integers(0, K, P), R(B, n), R(P))
    if name == "snapn_traces":
        P = n * K
        unit = rng.integers(0, n, P)
        mask = rng.random((n, P)) < 0.5
        mask[unit, np.arange(P)] = True  # the diagonal (own unit) is always kept
        rows, cols = np.nonzero(mask)
        order = np.lexsort((rows, cols))
        colptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=P))])
        J = R(B, n, n) * 0.5
        return (R(B, rows.size), J, R(B, n), R(B, K), unit, rng.integers(0, K, P), rows, cols, colptr, order,
                R(B, n), R(P))  # fmt: skip
    if name == "uoro_update":
        k, P = 2, n * K
        return (R(B, k, n), R(B, k, P), R(B, k, n), np.sign(R(B, k, n)), R(B, k, P), R(B, n), 1e-5, 1, R(P))
    if name == "lru_step":
        return ((0.9 * np.exp(1j * rng.uniform(0, 6, n))).astype(ct), R(n), C(B, n), C(B, n))
    raise ValueError(f"kernel={name!r} is invalid: allowed one of {', '.join(SPECS)}")


def warmup(dtypes=("float32", "float64"), variants=("serial", "parallel"), verbose: bool = False) -> dict:
    """Compile (or load from the on-disk cache) every kernel for ``dtypes`` × ``variants``.
    Returns seconds per (kernel, dtype, variant)."""
    from . import _numba

    times = {}
    for name in SPECS:
        for dt in dtypes:
            for var in variants:
                t0 = time.perf_counter()
                table = _numba.PARALLEL if var == "parallel" else _numba.SERIAL
                table[name](*_prepare(name, example_args(name, dt)))
                times[(name, dt, var)] = time.perf_counter() - t0
                if verbose:
                    print(f"{name:20s} {dt:8s} {var:9s} {times[(name, dt, var)] * 1000:8.1f} ms", flush=True)
    t0 = time.perf_counter()  # the event-driven simulator's time loop (float64)
    from ..snn import from_edges, simulate

    simulate(from_edges(2, [0], [1], [1.0], delay=[1]), 3)
    simulate(from_edges(2, [0], [1], [1.0]), 3)
    dt_loop = time.perf_counter() - t0
    times[("snn.run_chunk", "float64", "serial")] = dt_loop
    if verbose:
        print(f"{'snn.run_chunk':20s} {'float64':8s} {'serial':9s} {dt_loop * 1000:8.1f} ms")
    return times
