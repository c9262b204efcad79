"""Every numba kernel equals its numpy twin, in both dtypes and both variants (serial, prange).

These tests also run under ``NUMBA_DISABLE_JIT=1`` (a pass of ``.ci/run``), where the numba
bodies execute as plain Python: the same loops, checked against the same references.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import neurosim.kernels as K
from neurosim.kernels import _numba, reference

CASES = [(name, dt, var) for name in K.SPECS for dt in ("float32", "float64") for var in ("serial", "parallel")]


def _outs(name, args):
    return [a for (arg, role, kind), a in zip(K.SPECS[name], args) if role == "out"]


@pytest.mark.parametrize("name,dtype,var", CASES)
@pytest.mark.parametrize("size", [(2, 5, 4), (3, 17, 9)])
def test_numba_twin_equals_numpy_reference(name, dtype, var, size):
    B, n, k = size
    args = K.example_args(name, dtype, B=B, n=n, K=k, seed=sum(size))
    ref_args, jit_args = copy.deepcopy(args), copy.deepcopy(args)
    for _ in range(3):  # several steps: state carried in place
        getattr(reference, name)(*K._prepare(name, ref_args))
        table = _numba.PARALLEL if var == "parallel" else _numba.SERIAL
        table[name](*K._prepare(name, jit_args))
    rtol = 1e-12 if dtype == "float64" else 2e-5
    for (arg, _, _), a, b in zip(
        [s for s in K.SPECS[name] if s[1] == "out"], _outs(name, ref_args), _outs(name, jit_args)
    ):
        np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol, err_msg=f"{name}.{arg} ({dtype}, {var})")
    # non-vacuous: the kernel changed every output it owns
    for arg, before, after in zip(
        [s[0] for s in K.SPECS[name] if s[1] == "out"], _outs(name, args), _outs(name, ref_args)
    ):
        if before.size:
            assert not np.array_equal(before, after), f"{name}.{arg} unchanged"


@pytest.mark.parametrize("name", list(K.SPECS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_serial_and_parallel_variants_agree_bit_for_bit(name, dtype):
    """The variant is chosen per call from the machine's load, so a resumed run is bit-identical
    to an uninterrupted one only if the two variants give the same bits. Each thread owns whole
    neurons / parameters (no reduction is split across threads), so they must."""
    args = K.example_args(name, dtype, B=3, n=17, K=9, seed=4)
    s_args, p_args = copy.deepcopy(args), copy.deepcopy(args)
    for _ in range(3):
        _numba.SERIAL[name](*K._prepare(name, s_args))
        _numba.PARALLEL[name](*K._prepare(name, p_args))
    for (arg, _, _), a, b in zip([s for s in K.SPECS[name] if s[1] == "out"], _outs(name, s_args), _outs(name, p_args)):
        np.testing.assert_array_equal(b, a, err_msg=f"{name}.{arg} ({dtype})")


@pytest.mark.parametrize("name", list(K.SPECS))
def test_wrapper_switch_runs_the_chosen_backend(name):
    args = K.example_args(name, "float64")
    a, b = copy.deepcopy(args), copy.deepcopy(args)
    with K.using("numpy"):
        assert K.backend() == "numpy"
        getattr(K, name)(*a)
    with K.using("numba"):
        getattr(K, name)(*b, parallel=False)
    for x, y in zip(_outs(name, a), _outs(name, b)):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


def test_a_wrong_backend_name_is_refused():
    with pytest.raises(ValueError, match="backend='cuda' is invalid: allowed one of 'numba', 'numpy'"):
        K.set_backend("cuda")


def test_written_arrays_must_be_contiguous_and_typed_inputs_are_converted():
    args = list(K.example_args("snap1_outer", "float64", B=3, n=4, K=5))
    G = np.asfortranarray(args[0])
    with pytest.raises(ValueError, match="snap1_outer: G is not a writeable C-contiguous array"):
        K.snap1_outer(G, *args[1:])
    with pytest.raises(ValueError, match="snap1_outer: grad has dtype float32: allowed float64"):
        K.snap1_outer(*args[:-1], args[-1].astype(np.float32))
    with pytest.raises(ValueError, match="snap1_outer: G has dtype int64: allowed float32/float64"):
        K.snap1_outer(args[0].astype(np.int64), *args[1:])
    with pytest.raises(ValueError, match="snap1_outer: J is complex"):
        K.snap1_outer(args[0], args[1] + 1j, *args[2:])
    # read-only inputs in another dtype or layout are converted, and the result is the same
    a, b = copy.deepcopy(args), copy.deepcopy(args)
    b[2] = np.asfortranarray(b[2].astype(np.float32).astype(np.float64))
    a[2] = b[2].copy(order="C")
    b[4] = b[4].astype(np.int32)
    K.snap1_outer(*a)
    K.snap1_outer(*b)
    np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        K.snap1_outer(*args[:-1])


RULE_CASES = [
    ("online_lru", dict(name="lru", n_in=3, n_out=2, n_hidden=6, width=5, n_layers=2), {}),
    ("snap1", dict(name="rnn", n_in=3, n_out=2, n_hidden=7, density=0.4), {}),
    ("rflo", dict(name="rnn", n_in=3, n_out=2, n_hidden=7, alpha=0.3), {"feedback": "random"}),
    ("eprop", dict(name="alif", n_in=3, n_out=2, n_hidden=8, n_alif=4, v_th=0.3, n_ref=1), {"reg_coeff": 1.0}),
    ("eprop", dict(name="lif", n_in=3, n_out=2, n_hidden=8, v_th=0.3), {"filter": False}),
    ("bptt", dict(name="alif", n_in=3, n_out=2, n_hidden=8, n_alif=4, v_th=0.3), {}),
    ("rtrl", dict(name="rnn", n_in=3, n_out=2, n_hidden=6, alpha=0.5), {}),
    ("snap2", dict(name="rnn", n_in=3, n_out=2, n_hidden=9, density=0.2), {}),
    ("snap", dict(name="rnn", n_in=3, n_out=2, n_hidden=9, density=0.15), {"n": 3}),
    ("uoro", dict(name="rnn", n_in=3, n_out=2, n_hidden=6), {"rank": 2}),
    ("uoro", dict(name="gru", n_in=3, n_out=2, n_hidden=5), {"equalize": False}),
    ("bptt", dict(name="gru", n_in=3, n_out=2, n_hidden=5, n_layers=2), {}),
    ("bptt", dict(name="lru", n_in=3, n_out=2, n_hidden=4, width=5, n_layers=2), {}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rule,model_kw,rule_kw", RULE_CASES)
def test_rules_give_the_same_gradients_on_both_backends(rule, model_kw, rule_kw, dtype):
    import neurosim as ns

    kw = dict(model_kw)
    model = ns.models.make(kw.pop("name"), dtype=dtype, **kw)
    params = model.init(0)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(25, 3, 3)) * (3.0 if model.kind in ("lif", "alif") else 1.0)
    ys = rng.normal(size=(25, 3, 2))
    out = {}
    for be in ("numpy", "numba"):
        with K.using(be):
            out[be] = ns.rules.total_gradient(ns.rules.make(rule, **rule_kw), model, params, xs, ys)
    tol = 1e-10 if dtype == "float64" else 2e-4
    for k in params:
        ref = out["numpy"][k]
        assert out["numba"][k].dtype == ref.dtype == params[k].dtype
        np.testing.assert_allclose(out["numba"][k], ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max()), err_msg=k)
    assert any(np.abs(v).max() > 0 for v in out["numpy"].values())


def test_training_is_the_same_on_both_backends():
    import neurosim as ns

    model = ns.models.make("lru", n_in=4, n_out=3, n_hidden=6, width=6)
    task = ns.tasks.make("copy", n_bits=3, pattern_len=3, pad=1)
    res = {}
    for be in ("numpy", "numba"):
        with K.using(be):
            res[be] = ns.train(model, ns.rules.make("online_lru"), task, steps=3, batch_size=4, progress=False)
    np.testing.assert_allclose(res["numba"].losses, res["numpy"].losses, rtol=1e-10)
    for k in res["numpy"].params:
        np.testing.assert_allclose(res["numba"].params[k], res["numpy"].params[k], rtol=1e-9, atol=1e-12)
