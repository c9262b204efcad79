"""Tasks (layouts from the sources, determinism), losses (against finite differences and
closed forms), optimizers (against hand-computed steps)."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns


def test_copy_task_layout_matches_zucchet():
    task = ns.tasks.make("copy", seed=3)
    b = task.batch(0, 4)
    assert b.xs.shape == (48, 4, 8) and b.ys.shape == (48, 4, 7) and task.T == 48
    assert np.array_equal(b.xs[27, :, 7], np.ones(4)) and b.xs[:, :, 7].sum() == 4  # stop at P + pad
    np.testing.assert_array_equal(b.ys[28:], b.xs[:20, :, :7])  # recall the pattern
    assert b.mask[28:].all() and not b.mask[:28].any()
    assert not b.xs[20:27].any() and not b.xs[28:].any()
    np.testing.assert_array_equal(task.batch(0, 4).xs, b.xs)  # deterministic by (seed, index)
    assert not np.array_equal(task.batch(1, 4).xs, b.xs)
    assert not np.array_equal(ns.tasks.make("copy", seed=4).batch(0, 4).xs, b.xs)


def test_copy_curriculum_grows_when_loss_is_low():
    task = ns.tasks.make("copy_curriculum", seed=0)
    b = task.batch(0, 8)
    assert b.xs.shape == (4, 8, 3) and task.L == 1
    task.update({"loss": 0.2 * np.log(2)})  # 0.2 bits: stays
    assert task.L == 1
    task.update({"loss": 0.1 * np.log(2)})  # 0.1 bits: grows
    assert task.L == 2
    task.L = 12
    b = task.batch(5, 16)
    for i in range(16):
        n = int(b.mask[:, i].sum())
        assert 7 <= n <= 12
        np.testing.assert_array_equal(b.ys[n + 2 : 2 * n + 2, i, 0], b.xs[1 : n + 1, i, 0])
        assert b.xs[0, i, 1] == 1 and b.xs[n + 1, i, 2] == 1


def test_anbn_stream_structure_and_continuity():
    task = ns.tasks.make("anbn", seed=0, T=50)
    b0, b1 = task.batch(0, 3), task.batch(1, 3)
    np.testing.assert_array_equal(b0.ys[-1], b1.xs[0])  # chunks continue the stream
    sym = np.concatenate([b0.xs.argmax(-1), b1.xs.argmax(-1)])[:, 0]
    text = "".join("ab\n"[s] for s in sym)
    for block in text.split("\n")[1:-2]:
        assert set(block) <= {"a"} or set(block) <= {"b"}
    blocks = text.split("\n")
    for a, bb in zip(blocks[1:-2:2], blocks[2:-2:2]):
        if set(a) == {"a"}:
            assert len(a) == len(bb) and 1 <= len(a) <= 32


def test_add_task_targets_follow_the_formula():
    task = ns.tasks.make("add", seed=0)
    b = task.batch(0, 5)
    x = b.xs[:, :, 0]
    y = 0.5 + 0.5 * x[2:-4] - 0.25 * x[:-6]
    np.testing.assert_allclose(b.ys[6:, :, 0], y)
    assert not b.mask[:6].any() and b.mask[6:].all()


def test_digits_are_the_bundled_images():
    task = ns.tasks.make("digits", seed=0)
    b = task.batch(0, 7)
    assert b.xs.shape == (64, 7, 1) and b.ys.shape == (64, 7, 10)
    assert 0 <= b.xs.min() and b.xs.max() <= 1
    assert task.test_batch().xs.shape[1] == 1797 - 1500


@pytest.mark.parametrize("name", ["mse", "bce", "ce"])
def test_loss_gradients_match_finite_differences(name):
    rng = np.random.default_rng(0)
    y = rng.normal(size=(4, 3))
    t = rng.random((4, 3))
    if name == "ce":
        t = t / t.sum(-1, keepdims=True)
    mask = np.array([1.0, 0.0, 1.0, 1.0])
    loss = ns.losses.get(name)
    _, dy = loss(y, t, mask)
    fd = np.zeros_like(y)
    for idx in np.ndindex(y.shape):
        e = np.zeros_like(y)
        e[idx] = 1e-6
        fd[idx] = (loss(y + e, t, mask)[0] - loss(y - e, t, mask)[0]) / 2e-6
    np.testing.assert_allclose(dy, fd, rtol=1e-6, atol=1e-10)
    assert not dy[1].any()


def test_loss_closed_forms():
    val, _ = ns.losses.get("bce")(np.zeros((2, 7)), np.ones((2, 7)))
    assert val == pytest.approx(np.log(2))  # logit 0: one bit per bit
    val, _ = ns.losses.get("ce")(np.zeros((1, 4)), np.eye(4)[[2]])
    assert val == pytest.approx(np.log(4))
    val, _ = ns.losses.get("mse")(np.ones((2, 2)), np.zeros((2, 2)))
    assert val == pytest.approx(1.0)  # ½ · 2 per sample, mean over 2 samples


def test_adam_first_steps_by_hand_and_rec_lr_factor():
    opt = ns.optim.adam(0.1, rec_lr_factor=0.5)
    params = {"a": np.array([1.0]), "b": np.array([1.0])}
    state = opt.init(params, {"a": "recurrent", "b": "other"})
    g = {"a": np.array([2.0]), "b": np.array([2.0])}
    params, state = opt.update(g, state, params)
    # step 1: m̂ = g, v̂ = g², step = g/|g| = 1 (up to eps)
    assert params["b"][0] == pytest.approx(0.9, abs=1e-7)
    assert params["a"][0] == pytest.approx(0.95, abs=1e-7)


def test_sgd_and_adamw_decay_only_other_parameters():
    p = {"a": np.array([2.0]), "b": np.array([2.0])}
    p1, _ = ns.optim.sgd(0.5).update({"a": np.array([1.0]), "b": np.array([0.0])}, ns.optim.sgd(0.5).init(p), p)
    assert p1["a"][0] == 1.5 and p1["b"][0] == 2.0
    opt = ns.optim.adamw(0.1, weight_decay=0.5)
    st = opt.init(p, {"a": "recurrent", "b": "other"})
    p2, _ = opt.update({"a": np.zeros(1), "b": np.zeros(1)}, st, p)
    assert p2["a"][0] == 2.0 and p2["b"][0] == pytest.approx(2.0 - 0.1 * 0.5 * 2.0)


def test_anbn_end_accuracy_scores_the_ends_of_the_b_runs_only():
    task = ns.tasks.make("anbn", seed=0, T=200)
    b = task.batch(0, 2)
    cur, nxt = b.xs.argmax(-1), b.ys.argmax(-1)
    ends = (cur == 1) & (nxt == 2)
    assert ends.sum() > 2
    perfect = b.ys * 10.0  # logits that predict every next symbol
    assert task.metrics(perfect, b)["end_accuracy"] == 1.0
    wrong = perfect.copy()
    wrong[ends] = np.eye(3)[1] * 10.0  # predicts one more 'b' at every end: counting fails there only
    m = task.metrics(wrong, b)
    assert m["end_accuracy"] == 0.0 and m["determined_accuracy"] < 1.0 and m["accuracy"] > 0.9
