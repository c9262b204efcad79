"""The chip's cycles, NoC and energy from executed counts: a hand-counted example, link
contention, and spiking inference priced exactly as ``events.price_raster`` (SANA-FE's model)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import neurosim as ns
from neurosim.chip.costs import ChipNet
from neurosim.hardware import events
from neurosim.hardware.layout import Layout


def round_profile():
    """loihi2 with round numbers: 1 GHz (1 cycle = 1 ns); neuron access 1, update 3, spike 2,
    message out 4, in 5, synop 1 cycles; east-west hops 10 ns, north-south 20 ns; packets of one
    flit; barrier 100 ns."""
    p = ns.hardware.load_profile("loihi2")
    chip = dataclasses.replace(p.chip, clock_mhz=1000.0, barrier_latency_ns=100.0, barrier_latency_ns_by_tiles=())
    ops = dataclasses.replace(
        p.ops, neuron_access_cycles=1.0, neuron_update_cycles=3.0, spike_out_cycles=2.0, message_out_cycles=4.0,
        message_in_cycles=5.0, synop_cycles=1.0, neuron_access_energy_pj=1.0, neuron_update_energy_pj=3.0,
        spike_out_energy_pj=2.0, message_out_energy_pj=4.0, message_in_energy_pj=5.0, synop_energy_pj=1.0,
    )  # fmt: skip
    noc = dataclasses.replace(p.noc, hop_latency_ns_ew=10.0, hop_latency_ns_ns=20.0, hop_energy_pj_ew=0.5,
                              packet_bits=64, link_bandwidth_bits_per_cycle=64)  # fmt: skip
    return dataclasses.replace(p, chip=chip, ops=ops, noc=noc)


def two_core_lif():
    """One input i0, LIF units h0 (core 0, tile (0, 0)) and h1 (core 1, tile (1, 0)), one readout
    o0 (core 0). Nodes: i0, h0, h1, o0. Synapses: i0 → h0, h1; h0 ↔ h1; h0, h1 → o0."""
    model = ns.models.make("lif", n_in=1, n_out=1, n_hidden=2)
    layout = Layout.build(
        [{"core": 0, "x": 0, "y": 0, "layers": {0: [0]}}, {"core": 1, "x": 1, "y": 0, "layers": {0: [1]}}]
    )
    return model, layout


def test_hand_counted_two_cores_three_steps():
    """Spikes: t0 i0; t1 i0, h0; t2 h1 (no neuron keeps state: updated = fired or input).

    t0 — live neurons h0, o0 (core 0), h1 (core 1): neuron cycles 2 | 1. i0 sends to core 0
    (1 synapse) and core 1 (1): send (core 0) 2 × 4 = 8; receive 5 + 1 = 6 on each core.
    Schedule: core 1's placeholder ends at 1; core 0's first message leaves at 0 + 4 = 4 (i0 is an
    input: no latency), is local (no hop), processed 4 … 10; the second leaves at 8, 10 ns east,
    arrives 18, processed on core 1 until 24; core 0's rest (h0, o0: 2) ends at 10. Step: 24 + 100.

    t1 — h0 (input from i0, fires: 3 + 2), o0 (1): core 0 neuron 6; h1 (input): 3. Four messages
    from core 0: send 16; receive 2 × (5 + 1) = 12 on each core. Schedule: A (i0 → core 0) at 4,
    processed 4 … 10; B (i0 → core 1) at 8, arrives 18, processed … 24; C (h0 → core 0) at
    8 + 5 + 4 = 17 with B in flight on core 0's port (density 1/3): congestion 1/3 × mean 6 = 2,
    arrives 19, processed … 25; D (h0 → core 1) at 21, the NoC empty again, arrives 31, processed
    … 37. Step: 37 + 100.

    t2 — h0 and o0 updated (input from i0, h0): 3 + 3 = 6; h1 updated and fires: 3 + 2 = 5. One
    message h1 → core 0 (synapses to h0 and o0): send (core 1) 4; receive (core 0) 5 + 2 = 7. It
    leaves at 5 + 4 = 9, 10 ns west, arrives 19, processed … 26. Step: 26 + 100."""
    model, layout = two_core_lif()
    net = ChipNet(model, ns.rules.make("eprop"), round_profile(), layout)
    raster = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0]], bool)
    want_cycles = [  # per step: {phase: (core 0, core 1)}
        {"neuron": (2, 1), "receive": (6, 6), "send": (8, 0)},
        {"neuron": (6, 3), "receive": (12, 12), "send": (16, 0)},
        {"neuron": (6, 5), "receive": (7, 0), "send": (0, 4)},
    ]
    want_ns = [24.0, 37.0, 26.0]
    prev = np.zeros(4, bool)
    none = np.zeros(4, bool)
    for t in range(3):
        counts, energy, cycles, time, stats = net.price(raster[t], none, prev, np.zeros(2))
        for ph, want in want_cycles[t].items():
            np.testing.assert_array_equal(cycles[ph], want, err_msg=f"t{t} {ph}")
        assert time == want_ns[t], t
        assert time + net.ev.barrier_ns == want_ns[t] + 100.0
        prev = raster[t]
    # energy of t2 (energies = cycles here, hops 0.5 pJ east-west): neuron 6 | 5, receive 7 | 0,
    # send 0 | 4 + 0.5
    _, energy, _, _, _ = net.price(raster[2], none, raster[1], np.zeros(2))
    np.testing.assert_array_equal(energy["neuron"], [6.0, 5.0])
    np.testing.assert_array_equal(energy["receive"], [7.0, 0.0])
    np.testing.assert_array_equal(energy["send"], [0.0, 4.5])
    # learning work before the sends: 50 ns on core 1 delays its message by exactly that
    *_, time, _ = net.price(raster[2], none, raster[1], np.array([0.0, 50.0]))
    assert time == 26.0 + 50.0
    # negative control: another spike pattern does not give t1's numbers
    _, _, cycles, time, _ = net.price(raster[2], none, raster[0], np.zeros(2))
    assert time != 37.0 and tuple(cycles["send"]) != (16, 0)


def test_simulate_counts_the_same_phases_per_step():
    """Through ``simulate`` (learning off, the same two cores): each step's inference cycles are
    ``ChipNet.price`` of the step's own spikes, and its time the schedule plus the barrier."""
    model, layout = two_core_lif()
    task = ns.tasks.make("pattern", seed=0, n_in=1, T=12, rate_hz=500.0)
    prof = round_profile()
    run = ns.chip.simulate(model, ns.rules.make("eprop"), task, prof, layout=layout, steps=1, formats="float",
                           learn=False, activity="off")  # fmt: skip
    params = model.init(0)
    xs = task.batch(0, 1).xs
    _, zs, vs = model.run(params, xs, record=True)
    ys = model.run(params, xs)
    net = ChipNet(model, ns.rules.make("eprop"), prof, layout)
    prev, nz = np.zeros(4, bool), np.zeros(4, bool)
    for t in range(task.T):
        fired = np.concatenate([xs[t, 0] != 0, zs[t, 0] != 0, [False]])
        _, _, cycles, time, _ = net.price(fired, nz, prev, np.zeros(2))
        for ph in ("neuron", "receive", "send"):
            np.testing.assert_array_equal(run.phase(ph)[t], cycles[ph])
        for ph in ("error", "trace", "gradient", "update"):
            assert not run.phase(ph)[t].any()  # learning off
        assert run.step_ns[t] == time + 100.0
        prev, nz = fired, np.concatenate([[False], vs[t, 0] != 0, ys[t, 0] != 0])
    assert zs.any(), "the pattern makes the network spike"


