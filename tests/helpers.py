"""Shared test helpers: tolerances scale with the dtype's epsilon and live here."""

from __future__ import annotations

import functools

import numpy as np

import neurosim as ns


def tol(dtype, factor: float = 1.0) -> float:
    """Relative tolerance for exact identities: 1e-10 in float64 (the issue's bar),
    a few thousand ulps in float32 (sums over T steps of O(1) terms)."""
    return factor * (1e-10 if np.dtype(dtype) == np.float64 else 5e-4)


def flat(g: dict, keys=None) -> np.ndarray:
    keys = sorted(g) if keys is None else keys
    return np.concatenate([np.ravel(g[k]).astype(float) for k in keys])


def rel_err(a: dict, b: dict, keys=None) -> float:
    keys = sorted(b) if keys is None else list(keys)
    fb = flat(b, keys)
    assert np.linalg.norm(fb) > 1e-6, f"reference gradient is trivial on {keys}"
    return float(np.linalg.norm(flat(a, keys) - fb) / np.linalg.norm(fb))


def data(model, T=20, B=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(T, B, model.n_in)), rng.normal(size=(T, B, model.n_out))


def grad(rule_name: str, model, params, xs, ys, **kw):
    return ns.rules.total_gradient(ns.rules.make(rule_name, **kw), model, params, xs, ys)


MODELS = {
    "rnn": dict(name="rnn", n_in=3, n_out=2, n_hidden=5),
    "rnn_leaky": dict(name="rnn", n_in=3, n_out=2, n_hidden=5, alpha=0.3),
    "gru": dict(name="gru", n_in=3, n_out=2, n_hidden=5),
    "lru": dict(name="lru", n_in=3, n_out=2, n_hidden=4, width=3, encoder=False, norm=False),
}


def build(key: str, dtype="float64", **over):
    kw = {**MODELS[key], **over}
    return ns.models.make(kw.pop("name"), dtype=dtype, **kw)


# A small, fast run configuration ([train] last, so keys can be appended to it).
RUN_CONFIG = """
[model]
name = "gru"
n_hidden = 8
[rule]
name = "snap1"
[task]
name = "copy"
pattern_len = 3
pad = 1
[optimizer]
name = "adam"
lr = 0.01
[train]
steps = 3
batch_size = 4
"""


def in_fresh_process(fn, *args):
    """``fn(*args)`` in a new (spawned) Python process, its result returned. SANA-FE orders the
    messages of a step partly by its cores' heap addresses, so its simulated time depends on what
    the process allocated before: each SANA-FE run gets a process of its own, and so the same
    result whichever tests ran before it in this one."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


@functools.lru_cache(maxsize=1)
def sanafe_loihi_arch() -> str:
    """SANA-FE's bundled ``loihi.yaml`` with its pool of input units per core cut from 1024 to 64
    (a chip with 131,072 input units takes seconds to build; no cost changes), as a file path."""
    import importlib.resources
    import tempfile
    from pathlib import Path

    text = (importlib.resources.files("sanafe.examples") / "loihi.yaml").read_text()
    assert text.count("loihi_inputs[0..1023]") == 1, "SANA-FE's loihi.yaml changed"
    path = Path(tempfile.mkdtemp(prefix="neurosim-sanafe-")) / "loihi.yaml"
    path.write_text(text.replace("loihi_inputs[0..1023]", "loihi_inputs[0..63]"))
    return str(path)


def brian2_numpy_scope(dt_ms: float, seed: int | None = None):
    """A fresh Brian2 scope on the numpy target with ``defaultclock.dt = dt_ms``; restores the
    target and dt as found when done (the tests share one process). A generator for fixtures:
    ``yield from brian2_numpy_scope(0.1, seed=5)``."""
    import brian2 as b2

    b2.start_scope()
    target, dt = b2.prefs.codegen.target, b2.defaultclock.dt
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = dt_ms * b2.ms
    if seed is not None:
        b2.seed(seed)
    try:
        yield b2
    finally:
        b2.prefs.codegen.target, b2.defaultclock.dt = target, dt
        b2.start_scope()
