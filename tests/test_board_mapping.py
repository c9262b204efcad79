"""The mapper on a board of chips (``spinnaker_board48``): chips first, then cores; the layout's
chip field checked per chip; the inter-chip part of the report recounted from the layout."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns
import neurosim.mapping as nm
from neurosim.hardware.layout import CoreUnits, Layout, LayoutError, Units
from neurosim.mapping import board as B
from neurosim.mapping.judge import judge

BOARD = ns.hardware.load_profile("spinnaker_board48")
CHIP = ns.hardware.load_profile("spinnaker")
PER_CHIP_NEURONS = 16 * 256  # SpiNNaker 1: 16 application cores × 256 neurons (spinnaker.toml)


def sheet(side: int, r: int = 2) -> nm.Graph:
    """A side × side sheet in raster order, each unit reaching the sites within Manhattan distance
    ``r`` (12 for r = 2 away from the edges)."""
    n = side * side
    offs = [(dx, dy) for dx in range(-r, r + 1) for dy in range(-r, r + 1) if 0 < abs(dx) + abs(dy) <= r]
    rows = []
    for i in range(n):
        x, y = divmod(i, side)
        rows.append([(x + dx) * side + y + dy for dx, dy in offs if 0 <= x + dx < side and 0 <= y + dy < side])
    ptr = np.concatenate([[0], np.cumsum([len(q) for q in rows])]).astype(np.int64)
    return nm.Graph((("sheet", n),), (nm.Projection(0, 0, ptr, np.array(sum(rows, []), np.int64)),))


def targets(graph: nm.Graph) -> list[set]:
    """Each unit's targets, read from the projection's CSR (not from ``Graph.pins``)."""
    (p,) = graph.projections
    return [set(p.indices[p.indptr[j] : p.indptr[j + 1]].tolist()) for j in range(graph.n_units)]


def chip_of_unit(layout: Layout, n: int) -> np.ndarray:
    """Recounted from the layout's cores: each unit's chip (-1: on no core)."""
    out = np.full(n, -1, np.int64)
    for c in layout.cores:
        for u in c.units(0):
            assert out[u] == -1, f"unit {u} on two cores"
            out[u] = c.chip
    return out


@pytest.fixture(scope="module")
def big():
    g = sheet(65)  # 4225 units > 4096: no SpiNNaker chip holds them by its neuron count alone
    assert g.n_units > PER_CHIP_NEURONS
    return g, nm.map_network(g, BOARD)


# --- chips first --------------------------------------------------------------------------------
def test_a_network_too_big_for_one_chip_maps_onto_several_chips_and_every_chip_fits(big):
    g, res = big
    layout, rep = res.layout, res.report
    chips = chip_of_unit(layout, g.n_units)
    assert (chips >= 0).all()  # every unit on exactly one core
    per_chip = np.bincount([c.chip for c in layout.cores], minlength=BOARD.n_chips)
    assert (per_chip <= 16).all() and (per_chip > 0).sum() >= 2
    for c in layout.cores:
        assert 0 < c.n_units <= 256 and 0 <= c.x < 1 and 0 <= c.y < 1  # SpiNNaker 1: one router, 1 × 1 mesh
    units_per_chip = np.bincount(chips, minlength=BOARD.n_chips)
    assert units_per_chip.sum() == g.n_units and units_per_chip.max() <= PER_CHIP_NEURONS
    assert rep["board"]["chips_used"] == int((per_chip > 0).sum()) == len(rep["board"]["per_chip"])
    assert sorted(rep["board"]["chips"]) == sorted(np.flatnonzero(per_chip).tolist())
    for pc in rep["board"]["per_chip"]:  # the per-chip report's cores are the layout's
        assert pc["cores"] == [c.core for c in layout.cores if c.chip == pc["chip"]]
        assert pc["units"] == int(units_per_chip[pc["chip"]])
    assert nm.problems(layout, nm.as_model(g), BOARD, graph=g) == []  # the independent validator
    again = Layout.from_json(layout.to_json())
    assert [c.chip for c in again.cores] == [c.chip for c in layout.cores]
    # negative control: the same layout on the single-chip profile is refused (chip indices past 0)
    with pytest.raises(LayoutError, match="allowed: chip 0"):
        layout.validate(nm.as_model(g), CHIP)


def test_a_network_one_chip_holds_stays_on_one_chip():
    g = sheet(30)  # 900 units: 4 cores of one chip
    on_board = nm.map_network(g, BOARD)
    on_chip = nm.map_network(g, CHIP)
    assert {c.chip for c in on_board.layout.cores} == {0}
    assert on_board.report["board"]["chips_used"] == 1
    assert on_board.report["board"]["inter_chip_packets_per_step"] == 0.0
    # the oracle: the board maps it exactly as the chip alone does
    assert on_board.layout.cores == on_chip.layout.cores
    assert on_board.report["packets_per_step"] == on_chip.report["packets_per_step"]


def test_inter_chip_traffic_equals_a_recount_from_the_layout_and_the_graph(big):
    g, res = big
    chips = chip_of_unit(res.layout, g.n_units)
    tg = targets(g)
    H = np.array([[BOARD.board.hops(a, b) for b in range(BOARD.n_chips)] for a in range(BOARD.n_chips)])
    packets = hops = cut = 0.0
    pairs = set()
    for u, ts in enumerate(tg):
        other = {int(chips[t]) for t in ts} - {int(chips[u])}
        packets += len(other)
        hops += sum(H[chips[u], c] for c in other)
        cut += sum(chips[t] != chips[u] for t in ts)
        pairs |= {(int(chips[u]), c) for c in other}
    bd = res.report["board"]
    assert packets > 0
    assert bd["inter_chip_packets_per_step"] == pytest.approx(packets)
    assert bd["inter_chip_packet_hops_per_step"] == pytest.approx(hops)
    # 40-bit packets, 25 pJ per bit and chip-to-chip hop (spinnaker.toml, spinnaker_board48.toml)
    assert bd["inter_chip_energy_pj_per_step"] == pytest.approx(hops * 40 * 25.0)
    worst = max(H[a, b] for a, b in pairs)
    # 200 ns per hop plus 40 bits at 250 Mbit/s (160 ns) once
    assert bd["worst_inter_chip_route"]["latency_ns"] == pytest.approx(worst * 200.0 + 160.0)
    # negative control: synapses crossing chips (an edge cut) are not packets (a spike is multicast)
    assert cut > 1.5 * packets


def test_chip_level_partition_beats_round_robin_of_the_cores_onto_chips():
    side, blk = 64, 8  # 64 cores of 8 × 8 sites, 4 chips of 16 cores
    g = sheet(side)
    ptr, pins = g.pins()
    rate = np.ones(g.n_units)
    x, y = np.divmod(np.arange(g.n_units), side)
    part = (x // blk) * (side // blk) + y // blk
    tg = targets(g)
    H = BOARD.board.hop_matrix()

    def packet_hops(chip_of_core):  # the test's own count: per unit, hops to each other chip it reaches
        cu = chip_of_core[part]
        return sum(sum(H[cu[u], c] for c in {int(cu[t]) for t in ts} - {int(cu[u])}) for u, ts in enumerate(tg))

    ours = B.assign_chips(part, ptr, pins, rate, BOARD, "auto")
    counts = np.bincount(ours, minlength=BOARD.n_chips)
    assert counts.max() <= 16 and (counts > 0).sum() == 4
    naive = np.arange(64) % 4  # round robin of the cores onto chips 0…3
    in_order = np.arange(64) // 16  # part order (the baselines'): four strips on chips 0…3, a column of the board
    assert packet_hops(ours) < 0.5 * packet_hops(naive)
    assert packet_hops(ours) < packet_hops(in_order)


def test_chip_assignment_stops_at_the_deadline():
    """With the search's deadline already past, the chip-level improvement makes no move: the
    assignment is the greedy growth's, which the improvement (time left) then beats or equals."""
    from neurosim.mapping.partition import Deadline

    side, blk = 64, 8
    g = sheet(side)
    ptr, pins = g.pins()
    rate = np.ones(g.n_units)
    x, y = np.divmod(np.arange(g.n_units), side)
    part = (x // blk) * (side // blk) + y // blk
    T = nm.partition.traffic(part, ptr, pins, rate, 64)
    eptr, epins, erate, esrc = B.core_hyperedges(part, ptr, pins, rate)
    unit = 1 - np.eye(4, dtype=np.int64)
    start = np.arange(64) % 4  # round robin: far from the best, so improvement has work to do
    past = Deadline(1e-9)
    assert past.expired()
    np.testing.assert_array_equal(B.improve(start, unit, 16, T, eptr, epins, erate, esrc, deadline=past), start)
    better = B.improve(start, unit, 16, T, eptr, epins, erate, esrc)
    hops = lambda p: B.packet_hops(p, eptr, epins, erate, esrc, unit)  # noqa: E731
    assert hops(better) < hops(start)


# --- the chip field in validate and budget -------------------------------------------------------
def _cores(chips: list[int], n_units: int = 10) -> Layout:
    cores = [CoreUnits(i, 0, 0, ((0, Units.range(i * n_units, (i + 1) * n_units)),), chip) for i, chip in
             enumerate(chips)]  # fmt: skip
    return Layout(tuple(cores))


def test_more_cores_on_one_chip_than_it_has_is_refused_naming_the_chip():
    m = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=170, density=0.05)
    over = _cores([3] * 17)
    with pytest.raises(LayoutError, match="17 cores on chip 3 but the chip has 16"):
        over.validate(m, BOARD)
    with pytest.raises(LayoutError, match="chip 3"):
        ns.hardware.budget(m, ns.rules.make("snap1"), BOARD, over)
    # negative control: the same 17 cores as 16 on chip 3 and one on chip 4 are accepted
    split = _cores([3] * 16 + [4])
    split.validate(m, BOARD)
    assert ns.hardware.budget(m, ns.rules.make("snap1"), BOARD, split).cores_used == 17
    with pytest.raises(LayoutError, match=r"chip 48; allowed: chips 0…47"):
        _cores([48] * 17).validate(m, BOARD)
    with pytest.raises(LayoutError, match="17 cores but the chip has 16"):  # one chip: as before
        _cores([0] * 17).validate(m, CHIP)


