"""Figures of a chip run: each draws what its title says, labels its axes with units, returns the
axes it drew on and never shows a window."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import neurosim as ns  # noqa: E402
from neurosim.report.chip_plots import plot_cycles_by_core, plot_energy_by_phase, plot_float_vs_chip  # noqa: E402


def _run():
    task = ns.tasks.make("copy", seed=0, pattern_len=2, pad=0, n_bits=2)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=4, width=4, n_layers=2)
    return ns.chip.simulate(model, ns.rules.make("online_lru"), task, "loihi2", steps=2, seed=0)


def test_chip_figures_draw_their_data_with_units_and_titles(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: (_ for _ in ()).throw(AssertionError("plt.show called")))
    run = _run()
    ax = plot_cycles_by_core(run)
    heights = {}
    for bar in ax.patches:
        x = round(bar.get_x() + bar.get_width() / 2)
        heights[x] = heights.get(x, 0.0) + bar.get_height()
    assert np.allclose([heights[i] for i in range(len(run.cores))], run.cycles.mean(axis=0).sum(axis=1))
    assert "cycles" in ax.get_ylabel() and ax.get_xlabel() == "core" and "loihi2" in ax.get_title()
    _, given = plt.subplots()
    ax = plot_energy_by_phase(run, ax=given)
    assert ax is given and "(nJ)" in ax.get_ylabel() and "timestep" in ax.get_xlabel()
    top = max(c.get_paths()[0].vertices[:, 1].max() for c in ax.collections)  # the stack's top edge
    assert np.isclose(top, run.energy.sum(axis=(1, 2)).max() / 1e3)
    ax = plot_float_vs_chip([1.0, 0.5, 0.25], run.losses, smooth=1)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["float", "chip formats"]
    assert ax.get_ylabel() == "loss" and "iteration" in ax.get_xlabel()
    plt.close("all")
