"""Error helpers: every bad input names the argument, the value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def bad(arg: str, value: Any, allowed: str) -> ValueError:
    """Build a ``ValueError`` that names the argument, the value and what is allowed."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return ValueError(f"{arg}={text} is invalid: allowed {allowed}")


def check_choice(arg: str, value: Any, choices: Iterable[str]) -> str:
    choices = sorted(choices)
    if value not in choices:
        raise bad(arg, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def check_bool(arg: str, value: Any, allow_none: bool = False) -> bool | None:
    """A real ``bool`` (not a string such as "false", which Python reads as true)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        raise bad(arg, value, "True or False" + (" or None" if allow_none else ""))
    return bool(value)


def check_positive_int(arg: str, value: Any, minimum: int = 1, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise bad(arg, value, f"an integer >= {minimum}" + (f" and <= {maximum:,}" if maximum is not None else ""))
    if maximum is not None and value > maximum:
        raise bad(arg, value, f"an integer in [{minimum}, {maximum:,}]")
    return int(value)


def check_float(
    arg: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise bad(arg, value, "a real number") from None
    ok = np.isfinite(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v < hi if hi_open else v <= hi
    if not ok:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        rng = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
        raise bad(arg, value, f"a finite number in {rng}")
    return v


def check_array(arg: str, value: Any, shape: tuple[int | None, ...]) -> np.ndarray:
    """Check ndim, sizes (None = any) and finiteness of an input array."""
    a = np.asarray(value)
    want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
    if a.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, a.shape)):
        raise ValueError(f"{arg} has shape {a.shape}: allowed shape {want}")
    if not np.issubdtype(a.dtype, np.number) and a.dtype != bool:
        raise ValueError(f"{arg} has dtype {a.dtype}: allowed a numeric array")
    if not np.all(np.isfinite(a)):
        bad_idx = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise ValueError(f"{arg} contains a non-finite value at index {bad_idx}: allowed finite numbers")
    return a