# --- contention ---------------------------------------------------------------------------------
def _two_senders(b_site, k: int = 12):
    """Cores A (0, 0) → C (2, 0) and B → D (two tiles east of B), ``k`` neurons each firing once,
    one synapse each; one packet of buffer per link, messages out in 1 cycle (a dense burst)."""
    prof = round_profile()
    noc = dataclasses.replace(prof.noc, link_buffer_packets=1)
    prof = dataclasses.replace(prof, noc=noc, ops=dataclasses.replace(prof.ops, message_out_cycles=1.0))
    bx, by = b_site
    sites = np.array([[0, 0], [bx, by], [2, 0], [bx + 2, by]])
    core_of = np.repeat([0, 1, 2, 3], k)
    pre = np.concatenate([np.arange(k), k + np.arange(k)])
    post = np.concatenate([2 * k + np.arange(k), 3 * k + np.arange(k)])
    return events.event_net(prof, (pre, post), core_of, sites=sites), core_of


def _time(net, fired):
    upd = fired.copy()
    lat = events.neuron_latency(net, fired, upd)
    stats: dict = {}
    return events.step_time(net, lat, fired, stats=stats), stats


def test_two_cores_sending_through_one_link_queue_and_disjoint_links_do_not():
    k = 12
    results = {}
    for name, site in (("shared", (1, 0)), ("disjoint", (1, 1))):
        net, core_of = _two_senders(site, k)
        both = (core_of == 0) | (core_of == 1)
        results[name] = {
            "both": _time(net, both),
            "A": _time(net, core_of == 0)[0],
            "B": _time(net, core_of == 1)[0],
        }
    shared, disjoint = results["shared"], results["disjoint"]
    alone = max(disjoint["A"], disjoint["B"])
    assert shared["A"] == disjoint["A"] and shared["B"] == disjoint["B"]  # the same packets, the same hops
    # disjoint links: no delay beyond each sender alone
    assert disjoint["both"][0] == alone
    # one shared link (the east link out of (2, 0) … into (3, 0), slot '2,0:east'): the packets queue
    delay = shared["both"][0] - alone
    assert delay == pytest.approx(3.0), shared  # SANA-FE's congestion term on the shared link
    links = shared["both"][1]["links"]
    from neurosim.chip.costs import link_name

    named = {link_name(s, shared["both"][1]["link_shape"]): v for s, v in links.items()}
    assert named["2,0:east"] == 2 * k  # both senders' packets use it
    assert max(v for n, v in named.items() if n != "2,0:east") == k


