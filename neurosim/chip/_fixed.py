"""Writing an array in a fixed-point format: one compiled pass, with its numpy twin.

``fixed_write(x, frac, bits, stochastic, key)`` returns the stored values (x · 2**frac rounded to
an integer, clipped to the signed ``bits``-bit range, times 2**−frac) and the mask of elements
that saturated. Rounding is to nearest (half to even, as ``np.round``) or stochastic:
floor(v) + [u < v − floor(v)] with u uniform in [0, 1), which is unbiased and leaves a value on
the grid where it is (``hardware.formats.stochastic_round``).

**The dither u is counter-based**, not drawn from a stateful generator: element i of the write
with key ``key`` gets u = splitmix64(key + (i + 1) · φ) / 2**64 at 53-bit resolution (φ =
0x9E3779B97F4A7C15, splitmix64 the finaliser of Steele, Lea & Flood, OOPSLA 2014, as in Java's
SplittableRandom). The Store gives each write its own key from (run seed, write number), so a run
is reproducible from its seed and a checkpoint needs only the write number to resume bit for bit;
and the compiled pass and the numpy twin compute the same u in the same uint64 arithmetic, so
they agree bit for bit (``tests/test_chip_numbers.py``). The numba kernel runs unless
``ns.kernels`` is set to the numpy backend.
"""

from __future__ import annotations

import numpy as np

from ..hardware.formats import stochastic_round
from ..kernels.config import backend

PHI = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0**-53


def write_key(seed: int, n: int) -> int:
    """The key of write number ``n`` of a run seeded ``seed``: splitmix64 of seed · φ + n."""
    mask = 0xFFFFFFFFFFFFFFFF
    z = ((seed & mask) * 0x9E3779B97F4A7C15 + n) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def write_keys(seed: int, start: int, n: int) -> np.ndarray:
    """``write_key(seed, start + j)`` for j < n, as a uint64 array (one numpy pass: a run's writes
    take their keys from blocks of these)."""
    with np.errstate(over="ignore"):
        base = np.uint64(((seed & 0xFFFFFFFFFFFFFFFF) * 0x9E3779B97F4A7C15 + start) & 0xFFFFFFFFFFFFFFFF)
        return _mix(base + np.arange(n, dtype=np.uint64))


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def dither(key: int, n: int) -> np.ndarray:
    """The n uniforms in [0, 1) of the write with ``key`` (numpy)."""
    with np.errstate(over="ignore"):
        i = np.arange(1, n + 1, dtype=np.uint64)
        z = _mix(np.uint64(key) + i * PHI)
    return (z >> np.uint64(11)).astype(np.float64) * _TO_UNIT


def fixed_write_numpy(x: np.ndarray, frac: int, bits: int, stochastic: bool, key: int):
    """The numpy twin of the compiled pass (module docstring)."""
    v = np.asarray(x, np.float64).ravel() * 2.0 ** int(frac)
    if not np.all(np.isfinite(v)):
        raise ValueError("cannot quantize non-finite values")
    k = stochastic_round(v, dither(key, v.size)) if stochastic else np.round(v)
    lo, hi = -(2 ** (int(bits) - 1)), 2 ** (int(bits) - 1) - 1
    sat = (k < lo) | (k > hi)
    q = np.clip(k, lo, hi) * 2.0 ** -int(frac)
    return q.reshape(np.shape(x)), sat.reshape(np.shape(x))


_COMPILED = {}


def _constants(frac: int, bits: int, stochastic: bool) -> tuple[float, float, float, float, bool]:
    """The compiled pass's format arguments: (scale 2**frac, its inverse, lowest and highest code,
    stochastic)."""
    half = 2.0 ** (int(bits) - 1)
    return 2.0 ** int(frac), 2.0 ** -int(frac), -half, half - 1, bool(stochastic)


def _compiled():
    fn = _COMPILED.get("w")
    if fn is None:
        import numba

        @numba.njit(cache=True, nogil=True)
        def _write(v, scale, inv, lo, hi, stochastic, key, sat):
            phi, m1, m2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
            s30, s27, s31, s11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
            # one branch-free pass (clip by min/max, the mask stored at every element, the check
            # for non-finite values folded in): it vectorises. A failed write (-1) leaves ``v``
            # undefined; the caller raises and the run stops there.
            n_sat = 0
            bad = False
            if stochastic:
                for i in range(v.size):
                    z = key + np.uint64(i + 1) * phi
                    z = (z ^ (z >> s30)) * m1
                    z = (z ^ (z >> s27)) * m2
                    z = z ^ (z >> s31)
                    a = np.float64(v[i]) * scale
                    bad |= not np.isfinite(a)
                    f = np.floor(a)  # up where the dither is below the fraction (stochastic_round)
                    k = f + 1.0 if np.float64(z >> s11) * 1.1102230246251565e-16 < a - f else f
                    s = (k < lo) | (k > hi)
                    sat[i] = s
                    n_sat += s
                    v[i] = min(max(k, lo), hi) * inv
            else:
                for i in range(v.size):
                    a = np.float64(v[i]) * scale
                    bad |= not np.isfinite(a)
                    k = np.round(a)
                    s = (k < lo) | (k > hi)
                    sat[i] = s
                    n_sat += s
                    v[i] = min(max(k, lo), hi) * inv
            return -1 if bad else n_sat

        fn = _COMPILED["w"] = _write
    return fn


def fixed_write_inplace(
    v: np.ndarray, frac: int, bits: int, stochastic: bool, key: int, sat: np.ndarray | None = None
) -> tuple[int, np.ndarray]:
    """Write the flat float64 or float32 array ``v`` in the format, in place (each element read as
    float64, the rounded value stored in ``v``'s precision); returns (saturated count, saturated
    mask). Non-finite values raise ``ValueError``; the compiled pass has then written ``v``
    already (a failed write leaves it undefined). ``sat``: a bool buffer of at least ``v.size``
    for the mask (not cleared first: every element is written), else one is made. Compiled
    unless ``ns.kernels`` is on the numpy backend (the twin)."""
    if backend() == "numpy":
        q, s = fixed_write_numpy(v, frac, bits, stochastic, key)
        v[:] = q
        return int(s.sum()), s
    sat = np.empty(v.size, np.bool_) if sat is None or sat.size < v.size else sat[: v.size]
    n = _compiled()(v, *_constants(frac, bits, stochastic), np.uint64(key), sat)
    if n < 0:
        raise ValueError("cannot quantize non-finite values")
    return int(n), sat


def fixed_write(x: np.ndarray, frac: int, bits: int, stochastic: bool, key: int):
    """(stored values, saturated mask) of ``x`` (real) in the format: ``fixed_write_inplace`` on a copy."""
    v = np.array(x, np.float64).ravel()
    _, sat = fixed_write_inplace(v, frac, bits, stochastic, key)
    return v.reshape(np.shape(x)), sat.reshape(np.shape(x))