def test_a_multicast_core_counts_one_outgoing_axon_per_unit():
    """SpiNNaker's router copies a packet to every destination: 256 units on a core that send to
    three other cores are 256 outgoing axons there, 768 on the same chip without multicast."""
    import tomllib

    m = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=1024)  # dense: every core reads every unit
    layout = Layout(tuple(CoreUnits(i, 0, 0, ((0, Units.range(256 * i, 256 * (i + 1))),)) for i in range(4)))
    b = ns.hardware.budget(m, nm.capacity.Inference(), CHIP, layout)
    assert not [c for c in b.culprits if c.region == "axons_out" and c.core != 0]
    data = tomllib.loads((ns.hardware.profile.PROFILE_DIR / "spinnaker.toml").read_text())
    data["noc"]["multicast"]["value"] = False
    unicast = ns.hardware.parse(data, "spinnaker-unicast")
    found = {c.core: c.needed for c in ns.hardware.budget(m, nm.capacity.Inference(), unicast, layout).culprits
             if c.region == "axons_out"}  # fmt: skip
    assert found[1] == found[2] == found[3] == 3 * 256  # negative control: one per unit and destination core


# --- the judge ----------------------------------------------------------------------------------
def test_the_judge_skips_a_layout_over_several_chips_and_runs_one_on_one_chip():
    m = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=40, density=0.2)
    two = _cores([0, 5], n_units=20)
    j = judge(m, two, BOARD, steps=3)
    assert "skipped" in j and "2 chips" in j["skipped"]
    one = _cores([0, 0], n_units=20)
    j = judge(m, one, BOARD, steps=3)
    assert "skipped" not in j and j["timesteps"] == 3 and j["energy_pj_per_step"] > 0


