"""Learning-state size: constant in T and equal to each rule's closed form
(rtrl n·p, snap1/rflo p, uoro k(n + p), online_lru 2N(H + 2) per layer and sample).

The formulas are written here (not read from the code): RTRL n·p, SnAp-1 p (one per
active parameter and state slot), SnAp-2 Σ_θ |S_i|, online LRU 2N(H + 2) per layer, none for
spatial / trunc1. Sizes are per sample.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neurosim as ns


def state_floats(state, batch: int) -> int:
    total = 0
    for tr in state.traces:
        for a in tr if isinstance(tr, tuple) else (tr,):
            total += a.size * (2 if np.iscomplexobj(a) else 1)
    return total // batch


def run_steps(rule, model, T: int, B: int = 2):
    params = model.init(0)
    state = rule.init(model, params, B)
    rng = np.random.default_rng(0)
    for _ in range(T):
        state, _, _ = rule.step(model, params, state, rng.normal(size=(B, model.n_in)), np.zeros((B, model.n_out)))
    return state


def rnn_formula(rule: str, n: int, m: int, density_nnz: int | None = None) -> int:
    nnz = n * n if density_nnz is None else density_nnz
    p_d = nnz + n * (m + 1)
    return {"rtrl": n * p_d, "snap1": p_d, "spatial": 0, "trunc1": 0}[rule]


@pytest.mark.parametrize("rule", ["rtrl", "snap1", "snap2", "spatial", "trunc1"])
def test_state_is_constant_in_T_rnn(rule):
    model = ns.models.make("rnn", n_in=3, n_out=2, n_hidden=6)
    r = ns.rules.make(rule)
    short = state_floats(run_steps(r, model, 10), 2)
    long = state_floats(run_steps(r, model, 1000), 2)
    assert short == long == r.memory_floats(model)
    if rule == "snap2":
        assert short == 6 * 6 * (6 + 3 + 1)  # dense W: every unit reachable, = RTRL
    else:
        assert short == rnn_formula(rule, 6, 3)


def test_online_lru_state_constant_in_T_and_formula():
    N, H, L = 5, 4, 2
    model = ns.models.make("lru", n_in=3, n_out=2, n_hidden=N, width=H, n_layers=L)
    r = ns.rules.make("online_lru")
    short = state_floats(run_steps(r, model, 10), 2)
    long = state_floats(run_steps(r, model, 1000), 2)
    assert short == long == r.memory_floats(model) == L * 2 * N * (H + 2)


def test_bptt_history_grows_with_T():
    """The references store history, and say so: bptt grows linearly, tbptt is bounded by k."""
    model = ns.models.make("rnn", n_in=3, n_out=2, n_hidden=6)
    s10 = run_steps(ns.rules.make("bptt"), model, 10)
    s40 = run_steps(ns.rules.make("bptt"), model, 40)
    assert len(s10.history) == 10 and len(s40.history) == 40
    assert len(run_steps(ns.rules.make("tbptt", k=8), model, 45).history) == 45 % 8
    assert ns.rules.make("bptt").state_spec(model)[0].belongs == "history"


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 9),
    m=st.integers(1, 5),
    density=st.sampled_from([1.0, 0.5, 0.2]),
    rule=st.sampled_from(["rtrl", "snap1", "snap2", "spatial"]),
)
def test_closed_form_memory_equals_state_arrays(n, m, density, rule):
    """Property test over shapes: declared memory == bytes of the actual state == the closed form."""
    model = ns.models.make("rnn", n_in=m, n_out=2, n_hidden=n, density=density, structure_seed=n)
    r = ns.rules.make(rule)
    state = r.init(model, model.init(0), 3)
    actual = state_floats(state, 3)
    assert actual == r.memory_floats(model)
    mask = model.blocks[0].cell.masks.get("W", np.ones((n, n), bool))  # dense: no mask is stored
    nnz = int(mask.sum())
    if rule == "snap2":
        reach1 = mask | np.eye(n, dtype=bool)  # S_i = {i} ∪ {k : W_ki ≠ 0}
        size_S = reach1.sum(0)  # |S_i| per source unit i
        rows = np.concatenate([np.nonzero(mask)[0], np.repeat(np.arange(n), m + 1)])  # unit of each param
        assert actual == int(size_S[rows].sum())
    else:
        assert actual == rnn_formula(rule, n, m, nnz)
    nbytes = sum(a.nbytes for tr in state.traces for a in (tr if isinstance(tr, tuple) else (tr,)))
    assert nbytes == actual * 3 * np.dtype(model.dtype).itemsize


def test_worked_example_from_the_reference():
    """A worked example: n = 64, m = 8 → RTRL 299 008 floats, SnAp-1 4 672 (declared, not run)."""
    model = ns.models.make("rnn", n_in=8, n_out=1, n_hidden=64)
    assert ns.rules.make("rtrl").memory_floats(model) == 299_008
    assert ns.rules.make("snap1").memory_floats(model) == 4_672
    lru = ns.models.make("lru", n_in=8, n_out=1, n_hidden=64, width=128)
    assert ns.rules.make("online_lru").memory_floats(lru) == 16_640


def _cache_leaves(obj, complex_twice: bool = True) -> int:
    """Floats in a forward cache as built (every array leaf; complex arrays count twice)."""
    if isinstance(obj, np.ndarray):
        return obj.size * (2 if complex_twice and np.iscomplexobj(obj) else 1)
    if isinstance(obj, tuple | list):
        return sum(_cache_leaves(o, complex_twice) for o in obj)
    return 0


CACHE_CONFIGS = [
    ("rnn", dict(n_hidden=5)),
    ("rnn", dict(n_hidden=4, n_layers=3, alpha=0.5, density=0.5, pool="st_mean")),
    ("gru", dict(n_hidden=3)),
    ("gru", dict(n_hidden=6, n_layers=2)),
    ("lru", dict(n_hidden=3)),
    ("lru", dict(n_hidden=4, width=6, n_layers=2, mix="mlp", norm=False)),
    ("lru", dict(n_hidden=2, width=4, mix="none", skip=False, encoder=False)),
    ("lru", dict(n_hidden=3, width=5, gamma_norm=False, pool="st_mean")),
    ("lif", dict(n_hidden=7)),
    ("alif", dict(n_hidden=6, n_alif=2, tau_out=0.0)),
]


@pytest.mark.parametrize("kind,kw", CACHE_CONFIGS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CACHE_CONFIGS)])
def test_bptt_history_is_counted_from_shapes_and_equals_the_forward_cache(kind, kw):
    """Oracle: the arrays one forward step actually caches (batch 1) plus ∂ℓ/∂y. The count is
    arithmetic (no parameters built); the negative control counts complex arrays once, which must
    miss the LRU's complex state, and a model without a LayerNorm must differ by width + 1."""
    n_in = 4 if kw.get("encoder") is False else 3
    model = ns.models.make(kind, n_in=n_in, n_out=2, **kw)
    params = model.init(0)
    _, y, cache = model.forward(params, model.initial_state(1), np.ones((1, n_in), model.dtype))
    oracle = _cache_leaves(cache) + y.size
    spec = ns.rules.make("bptt").state_spec(model)[0]
    assert spec.shape == (1, oracle) and model.cache_floats() + model.n_out == oracle
    assert ns.rules.make("tbptt", k=5).state_spec(model)[0].shape == (5, oracle)
    if kind == "lru":
        assert _cache_leaves(cache, complex_twice=False) + y.size != oracle
        if kw.get("norm", True):
            plain = ns.models.make(kind, n_in=n_in, n_out=2, **{**kw, "norm": False})
            assert model.cache_floats() - plain.cache_floats() == model.blocks[0].width + 1
