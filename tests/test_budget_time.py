"""The budget's step time and cycles use every timing number of the profile (issue 10, item 3):
SRAM access cycles, hop latency per direction, packet serialization, the barrier by tiles in use
— each checked on a hand-counted case, with the number changed as the control."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

import neurosim as ns
from neurosim import hardware as hw
from neurosim.hardware.layout import Layout
from neurosim.hardware.mesh import default_site

LOIHI = hw.load_profile("loihi")
MODEL = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=64, n_layers=2)
RULE = ns.rules.make("spatial")


def _two_cores(sites):
    return Layout.build(
        [
            {"core": 0, "x": sites[0][0], "y": sites[0][1], "layers": {0: range(64)}},
            {"core": 1, "x": sites[1][0], "y": sites[1][1], "layers": {1: range(64)}},
        ]
    )


def test_step_time_is_compute_plus_the_slowest_route_plus_the_barrier_of_the_tiles_in_use():
    near = hw.budget(MODEL, RULE, LOIHI, layout=_two_cores([(0, 0), (0, 0)]))  # one tile
    far = hw.budget(MODEL, RULE, LOIHI, layout=_two_cores([(0, 0), (3, 2)]))  # 3 hops E, 2 N
    for b in (near, far):
        assert math.isclose(b.step_ns, sum(b.step_parts.values()), rel_tol=1e-15)
    assert near.step_parts["barrier_ns"] == 600.0  # SANA-FE's sync table: 1 tile
    assert far.step_parts["barrier_ns"] == 1000.0  # 2 tiles
    assert near.step_parts["delivery_ns"] == 0.0  # one tile: no link crossed
    assert math.isclose(far.step_parts["delivery_ns"], 3 * 4.1 + 2 * 6.5, rel_tol=1e-12)  # Loihi: one flit
    assert near.step_parts["compute_ns"] == far.step_parts["compute_ns"]
    # serialization: a 96-bit packet on a 32-bit link takes 3 transfers, 2 cycles more per route
    wide = dataclasses.replace(LOIHI, noc=dataclasses.replace(LOIHI.noc, packet_bits=96))
    b = hw.budget(MODEL, RULE, wide, layout=_two_cores([(0, 0), (3, 2)]))
    assert math.isclose(b.step_parts["delivery_ns"], 3 * 4.1 + 2 * 6.5 + 2 * LOIHI.chip.cycle_ns, rel_tol=1e-12)


def test_sram_access_cycles_are_counted_per_word_touched():
    """Doubling the synapse region's access cycles adds, per step, one access per weight word read
    (forward), and a read and a write per weight (update) and per trace word."""
    model = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=32)
    rule = ns.rules.make("snap1")
    base = hw.budget(model, rule, LOIHI)
    srams = tuple(
        dataclasses.replace(s, access_cycles=s.access_cycles + 1) if s.name == "synapse" else s for s in LOIHI.srams
    )
    slower = hw.budget(model, rule, dataclasses.replace(LOIHI, srams=srams))
    weights = 32 * 32 + 32 * 4 + 32 + 2 * 32 + 2  # W, U, b on the core's synapse region, + decoder
    trace = 32 * 32 + 32 * 4 + 32  # SnAp-1's g: one per cell parameter, in the synapse region
    word = 64
    d = {ph: slower.cycles_by_core[0][ph] - base.cycles_by_core[0][ph] for ph in hw.PHASES}
    assert math.isclose(d["forward"], weights * 8 / word, rel_tol=1e-12)  # 8-bit weights
    assert math.isclose(d["weight_update"], 2 * weights * 8 / word, rel_tol=1e-12)
    assert math.isclose(d["trace"], 2 * trace * 8 / word, rel_tol=1e-12)  # 8-bit traces
    assert d["error"] == d["communication"] == 0.0


def test_raster_energy_is_the_event_model():
    profile = LOIHI
    pre, post = [0, 0, 1, 2], [1, 2, 3, 0]
    core_of = [0, 0, 4, 36]
    raster = np.zeros((4, 4), bool)
    raster[[0, 1, 2, 3], [0, 1, 2, 3]] = True
    got = hw.raster_energy(profile, pre, post, core_of, raster, inputs=[0])
    want = hw.events.price_raster(profile, (pre, post), core_of, raster, inputs=[0]).totals()
    assert got == want and got["time_ns"] > 0 and default_site(profile, 36) == (2, 1)


def test_a_chip_says_what_it_cannot_run_as_it_is():
    """Rate models need graded messages and programmable neurons (issue 11's bad input); a
    spiking model runs on LIF chips. The budget still prices, and says so."""
    from neurosim.hardware.capabilities import cannot_run, check_runs

    rnn = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=8)
    lif = ns.models.make("lif", n_in=4, n_out=2, n_hidden=8)
    reckon, loihi2 = hw.load_profile("reckon"), hw.load_profile("loihi2")
    assert len(cannot_run(rnn, reckon)) == 2 and cannot_run(rnn, loihi2) == []
    assert cannot_run(lif, reckon) == [] == cannot_run(lif, LOIHI)
    import pytest

    with pytest.raises(ValueError, match=r"reckon cannot run an rnn model as it is: its messages are binary spikes.*"
                       r"What would run: a spiking model \(lif, alif\) on reckon, or the rnn model on cortex_m4, "
                       r"cortex_m7, loihi2, spinnaker, spinnaker2, spinnaker_board48, tianjic"):  # fmt: skip
        check_runs(rnn, reckon)
    b = hw.budget(rnn, ns.rules.make("snap1"), reckon)
    assert b.to_dict()["runs_as_is"] is False and "binary spikes" in b.cannot_run[0]
    assert hw.budget(lif, ns.rules.make("eprop"), reckon).to_dict()["runs_as_is"] is True


def test_a_chip_holding_several_contexts_stores_the_per_sample_state_of_each():
    """``core.contexts`` = 3: model state and per-sample learning state three times; weights,
    and arrays the batch shares (UORO's counter), once."""
    model = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=8)
    rule = ns.rules.make("uoro")
    one = hw.budget(model, rule, LOIHI)
    three = hw.budget(model, rule, dataclasses.replace(LOIHI, core=dataclasses.replace(LOIHI.core, contexts=3)))
    counter = LOIHI.formats.state_bits  # the shared step counter
    assert three.learning_bits - counter == 3 * (one.learning_bits - counter)
    items = lambda b, name: sum(r.items.get(name, 0) for r in b.regions)  # noqa: E731
    assert items(three, "h0") == 3 * items(one, "h0") and items(three, "layer0.W") == items(one, "layer0.W")
