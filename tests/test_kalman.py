"""Kalman NoBackTrack (Ollivier, Tallec & Charpiat 2015; Ollivier 2018, "Online natural gradient as a
Kalman filter"): the diagonal EKF / online natural gradient of ``ns.optim.kalman``."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns


def regression(opt, steps, seed=0, fisher="exact"):
    """Online linear-Gaussian regression y = w*·x + σε, ℓ = ½(y − w·x)², independent features."""
    rng = np.random.default_rng(seed)
    d, sigma = 5, 0.5
    w_star = rng.normal(size=d)
    scale = np.array([0.3, 1.0, 2.0, 0.5, 1.5])
    params = {"w": np.zeros(d)}
    st = opt.init(params)
    errs = {}
    for t in range(1, steps + 1):
        x = rng.normal(size=d) * scale
        y = w_star @ x + sigma * rng.normal()
        g = (params["w"] @ x - y) * x
        params, st = opt.update({"w": g}, st, params, fisher={"w": x * x} if fisher == "exact" else None)
        errs[t] = float(np.linalg.norm(params["w"] - w_star))
    return errs


def test_exact_ekf_converges_to_the_known_solution():
    errs = regression(ns.optim.kalman("ekf", t0=1.0), 20000)
    assert errs[20000] < 0.05  # ‖w − w*‖ (‖w*‖ ≈ 2)
    assert errs[20000] < errs[1000] / 3 < errs[100] / 3  # still shrinking, like 1/√t
    # the empirical Fisher (rule-agnostic) converges too
    assert regression(ns.optim.kalman("ekf", t0=1.0), 20000, fisher="empirical")[20000] < 0.05


def test_fading_memory_stays_in_a_noise_ball_that_shrinks_with_gamma():
    big = regression(ns.optim.kalman(0.05), 5000)
    small = regression(ns.optim.kalman(0.005), 5000)
    tail = lambda e: np.mean([e[t] for t in range(4000, 5001)])  # noqa: E731
    assert tail(small) < tail(big) / 1.6  # measured ratio ≈ 2 for a 10× smaller γ
    assert tail(big) < 0.5


def _uoro_online(opt, seed, T=2000):
    """A student RNN learns a teacher RNN online (batch 1, update every step) with UORO."""
    model = ns.models.make("rnn", n_in=2, n_out=1, n_hidden=8)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(T, 1, 2))
    ys = model.run(model.init(100), xs) + 0.1 * rng.normal(size=(T, 1, 1))
    rule = ns.rules.make("uoro", seed=seed)
    params = model.init(1)
    st = opt.init(params, model.param_groups())
    rs = rule.init(model, params, 1)
    traj, losses = [], []
    for t in range(T):
        rs, g, loss = rule.step(model, params, rs, xs[t], ys[t])
        f = rule.fisher(model, params, rs) if opt.kind == "kalman" else None
        params, st = opt.update(g, st, params, fisher=f)
        traj.append(np.concatenate([v.ravel() for v in params.values()]))
        losses.append(loss)
    tail = np.array(traj[T // 2 :])
    jitter = float(np.var(np.diff(tail, axis=0), axis=0).mean())  # step-to-step variance
    return jitter, float(np.mean(losses[T // 2 :]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kalman_lowers_trajectory_variance_at_a_large_learning_rate(seed):
    lr = 0.2
    j_sgd, l_sgd = _uoro_online(ns.optim.sgd(lr), seed)
    j_kal, l_kal = _uoro_online(ns.optim.kalman(gamma=lr, damping=1.0), seed)
    assert np.isfinite(j_sgd) and np.isfinite(j_kal)
    assert j_kal < 0.5 * j_sgd, (j_kal, j_sgd)
    assert l_kal < l_sgd, (l_kal, l_sgd)  # and it learns no worse


def test_uoro_fisher_of_the_readout_is_exact():
    model = ns.models.make("rnn", n_in=2, n_out=3, n_hidden=4)
    params = model.init(0)
    rule = ns.rules.make("uoro")
    rs = rule.init(model, params, 2)
    rs, _, _ = rule.step(model, params, rs, np.ones((2, 2)), np.zeros((2, 3)))
    F = rule.fisher(model, params, rs)
    h = rs.model.h[0]
    np.testing.assert_allclose(F["dec.W"], np.broadcast_to((h * h).mean(0), (3, 4)))
    assert F["layer0.W"].shape == (4, 4) and np.all(F["layer0.W"] >= 0)


def test_kalman_bad_options():
    with pytest.raises(ValueError, match="gamma=1.5"):
        ns.optim.kalman(1.5)
    with pytest.raises(ValueError, match="gamma='fast'"):
        ns.optim.kalman("fast")
    with pytest.raises(ValueError, match="pi0=0"):
        ns.optim.kalman(pi0=0)
    with pytest.raises(ValueError, match="damping=-1"):
        ns.optim.kalman(damping=-1)


def test_train_feeds_the_rules_fisher_to_kalman():
    model = ns.models.make("rnn", n_in=2, n_out=2, n_hidden=4)
    task = ns.tasks.make("add", T=12)
    seen = []

    class Spy(ns.optim.Kalman):
        def update(self, grads, state, params, fisher=None):
            seen.append(fisher)
            return super().update(grads, state, params, fisher)

    res = ns.train(
        model,
        ns.rules.make("uoro", output_noise="softmax"),
        task,
        Spy(gamma=0.05, damping=1.0),
        steps=2,
        batch_size=2,
        update_every=1,
        progress=False,
    )
    assert np.all(np.isfinite(res.losses)) and len(seen) == 24
    assert set(seen[0]) == {"dec.W", "dec.b", "layer0.W", "layer0.U", "layer0.b"}
