"""The chip simulation's fast paths against their specifications (issue 11's speed items):

* the compiled fixed-point writer equals its numpy twin bit for bit, and both equal an
  independent rounding written here (nearest: ``np.round``; stochastic: floor(v + u) with the
  splitmix64 dither computed here with Python integers);
* ``ChipNet.price_batch`` (all samples at once) equals ``ChipNet.price`` sample by sample;
* ``step_times`` (every sample in one compiled call) equals ``step_time`` per sample;
* with ``update_every=1`` no gradient is stored, so none is rounded (ReckOn's engine);
* ``learn=False`` runs the forward pass only: its losses are the model's own forward losses.
Each identity has a negative control."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import neurosim as ns
from neurosim.chip import _fixed
from neurosim.chip.costs import ChipNet
from neurosim.hardware import events
from neurosim.hardware.formats import stochastic_round
from neurosim.kernels import using

MASK = (1 << 64) - 1


def _splitmix_uniforms(key: int, n: int) -> np.ndarray:
    """splitmix64 (Steele, Lea & Flood 2014) in Python integers: u_i for i = 1..n."""
    out = np.empty(n)
    for i in range(1, n + 1):
        z = (key + i * 0x9E3779B97F4A7C15) & MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        out[i - 1] = (z >> 11) * 2.0**-53
    return out


@pytest.mark.parametrize("stochastic", [False, True])
def test_compiled_writer_equals_its_twin_and_an_independent_rounding(stochastic):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.7, 300), [0.5 / 64, 1.5 / 64, 2.5 / 64, 3.0, -3.0, 0.0]])
    frac, bits, key = 6, 8, _fixed.write_key(7, 3)
    compiled, sat_c = _fixed.fixed_write(x, frac, bits, stochastic, key)
    with using("numpy"):
        twin, sat_t = _fixed.fixed_write(x, frac, bits, stochastic, key)
    v = x * 2.0**frac
    f = np.floor(v)  # up where the dither is below the fraction left
    k = np.where(_splitmix_uniforms(key, x.size) < v - f, f + 1, f) if stochastic else np.round(v)
    want = np.clip(k, -128, 127) / 2.0**frac
    assert np.array_equal(compiled, twin) and np.array_equal(sat_c, sat_t)
    assert np.array_equal(compiled, want)
    assert np.array_equal(sat_c, (k < -128) | (k > 127)) and sat_c.sum() >= 2  # ±3.0 saturate
    # negative control: another write's key gives other dither (stochastic), or the same (nearest)
    other, _ = _fixed.fixed_write(x, frac, bits, stochastic, _fixed.write_key(7, 4))
    assert np.array_equal(other, compiled) != stochastic


def test_a_value_on_the_grid_stays_there_when_written_again():
    """Stochastic rounding as floor(q) + [u < q − floor(q)] is the identity on integers for every
    u in [0, 1), so an array written twice keeps its values (the chip skips rewriting an unchanged
    accumulator); the textbook floor(q + u) is not: for |q| ≈ 2**15 and u within half an ulp of 1,
    q + u rounds up to q + 1 (the negative control)."""
    q = np.array([0.0, 1.0, -1.0, 32767.0, -32768.0, 12345.0])
    u = np.full(q.size, 1.0 - 2.0**-53)
    assert np.array_equal(stochastic_round(q, u), q)
    assert not np.array_equal(np.floor(q + u), q)  # negative control
    # and still unbiased between grid points, with u at both ends of [0, 1)
    assert np.array_equal(stochastic_round(np.array([2.25, -2.25]), np.array([0.0, 0.0])), [3.0, -2.0])
    assert np.array_equal(stochastic_round(np.array([2.25, -2.25]), u[:2]), [2.0, -3.0])
    # the compiled pass and its twin: a second write with another key changes nothing
    x = np.random.default_rng(1).normal(0, 40.0, 5000)
    for backend in ("numba", "numpy"):
        with using(backend):
            once, _ = _fixed.fixed_write(x, 8, 16, True, _fixed.write_key(3, 0))
            twice, _ = _fixed.fixed_write(once, 8, 16, True, _fixed.write_key(3, 1))
        assert np.array_equal(once, twice)


def test_write_keys_in_blocks_are_the_write_keys():
    keys = _fixed.write_keys(11, 1020, 10)
    assert [int(k) for k in keys] == [_fixed.write_key(11, n) for n in range(1020, 1030)]
    assert len(set(map(int, keys))) == 10  # negative control: distinct writes, distinct keys


@pytest.mark.parametrize("stochastic", [True, False])
def test_compiled_writer_refuses_non_finite_values_as_its_twin_does(stochastic):
    """A non-finite element anywhere refuses the write (compiled and twin); the compiled pass has
    written the finite elements by then (the array is undefined after a failed write)."""
    for where in (0, 1, 2):
        for bad_value in (np.nan, np.inf, -np.inf):
            v = np.array([0.3, 1.07, -0.6])
            v[where] = bad_value
            with pytest.raises(ValueError, match="non-finite"):
                _fixed.fixed_write_inplace(v.copy(), 4, 8, stochastic, 1)
            with pytest.raises(ValueError, match="non-finite"):
                _fixed.fixed_write_numpy(v, 4, 8, stochastic, 1)
    # negative control: the same values, finite, are written
    n, _ = _fixed.fixed_write_inplace(np.array([0.3, 1.07, -0.6]), 4, 8, stochastic, 1)
    assert n == 0


def _net_and_activity(seed=0, B=5):
    task = ns.tasks.make("pattern", seed=0, n_in=5, T=25, rate_hz=200.0)
    model = ns.models.make("alif", n_in=5, n_out=task.n_out, n_hidden=40, n_alif=20)
    prof = ns.hardware.load_profile("loihi")
    layout = ns.hardware.layout.Layout.build(
        [{"core": c, "x": c, "y": 0, "layers": {0: list(range(c, 40, 3))}} for c in range(3)]
    )
    net = ChipNet(model, ns.rules.make("eprop"), prof, layout)
    rng = np.random.default_rng(seed)
    act = lambda p: rng.random((B, net.n)) < p  # noqa: E731
    return net, act(0.2), act(0.5), act(0.2), rng.random((B, net.n_cores)) * 50


def test_price_batch_equals_price_sample_by_sample():
    net, fired, nonzero_prev, fired_prev, lead = _net_and_activity()
    counts, by_phase, cycles, times, crit, links, shape = net.price_batch(fired, nonzero_prev, fired_prev, lead)
    total_links = {}
    for b in range(fired.shape[0]):
        c1, e1, y1, t1, stats = net.price(fired[b], nonzero_prev[b], fired_prev[b], lead[b])
        for k in c1:
            assert np.array_equal(counts[k][b], c1[k]), k
        for k in e1:
            assert np.allclose(by_phase[k][b], e1[k], rtol=1e-12), k
            assert np.allclose(cycles[k][b], y1[k], rtol=1e-12), k
        assert times[b] == t1
        assert crit[b] == int(np.argmax(stats["finished"][: net.n_cores]))
        for k, v in stats["links"].items():
            total_links[k] = total_links.get(k, 0) + v
    assert {int(k): int(links[k]) for k in np.flatnonzero(links)} == total_links
    assert tuple(shape) == tuple(stats["link_shape"])
    # negative control: the samples' inputs shifted by one give other counts
    shifted = net.price_batch(np.roll(fired, 1, axis=0), nonzero_prev, fired_prev, lead)[0]
    assert not np.array_equal(shifted["synop"], counts["synop"])


def test_step_times_equals_step_time_per_sample():
    net, fired, nonzero_prev, _, lead = _net_and_activity(seed=1)
    lat = events.neuron_latency(net.ev, fired, fired | nonzero_prev)
    times, _, _ = events.step_times(net.ev, lat, fired, lead)
    for b in range(fired.shape[0]):
        assert times[b] == events.step_time(net.ev, lat[b], fired[b], lead_ns=lead[b])
    no_lead, _, _ = events.step_times(net.ev, lat, fired, None)  # negative control: the lead matters
    assert np.any(no_lead != times)


def test_repeated_sample_steps_are_scheduled_once_and_counted_each_time():
    """Samples alike in activity, latencies and lead share one schedule: each keeps its time and
    critical core, and the link packets count every sample (a batch of one sample repeated has
    exactly its links times the repeats). The price_batch test above checks the links against
    the per-sample schedules with distinct samples; this one with repeats."""
    net, fired, nonzero_prev, _, lead = _net_and_activity(seed=2)
    lat = events.neuron_latency(net.ev, fired, fired | nonzero_prev)
    order = np.array([0, 1, 0, 2, 1, 0])  # sample 0 three times, 1 twice
    times, crit, links = events.step_times(net.ev, lat[order], fired[order], lead[order])
    t1, c1, l1 = events.step_times(net.ev, lat[:3], fired[:3], lead[:3])
    np.testing.assert_array_equal(times, t1[order])
    np.testing.assert_array_equal(crit, c1[order])
    per = [events.step_times(net.ev, lat[b : b + 1], fired[b : b + 1], lead[b : b + 1])[2] for b in range(3)]
    np.testing.assert_array_equal(links, 3 * per[0] + 2 * per[1] + per[2])
    assert links.sum() > l1.sum()  # negative control: the repeats' packets are not dropped


def _copy(update_every):
    task = ns.tasks.make("copy", seed=0, pattern_len=3, pad=1)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=6, width=8, n_layers=2, dtype="float64")
    return ns.chip.simulate(model, ns.rules.make("online_lru"), task, "loihi2", steps=2, optimizer=ns.optim.sgd(0.05),
                            update_every=update_every, activity="off")  # fmt: skip


def test_a_gradient_applied_at_once_is_not_stored_or_rounded():
    once, accumulated = _copy(1), _copy(2)
    assert not [k for k in once.number_formats if k.startswith("grad:")]
    assert not [k for k in once.overflows["saturations"] if k.startswith("grad:")]
    # negative control: with an accumulator the gradient is stored in its format
    assert [k for k in accumulated.number_formats if k.startswith("grad:")]


def test_inference_is_the_forward_pass_only():
    task = ns.tasks.make("pattern", seed=0, n_in=5, T=25, rate_hz=200.0)
    model = ns.models.make("alif", n_in=5, n_out=task.n_out, n_hidden=9, n_alif=5, dtype="float64")
    run = ns.chip.simulate(model, ns.rules.make("eprop"), task, "loihi", steps=2, formats="float", learn=False,
                           activity="off", batch_size=2)  # fmt: skip
    params = model.init(0)
    want = []
    for it in range(2):
        b = task.batch(it, 2)
        ys = model.run(params, b.xs)
        loss = sum(ns.losses.get(task.loss)(ys[t], b.ys[t], b.mask[t])[0] for t in range(ys.shape[0]))
        want.append(loss / float(b.mask.mean(1).sum()))
    assert np.allclose(run.losses, want, rtol=1e-12)
    for k, v in params.items():
        assert np.array_equal(run.params[k], v), k
    # negative control: learning on changes the parameters and the second loss
    learnt = ns.chip.simulate(model, ns.rules.make("eprop"), task, "loihi", steps=2, formats="float",
                              activity="off", batch_size=2, optimizer=ns.optim.sgd(0.5))  # fmt: skip
    assert not np.isclose(learnt.losses[1], want[1], rtol=1e-9)


def test_spiking_forward_without_the_copy_equals_the_zeroed_weights():
    model = ns.models.make("alif", n_in=3, n_out=2, n_hidden=6, n_alif=3, dtype="float64")
    p = model.init(1)
    assert not p["layer0.W_rec"].diagonal().any()  # init has no autapses
    state = model.initial_state(2)
    x = np.ones((2, 3))
    s1, y1, _ = model.forward(p, state, x)
    s2, y2, _ = model.forward(p, s1, x)
    autapses = dict(p, **{"layer0.W_rec": p["layer0.W_rec"] + 5.0 * np.eye(6)})
    t1, _, _ = model.forward(autapses, state, x)
    t2, z2, _ = model.forward(autapses, t1, x)
    assert np.array_equal(y2, z2)  # a diagonal in the weights is ignored, as before
    assert not np.any(autapses["layer0.W_rec"].diagonal() == 0)  # and the caller's array is not changed


def test_received_equals_its_twin_and_a_dense_oracle():
    """Who received a packet the step before: from the blocks (all-to-all, no autapses) and the
    listed pairs' CSR (compiled, and its numpy twin), against the product with the listed
    synapse matrix (``ChipNet.pre``, ``.post``: the specification)."""
    net, fired, *_ = _net_and_activity(seed=3)
    assert net.blocks and any(b.self_excluded for b in net.blocks)
    got = net.received(fired)
    with using("numpy"):
        twin = net.received(fired)
    dense = np.zeros((net.n, net.n), bool)
    dense[net.pre, net.post] = True
    want = (fired.astype(int) @ dense.astype(int)) > 0
    assert np.array_equal(got, twin) and np.array_equal(got, want)
    # a lone firing unit does not receive its own spike (no autapses), the others of its layer do
    lone = np.zeros((1, net.n), bool)
    u = net.offsets[0] + 7
    lone[0, u] = True
    one = net.received(lone)
    assert not one[0, u] and one[0, net.offsets[0] : net.offsets[1]].sum() == net.units[0] - 1
    # negative control: only the inputs firing reach only layer 0 (the readout receives nothing)
    only_inputs = np.zeros_like(fired)
    only_inputs[:, : net.n_in] = fired[:, : net.n_in]
    partial = net.received(only_inputs)
    assert partial.any() and not partial[:, net.offsets[-1] :].any() and not np.array_equal(partial, want)


def test_block_axons_equal_those_of_the_listed_synapses():
    """The axons built from the blocks (never listing an all-to-all synapse) equal
    ``events.axon_triples`` of every synapse listed, on a spiking layer (no autapses) and on a
    2-layer masked RNN (blocks between layers, listed pairs within)."""
    spiking = _net_and_activity()[0]
    rnn = ns.models.make("rnn", n_in=3, n_out=2, n_hidden=12, n_layers=2, density=0.3)
    layout = ns.hardware.layout.Layout.build(
        [{"core": c, "x": c % 2, "y": c // 2, "layers": {0: list(range(c, 12, 3)), 1: list(range(c, 12, 3))}}
         for c in range(3)]
    )  # fmt: skip
    masked = ChipNet(rnn, ns.rules.make("snap1"), ns.hardware.load_profile("loihi2"), layout)
    assert masked.sparse[0].size and masked.blocks
    for net in (spiking, masked):
        want = events.axon_triples(net.pre, net.post, net.core_of)
        got = net._triples()
        for w, g in zip(want, got):
            assert np.array_equal(w, g)
    # negative control: the autapses counted in would add a synapse on each unit's own core
    blocks = [dataclasses.replace(b, self_excluded=False) for b in spiking.blocks]
    loose = object.__new__(ChipNet)
    loose.__dict__.update({**spiking.__dict__, "blocks": blocks})
    assert loose._triples()[2].sum() == spiking._triples()[2].sum() + spiking.units[0]


def test_compiled_writer_in_float32_equals_its_twin_and_the_float64_result_rounded():
    x = np.random.default_rng(2).normal(0, 0.7, 257).astype(np.float32)
    key = _fixed.write_key(1, 9)
    a, b = x.copy(), x.copy()
    _fixed.fixed_write_inplace(a, 6, 8, True, key)
    with using("numpy"):
        _fixed.fixed_write_inplace(b, 6, 8, True, key)
    wide, _ = _fixed.fixed_write(x.astype(np.float64), 6, 8, True, key)
    assert a.dtype == np.float32 and np.array_equal(a, b) and np.array_equal(a, wide.astype(np.float32))
    assert not np.array_equal(a, x)  # negative control: the write changed the values
