"""The chip's number formats: one format per array, applied after every write, with counters.

**Widths** are the profile's, as the memory accounting reads them: a weight's from
``[formats.array_bits]`` by its local name, else ``weight_bits``; a model or rule state array's
from ``hardware.memory.spec_bits`` (its own ``bits``, an override ``RULE.NAME`` or by name, else
its role's width); the gradient accumulator's from ``gradient`` / ``gradient_bits``. Number,
rounding and saturation are the profile's ``[formats]``.

**Scaling** (fixed point: ``frac`` fractional bits of a signed ``bits``-bit integer). Each array
gets the smallest power-of-two range 2**e strictly above its range R, so it holds [−2**e, 2**e):
``frac = bits − 1 − e`` with ``e = floor(log2 R) + 1``. R is, for a weight array, its largest
initial magnitude (learning may grow it up to twice before saturating); for arrays that start at
zero (states, traces, gradients) and all-zero weights (biases), a range per role
(``DEFAULT_RANGE``). ``ranges={key or role: R}`` overrides either (keys as in
``ChipRun.overflows``). A weight format in which every non-zero initial weight saturates or
rounds to zero is refused (``FormatError`` naming the array and the format).

**Counters** per array and core: ``saturations`` (elements a write clipped) and, for weights,
``lost`` (updates lost to rounding: an element the optimizer changed whose stored value did not
change — an update below one LSB under round-to-nearest, or one that stochastic rounding rounded
away). Stochastic rounding adds a uniform dither from a counter-based generator keyed by the run's
seed and the write's number (``_fixed``: reproducible, and resumable from the write count); it
is unbiased: the expected stored value is the written value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..hardware.formats import fixed_range, quantize, rounded, stochastic_round, to_codes
from ._fixed import dither, fixed_write_inplace, write_key, write_keys

DEFAULT_RANGE = {"weight": 1.0, "state": 8.0, "trace": 8.0, "gradient": 1.0}


class FormatError(ValueError):
    """A number format that cannot hold an array (names the array and the format)."""


@dataclass(frozen=True)
class ArrayFormat:
    key: str
    role: str
    bits: int
    number: str  # "fixed" | "float"
    frac: int
    rounding: str
    saturate: bool

    @property
    def lsb(self) -> float:
        return 2.0**-self.frac if self.number == "fixed" else 0.0

    def describe(self) -> str:
        if self.number == "float":
            return f"{self.bits}-bit float"
        lo, hi = fixed_range(self.bits)
        return (
            f"{self.bits}-bit fixed point with {self.frac} fractional bits (LSB {self.lsb:g}, range "
            f"[{lo * self.lsb:g}, {hi * self.lsb:g}], {self.rounding} rounding)"
        )

    def to_dict(self) -> dict:
        return {"role": self.role, "bits": self.bits, "number": self.number, "frac_bits": self.frac,
                "rounding": self.rounding, "saturate": self.saturate}  # fmt: skip


def frac_bits(bits: int, value_range: float) -> int:
    """Fractional bits so that a signed ``bits``-bit integer holds [−2**e, 2**e), 2**e > range."""
    e = math.floor(math.log2(value_range)) + 1
    return int(bits) - 1 - e


def array_format(profile, key: str, role: str, bits: int, value_range: float) -> ArrayFormat:
    f = profile.formats
    frac = frac_bits(bits, value_range) if f.number == "fixed" else 0
    return ArrayFormat(key, role, int(bits), f.number, frac, f.rounding, bool(f.saturate))


def weight_range(values, cores, ranges: dict, key: str) -> float:
    """R for a weight array: ``ranges[key]``, else its largest stored initial magnitude, else
    ``ranges["weight"]`` / ``DEFAULT_RANGE["weight"]`` (all zero). ``cores``: the array's core map
    (−1: not stored), or None when every element is stored."""
    if key in ranges:
        return float(ranges[key])
    v = np.asarray(values)
    if v.size and (cores is None or np.all(cores >= 0)):  # all stored: no float64 copy of a large array
        top = float(max(v.max(), -v.min()))  # parameters are real (complex ones are re/im pairs)
    else:
        top = float(np.abs(np.asarray(values, np.float64))[cores >= 0].max(initial=0.0))
    return top if top > 0 else float(ranges.get("weight", DEFAULT_RANGE["weight"]))


def check_holds(fmt: ArrayFormat, values, cores) -> None:
    """Refuse ``fmt`` when every non-zero stored initial value saturates or rounds to zero."""
    x = np.asarray(values, np.float64)
    x = x[cores >= 0] if cores is not None else x.ravel()
    x = x[x != 0]
    if x.size == 0:
        return
    if fmt.number == "float":
        q = quantize(x, fmt.bits, number="float")
        sat = ~np.isfinite(q)
    else:
        k = rounded(x, fmt.frac)
        lo, hi = fixed_range(fmt.bits)
        sat = (k < lo) | (k > hi)
        q = np.clip(k, lo, hi)
    zero = (q == 0) & ~sat
    if np.all(sat | zero):
        raise FormatError(
            f"{fmt.key}: the {fmt.describe()} format cannot hold the initial weights: of {x.size:,} non-zero "
            f"weights (largest |w| = {np.abs(x).max():.4g}, smallest {np.abs(x).min():.4g}), "
            f"{int(sat.sum()):,} saturate and {int(zero.sum()):,} round to zero; give the array more bits "
            "([formats.array_bits]) or another range (ranges=)"
        )


# dtypes written in place (the compiled pass reads each element as float64 and stores the
# rounded value back in the array's own precision, exact for widths up to 24 bits in float32)
_DIRECT = {np.dtype(t): np.dtype(r) for t, r in ((np.float64, np.float64), (np.complex128, np.float64),
                                                 (np.float32, np.float32), (np.complex64, np.float32))}  # fmt: skip


SAT_BUFFER_MAX = 1 << 22  # elements: a larger write's saturation mask is made for it and let go
KEY_BLOCK = 1024  # the writes' keys are made this many at a time (``_fixed.write_keys``)


class Store:
    """Writes arrays in their formats, in place, and counts per array and core."""

    def __init__(self, seed: int, n_cores: int):
        self.seed = (int(seed) << 16) ^ 0x5C41  # the stochastic-rounding keys' (``_fixed.write_key``)
        self.writes = 0  # writes so far: the next write's key, and all a checkpoint needs
        self.n_cores = n_cores
        self.saturations: dict[str, np.ndarray] = {}
        self.lost: dict[str, np.ndarray] = {}
        self._sat = np.empty(0, np.bool_)
        self._keys, self._key_base = np.empty(0, np.uint64), 0

    def _next_key(self) -> np.uint64:
        """The key of the next write (``write_key(seed, writes)``), from a block made at once."""
        n = self.writes
        self.writes += 1
        i = n - self._key_base
        if not 0 <= i < self._keys.size:  # (also after a checkpoint has set ``writes``)
            self._keys, self._key_base, i = write_keys(self.seed, n, KEY_BLOCK), n, 0
        return self._keys[i]

    def write(self, fmt: ArrayFormat, a: np.ndarray, place, old: np.ndarray | None = None) -> None:
        """Quantise ``a`` (real or complex, any leading batch axes) in place; ``old``: the stored
        values before this write (weights), to count updates lost to rounding. A saturating
        fixed-point format runs the compiled pass in place on ``a``'s memory (a complex array as
        its interleaved real and imaginary parts, one dither key for both); counts are per
        element (a complex element saturates when either part does)."""
        if fmt.number == "fixed" and fmt.saturate:
            self._write_fixed(fmt, a, place, old)
            return
        cplx = np.iscomplexobj(a)
        parts = (a.real, a.imag) if cplx else (a,)
        olds = (None, None) if old is None else ((old.real, old.imag) if cplx else (old,))
        for part, o in zip(parts, olds):
            x = np.asarray(part, np.float64)
            if fmt.number == "fixed":  # wrapping formats: rare, in numpy (the same dither)
                key = write_key(self.seed, self.writes)
                self.writes += 1
                v = x * 2.0**fmt.frac
                if not np.all(np.isfinite(v)):
                    raise ValueError("cannot quantize non-finite values")
                stochastic = fmt.rounding == "stochastic"
                k = stochastic_round(v, dither(key, v.size).reshape(v.shape)) if stochastic else np.round(v)
                lo, hi = fixed_range(fmt.bits)
                sat = (k < lo) | (k > hi)
                codes = to_codes(x, fmt.bits, fmt.frac, saturate=False, k=k)
                q = codes.astype(np.float64) * 2.0**-fmt.frac
            else:
                q = quantize(x, fmt.bits, number="float")
                sat = ~np.isfinite(q) & np.isfinite(x)
            if sat.any():
                self._add(self.saturations, fmt.key, place, sat)
            if o is not None:
                lost = (x != o) & (q == o)
                if lost.any():
                    self._add(self.lost, fmt.key, place, lost)
            part[...] = q

    def _write_fixed(self, fmt: ArrayFormat, a: np.ndarray, place, old) -> None:
        key = self._next_key()
        cplx = np.iscomplexobj(a)
        direct = a.flags.c_contiguous and a.dtype in _DIRECT
        buf = a if direct else np.ascontiguousarray(a, np.complex128 if cplx else np.float64)
        before = buf.copy() if old is not None else None
        flat = buf.reshape(-1).view(_DIRECT[buf.dtype])  # complex: its real and imaginary parts
        if self._sat.size < flat.size <= SAT_BUFFER_MAX:  # the mask's buffer, reused (``fixed_write_inplace``)
            self._sat = np.empty(flat.size, np.bool_)
        n_sat, sat = fixed_write_inplace(flat, fmt.frac, fmt.bits, fmt.rounding == "stochastic", key, self._sat)
        if not direct:
            a[...] = buf
        if n_sat:
            mask = (sat.view(np.uint16) != 0).reshape(a.shape) if cplx else sat.reshape(a.shape)  # either part
            self._add(self.saturations, fmt.key, place, mask)
        if old is not None:
            lost = (before != old) & (buf == old)
            if lost.any():
                self._add(self.lost, fmt.key, place, lost)

    def _add(self, counter: dict, key: str, place, mask: np.ndarray) -> None:
        one = place.one_core()
        if place.map is None and place.rows is None:
            per = np.zeros(self.n_cores, np.int64)
            per[list(place.copies)] += int(np.count_nonzero(mask))
        elif one >= 0:  # every element on one core: a count
            per = np.zeros(self.n_cores, np.int64)
            per[one] = np.count_nonzero(mask)
        else:  # summed over the leading (batch) axes, then per core
            shape = place.shape if place.rows is not None else place.map.shape
            per = place.sum_by_core(mask.reshape((-1,) + tuple(shape)).sum(0), self.n_cores)
        counter[key] = counter.get(key, np.zeros(self.n_cores, np.int64)) + per