# --- spiking inference = the event model ---------------------------------------------------------
@pytest.mark.parametrize("profile", ["loihi", "loihi2"])
def test_spiking_inference_prices_as_price_raster(profile):
    """Learning off, the chip's energy (static aside) and step time per step equal
    ``events.price_raster`` on the network built here from the model's own weights, the spikes
    of ``model.run`` and the neurons' state."""
    prof = ns.hardware.load_profile(profile)
    task = ns.tasks.make("pattern", seed=2, n_in=4, T=20, rate_hz=300.0)
    model = ns.models.make("lif", n_in=4, n_out=task.n_out, n_hidden=7)
    layout = Layout.build([
        {"core": 0, "x": 0, "y": 0, "layers": {0: [0, 3, 5]}},
        {"core": 4, "x": 1, "y": 1, "layers": {0: [1, 2]}},
        {"core": 9, "x": 3, "y": 0, "layers": {0: [4, 6]}},
    ])  # fmt: skip
    run = ns.chip.simulate(model, ns.rules.make("eprop"), task, prof, layout=layout, steps=1, formats="float",
                           learn=False, activity="off")  # fmt: skip
    params = model.init(0)
    xs = task.batch(0, 1).xs[:, 0]
    ys, zs, vs = model.run(params, xs[:, None], record=True)
    n_in, n, n_out = 4, 7, task.n_out
    # the network from the weights: input i → j where W_in[j, i] ≠ 0, i → j where W_rec[j, i] ≠ 0,
    # every unit → every readout (W_out dense)
    pre, post = [], []
    for W, a, b in ((params["layer0.W_in"], 0, n_in), (params["layer0.W_rec"], n_in, n_in)):
        j, i = np.nonzero(W)
        pre.append(a + i)
        post.append(b + j)
    j, i = np.nonzero(params["dec.W"])
    pre.append(n_in + i)
    post.append(n_in + n + j)
    pre, post = np.concatenate(pre), np.concatenate(post)
    unit_core = layout.core_of(0, n)
    core_of = np.concatenate([np.full(n_in, unit_core[0]), unit_core, np.full(n_out, unit_core[0])])
    sites = np.zeros((10, 2), np.int64)
    for c, s in layout.sites().items():
        sites[c] = s
    raster = np.concatenate([xs != 0, zs[:, 0] != 0, np.zeros((task.T, n_out), bool)], 1)
    state = np.concatenate([np.zeros((task.T, n_in)), vs[:, 0], ys[:, 0]], 1)
    upd = events.updated_neurons((pre, post), raster, state)
    want = events.price_raster(prof, (pre, post), core_of, raster, inputs=np.arange(n_in), sites=sites, updated=upd)
    got = run.energy[:, :, : ns.chip.PHASES.index("static")].sum((1, 2))
    np.testing.assert_allclose(got, want.step_energy_pj, rtol=1e-12)
    np.testing.assert_allclose(run.step_ns, want.time_ns, rtol=1e-12)
    np.testing.assert_array_equal(run.events["message_out"].sum(1), want.messages)
    np.testing.assert_array_equal(run.events["synop"].sum(1), want.synops)
    hops = run.events["hops_ew"] * prof.noc.hop_energy_pj_ew + run.events["hops_ns"] * prof.noc.hop_energy_pj_ns
    np.testing.assert_allclose(hops.sum(1), want.energy_pj["hops"], rtol=1e-12)
    assert run.events["hops_ns"].sum() > 0 and run.events["hops_ew"].sum() > 0  # both directions used
    assert zs.any() and want.messages.sum() > 0
    # negative control: with learning on, the same spikes cost more and take longer
    learning = ns.chip.simulate(model, ns.rules.make("eprop"), task, prof, layout=layout, steps=1, formats="float",
                                activity="off")  # fmt: skip
    assert np.all(learning.step_ns > want.time_ns)
    assert learning.energy.sum() > run.energy.sum()


