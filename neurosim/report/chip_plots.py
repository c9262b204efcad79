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


def plot_cycles_mesh(run, profile=None, phase: str | None = None, ax=None, title: str | None = None):
    """Mean cycles per chip timestep of each core as a heat map over the chip's mesh (the tiles
    the run uses, with a margin of one): ``phase`` one of ``run.phases``, default all of them
    summed; each cell is labelled with its cycles and, for the sum, its busiest phase. ``profile``:
    a ``Profile`` or a name (default ``run.profile``) for the mesh and the cores per tile. The
    critical core (the one that ends the most timesteps) is outlined."""
    import matplotlib as mpl
    from matplotlib.patches import Rectangle

    from ..hardware import load_profile
    from .mapping_plots import CMAP, EMPTY, core_cells

    prof = load_profile(profile or run.profile) if not hasattr(profile, "chip") else profile
    if phase is not None and phase not in run.phases:
        raise ValueError(f"phase={phase!r}: allowed one of {list(run.phases)} (or None: all phases summed)")
    mean = np.asarray(run.cycles, float).mean(axis=0)  # cores × phases
    value = mean.sum(axis=1) if phase is None else mean[:, run.phases.index(phase)]
    index = {int(c): i for i, c in enumerate(run.cores)}
    cells = core_cells(run.layout, int(prof.chip.cores_per_tile))
    tiles = [(c.x, c.y) for c in run.layout.cores]
    W, H = int(prof.chip.mesh_width), int(prof.chip.mesh_height)
    x_lo, x_hi = max(0, min(x for x, _ in tiles) - 1), min(W - 1, max(x for x, _ in tiles) + 1)
    y_lo, y_hi = max(0, min(y for _, y in tiles) - 1), min(H - 1, max(y for _, y in tiles) + 1)
    w, h = x_hi - x_lo + 1, y_hi - y_lo + 1
    ax = _axes(ax, size=(min(max(2.6 + 1.1 * w, 5.0), 14.0), min(max(1.6 + 1.0 * h, 3.6), 12.0)))
    peak = float(value.max()) if value.size and value.max() > 0 else 1.0
    cmap, norm = mpl.colormaps[CMAP], mpl.colors.Normalize(0.0, peak)
    for x in range(x_lo, x_hi + 1):
        for y in range(y_lo, y_hi + 1):
            ax.add_patch(Rectangle((x - 0.47, y - 0.47), 0.94, 0.94, facecolor=EMPTY, edgecolor="#999999", lw=0.6))
    crit = np.asarray(run.critical_core).reshape(-1)
    busiest_core = int(np.bincount(crit).argmax()) if crit.size and crit.min() >= 0 else None
    for core, (x0, y0, cw, ch) in cells.items():
        i = index.get(int(core))
        v = float(value[i]) if i is not None else 0.0
        edge, lw = ("black", 2.0) if core == busiest_core else ("white", 1.0)
        ax.add_patch(Rectangle((x0, y0), cw, ch, facecolor=cmap(norm(v)), edgecolor=edge, lw=lw, gid=f"core {core}"))
        label = f"{v:,.0f}"
        if phase is None and i is not None and mean[i].any():
            label += "\n" + run.phases[int(mean[i].argmax())]
        ax.text(x0 + cw / 2, y0 + ch / 2, label, ha="center", va="center", fontsize=6,
                color="white" if norm(v) < 0.6 else "black")  # fmt: skip
    sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
    bar = ax.figure.colorbar(sm, ax=ax, shrink=0.85, pad=0.02)
    bar.set_label(f"cycles per timestep (mean, {phase or 'all phases'})")
    ax.set_xlim(x_lo - 0.6, x_hi + 0.4)
    ax.set_ylim(y_lo - 0.6, y_hi + 0.4)
    ax.set_aspect("equal")
    ax.set_xticks(range(x_lo, x_hi + 1, max(1, w // 12)))
    ax.set_yticks(range(y_lo, y_hi + 1, max(1, h // 12)))
    ax.set_xlabel(f"mesh x (tile; the mesh is {W} wide)")
    ax.set_ylabel(f"mesh y (tile; {H} high)")
    ax.set_title(title or f"{run.rule} on {prof.name}: cycles per core over the mesh"
                 + ("" if busiest_core is None else f" (outlined: core {busiest_core}, critical most often)"),
                 fontsize=9)  # fmt: skip
    return ax
