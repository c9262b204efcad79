"""The shipped figure functions: each draws on the axes it is given (or makes its own), returns
them, never calls ``plt.show()``, labels both axes and titles the plot, and draws what the result
holds (the values read back from the artists against the result's own numbers)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

import neurosim as ns
from neurosim.experiments import gradient_quality
from neurosim.report import chip_plots, mapping_plots, plots

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def run():
    task = ns.tasks.make("copy", seed=0, pattern_len=3, pad=1)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=6, width=8, n_layers=2)
    return ns.chip.simulate(model, ns.rules.make("online_lru"), task, "loihi2", steps=3, batch_size=2)


def _fresh_ax():
    from matplotlib.figure import Figure

    return Figure().add_subplot()


def _labelled(ax):
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), (ax.get_title(), ax.get_xlabel(), ax.get_ylabel())


def test_every_figure_function_draws_on_the_given_axes_and_labels_them(run, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("a figure function called plt.show()"))
    lru = lambda n: ns.models.make("lru", n_in=4, n_out=2, n_hidden=n, width=n)  # noqa: E731
    mapped = ns.mapping.map_network(
        ns.models.make("rnn", n_in=4, n_out=2, n_hidden=80), "loihi", ns.rules.make("snap1")
    )
    loihi = ns.hardware.load_profile("loihi")
    study = gradient_quality.run(gradient_quality.default_settings(quick=True),
                                                progress=None)  # fmt: skip
    calls = [
        lambda ax: plots.plot_learning_curve([{"loss": 1.0}, {"loss": 0.5}], ax=ax),
        lambda ax: plots.plot_memory_vs_hidden(
            lru, {"online_lru": ns.rules.make("online_lru")}, "loihi2", [8, 16], ax=ax
        ),  # fmt: skip
        lambda ax: plots.plot_gradient_similarity(study, ax=ax),
        lambda ax: plots.plot_raster(np.eye(5), ax=ax),
        lambda ax: chip_plots.plot_cycles_by_core(run, ax=ax),
        lambda ax: chip_plots.plot_cycles_mesh(run, ax=ax),
        lambda ax: chip_plots.plot_energy_by_phase(run, ax=ax),
        lambda ax: chip_plots.plot_float_vs_chip([1.0, 0.5], run.losses, ax=ax),
        lambda ax: mapping_plots.plot_mesh(mapped, loihi, ax=ax),
        lambda ax: mapping_plots.plot_region_bars(mapped, loihi, ax=ax),
    ]
    for call in calls:
        ax = _fresh_ax()
        assert call(ax) is ax
        _labelled(ax)
    before = plt.get_fignums()
    ax = plots.plot_raster(np.eye(3))  # without axes: a figure of its own
    assert ax.figure.number not in before
    plt.close(ax.figure)


def test_the_mesh_heat_map_shows_each_cores_mean_cycles(run):
    ax = chip_plots.plot_cycles_mesh(run, ax=_fresh_ax())
    mean = np.asarray(run.cycles, float).mean(axis=0).sum(axis=1)  # cores × phases → cores
    shown = sorted(float(t.get_text().split("\n")[0].replace(",", "")) for t in ax.texts)
    assert shown == pytest.approx(sorted(np.round(mean)), abs=0.5)
    cells = {p.get_gid(): p for p in ax.patches if p.get_gid()}
    assert set(cells) == {f"core {c}" for c in run.cores}
    one = chip_plots.plot_cycles_mesh(run, phase=run.phases[0], ax=_fresh_ax())  # one phase: its own numbers
    assert "error" not in one.texts[0].get_text() or run.phases[0] == "error"
    with pytest.raises(ValueError, match="phase='nosuch': allowed one of"):
        chip_plots.plot_cycles_mesh(run, phase="nosuch", ax=_fresh_ax())


def test_the_raster_draws_every_spike_and_the_cut_drops_the_rest():
    rng = np.random.default_rng(0)
    spikes = rng.random((50, 30)) < 0.1
    ax = plots.plot_raster(spikes, ax=_fresh_ax(), dt_ms=0.5, groups={"a": (0, 10), "b": (10, 30)})
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    assert len(points) == spikes.sum()
    t, i = np.nonzero(spikes)
    assert sorted(map(tuple, points)) == sorted(zip(t * 0.5, i.astype(float)))
    cut = plots.plot_raster(spikes, ax=_fresh_ax(), max_units=10)  # control: units ≥ 10 left out
    assert sum(len(c.get_offsets()) for c in cut.collections) == spikes[:, :10].sum() < spikes.sum()
    pairs = plots.plot_raster((t, i), ax=_fresh_ax())  # the (step, unit) form: the same spikes
    assert sum(len(c.get_offsets()) for c in pairs.collections) == spikes.sum()
    with pytest.raises(ValueError, match="allowed \\(steps, units\\)"):
        plots.plot_raster(np.zeros(5), ax=_fresh_ax())


def test_memory_against_size_draws_each_rules_fullest_core_and_the_capacity():
    prof = ns.hardware.load_profile("loihi")
    rnn = lambda n: ns.models.make("rnn", n_in=4, n_out=2, n_hidden=n)  # noqa: E731
    rules = {"snap1": ns.rules.make("snap1"), "rtrl": ns.rules.make("rtrl")}
    sizes = [4, 8, 16, 32]
    ax = plots.plot_memory_vs_hidden(rnn, rules, prof, sizes, region="synapse", ax=_fresh_ax())
    lines = {ln.get_label(): ln for ln in ax.lines if not ln.get_label().startswith("_")}
    assert set(lines) == set(rules)
    for label, rule in rules.items():
        want = [max(r.used_bits for r in ns.hardware.budget(rnn(n), rule, prof).regions if r.region == "synapse")
                for n in sizes]  # fmt: skip
        assert list(lines[label].get_ydata()) == want
    cap = next(s.capacity_bits for s in prof.srams if s.name == "synapse")
    assert any(list(ln.get_ydata()) == [cap, cap] for ln in ax.lines)  # the capacity line
    assert lines["rtrl"].get_ydata()[-1] > lines["snap1"].get_ydata()[-1]  # n³ above n²
    with pytest.raises(ValueError, match="region='nosuch': allowed one of"):
        plots.plot_memory_vs_hidden(rnn, rules, prof, sizes, region="nosuch", ax=_fresh_ax())


def test_the_sweep_figures_draw_every_group_of_the_summary():
    import json
    from pathlib import Path

    from neurosim.sweep.summary import plot_frontier, plot_summary

    root = Path(__file__).parents[1] / "results" / "sweeps"
    digits = json.loads((root / "zucchet_digits" / "summary.json").read_text())
    ax = plot_summary(digits, ax=_fresh_ax())
    _labelled(ax)
    means = sorted(round(float(y), 9) for c in ax.containers for y in c.lines[0].get_ydata())  # errorbar data
    want = sorted(round(g["metrics"]["test_accuracy"]["mean"], 9) for g in digits["groups"])
    assert means == want  # one point per group, at its mean
    front = [json.loads((root / n / "summary.json").read_text()) for n in ("frontier_lru", "frontier_lif")]
    ax = plot_frontier(front, ax=_fresh_ax())
    _labelled(ax)
    assert len(ax.containers) == sum(len(s["groups"]) for s in front)  # a point per group


def test_the_loss_curves_draw_one_line_per_cell():
    from pathlib import Path

    import neurosim as ns
    from neurosim.sweep import runner
    from neurosim.sweep.summary import plot_curves

    root = Path(__file__).parents[1]
    spec = ns.sweep.load(root / "examples" / "sweeps" / "uoro_anbn.toml")
    recs = [runner.read_record(root / "results" / "sweeps" / "uoro_anbn", c.id) for c in spec.cells]
    ax = plot_curves(recs, "optimizer.name", ax=_fresh_ax())
    _labelled(ax)
    assert len(ax.lines) == len(recs) == 6
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["optimizer = adam", "optimizer = kalman"]
