"""Kernel configuration: the one switch (numba | numpy) and every numba flag, in one place.

* ``backend()`` / ``set_backend(name)`` / ``using(name)`` (a context manager). The default is
  ``"numba"``; the environment variable ``NEUROSIM_KERNELS=numpy`` changes it at import.
  ``"numpy"`` runs the references in ``reference.py`` — the specification every numba twin is
  tested against.
* ``FLAGS``: ``cache=True`` (compiled code is reused by later processes; nothing is compiled at
  import: signatures are lazy), ``nogil=True``, ``error_model="numpy"`` (no ZeroDivisionError
  checks in hot loops), ``fastmath=False`` (the kernels are memory-bound, fastmath gains nothing
  and would change results; ecosystem.md §2.1).
* ``PARALLEL_MIN``: the number of trace elements from which the ``prange`` variant is chosen
  (thread fork/join costs more than it saves below ~1e5 elements; ecosystem.md §2.1).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

BACKENDS = ("numba", "numpy")
FLAGS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}
PARALLEL_MIN = 1 << 17

_state = {"backend": os.environ.get("NEUROSIM_KERNELS", "numba")}
if _state["backend"] not in BACKENDS:
    raise ValueError(
        f"NEUROSIM_KERNELS={_state['backend']!r} is invalid: allowed one of {', '.join(map(repr, BACKENDS))}"
    )


def backend() -> str:
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


def variant(size: int, parallel: bool | None = None) -> str:
    """ "parallel" when asked, or when ``parallel`` is None and the work is large enough."""
    if parallel is None:
        parallel = size >= PARALLEL_MIN
    return "parallel" if parallel else "serial"
