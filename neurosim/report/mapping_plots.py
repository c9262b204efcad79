"""Figures of a mapping (``mapping.MappingResult``): the mesh coloured by utilisation with the
link loads drawn, and per-core bars of each memory region's use against its capacity.

Both read only the result's ``layout`` (cores and their tiles) and ``report`` (``utilisation``,
``deciding_region``, ``link_loads``), so they can be drawn again from ``layout.json`` and
``quality.json``. Each takes ``ax=None``, returns the axes and never calls ``plt.show()``;
utilisation uses the ``viridis`` colormap and the rest the Okabe–Ito palette (both colour-blind
safe).
"""

from __future__ import annotations

import math

import numpy as np

from .chip_plots import OKABE_ITO, _axes

CMAP = "viridis"
LINK_COLOR = "#D55E00"  # Okabe–Ito vermillion: visible on every viridis shade
EMPTY = "#E8E8E8"  # a tile (or a core slot) that holds no unit


def _parts(result):
    """(layout, report) of a ``MappingResult`` or of a (layout, report) pair."""
    if isinstance(result, tuple):
        return result
    return result.layout, result.report


def core_cells(layout, cores_per_tile: int) -> dict[int, tuple[float, float, float, float]]:
    """Each core's cell (x0, y0, width, height) in mesh coordinates: a tile is the unit square
    around its site (x, y), split into a grid of ``cores_per_tile`` slots, its cores in id order."""
    cols = math.ceil(math.sqrt(cores_per_tile))
    rows = math.ceil(cores_per_tile / cols)
    pad = 0.06
    w, h = (1 - 2 * pad) / cols, (1 - 2 * pad) / rows
    by_tile: dict[tuple[int, int], list[int]] = {}
    for c in sorted(layout.cores, key=lambda c: c.core):
        by_tile.setdefault((c.x, c.y), []).append(c.core)
    out = {}
    for (x, y), cores in by_tile.items():
        for slot, core in enumerate(cores):
            r, q = divmod(slot, cols)
            out[core] = (x - 0.5 + pad + q * w, y + 0.5 - pad - (r + 1) * h, w, h)  # slots fill from the top left
    return out


def link_width(load: float, peak: float) -> float:
    """An arrow's line width (points) for ``load`` packets per step, the busiest link's ``peak``."""
    return 0.6 + 5.4 * load / peak if peak > 0 else 0.6