def test_the_budget_prices_the_chip_to_chip_links_of_a_layout_over_two_chips():
    """Two cores of 20 units of a dense RNN (each unit sends to the other core every step, activity
    1): on chips 0 and 1 (one hop apart, (0, 0) and (0, 1)) the communication energy grows by
    2 × 20 messages × 40 bits × 25 pJ = 40 000 pJ and the delivery by 200 ns + 40 bits / 250 Mbit/s
    = 360 ns; on one chip the board prices as the chip alone (negative control)."""
    m = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=40)
    rule = nm.capacity.Inference()
    one = ns.hardware.budget(m, rule, BOARD, _cores([0, 0], n_units=20))
    two = ns.hardware.budget(m, rule, BOARD, _cores([0, 1], n_units=20))
    alone = ns.hardware.budget(m, rule, CHIP, _cores([0, 0], n_units=20))
    assert BOARD.board.hops(0, 1) == 1
    assert two.energy_pj["communication"] - one.energy_pj["communication"] == pytest.approx(40_000.0)
    assert two.step_parts["delivery_ns"] - one.step_parts["delivery_ns"] == pytest.approx(360.0)
    assert two.energy_pj["static"] == pytest.approx(2 * CHIP.chip.static_power_mw * two.step_ns)
    assert one.energy_pj == pytest.approx(alone.energy_pj) and one.step_ns == pytest.approx(alone.step_ns)


