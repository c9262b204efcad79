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
    if title:
        ax.set_title(title)
    return ax
