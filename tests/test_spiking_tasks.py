"""The e-prop tasks: evidence accumulation (Fig. 3) and pattern generation (Fig. S7)."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns


def test_evidence_layout_rates_and_labels():
    task = ns.tasks.make("evidence", seed=3)
    assert (task.T, task.n_in, task.n_out) == (7 * 150 + 1050 + 150, 40, 2)
    b = task.batch(0, 64)
    assert b.xs.shape == (2250, 64, 40) and set(np.unique(b.xs)) <= {0.0, 1.0}
    np.testing.assert_array_equal(b.mask.sum(0), 150)
    assert np.all(b.mask[-150:] == 1) and np.all(b.mask[:-150] == 0)
    # noise group at 10 Hz throughout; recall group at 40 Hz in the last 150 ms only
    assert 8 < b.xs[:, :, 30:].mean() * 1000 < 12
    assert 35 < b.xs[-150:, :, 20:30].mean() * 1000 < 45 and b.xs[:-150, :, 20:30].sum() == 0
    # cues: 100 ms windows after 50 ms of silence; the label is the side with more cue spikes' windows
    left_win = np.array([[b.xs[c * 150 + 50 : c * 150 + 150, i, :10].sum() > 0 for c in range(7)] for i in range(64)])
    right_win = np.array(
        [[b.xs[c * 150 + 50 : c * 150 + 150, i, 10:20].sum() > 0 for c in range(7)] for i in range(64)]
    )
    assert not np.any(left_win & right_win)
    label = b.ys[-1].argmax(-1)
    decided = (left_win | right_win).all(1)  # every cue produced at least one spike
    assert decided.mean() > 0.9
    np.testing.assert_array_equal(label[decided], (left_win.sum(1) < 4)[decided].astype(int))
    assert b.xs[:50, :, :20].sum() == 0  # silence before the first cue
    # deterministic per (seed, index), different across indices
    np.testing.assert_array_equal(task.batch(0, 64).xs, b.xs)
    assert not np.array_equal(task.batch(1, 64).xs, b.xs)


def test_evidence_per_trial_side_probability_is_03_or_07():
    task = ns.tasks.make("evidence", n_cues=41, delay_ms=0, recall_ms=1, cue_ms=5, gap_ms=0, cue_hz=1000.0)
    b = task.batch(0, 400)
    left = np.array([[b.xs[c * 5 : c * 5 + 5, i, :10].any() for c in range(41)] for i in range(400)]).mean(1)
    # a mixture of two binomials around 0.3 and 0.7, nothing near 0.5
    assert np.mean(np.abs(left - 0.5) < 0.1) < 0.15
    assert abs(np.mean(left[left < 0.5]) - 0.3) < 0.03 and abs(np.mean(left[left > 0.5]) - 0.7) < 0.03


def test_evidence_accuracy_metric_and_bad_options():
    task = ns.tasks.make("evidence", n_cues=3, delay_ms=10, recall_ms=5)
    b = task.batch(0, 8)
    perfect = np.where(b.ys > 0.5, 5.0, -5.0)
    assert task.metrics(perfect, b)["accuracy"] == 1.0
    assert task.metrics(-perfect, b)["accuracy"] == 0.0
    with pytest.raises(ValueError, match="n_cues=4 is invalid: allowed an odd integer"):
        ns.tasks.make("evidence", n_cues=4)
    with pytest.raises(ValueError, match="cue_hz=-1"):
        ns.tasks.make("evidence", cue_hz=-1)


def test_pattern_is_frozen_and_made_of_four_sines():
    task = ns.tasks.make("pattern", seed=2)
    b0, b1 = task.batch(0, 3), task.batch(7, 3)
    np.testing.assert_array_equal(b0.xs, b1.xs)
    np.testing.assert_array_equal(b0.xs[:, 0], b0.xs[:, 2])
    assert 45 < b0.xs.mean() * 1000 < 55
    y = b0.ys[:, 0, 0]
    assert np.isclose(np.abs(y).max(), 1.0)
    power = np.abs(np.fft.rfft(y)) ** 2
    assert power[[1, 2, 3, 5]].sum() / power.sum() > 0.95  # periods 1000, 500, 333, 200 ms
    assert not np.allclose(ns.tasks.make("pattern", seed=3).y, task.y)
    assert task.metrics(b0.ys, b0)["nmse"] == 0.0
    assert np.isclose(task.metrics(np.zeros_like(b0.ys), b0)["nmse"], (y**2).mean() / y.var())