def mesh_board():
    """Loihi 2 shrunk to a 4 × 2 mesh of one-core tiles with 32 neurons per core (256 neurons a
    chip), on a 2 × 2 mesh board of such chips (link costs as SpiNNaker's board: for the test)."""
    import tomllib

    data = tomllib.loads((ns.hardware.profile.PROFILE_DIR / "loihi2.toml").read_text())
    data["chip"]["mesh_width"]["value"], data["chip"]["mesh_height"]["value"] = 4, 2
    data["chip"]["cores_per_tile"]["value"] = 1
    data["core"]["max_neurons"]["value"] = 32
    cited = {"source": "estimate", "confidence": "estimate"}
    board = {"chips_x": 2, "chips_y": 2, "topology": "mesh", "link_energy_pj_per_bit": 25.0,
             "link_latency_ns": 200.0, "link_bandwidth_mbit_s": 250.0}  # fmt: skip
    data["board"] = {k: {"value": v, **cited} for k, v in board.items()}
    return ns.hardware.parse(data, "small-loihi2-board")


def test_on_a_board_of_meshes_each_chip_is_placed_and_routed_on_its_own_mesh():
    prof = mesh_board()
    g = sheet(20)  # 400 units: at least 13 cores of 32, more than a chip's 8
    res = nm.map_network(g, prof)
    layout = res.layout
    per_chip = np.bincount([c.chip for c in layout.cores], minlength=4)
    assert (per_chip <= 8).all() and (per_chip > 0).sum() >= 2
    for chip in np.flatnonzero(per_chip):  # one core per tile, on each chip's own 4 × 2 mesh
        tiles = [c.site for c in layout.cores if c.chip == chip]
        assert len(set(tiles)) == len(tiles) and all(0 <= x < 4 and 0 <= y < 2 for x, y in tiles)
    assert nm.problems(layout, nm.as_model(g), prof, graph=g) == []  # every on-chip pair routed, shortest
    chips = {c.core: c.chip for c in layout.cores}
    assert layout.routes and all(chips[r.src] == chips[r.dst] for r in layout.routes)
    # negative control: a mesh route between two chips is refused
    a, b = (next(c for c in layout.cores if c.chip == k) for k in np.flatnonzero(per_chip)[:2])
    across = nm.route.Route(a.core, b.core, tuple(nm.route.path(a.site, b.site)))
    bad = Layout(layout.cores, layout.kind, (*layout.routes, across))
    with pytest.raises(LayoutError, match=f"joins chip {a.chip} to chip {b.chip}"):
        bad.validate(nm.as_model(g), prof)
