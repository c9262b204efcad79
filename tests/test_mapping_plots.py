"""The mapping figures draw the report's numbers: each core's cell has the colormap's colour of
its utilisation, each loaded link an arrow whose width grows with its load, each region's bars
the used share of capacity; axes carry labels and titles."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import neurosim as ns  # noqa: E402
import neurosim.mapping as nm  # noqa: E402
from neurosim.hardware.layout import Layout  # noqa: E402
from neurosim.report import mapping_plots as mp  # noqa: E402


def small_loihi():
    """Loihi with one core per tile and 64 neurons per core: a small network spans several tiles."""
    import tomllib

    data = tomllib.loads((ns.hardware.profile.PROFILE_DIR / "loihi.toml").read_text())
    data["chip"]["cores_per_tile"]["value"] = 1
    data["core"]["max_neurons"]["value"] = 64
    return ns.hardware.parse(data, "small-loihi")


LOIHI = small_loihi()


@pytest.fixture(scope="module")
def result():
    """A 2 × 150-unit rnn stack under snap1, filled in order: five cores on five tiles, the last
    one partly full, traffic on many links, over more than one hop on average."""
    m = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=150, n_layers=2, density=0.1)
    return nm.map_network(m, LOIHI, rule=ns.rules.make("snap1"), method="greedy")


def by_gid(ax, prefix: str) -> dict:
    out = {}
    for a in [*ax.patches, *ax.texts, *ax.get_children()]:
        gid = a.get_gid()
        if gid and gid.startswith(prefix):
            out[gid] = a
    return out


def test_mesh_cells_have_the_colour_of_their_utilisation(result):
    rep, region = result.report, result.report["deciding_region"]
    ax = mp.plot_mesh(result, LOIHI)
    cmap = matplotlib.colormaps["viridis"]
    cells = by_gid(ax, "core ")
    assert len(cells) == rep["cores_used"]
    values = {c: rep["utilisation"][str(c)][region] for c in range(rep["cores_used"])}
    assert max(values.values()) - min(values.values()) > 0.2  # uneven: the negative control below can fail
    for c, v in values.items():
        assert np.allclose(cells[f"core {c}"].get_facecolor(), cmap(v)), c
        x, y, w, h = cells[f"core {c}"].get_bbox().bounds
        core = next(k for k in result.layout.cores if k.core == c)
        assert abs(x + w / 2 - core.x) < 0.5 and abs(y + h / 2 - core.y) < 0.5  # inside its tile
    lo, hi = min(values, key=values.get), max(values, key=values.get)
    assert not np.allclose(cells[f"core {lo}"].get_facecolor(), cmap(values[hi]))  # negative control
    assert region == "neurons"  # 64 per core decide here; the synapse memory is used less
    other = mp.plot_mesh(result, LOIHI, region="synapse")
    assert not np.allclose(by_gid(other, "core ")[f"core {hi}"].get_facecolor(), cmap(values[hi]))
    assert ax.get_xlabel() == "mesh x (tile)" and ax.get_ylabel() == "mesh y (tile)" and ax.get_title()
    assert region in ax.figure.axes[-1].get_ylabel()  # the colorbar names the region
    plt.close("all")


def test_mesh_link_arrows_follow_the_report_loads(result):
    """Every loaded link is one arrow, wider for more load; the loads are the report's, whose sum
    over links equals the packet-hops per step (each packet loads one link per hop)."""
    rep = result.report
    loads = {f"link {x0},{y0}->{x1},{y1}": v for x0, y0, x1, y1, v in rep["link_loads"]}
    assert loads and sum(loads.values()) == pytest.approx(rep["packet_hops_per_step"])
    assert max(loads.values()) == pytest.approx(rep["max_link_load"])
    assert rep["mean_hops"] > 1.0  # so the negative control can fail: links are not packets
    assert sum(loads.values()) != pytest.approx(rep["packets_per_step"])
    for x0, y0, x1, y1, _ in rep["link_loads"]:
        assert abs(x1 - x0) + abs(y1 - y0) == 1  # neighbouring tiles
    ax = mp.plot_mesh(result, LOIHI)
    arrows = by_gid(ax, "link ")
    assert set(arrows) == set(loads)
    order = sorted(loads, key=loads.get)
    widths = [arrows[k].arrow_patch.get_linewidth() for k in order]
    assert all(a <= b for a, b in zip(widths, widths[1:]))
    if loads[order[0]] < loads[order[-1]]:
        assert widths[0] < widths[-1]
    plt.close("all")


def test_region_bars_are_the_used_share_of_capacity(result):
    rep = result.report
    ax = mp.plot_region_bars(result, LOIHI)
    cores = sorted(int(c) for c in rep["utilisation"])
    heights = {}
    for p in ax.patches:
        if p.get_gid():
            heights.setdefault(p.get_gid(), []).append(p.get_height())
    for r in [s.name for s in LOIHI.srams] + ["neurons"]:
        want = [100 * rep["utilisation"][str(c)].get(r, 0.0) for c in cores]
        assert np.allclose(heights[f"region {r}"], want), r
    assert not np.allclose(heights["region synapse"], heights["region neurons"])  # negative control
    lines = [ln for ln in ax.get_lines() if ln.get_label() == "capacity"]
    assert len(lines) == 1 and np.allclose(lines[0].get_ydata(), 100.0)
    assert ax.get_xlabel() == "core" and "capacity" in ax.get_ylabel() and ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "synapse (1,024 kbit)" in labels and "neurons (64 neurons)" in labels
    plt.close("all")


def test_figures_redraw_from_the_json_files_and_take_an_axes(result):
    layout = Layout.from_json(result.layout.to_json())
    report = json.loads(json.dumps(result.report))
    fig, (a, b) = plt.subplots(1, 2)
    assert mp.plot_mesh((layout, report), LOIHI, ax=a) is a
    assert mp.plot_region_bars((layout, report), LOIHI, ax=b) is b
    ref = mp.plot_mesh(result, LOIHI)
    cells, again = by_gid(ref, "core "), by_gid(a, "core ")
    assert all(np.allclose(cells[k].get_facecolor(), again[k].get_facecolor()) for k in cells)
    with pytest.raises(ValueError, match="region='sram'"):
        mp.plot_mesh(result, LOIHI, region="sram")
    plt.close("all")
