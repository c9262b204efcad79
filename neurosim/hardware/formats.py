"""The number formats a chip computes in: a profile's ``[formats]`` applied to arrays.

``quantize(x, bits, frac_bits, number=, rounding=, saturate=, rng=)`` maps real values onto the
format and returns the values it represents (float64):

* ``number = "fixed"``: signed two's-complement integers of ``bits`` bits scaled by
  ``2**-frac_bits``. ``rounding = "nearest"`` rounds ``x · 2**frac_bits`` to the nearest integer
  (ties to even, as ``np.round``); ``"stochastic"`` rounds down or up with probabilities given by
  the distance to each neighbour (``stochastic_round``: floor(q) + [u < q − floor(q)], ``u``
  uniform in [0, 1)), so the expected result is ``x`` itself. Out of range, ``saturate = true``
  clips to ``[-2**(bits-1), 2**(bits-1) - 1]``; ``false`` wraps around as two's-complement hardware does.
* ``number = "float"``: values pass through at the float width: IEEE binary16 / 32 / 64 for
  ``bits`` 16 / 32 / 64 (round to nearest even), unchanged for other widths.

``quantize_as(profile, kind, x, frac_bits, rng=, array=)`` takes the width from the profile (the
array's ``[formats.array_bits]`` override, else ``<kind>_bits``) and the number, rounding and
saturation from its ``[formats]``. ``saturations`` counts the elements a fixed format would clip
or wrap (nengo-loihi #127: learning that overflows collapses — count it).
"""

from __future__ import annotations

import numpy as np

from .profile import Profile

NUMBERS = ("fixed", "float")
ROUNDINGS = ("nearest", "stochastic")
_FLOATS = {16: np.float16, 32: np.float32, 64: np.float64}


def fixed_range(bits: int) -> tuple[int, int]:
    """The integer codes of a signed ``bits``-bit format: (−2**(bits−1), 2**(bits−1) − 1)."""
    if int(bits) < 1:
        raise ValueError(f"bits must be >= 1, got {bits}")
    half = 1 << (int(bits) - 1)
    return -half, half - 1


def _check(number, rounding, rng):
    if number not in NUMBERS:
        raise ValueError(f"number: {number!r}; allowed: {', '.join(NUMBERS)}")
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding: {rounding!r}; allowed: {', '.join(ROUNDINGS)}")
    if number == "fixed" and rounding == "stochastic" and rng is None:
        raise ValueError("stochastic rounding needs rng (a numpy Generator)")


def stochastic_round(q: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``q`` rounded down, plus one where the uniform ``u`` (in [0, 1)) is below the fraction
    left: up with probability q − floor(q), so unbiased. The fraction q − floor(q) is exact in
    float64 (|q| ≥ 1 by Sterbenz's lemma, |q| < 1 trivially except tiny negative q, within 2**−53),
    so a value already on the grid stays there (a second write is the identity), which the
    textbook form floor(q + u) misses: q + u rounds up to the next integer when u is within
    half an ulp of q of 1 (for |q| ≈ 2**15, a chance of 2**−39 per element)."""
    k = np.floor(q)
    return k + (u < q - k)


def rounded(x, frac_bits: int, *, rounding: str = "nearest", rng=None) -> np.ndarray:
    """``x · 2**frac_bits`` rounded to integers (float64, not yet clipped to any width)."""
    _check("fixed", rounding, rng)
    q = np.asarray(x, np.float64) * 2.0 ** int(frac_bits)
    if not np.all(np.isfinite(q)):
        raise ValueError("cannot quantize non-finite values")
    return np.round(q) if rounding == "nearest" else stochastic_round(q, rng.random(q.shape))


def to_codes(x, bits: int, frac_bits: int, *, rounding: str = "nearest", saturate: bool = True, rng=None, k=None):
    """The integer codes (int64) of ``x`` in the signed fixed-point format (bits, frac_bits);
    ``k``: ``x`` already ``rounded`` (a caller that also counts saturations)."""
    if k is None:
        k = rounded(x, frac_bits, rounding=rounding, rng=rng)
    lo, hi = fixed_range(bits)
    if saturate:
        return np.clip(k, lo, hi).astype(np.int64)
    span = 1 << int(bits)
    wide = k.astype(object) if np.abs(k).max(initial=0) >= 2**62 else k.astype(np.int64)
    return np.asarray((wide - lo) % span + lo, dtype=np.int64)


def quantize(x, bits: int, frac_bits: int = 0, *, number: str = "fixed", rounding: str = "nearest",
             saturate: bool = True, rng=None) -> np.ndarray:  # fmt: skip
    """The values of ``x`` in the format (see the module docstring)."""
    _check(number, rounding, rng)
    if number == "float":
        x = np.asarray(x, np.float64)
        return x.astype(_FLOATS[int(bits)]).astype(np.float64) if int(bits) in _FLOATS else x.copy()
    codes = to_codes(x, bits, frac_bits, rounding=rounding, saturate=saturate, rng=rng)
    return codes.astype(np.float64) * 2.0 ** -int(frac_bits)


def saturations(x, bits: int, frac_bits: int = 0) -> int:
    """How many elements of ``x`` lie outside the fixed format's range (after nearest rounding)."""
    k = np.round(np.asarray(x, np.float64) * 2.0 ** int(frac_bits))
    lo, hi = fixed_range(bits)
    return int(np.count_nonzero((k < lo) | (k > hi)))


def bits_for(profile: Profile, kind: str, array: str | None = None) -> int:
    """The width of an element of ``kind`` ("weight", "state", "trace", "gradient") on ``profile``
    (``array``'s ``[formats.array_bits]`` override first)."""
    if kind not in ("weight", "state", "trace", "gradient"):
        raise ValueError(f"kind: {kind!r}; allowed: weight, state, trace, gradient")
    return profile.bits_of(array, kind) if array is not None else int(getattr(profile.formats, f"{kind}_bits"))


def quantize_as(profile: Profile, kind: str, x, frac_bits: int = 0, *, rng=None, array: str | None = None):
    """``quantize`` with the profile's width for ``kind`` and its number, rounding and saturation."""
    f = profile.formats
    return quantize(x, bits_for(profile, kind, array), frac_bits, number=f.number, rounding=f.rounding,
                    saturate=f.saturate, rng=rng)  # fmt: skip
