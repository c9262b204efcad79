"""``last_true``: the bisection the budget search and the mapper's core filling share."""

from __future__ import annotations

from collections.abc import Callable


def last_true(pred: Callable[[int], bool], lo: int, hi: int) -> int:
    """The largest n in [lo, hi) with ``pred(n)``, given ``pred(lo)`` true and ``pred(hi)`` false
    (``pred`` monotone: true, then false)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pred(mid):
            lo = mid
        else:
            hi = mid
    return lo