def test_hand_counted_learning_phases_of_eprop():
    """e-prop on the two cores (LIF n = 2, one input, one readout), 1-cycle MACs, trace and weight
    updates, 64-bit words read in 1 cycle (8-bit traces: 1/8 cycle an access, 16-bit gradients
    1/4, 8-bit weights 1/8). error: n · n_out = 2 MACs, half per core: 1 | 1, and the readout's
    error broadcast from core 0 to core 1 (e-prop's random feedback): one packet, sent in 4
    cycles, received in 5: 5 | 6. trace: the declared 11 trace updates (ε^v 1 + 2, ē 2 + 4, z̃ 2
    per sample) and n (n + m) = 6 MACs, half per core, 8.5 | 8.5, plus a read and a write of
    each trace element held: core 0 ε^v_in 1 + ε^v_rec 2 (copies), ē row 0 (1 + 2), z̃_0 1, the
    bias trace 1 = 8 elements × 1/4 = 2; core 1 the same less the bias trace, 7 × 1/4 = 1.75.
    gradient (every step, ``update_every=2`` keeps an accumulator): 1/2 cycle per non-zero
    gradient element; update (every second step): 1 + 1/4 per changed weight, and Adam's two
    moments of every weight on the core read and written at 1/4 cycle and 1/4 word an access: 1
    cycle and 1/2 word per weight."""
    p = round_profile()
    p = dataclasses.replace(p, ops=dataclasses.replace(p.ops, mac_cycles=1.0, trace_update_cycles=1.0,
                                                       weight_update_cycles=1.0))  # fmt: skip
    model, layout = two_core_lif()
    task = ns.tasks.make("pattern", seed=0, n_in=1, T=6, rate_hz=800.0)
    run = ns.chip.simulate(model, ns.rules.make("eprop"), task, p, layout=layout, steps=1, formats="float",
                           activity="off", update_every=2, optimizer=ns.optim.adam(1e-2))  # fmt: skip
    np.testing.assert_array_equal(run.phase("error"), np.tile([5.0, 6.0], (6, 1)))
    np.testing.assert_array_equal(run.events["error_message_out"], np.tile([1, 0], (6, 1)))
    np.testing.assert_array_equal(run.events["error_message_in"], np.tile([0, 1], (6, 1)))
    np.testing.assert_array_equal(run.events["error_hops_ew"], np.tile([1, 0], (6, 1)))
    np.testing.assert_array_equal(run.phase("trace"), np.tile([10.5, 10.25], (6, 1)))
    grad, upd = run.phase("gradient"), run.phase("update")
    np.testing.assert_array_equal(grad * 2, np.round(grad * 2))  # whole elements
    names = set(model.init(0))
    held = np.array([sum(v for k, v in c["resident_elements"].items() if k.split("@")[0] in names)
                     for c in run.memory])  # fmt: skip  # weights per core
    assert held.tolist() == [6, 3]  # W_in 1 + W_rec 2 per core; W_out 2, b_out 1 (the readout) on core 0
    at = np.zeros((6, 1))
    at[1::2] = 1.0  # updates at t = 1, 3, 5 only
    changed = (upd - at * held) / 1.25
    np.testing.assert_array_equal(changed, np.round(changed))
    assert (changed >= 0).all() and changed[1::2].any() and not upd[0::2].any()
    # SRAM words (read, and as many written): 8 | 7 trace elements × 1/8, 1/4 per accumulator
    # element (1/2 cycle each), 1/8 per updated weight (1.25 cycles each), 1/2 per weight's moments
    words = run.sram_words["core_memory"]
    want = np.array([1.0, 0.875]) + grad / 0.5 * 0.25 + changed * 0.125 + at * held * 0.5
    np.testing.assert_allclose(words, want, rtol=1e-12)
    assert set(run.critical_core) <= {0, 1}
    # negative control: with learning off there is none of it
    off = ns.chip.simulate(model, ns.rules.make("eprop"), task, p, layout=layout, steps=1, formats="float",
                           activity="off", learn=False)  # fmt: skip
    assert not off.cycles[:, :, [ns.chip.PHASES.index(ph) for ph in ("error", "trace", "gradient", "update")]].any()


