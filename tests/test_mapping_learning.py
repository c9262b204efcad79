"""The learning phases' messages (``mapping.learning``): counted against their definition, and in
the mapper's objective and report."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns
import neurosim.mapping as nm
from neurosim.mapping import graph as G
from neurosim.mapping import place
from neurosim.mapping.learning import error_traffic


def brute_errors(graph: nm.Graph, part: np.ndarray, how: tuple, n_out: int) -> np.ndarray:
    """The definition, synapse by synapse: a transposed layer's unit i gets one partial sum from
    every other core holding a target of i; the readout (on the top group's unit 0) sends each
    top unit one value ("transpose") or each other core of the top group n_out ("broadcast")."""
    k = int(part.max()) + 1
    E = np.zeros((k, k))
    off, sizes = graph.offsets, graph.sizes
    for p in graph.projections:
        if p.src == p.dst or how[p.src] != "transpose":
            continue
        for j in range(sizes[p.src]):
            i = off[p.src] + j
            cores = {int(part[off[p.dst] + t]) for t in p.targets(j, sizes[p.dst])} - {int(part[i])}
            for c in cores:
                E[c, part[i]] += 1
    top = len(sizes) - 1
    r = int(part[off[top]])
    for u in range(off[top], off[top + 1]):
        if part[u] != r and how[top] == "transpose":
            E[r, part[u]] += 1
    if how[top] == "broadcast":
        for a in set(part[off[top] : off[top + 1]].tolist()) - {r}:
            E[r, a] += n_out
    return E


def sparse_two_layer(seed: int = 0) -> nm.Graph:
    """Two groups of 30 and 20 units, a sparse feed-forward and a sparse recurrent projection."""
    rng = np.random.default_rng(seed)
    ff = rng.random((30, 20)) < 0.15  # rows: source units
    rec = rng.random((20, 20)) < 0.2
    np.fill_diagonal(rec, False)
    return nm.Graph((("a", 30), ("b", 20)), (G.csr(0, 1, ff, weights=False), G.csr(1, 1, rec, weights=False)),
                    readout=True)  # fmt: skip


@pytest.mark.parametrize("how", [("transpose", "transpose"), ("transpose", "broadcast"), ("none", "broadcast")])
def test_error_traffic_equals_its_definition_on_a_sparse_graph(how):
    class Declares:
        name = "declares"

        def error_messages(self, model):
            return how

    g = sparse_two_layer()
    model = type("M", (), {"n_out": 3})()
    for seed in range(4):
        part = np.random.default_rng(seed).integers(0, 5, g.n_units)
        part[:5] = np.arange(5)  # every core used
        E = error_traffic(g, Declares(), model, part, 5)
        np.testing.assert_array_equal(E, brute_errors(g, part, how, 3))
        # negative control: the forward spikes' traffic is not the errors' (they run the other way)
        T = nm.partition.traffic(part, *g.pins(), np.ones(g.n_units), 5)
        assert not np.array_equal(E, T)


def test_dense_layers_of_a_model_follow_the_definition_and_eprop_broadcasts():
    m = ns.models.make("lru", n_in=3, n_out=2, n_hidden=8, n_layers=3)
    g = nm.graph.from_model(m)
    part = np.random.default_rng(1).integers(0, 4, g.n_units)
    part[:4] = np.arange(4)
    rule = ns.rules.make("online_lru")
    assert rule.error_messages(m) == ("transpose",) * 3
    np.testing.assert_array_equal(error_traffic(g, rule, m, part, 4), brute_errors(g, part, ("transpose",) * 3, 2))
    # e-prop on a spiking layer: the readout's two errors go to each other core of the layer
    s = ns.models.make("alif", n_in=3, n_out=2, n_hidden=40)
    gs = nm.graph.from_model(s)
    ps = np.arange(gs.n_units) % 3
    E = error_traffic(gs, ns.rules.make("eprop"), s, ps, 3)
    r = ps[0]
    expected = np.zeros((3, 3))
    expected[r, [c for c in range(3) if c != r]] = 2
    np.testing.assert_array_equal(E, expected)
    # no rule (inference): no learning messages
    assert not error_traffic(gs, None, s, ps, 3).any()


def test_the_report_adds_the_learning_messages_and_auto_places_them():
    profile = ns.hardware.parse(_one_core_per_tile(), "loihi2 1/tile")
    m = ns.models.make("lru", n_in=4, n_out=2, n_hidden=64, n_layers=4)
    rule = ns.rules.make("online_lru")
    totals = {}
    for method in ("round_robin", "greedy", "auto"):
        res = nm.map_network(m, profile, rule=rule, method=method)
        r = res.report
        sites = np.array([[c.x, c.y] for c in sorted(res.layout.cores, key=lambda c: c.core)])
        part = _part_of(res.layout, m)
        E = error_traffic(nm.graph.from_model(m), rule, m, part, len(sites))
        assert r["learning_packets_per_step"] == E.sum() > 0
        assert r["learning_packet_hops_per_step"] == pytest.approx((E * place.hops(sites)).sum())
        assert r["total_packet_hops_per_step"] == pytest.approx(
            r["packet_hops_per_step"] + r["learning_packet_hops_per_step"]
        )
        totals[method] = r["total_packet_hops_per_step"]
    assert totals["auto"] <= min(totals["greedy"], totals["round_robin"])
    # without a rule there is nothing to learn and nothing sent for it
    r = nm.map_network(m, profile, method="greedy").report
    assert r["learning_packets_per_step"] == 0 and r["total_packet_hops_per_step"] == r["packet_hops_per_step"]


def _one_core_per_tile() -> dict:
    import tomllib

    data = tomllib.loads((ns.hardware.profile.PROFILE_DIR / "loihi2.toml").read_text())
    data["chip"]["cores_per_tile"]["value"] = 1
    return data


def _part_of(layout, model) -> np.ndarray:
    from neurosim.hardware.layout import layer_units

    part = np.concatenate([layout.core_of(layer, n) for layer, n in enumerate(layer_units(model))])
    assert (part >= 0).all()
    return part