def plot_mesh(result, profile, ax=None, region: str | None = None, title: str | None = None):
    """The chip's mesh of tiles; each used core's cell coloured by its utilisation (used /
    capacity) of ``region`` — default the report's deciding region — and every loaded directed
    link drawn as an arrow whose width grows with its packets per step (the two directions of a
    link side by side; the legend gives the widths). Cells carry ``gid`` ``"core <id>"``, arrows
    (annotations) ``"link x,y->x',y'"``."""
    import matplotlib as mpl
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    layout, report = _parts(result)
    W, H = int(profile.chip.mesh_width), int(profile.chip.mesh_height)
    region = region or report.get("deciding_region") or "neurons"
    util = report["utilisation"]
    known = {r for u in util.values() for r in u}
    if region not in known:
        raise ValueError(f"region={region!r}: allowed one of {sorted(known)} (the report's regions)")
    ax = _axes(ax, size=(min(max(2.0 + 0.9 * W, 6.0), 14.0), min(max(1.9 + 0.9 * H, 4.6), 12.6)))
    cmap, norm = mpl.colormaps[CMAP], mpl.colors.Normalize(0.0, 1.0)
    for x in range(W):
        for y in range(H):
            ax.add_patch(Rectangle((x - 0.47, y - 0.47), 0.94, 0.94, facecolor=EMPTY, edgecolor="#999999", lw=0.6))
    for core, (x0, y0, w, h) in core_cells(layout, int(profile.chip.cores_per_tile)).items():
        value = float(util.get(str(core), {}).get(region, 0.0))
        ax.add_patch(Rectangle((x0, y0), w, h, facecolor=cmap(norm(value)), edgecolor="white", lw=1.0,
                               gid=f"core {core}"))  # fmt: skip
    loads = report.get("link_loads", [])
    peak = max((x[4] for x in loads), default=0.0)
    for x0, y0, x1, y1, load in loads:
        if load <= 0:
            continue
        dx, dy = x1 - x0, y1 - y0
        ox, oy = dy * 0.14, -dx * 0.14  # to the right of the direction of travel
        start, end = (x0 + 0.2 * dx + ox, y0 + 0.2 * dy + oy), (x1 - 0.2 * dx + ox, y1 - 0.2 * dy + oy)
        arrow = ax.annotate("", xy=end, xytext=start, arrowprops={
            "arrowstyle": "-|>", "lw": link_width(load, peak), "color": LINK_COLOR, "shrinkA": 0, "shrinkB": 0,
            "mutation_scale": 10})  # fmt: skip
        arrow.set_gid(f"link {x0},{y0}->{x1},{y1}")
    sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
    bar = ax.figure.colorbar(sm, ax=ax, shrink=0.85, pad=0.02)
    bar.set_label(f"utilisation of {region} (used / capacity)")
    if peak > 0:
        handles = [Line2D([], [], color=LINK_COLOR, lw=link_width(f * peak, peak), label=f"{f * peak:.3g}")
                   for f in (1.0, 0.5, 0.1)]  # fmt: skip
        ax.legend(handles=handles, title="link load (packets/step)", fontsize=7, title_fontsize=7,
                  loc="upper left", bbox_to_anchor=(0.0, -0.12), ncol=3, frameon=False)  # fmt: skip
    ax.set_xlim(-0.6, W - 0.4)
    ax.set_ylim(-0.6, H - 0.4)
    ax.set_aspect("equal")
    step = max(1, W // 16)
    ax.set_xticks(range(0, W, step))
    ax.set_yticks(range(0, H, max(1, H // 16)))
    ax.set_xlabel("mesh x (tile)")
    ax.set_ylabel("mesh y (tile)")
    used = len(layout.cores)
    ax.set_title(
        title
        or f"{profile.name}: {_n(used, 'core')} on {_n(len({(c.x, c.y) for c in layout.cores}), 'tile')}, "
        f"max link load {report.get('max_link_load', 0.0):.3g} packets/step",
        fontsize=9,
    )
    return ax


def _n(k: int, what: str) -> str:
    return f"{k} {what}" + ("" if k == 1 else "s")


def region_capacities(profile) -> dict[str, str]:
    """Each region's capacity as the legend states it (kbit per core; the neuron limit)."""
    out = {s.name: f"{s.capacity_bits / 1024:,.0f} kbit" for s in profile.srams}
    out["neurons"] = f"{int(profile.core.max_neurons):,} neurons"
    return out


def plot_region_bars(result, profile, ax=None, title: str | None = None):
    """Per core, each SRAM region's use (and the neuron count's) as a share of its capacity:
    grouped bars (the legend gives each capacity), the capacity drawn as a line at 100 %."""
    layout, report = _parts(result)
    util = report["utilisation"]
    cores = sorted(int(c) for c in util)
    regions = [s.name for s in profile.srams] + ["neurons"]
    ax = _axes(ax, size=(min(max(3.0 + 0.35 * len(cores) * len(regions) / 2, 6.5), 16.0), 3.8))
    x = np.arange(len(cores))
    width = 0.8 / len(regions)
    caps = region_capacities(profile)
    for k, r in enumerate(regions):
        y = [100.0 * float(util[str(c)].get(r, 0.0)) for c in cores]
        ax.bar(x + (k - (len(regions) - 1) / 2) * width, y, width=width, color=OKABE_ITO[k % len(OKABE_ITO)],
               label=f"{r} ({caps[r]})", gid=f"region {r}")  # fmt: skip
    ax.axhline(100.0, color="black", lw=1.2, ls="--", label="capacity")
    every = max(1, len(cores) // 32)
    ax.set_xticks(x[::every], [str(c) for c in cores[::every]])
    ax.set_xlim(-0.6, len(cores) - 0.4)
    ax.set_ylim(0, 112)
    ax.set_xlabel("core")
    ax.set_ylabel("used / capacity (%)")
    ax.set_title(title or f"{profile.name}: memory use per core and region "
                 f"(deciding: {report.get('deciding_region')})", fontsize=9)  # fmt: skip
    ax.legend(fontsize=7, ncol=min(len(regions) + 1, 4), loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    return ax
