"""Matplotlib figures. Never calls ``plt.show()``."""

from __future__ import annotations

import numpy as np


def _smooth(x: np.ndarray, k: int) -> np.ndarray:
    if k <= 1 or len(x) < k:
        return x
    c = np.cumsum(np.insert(np.asarray(x, float), 0, 0.0))
    return (c[k:] - c[:-k]) / k


def plot_learning_curve(
    metrics: list[dict], keys=("loss",), chance: dict | None = None, ax=None, smooth: int = 10, title=None
):
    """Per-iteration metrics (a list of dicts, as ``TrainResult.metrics``) against iteration.

    ``keys`` go on the left axis in order; a second key (e.g. an accuracy) goes on a right axis.
    ``chance`` draws a dotted horizontal line per key.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6), constrained_layout=True)
    axes = [ax] + ([ax.twinx()] if len(keys) > 1 else [])
    from .chip_plots import OKABE_ITO

    colors = list(OKABE_ITO[:3])  # colour-blind safe
    for i, key in enumerate(keys):
        a = axes[min(i, len(axes) - 1)]
        y = np.array([m.get(key, np.nan) for m in metrics], float)
        a.plot(np.arange(len(y)), y, color=colors[i], alpha=0.25, lw=0.8)
        ys = _smooth(y, smooth)
        a.plot(np.arange(len(ys)) + (len(y) - len(ys)), ys, color=colors[i], lw=1.8, label=key)
        a.set_ylabel(key, color=colors[i])
        if chance and key in chance:
            a.axhline(chance[key], color=colors[i], ls=":", lw=1, label=f"{key} at chance")
    ax.set_xlabel("iteration (batch)")
    ax.set_title(title or "learning curve: " + ", ".join(keys) + " per iteration")
    return ax


def plot_memory_vs_hidden(build, rules: dict, profile, sizes, region: str | None = None, ax=None, title=None, **kw):
    """Memory of one SRAM region on the fullest core against the network's size, a line per rule,
    with the region's capacity per core drawn: ``build(n)`` makes the model with ``n`` hidden
    units per layer, ``rules`` maps a label to a rule, ``sizes`` are the n to price
    (``hardware.budget(model, rule, profile, **kw)`` at each; sizes ``build`` refuses are
    skipped). ``region`` default: the profile's first region. A filled marker: the whole budget
    fits the chip at that size; hollow: it does not (another region or limit may decide)."""
    from ..hardware import budget, load_profile
    from .chip_plots import OKABE_ITO, _axes

    prof = load_profile(profile) if isinstance(profile, str) else profile
    names = [s.name for s in prof.srams]
    region = region or names[0]
    if region not in names:
        raise ValueError(f"region={region!r}: allowed one of {names} (the SRAM regions of {prof.name})")
    cap = next(s.capacity_bits for s in prof.srams if s.name == region)
    ax = _axes(ax, size=(6.8, 4.2))
    styles = ["-", "--", "-.", ":"]
    for k, (label, rule) in enumerate(rules.items()):
        xs, ys, fits = [], [], []
        for n in sorted({int(n) for n in sizes}):
            try:
                model = build(n)
            except ValueError:
                continue
            b = budget(model, rule, prof, **kw)
            used = max((r.used_bits for r in b.regions if r.region == region), default=0)
            if used > 0:
                xs.append(n)
                ys.append(used)
                fits.append(bool(b.fits))
        if not xs:
            continue
        color = OKABE_ITO[k % len(OKABE_ITO)]
        ax.plot(xs, ys, color=color, ls=styles[(k // len(OKABE_ITO)) % 4], lw=1.6, label=label)
        ax.scatter(xs, ys, s=22, color=[color if f else "white" for f in fits], edgecolors=color, zorder=3)
    ax.axhline(cap, color="black", lw=1.0, ls="--")
    ax.annotate(f"capacity per core: {cap / 8 / 1024:,.0f} KiB", (0.01, cap), xycoords=("axes fraction", "data"),
                xytext=(0, 4), textcoords="offset points", fontsize=8)  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("n_hidden (units per layer)")
    ax.set_ylabel(f"{region} used on the fullest core (bits)")
    ax.set_title(title or f"{prof.name}, region {region}: memory against network size (filled: fits)", fontsize=9)
    ax.grid(True, which="major", color="0.9", lw=0.6)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="lower right")
    else:
        ax.text(0.5, 0.5, f"no rule uses {region} at these sizes", transform=ax.transAxes, ha="center", fontsize=9)
    return ax


def plot_gradient_similarity(result: dict, r_min=None, ax=None, title=None, key: str = "similarity_trained"):
    """Cosine similarity of each rule's gradient with BPTT's against depth (a gradient-quality
    study's result, ``experiments.gradient_quality.run``), for one ``r_min`` (default the
    smallest). ``key``: ``"similarity_trained"`` (at BPTT-trained parameters) or
    ``"similarity_init"`` (at initialisation)."""
    from .chip_plots import OKABE_ITO, _axes

    cells = result["cells"]
    r_mins = sorted({c["r_min"] for c in cells})
    r_min = r_mins[0] if r_min is None else r_min
    if r_min not in r_mins:
        raise ValueError(f"r_min={r_min!r}: allowed one of {r_mins} (the study's)")
    depths = sorted({c["depth"] for c in cells})
    ax = _axes(ax, size=(5.6, 4.0))
    markers = "osx^dv<>"
    for k, rule in enumerate(r for r in result["rules"] if r != "bptt"):
        pts = []
        for c in cells:
            v = c[key].get(rule) if c["r_min"] == r_min else None
            if v is not None:
                pts.append((c["depth"], v["cosine"]))
        if pts:
            pts.sort()
            ax.plot(*zip(*pts), color=OKABE_ITO[k % 8], marker=markers[k % 8], ls="--" if rule == "snap1" else "-",
                    label=rule, lw=1.5, ms=5)  # fmt: skip
    ax.set_xticks(depths)
    ax.set_xlabel("depth (LRU layers)")
    ax.set_ylabel("cosine similarity with the BPTT gradient")
    ax.set_ylim(-0.1, 1.05)
    where = "trained parameters" if key == "similarity_trained" else "initial parameters"
    ax.set_title(title or f"gradient similarity against depth (r_min = {r_min}, {where})", fontsize=9)
    ax.grid(True, color="0.9", lw=0.6)
    ax.legend(fontsize=8)
    return ax


def plot_raster(spikes, ax=None, dt_ms: float = 1.0, title=None, max_units: int | None = 400, groups=None, colors=None):
    """Spike raster: ``spikes`` is a (steps × units) array (non-zero = a spike) or a pair
    ``(step, unit)`` of index arrays (as ``snn.simulate``'s ``spike_step``, ``spike_i``); time in
    ms (``dt_ms`` per step). ``max_units``: only the first that many units are drawn (None: all);
    ``groups``: {label: (first unit, stop)} coloured (``colors``, default Okabe–Ito in order) and
    labelled with their spike counts (default all units in one group)."""
    from .chip_plots import OKABE_ITO, _axes

    if isinstance(spikes, tuple):
        step, unit = (np.asarray(a, int).reshape(-1) for a in spikes)
        n_units = int(unit.max()) + 1 if unit.size else 0
    else:
        a = np.asarray(spikes)
        if a.ndim != 2:
            raise ValueError(f"spikes: shape {a.shape}; allowed (steps, units) or a (step, unit) pair of arrays")
        step, unit = np.nonzero(a)
        n_units = a.shape[1]
    if max_units is not None:
        keep = unit < max_units
        step, unit, n_units = step[keep], unit[keep], min(n_units, max_units)
    ax = _axes(ax, size=(7.0, 3.6))
    groups = groups or {"spikes": (0, max(n_units, 1))}
    for k, (label, (lo, hi)) in enumerate(groups.items()):
        sel = (unit >= lo) & (unit < hi)
        color = colors[k] if colors is not None else OKABE_ITO[k % 8]
        ax.scatter(step[sel] * dt_ms, unit[sel], s=6, marker="|", lw=1.0, color=color,
                   label=f"{label} ({int(sel.sum())} spikes)")  # fmt: skip
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("unit")
    ax.set_ylim(-0.5, max(n_units, 1) - 0.5)
    ax.set_title(title or f"spike raster ({step.size} spikes, {n_units} units)", fontsize=9)
    ax.legend(fontsize=7, loc="upper right", markerscale=3)
    return ax
