"""The largest network that fits: bisection over the sizes a model's own options allow."""

from __future__ import annotations

from collections.abc import Callable

from .._bisect import last_true
from .accounting import budget
from .profile import Profile


def _builds(build: Callable, n: int) -> str | None:
    """None if ``build(n)`` makes a model, else its error (a ``ValueError``'s message)."""
    try:
        build(n)
    except ValueError as e:
        return str(e)
    return None


def _edge(build: Callable, good: int, bad: int) -> int:
    """The buildable size nearest ``bad`` between ``good`` (builds) and ``bad`` (does not)."""
    while abs(bad - good) > 1:
        mid = (good + bad) // 2
        if _builds(build, mid) is None:
            good = mid
        else:
            bad = mid
    return good


def buildable_range(build: Callable, lo: int, hi: int, start: int | None = None) -> tuple[int, int]:
    """The interval of sizes in [lo, hi] that ``build`` accepts, around ``start`` if it builds
    (else from whichever end builds). The options of a model bound its size from below (an
    ``alif`` model with ``n_alif = 50`` needs n ≥ 50) or fix it (an LRU without an encoder has
    width = n_in); the interval is found by bisection on where ``build`` starts or stops raising
    ``ValueError``. Raises ``ValueError`` when neither ``start``, ``lo`` nor ``hi`` builds."""
    if lo > hi:
        raise ValueError(f"the search range is empty: lo={lo} > hi={hi}")
    errors = {n: _builds(build, n) for n in {lo, hi} | ({start} if start is not None and lo <= start <= hi else set())}
    seed = next((n for n in (start, lo, hi) if n in errors and errors[n] is None), None)
    if seed is None:
        raise ValueError(
            f"the model cannot be built at any n_hidden in [{lo}, {hi}] that was tried "
            + "; ".join(f"n_hidden={n}: {msg}" for n, msg in sorted(errors.items()))
        )
    low = lo if errors[lo] is None else _edge(build, seed, lo)
    high = hi if errors[hi] is None else _edge(build, seed, hi)
    return low, high


def largest_fitting(
    build: Callable, rule, profile: Profile, lo: int = 1, hi: int = 1 << 16, *, start: int | None = None, **kw
) -> int:
    """The largest n (hidden size) in [lo, hi] with ``budget(build(n), rule, profile, **kw).fits``,
    over the sizes ``build`` accepts (``buildable_range``; ``start`` is a size known to build);
    0 if even the smallest of them does not fit. Assumes fitting is monotone in n (bisection)."""
    return largest_in(build, rule, profile, *buildable_range(build, lo, hi, start), **kw)


def largest_in(build: Callable, rule, profile: Profile, lo: int, hi: int, **kw) -> int:
    """``largest_fitting`` over [lo, hi], a range ``build`` is known to accept throughout."""
    fits = lambda n: budget(build(n), rule, profile, **kw).fits  # noqa: E731
    if not fits(lo):
        return 0
    if fits(hi):
        return hi
    return last_true(fits, lo, hi)
