"""e-prop (random feedback) trains an LIF/ALIF network on evidence accumulation (slow: ~6 min)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurosim as ns
from neurosim import config


@pytest.mark.slow
def test_eprop_alif_learns_evidence_accumulation_well_above_chance():
    cfg = config.load(Path(__file__).parents[1] / "examples" / "eprop_alif_evidence.toml")
    model, rule, task, opt, kw = config.build(cfg)
    assert (model.n, model.n_alif, task.T, rule.feedback) == (100, 50, 2250, "random")
    kw["steps"] = 150
    res = ns.train(model, rule, task, opt, progress=False, **kw)
    acc = res.metric("accuracy")
    assert np.mean(acc[:10]) < 0.7  # starts near chance (0.5)
    assert np.mean(acc[-20:]) > 0.75, acc[-20:]  # measured 0.90 over iterations 150-200
    rates = res.metric("rate_hz")
    assert 3 < np.mean(rates[-20:]) < 30  # the regulariser keeps rates near 10 Hz
