"""Figures of a chip run (``chip.ChipRun``): cycles per core by phase, energy per step by phase,
and the learning curve in the chip's formats beside float. Each takes ``ax=None``, returns the
axes and never calls ``plt.show()``; colours are the Okabe–Ito palette (colour-blind safe)."""

from __future__ import annotations

import numpy as np

from .plots import _smooth

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _axes(ax, size=(6.4, 3.6)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size, constrained_layout=True)
    return ax


def plot_cycles_by_core(run, ax=None, title: str | None = None):
    """Mean cycles per chip timestep on each core, stacked by phase."""
    ax = _axes(ax)
    mean = run.cycles.mean(axis=0)  # cores × phases
    x = np.arange(mean.shape[0])
    bottom = np.zeros(mean.shape[0])
    for i, ph in enumerate(run.phases):
        if mean[:, i].any():
            ax.bar(x, mean[:, i], bottom=bottom, color=OKABE_ITO[i % len(OKABE_ITO)], label=ph, width=0.8)
            bottom += mean[:, i]
    ax.set_xticks(x, [str(c) for c in run.cores])
    ax.set_xlabel("core")
    ax.set_ylabel("cycles per timestep (mean)")
    ax.set_title(title or f"{run.rule} on {run.profile}: cycles per core by phase")
    # below the axes: stacked bars start at zero, a legend inside would cover the first cores'
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    return ax


def plot_energy_by_phase(run, ax=None, title: str | None = None, smooth: int = 1):
    """Energy per chip timestep (nJ, all cores), stacked by phase, against the timestep."""
    ax = _axes(ax)
    per = run.energy.sum(axis=1) / 1e3  # steps × phases, nJ
    keep = [i for i in range(per.shape[1]) if per[:, i].any()]
    series = [_smooth(per[:, i], smooth) for i in keep]
    t = np.arange(len(series[0])) if series else np.arange(0)
    colors = ["#BBBBBB" if run.phases[i] == "static" else OKABE_ITO[i % 7] for i in keep]  # static in grey
    if series:
        ax.stackplot(t, *series, labels=[run.phases[i] for i in keep], colors=colors)
    ax.set_xlabel("chip timestep")
    ax.set_ylabel("energy per timestep (nJ)")
    ax.set_title(title or f"{run.rule} on {run.profile}: energy per timestep by phase")
    # below the axes: a stack fills the plot from the bottom up, a legend inside would cover it
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    return ax


def plot_float_vs_chip(float_losses, chip_losses, ax=None, title: str | None = None, smooth: int = 10, labels=None):
    """Loss per iteration of the same run in float and in the chip's number formats."""
    ax = _axes(ax)
    labels = labels or ("float", "chip formats")
    for losses, label, color in zip((float_losses, chip_losses), labels, OKABE_ITO[:2]):
        y = np.asarray(losses, float)
        ax.plot(np.arange(len(y)), y, color=color, alpha=0.25, lw=0.8)
        ys = _smooth(y, smooth)
        ax.plot(np.arange(len(ys)) + (len(y) - len(ys)), ys, color=color, lw=1.8, label=label)
    ax.set_xlabel("iteration (batch)")
    ax.set_ylabel("loss")
    ax.set_title(title or "learning curve: float against the chip's formats")
    ax.legend(fontsize=8)
    return ax
