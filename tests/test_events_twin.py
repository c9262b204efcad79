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


def _random_orders(rng, n_cores: int) -> dict:
    return {(a, b): ("yx" if rng.random() < 0.5 else "xy") for a in range(n_cores) for b in range(n_cores) if a != b}


@pytest.mark.parametrize("profile", ["loihi", "loihi2"])
def test_yx_routes_compiled_equal_the_specification(profile):
    """With a layout's routes half YX, the compiled scheduler still equals ``_detailed`` exactly;
    and the YX routes do take other links than XY (negative control: the orders are read)."""
    prof = ns.hardware.load_profile(profile)
    rng = np.random.default_rng(11)
    differ = 0
    for _ in range(10):
        n = int(rng.integers(30, 120))
        pre, post = rng.integers(0, n, 10 * n), rng.integers(0, n, 10 * n)
        n_cores = int(rng.integers(4, 20))
        core_of = rng.integers(0, n_cores, n)
        grid = np.array([(x, y) for x in range(4) for y in range(4)] * 2)  # two cores a tile at most
        sites = grid[rng.permutation(grid.shape[0])[:n_cores]]
        net = ev.event_net(prof, (pre, post), core_of, sites=sites, routes=_random_orders(rng, n_cores))
        raster = rng.random((1, n)) < 0.5
        lat = ev.neuron_latency(net, raster, raster)[0]
        s_ref, s_fast, s_xy = {}, {}, {}
        assert ev.step_time(net, lat, raster[0], stats=s_fast) == _reference(net, lat, raster[0], stats=s_ref)
        assert s_fast["links"] == s_ref["links"]
        ev.step_time(ev.event_net(prof, (pre, post), core_of, sites=sites), lat, raster[0], stats=s_xy)
        differ += s_xy["links"] != s_fast["links"]
    assert differ >= 8


def test_route_links_follow_the_dimension_order():
    """The link slots of a message visit the routers of ``mesh.dimension_path`` in its order."""
    from neurosim.hardware.mesh import dimension_path

    height, per_router = 5, 8
    for src, dst in (((0, 0), (3, 2)), ((4, 4), (1, 0)), ((2, 1), (2, 4)), ((1, 1), (1, 1))):
        for order in ("xy", "yx"):
            links = ev._route_links(src, dst, 0, height, per_router, yx=order == "yx")
            routers = [divmod(link // per_router, height) for link in links]
            assert routers == dimension_path(src, dst, order)
    assert dimension_path((0, 0), (3, 2), "xy") != dimension_path((0, 0), (3, 2), "yx")


def test_route_orders_read_a_layout_and_refuse_other_paths():
    from neurosim.hardware.layout import Route

    sites = np.array([[0, 0], [2, 1], [1, 1]])
    got = ev.route_orders([Route(0, 1, ((0, 0), (1, 0), (2, 0), (2, 1))), Route(0, 2, ((0, 0), (0, 1), (1, 1)))], sites)
    assert got == {(0, 1): "xy", (0, 2): "yx"}
    with pytest.raises(ValueError, match="XY or YX"):
        ev.route_orders([Route(0, 1, ((0, 0), (1, 0), (1, 1), (2, 1)))], sites)
