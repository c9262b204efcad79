"""``per_object``: memoise a function of an object on the object itself.

``functools.lru_cache`` keyed on a model or a cell keeps it (and its masks, possibly n × n) alive
for the life of the process; this cache lives in the object's ``__dict__`` (under a private name,
so run fingerprints ignore it) and dies with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

_SLOT = "_neurosim_cache"


def per_object(fn: Callable) -> Callable:
    """``fn(obj, *args)`` computed once per (obj, args); ``args`` must be hashable."""

    @functools.wraps(fn)
    def wrapper(obj, *args):
        store = obj.__dict__.setdefault(_SLOT, {})
        key = (fn.__qualname__, args)
        if key not in store:
            store[key] = fn(obj, *args)
        return store[key]

    return wrapper
