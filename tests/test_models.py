"""Model pieces against oracles: the closed-form Jacobian diagonal and JVP against the dense
Jacobian from basis VJPs, the VJPs against finite differences, the LRU initialisation law."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import build

import neurosim as ns
from neurosim.models import jacobians


def _step_cache(model, B=3, seed=0):
    rng = np.random.default_rng(seed)
    params = model.init(1)
    cell = model.blocks[0].cell
    p = model.layer_params(params, 0)
    h = rng.normal(size=(B, cell.n_state)) * 0.5
    u = rng.normal(size=(B, cell.n_in))
    return cell, p, h, u


@pytest.mark.parametrize("key", ["rnn", "rnn_leaky", "gru", "lru"])
def test_jacobian_pieces_agree(key):
    model = build(key)
    cell, p, h, u = _step_cache(model)
    _, cache = cell.step(p, h, u)
    J, _ = jacobians(cell, p, cache, want_m=False)
    blk = cell.jac_blockdiag(p, cache)
    U, s = cell.n_units, cell.slots
    for a in range(s):
        for b in range(s):
            np.testing.assert_allclose(
                blk[:, :, a, b], J[:, a * U + np.arange(U), b * U + np.arange(U)], rtol=1e-12, atol=1e-14
            )
    v = np.random.default_rng(2).normal(size=h.shape)
    np.testing.assert_allclose(cell.jvp(p, cache, v), np.einsum("bkl,bl->bk", J, v), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("key", ["rnn", "rnn_leaky", "gru", "lru"])
def test_cell_jacobian_matches_finite_differences(key):
    model = build(key)
    cell, p, h, u = _step_cache(model)
    _, cache = cell.step(p, h, u)
    J, _ = jacobians(cell, p, cache, want_m=False)
    eps = 1e-6
    for l in range(cell.n_state):
        e = np.zeros_like(h)
        e[:, l] = eps
        col = (cell.step(p, h + e, u)[0] - cell.step(p, h - e, u)[0]) / (2 * eps)
        np.testing.assert_allclose(J[:, :, l], col, rtol=1e-7, atol=1e-8)


def test_lru_init_follows_the_ring_law():
    model = ns.models.make("lru", n_in=2, n_out=1, n_hidden=2000, width=4, r_min=0.5, r_max=0.9, max_phase=3.14)
    cell = model.blocks[0].cell
    p = model.layer_params(model.init(0), 0)
    lam = cell.lam(p)
    r = np.abs(lam)
    assert r.min() >= 0.5 - 1e-9 and r.max() <= 0.9 + 1e-9
    # |λ|² is uniform on [r_min², r_max²] (uniform on the ring's area): check its mean.
    assert np.mean(r**2) == pytest.approx((0.25 + 0.81) / 2, abs=0.02)
    assert np.all(np.angle(lam) % (2 * np.pi) <= 3.14 + 1e-9)
    np.testing.assert_allclose(cell.gamma(p), np.sqrt(1 - r**2), rtol=1e-10)


def test_dtype_is_kept_through_steps():
    for name, kw in (("rnn", {}), ("gru", {}), ("lru", {"width": 4})):
        model = ns.models.make(name, n_in=3, n_out=2, n_hidden=4, dtype="float32", **kw)
        params = model.init(0)
        assert all(v.dtype == np.float32 for v in params.values())
        y = model.run(params, np.ones((5, 2, 3)))
        assert y.dtype == np.float32


def test_density_gives_a_fixed_mask_that_gradients_respect():
    model = ns.models.make("rnn", n_in=2, n_out=1, n_hidden=20, density=0.25, structure_seed=4)
    mask = model.blocks[0].cell.masks["W"]
    assert mask.sum() == 100
    params = model.init(0)
    assert not np.any(params["layer0.W"][~mask])
    xs = np.random.default_rng(0).normal(size=(10, 2, 2))
    g = ns.rules.total_gradient(ns.rules.make("bptt"), model, params, xs, np.zeros((10, 2, 1)) + 1)
    assert not np.any(g["layer0.W"][~mask]) and np.any(g["layer0.W"][mask])
    again = ns.models.make("rnn", n_in=2, n_out=1, n_hidden=20, density=0.25, structure_seed=4)
    assert np.array_equal(again.blocks[0].cell.masks["W"], mask)


def test_pool_st_mean_forward_is_running_mean_backward_is_identity():
    model = ns.models.make("gru", n_in=2, n_out=3, n_hidden=4, pool="st_mean")
    plain = ns.models.make("gru", n_in=2, n_out=3, n_hidden=4)
    params = model.init(0)
    xs = np.random.default_rng(0).normal(size=(6, 2, 2))
    # Forward: the decoder sees the running mean of the top layer's outputs.
    hs, state = [], plain.initial_state(2)
    for x in xs:
        state, _, _ = plain.forward(params, state, x)
        hs.append(state.h[0])
    expect = np.cumsum(hs, 0) / np.arange(1, 7)[:, None, None] @ params["dec.W"].T + params["dec.b"]
    np.testing.assert_allclose(model.run(params, xs), expect, rtol=1e-12)
    # Backward: the same gradient for the decoder input as without pooling, at fixed caches.
    s = model.initial_state(2)
    s, y, cache = model.forward(params, s, xs[0])
    _, _, err = model.vjp(params, cache, np.ones_like(y))
    np.testing.assert_allclose(err[0], np.ones_like(y) @ params["dec.W"], rtol=1e-12)
