"""The compiled scheduler is its Python specification: ``events.step_time`` (``_step_messages_flat``
and ``_schedule`` in numba) equals ``_step_messages`` + ``_detailed`` exactly — the step time, the
packets per link slot and each core's end — on random networks, placements, rasters and leads."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns
from neurosim.hardware import events as ev


def _reference(net, lat, fired, lead_ns=None, stats=None):
    queues = ev._step_messages(net.groups, lat, fired, net.first_axon, net.n_axons, ev._ns(net.profile, "message_out"),
                               net.n_cores, lead_ns)  # fmt: skip
    return ev._detailed(queues, net.process_ns, net.ax, net.sites, net.port, net.profile, stats)


@pytest.mark.parametrize("profile", ["loihi", "loihi2"])
def test_the_compiled_scheduler_equals_its_python_specification(profile):
    prof = ns.hardware.load_profile(profile)
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(25):
        n = int(rng.integers(5, 150))
        pre, post = rng.integers(0, n, 10 * n), rng.integers(0, n, 10 * n)
        n_cores = int(rng.integers(1, 20))
        net = ev.event_net(prof, (pre, post), rng.integers(0, n_cores, n), inputs=np.arange(min(3, n)))
        raster = rng.random((3, n)) < rng.uniform(0.0, 0.6)
        lat = ev.neuron_latency(net, raster, ev.updated_neurons((pre, post), raster) | raster)
        for t in range(3):
            lead = rng.random(net.n_cores) * (rng.random(net.n_cores) < 0.5) * 50 if t == 2 else None
            s_ref, s_fast = {}, {}
            want = _reference(net, lat[t], raster[t], lead, s_ref)
            got = ev.step_time(net, lat[t], raster[t], lead_ns=lead, stats=s_fast)
            assert got == want
            assert s_fast["links"] == s_ref["links"] and s_fast["finished"] == s_ref["finished"]
            checked += bool(s_ref["links"])
    assert checked > 20  # most steps sent packets


def test_the_twin_check_sees_a_wrong_order():
    """Negative control: the same messages in another order take another time."""
    prof = ns.hardware.load_profile("loihi")
    rng = np.random.default_rng(0)
    n = 120
    pre, post = rng.integers(0, n, 20 * n), rng.integers(0, n, 20 * n)
    net = ev.event_net(prof, (pre, post), rng.integers(0, 12, n))
    raster = rng.random((1, n)) < 0.5
    lat = ev.neuron_latency(net, raster, raster)
    queues = ev._step_messages(net.groups, lat[0], raster[0], net.first_axon, net.n_axons, ev._ns(prof, "message_out"),
                               net.n_cores)  # fmt: skip
    shuffled = [q[::-1] for q in queues]
    a = ev._detailed_fast(queues, net.process_ns, net.ax, net.sites, net.port, prof)
    b = ev._detailed_fast(shuffled, net.process_ns, net.ax, net.sites, net.port, prof)
    assert a != b