def test_hand_timed_error_wave_reaches_the_other_core_before_its_learning_phases():
    """e-prop's readout error on the two cores (1-cycle MACs): core 0 computes its error share in
    1 ns, sends the broadcast packet at 1 + 4 = 5, 10 ns east, it arrives at 15 and is processed
    on core 1 until 20; core 1's own share ends at 1. So core 0 holds its errors at 5, core 1 at
    20: its trace phase starts there. One core holding both units sends nothing and is done when
    its error operations are (the negative control)."""
    from neurosim.chip.costs import LearningNoC

    p = round_profile()
    p = dataclasses.replace(p, ops=dataclasses.replace(p.ops, mac_cycles=1.0))
    model, layout = two_core_lif()
    rule = ns.rules.make("eprop")
    net = ChipNet(model, rule, p, layout)
    noc = LearningNoC(net, rule, [np.array([1.0, 1.0])])
    np.testing.assert_array_equal(noc.done_ns, [5.0, 20.0])
    assert noc.packets == 1 and noc.links  # one packet, on the link east of core 0's tile
    np.testing.assert_array_equal(noc.cycles, [4.0, 5.0])
    np.testing.assert_allclose(noc.energy, [4.0 + 0.5, 5.0], rtol=1e-12)
    one = Layout.build([{"core": 0, "x": 0, "y": 0, "layers": {0: [0, 1]}}])
    alone = LearningNoC(ChipNet(model, rule, p, one), rule, [np.array([2.0])])
    assert alone.packets == 0 and not alone.links
    np.testing.assert_array_equal(alone.done_ns, [2.0])


@pytest.mark.parametrize("rule_name", ["snap1", "eprop"])
def test_the_chips_error_packets_are_the_mappers(rule_name):
    """The chip simulation sends exactly the learning-phase packets the mapper counts
    (``mapping.learning.error_traffic``) on a split layout: per core out and in, every step and
    sample; with learning off, none."""
    from neurosim.mapping.graph import from_model
    from neurosim.mapping.judge import Probe
    from neurosim.mapping.learning import error_traffic

    if rule_name == "eprop":
        model = ns.models.make("lif", n_in=2, n_out=2, n_hidden=9)
    else:  # two layers: the readout's error, then the spatial error down the dense projection
        model = ns.models.make("rnn", n_in=2, n_out=2, n_hidden=9, n_layers=2, density=0.5)
    rule = ns.rules.make(rule_name)
    units = ns.hardware.layout.layer_units(model)
    rng = np.random.default_rng(3)
    cores = [{"core": c, "x": c % 2, "y": c // 2, "layers": {}} for c in range(3)]
    part = []
    for layer, n in enumerate(units):
        own = rng.integers(0, 3, n)
        own[0] = 0
        part.append(own)
        for c in range(3):
            if (own == c).any():
                cores[c]["layers"][layer] = np.flatnonzero(own == c).tolist()
    layout = Layout.build(cores)
    E = error_traffic(from_model(model), rule, model, np.concatenate(part), 3)
    assert E.sum() > 0
    task = Probe(model.n_in, model.n_out, 4, bool(getattr(model, "spiking", False)), 0)
    run = ns.chip.simulate(model, rule, task, "loihi2", layout=layout, steps=1, batch_size=2,
                           formats="float", activity="off")  # fmt: skip
    np.testing.assert_array_equal(run.events["error_message_out"], np.tile(2 * E.sum(1), (run.step_ns.size, 1)))
    np.testing.assert_array_equal(run.events["error_message_in"], np.tile(2 * E.sum(0), (run.step_ns.size, 1)))
    off = ns.chip.simulate(model, rule, task, "loihi2", layout=layout, steps=1, formats="float",
                           learn=False, activity="off")  # fmt: skip
    assert not off.events["error_message_out"].any()
