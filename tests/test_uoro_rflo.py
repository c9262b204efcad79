"""UORO (Tallec & Ollivier 2018) and RFLO (Murray 2019) against their oracles: UORO is unbiased
(exhaustive sign enumeration, confidence intervals over seeds); RFLO = RTRL when W = 0 and = BPTT
for one step."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import build, data, grad, rel_err

import neurosim as ns


def _cell_keys(model):
    return list(model.cell_param_names(0))


def test_rank_one_trick_is_exact_over_all_sign_vectors():
    rng = np.random.default_rng(0)
    vs, ws, rhos = rng.normal(size=(3, 4)), rng.normal(size=(3, 5)), rng.uniform(0.2, 3, 3)
    mean = np.mean(
        [ns.rules.rank_one_trick(vs, ws, np.array(s), rhos) for s in itertools.product((-1, 1), repeat=3)], 0
    )
    np.testing.assert_allclose(mean, vs.T @ ws, rtol=1e-12, atol=1e-12)
    one = ns.rules.rank_one_trick(vs, ws, np.ones(3), rhos)
    assert np.linalg.norm(one - vs.T @ ws) > 1e-3  # a single draw is not the sum


def test_uoro_enumeration_gives_the_exact_gradient():
    """2 units, 3 steps: the mean over all 2^6 sign patterns is RTRL to machine precision,
    and no single pattern is."""
    model = build("rnn", n_hidden=2, n_in=1, n_out=1)
    params = model.init(0)
    xs, ys = data(model, T=3, B=1)
    exact = grad("rtrl", model, params, xs, ys)
    keys = _cell_keys(model)
    ests = []
    for bits in itertools.product((-1.0, 1.0), repeat=6):
        signs = np.array(bits).reshape(3, 1, 1, 2)
        ests.append(grad("uoro", model, params, xs, ys, signs=signs))
    mean = {k: np.mean([e[k] for e in ests], 0) for k in keys}
    assert rel_err(mean, exact, keys) < 1e-12
    assert min(rel_err(e, exact, keys) for e in ests) > 1e-6


def _samples(model, params, xs, ys, n, **kw):
    keys = _cell_keys(model)
    return np.array(
        [np.concatenate([grad("uoro", model, params, xs, ys, seed=s, **kw)[k].ravel() for k in keys]) for s in range(n)]
    )


@pytest.fixture(scope="module")
def small_problem():
    model = build("rnn", n_hidden=3, n_in=2, n_out=1, alpha=0.5)
    params = model.init(2)
    xs, ys = data(model, T=4, B=512, seed=4)  # 512 sequences, each with its own signs
    exact = grad("rtrl", model, params, xs, ys)
    g = np.concatenate([exact[k].ravel() for k in _cell_keys(model)])
    return model, params, xs, ys, g


def test_uoro_is_unbiased_by_confidence_intervals(small_problem):
    """64 seeds, 8 unit directions (g's own and 7 random), z = 3.5 (Bonferroni for 8 tests);
    non-vacuous (sd/√N ≤ 0.25‖g‖); the same samples reject a reference scaled by 1.15."""
    model, params, xs, ys, g = small_problem
    S = _samples(model, params, xs, ys, 64)
    dirs = np.random.default_rng(9).normal(size=(8, g.size))
    dirs[0] = g
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    proj = S @ dirs.T  # (64, 8)
    se = proj.std(0, ddof=1) / np.sqrt(64)
    half = 3.5 * se
    assert np.all(se <= 0.25 * np.linalg.norm(g))  # the test has power
    assert np.all(np.abs(proj.mean(0) - dirs @ g) <= half)
    assert np.any(np.abs(proj.mean(0) - dirs @ (1.15 * g)) > half)  # negative control
    # Two seeds give different estimates, and none equals the exact gradient.
    assert not np.allclose(S[0], S[1]) and np.linalg.norm(S[0] - g) > 1e-3 * np.linalg.norm(g)


def test_norm_equalisation_lowers_variance(small_problem):
    model, params, xs, ys, g = small_problem
    eq = ((_samples(model, params, xs, ys, 64) - g) ** 2).sum(1)
    plain = ((_samples(model, params, xs, ys, 64, equalize=False) - g) ** 2).sum(1)
    # Paired comparison (common random numbers): mean squared error is lower with ρ0, ρ1.
    d = plain - eq
    assert d.mean() > 2.5 * d.std(ddof=1) / np.sqrt(64)


def test_rank_k_variance_falls_roughly_as_one_over_k(small_problem):
    model, params, xs, ys, g = small_problem
    mse = {k: ((_samples(model, params, xs, ys, 48, rank=k) - g) ** 2).sum(1).mean() for k in (1, 4)}
    assert 2.0 < mse[1] / mse[4] < 8.0  # 4 expected; wide band: 48 seeds of a heavy-tailed error


def test_uoro_state_is_n_plus_p():
    model = ns.models.make("rnn", n_in=8, n_out=1, n_hidden=64)
    assert ns.rules.make("uoro").memory_floats(model) == 64 + 64 * (64 + 8 + 1)
    assert ns.rules.make("uoro", rank=3).memory_floats(model) == 3 * (64 + 4672)


def test_rflo_equals_rtrl_when_w_is_zero():
    model = build("rnn_leaky")
    params = model.init(0)
    params["layer0.W"] = np.zeros_like(params["layer0.W"])
    xs, ys = data(model, T=25)
    assert rel_err(grad("rflo", model, params, xs, ys), grad("rtrl", model, params, xs, ys)) <= 1e-10


def test_rflo_one_step_equals_bptt_and_many_steps_differ():
    model = build("rnn_leaky")
    params = model.init(0)
    xs, ys = data(model, T=1)
    assert rel_err(grad("rflo", model, params, xs, ys), grad("bptt", model, params, xs, ys)) <= 1e-12
    xs, ys = data(model, T=25)
    assert rel_err(grad("rflo", model, params, xs, ys), grad("bptt", model, params, xs, ys)) > 1e-2


def test_rflo_random_feedback_with_b_equal_to_w_out_is_symmetric(monkeypatch):
    model = build("rnn_leaky")
    params = model.init(0)
    xs, ys = data(model, T=15)
    sym = grad("rflo", model, params, xs, ys)
    rule = ns.rules.make("rflo", feedback="random")
    rnd = ns.rules.total_gradient(rule, model, params, xs, ys)
    assert rel_err(rnd, sym, _cell_keys(model)) > 1e-2  # a random B is not W_out
    monkeypatch.setattr(type(rule), "feedback_matrix", lambda self, m: params["dec.W"])
    assert rel_err(ns.rules.total_gradient(rule, model, params, xs, ys), sym) <= 1e-12


def test_uoro_rflo_bad_options():
    with pytest.raises(ValueError, match=r"rank=0"):
        ns.rules.make("uoro", rank=0)
    with pytest.raises(ValueError, match=r"feedback='mirror'.*'random', 'symmetric'"):
        ns.rules.make("rflo", feedback="mirror")
    with pytest.raises(ValueError, match=r"signs="):
        ns.rules.make("uoro", signs=np.zeros((2, 1, 1, 2)))
    gru = ns.models.make("gru", n_in=2, n_out=1)
    with pytest.raises(ValueError, match=r"rule 'rflo' cannot train model 'gru'"):
        ns.rules.make("rflo").init(gru, gru.init(0), 1)


def test_rflo_on_an_lru_is_snap1_and_random_feedback_differs():
    model = ns.models.make("lru", n_in=3, n_out=2, n_hidden=4, width=3, encoder=False, norm=False)
    params = model.init(0)
    rng = np.random.default_rng(1)
    xs, ys = rng.normal(size=(15, 2, 3)), rng.normal(size=(15, 2, 2))
    snap = grad("snap1", model, params, xs, ys)
    assert rel_err(grad("rflo", model, params, xs, ys), snap) <= 1e-12
    assert rel_err(grad("rflo", model, params, xs, ys, feedback="random"), snap) > 0.1
