"""The mapper's inputs: Brian2 networks and NIR graphs become graphs whose projections are the
synapses (checked against the Brian2 objects and against ``graph.from_model``), with named
refusals, and map to layouts the independent validator accepts."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns
import neurosim.mapping as nm
import neurosim.snn as snn
from neurosim.snn.brian2_import import Brian2ImportError

LOIHI = ns.hardware.load_profile("loihi")


def pairs(graph: nm.Graph, k: int) -> np.ndarray:
    """Projection ``k`` as a (n_src, n_dst) synapse-count matrix (dense: all ones)."""
    p = graph.projections[k]
    n_src, n_dst = graph.sizes[p.src], graph.sizes[p.dst]
    m = np.zeros((n_src, n_dst), np.int64)
    if p.dense:
        return m + 1
    np.add.at(m, (np.repeat(np.arange(n_src), np.diff(p.indptr)), p.indices), 1)
    return m


def projection_sets(graph: nm.Graph) -> dict:
    """{(src, dst): synapse-count matrix} of every projection (several between one pair add)."""
    out: dict = {}
    for k, p in enumerate(graph.projections):
        out[(p.src, p.dst)] = out.get((p.src, p.dst), 0) + pairs(graph, k)
    return out


def brute_packets(graph: nm.Graph, part: np.ndarray, rate: np.ndarray) -> float:
    """Σ over units of rate × the other cores holding a target (the definition, no readout)."""
    off, sizes, total = graph.offsets, graph.sizes, 0.0
    targets: dict[int, set] = {}
    for p in graph.projections:
        for j in range(sizes[p.src]):
            targets.setdefault(off[p.src] + j, set()).update((p.targets(j, sizes[p.dst]) + off[p.dst]).tolist())
    for u, ts in targets.items():
        total += rate[u] * len({int(part[t]) for t in ts} - {int(part[u])})
    return total


def small_loihi(neurons: int = 16):
    import tomllib

    data = tomllib.loads((ns.hardware.profile.PROFILE_DIR / "loihi.toml").read_text())
    data["chip"]["cores_per_tile"]["value"] = 1
    data["core"]["max_neurons"]["value"] = neurons
    return ns.hardware.parse(data, "small-loihi")


# --- Brian2 ---------------------------------------------------------------------------------------
@pytest.fixture
def b2():
    brian2 = pytest.importorskip("brian2")
    brian2.prefs.codegen.target = "numpy"
    brian2.start_scope()
    brian2.seed(3)
    return brian2


LIF_EQS = """dv/dt = (ge - (v - El)) / taum : volt (unless refractory)
dge/dt = -ge / taue : volt"""


def test_brian2_projections_are_the_synapses_pairs_with_subgroup_offsets(b2):
    """Two groups (one whose adaptive equations the training importer refuses), Synapses from a
    subgroup and onto a subgroup and between groups: the graph's projections are the Synapses'
    (i, j) shifted by the subgroups' starts, several Synapses between the same groups adding up."""
    A = b2.NeuronGroup(12, "dv/dt = (v**2 - w) / (10*ms) : 1\ndw/dt = -w / (50*ms) : 1", threshold="v > 1",
                       reset="v = 0; w += 0.1", method="euler", name="A")  # fmt: skip
    B = b2.NeuronGroup(
        7, "dv/dt = -v / (10*ms) : volt", threshold="v > 10*mV", reset="v = 0*mV", method="exact", name="B"
    )
    S1 = b2.Synapses(A[3:9], B[2:7], on_pre="v_post += 1*mV")
    S1.connect(p=0.5)
    S2 = b2.Synapses(B, A, on_pre="v_post += 0.1")
    S2.connect(p=0.4)
    S3 = b2.Synapses(A, A, on_pre="v_post += 0.05")
    S3.connect(condition="i != j", p=0.3)
    S4 = b2.Synapses(A, B, on_pre="v_post += 2*mV")
    S4.connect(i=[0, 0, 11], j=[6, 6, 0])  # a repeated pair is two synapses
    with pytest.raises(Brian2ImportError):
        snn.from_brian2(A, [S3])  # the training importer refuses the equations...
    g = nm.from_brian2([A, B, S1, S2, S3, S4])  # ... the mapper needs only the connectivity
    assert g.groups == (("A", 12), ("B", 7))
    want = {
        (0, 1): np.zeros((12, 7), np.int64),
        (1, 0): np.zeros((7, 12), np.int64),
        (0, 0): np.zeros((12, 12), np.int64),
    }
    for S, key, (di, dj) in ((S1, (0, 1), (3, 2)), (S2, (1, 0), (0, 0)), (S3, (0, 0), (0, 0)), (S4, (0, 1), (0, 0))):
        np.add.at(want[key], (np.asarray(S.i[:]) + di, np.asarray(S.j[:]) + dj), 1)
    got = projection_sets(g)
    assert set(got) == set(want)
    for key in want:
        assert np.array_equal(got[key], want[key]), key
    # negative controls: without the subgroup offsets, or transposed, the pairs differ
    wrong = np.zeros((12, 7), np.int64)
    np.add.at(wrong, (np.asarray(S1.i[:]), np.asarray(S1.j[:])), 1)
    np.add.at(wrong, (np.asarray(S4.i[:]), np.asarray(S4.j[:])), 1)
    assert not np.array_equal(got[(0, 1)], wrong)
    assert not np.array_equal(got[(0, 0)], want[(0, 0)].T)


def test_brian2_weights_are_the_importers_where_it_applies(b2):
    """CUBA's form: the excitatory and inhibitory jumps (hand values, mV) and a per-synapse w;
    a delta synapse on v is outside the importer's form, so its projection has no weights."""
    ms, mV = b2.ms, b2.mV
    ns_ = {"taum": 20 * ms, "taue": 5 * ms, "El": -49 * mV, "we": 1.62 * mV}
    P = b2.NeuronGroup(30, LIF_EQS, threshold="v > -50*mV", reset="v = -60*mV", method="exact", namespace=ns_)
    Q = b2.NeuronGroup(10, LIF_EQS, threshold="v > -50*mV", reset="v = -60*mV", method="exact", namespace=ns_)
    Ce = b2.Synapses(P, P, on_pre="ge += we", namespace=ns_)
    Ce.connect(p=0.2)
    Cw = b2.Synapses(P, Q, "w : volt", on_pre="ge += w")
    Cw.connect(p=0.3)
    Cw.w = "(i + 2*j) * 0.01*mV"
    Cd = b2.Synapses(Q, P, on_pre="v += 0.5*mV")
    Cd.connect(p=0.3)
    g = nm.from_brian2([P, Q, Ce, Cw, Cd], namespace={})
    by = {(p.src, p.dst): p for p in g.projections}
    assert np.allclose(by[(0, 0)].weights, 1.62)  # mV, the constant `we`
    p = by[(0, 1)]
    pre = np.repeat(np.arange(30), np.diff(p.indptr))
    assert np.allclose(p.weights, (pre + 2 * p.indices) * 0.01)  # the expression, per synapse, in mV
    assert not np.allclose(p.weights, (2 * pre + p.indices) * 0.01)  # negative control: i and j swapped
    assert by[(1, 0)].weights is None  # v += w: a delta synapse, not the importer's form


def test_brian2_refusals_name_the_object(b2):
    G = b2.NeuronGroup(8, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0", method="exact", name="G")
    H = b2.NeuronGroup(4, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0", method="exact", name="H")
    Pg = b2.PoissonGroup(5, 50 * b2.Hz, name="Pg")
    Sp = b2.Synapses(Pg, G, on_pre="v += 0.2")
    Sp.connect(p=0.5)
    Sg = b2.Synapses(G, G, on_pre="v += 0.1")
    Sg.connect(p=0.5)
    with pytest.raises(Brian2ImportError, match=r"PoissonGroup 'Pg'.*external='drop'"):
        nm.from_brian2(b2.Network(G, Pg, Sp, Sg))
    g = nm.from_brian2(b2.Network(G, Pg, Sp, Sg), external="drop")
    assert g.groups == (("G", 8),) and len(g.projections) == 1
    Sh = b2.Synapses(G, H, on_pre="v += 0.1")
    Sh.connect(p=0.5)
    with pytest.raises(Brian2ImportError, match=r"NeuronGroup 'H', which is not mapped"):
        nm.from_brian2([G, Sg, Sh])
    with pytest.raises(Brian2ImportError, match="Subgroup"):
        nm.from_brian2([G[:4], Sg])
    K = b2.NeuronGroup(4, "dv/dt = (I - v) / (10*ms) : 1\nI : 1", threshold="v > 1", reset="v = 0", method="exact")
    gap = b2.Synapses(G, K, "w : 1\nI_post = w * v_pre : 1 (summed)", name="gap")
    gap.connect(p=0.5)
    with pytest.raises(Brian2ImportError, match="Synapses 'gap' without an on_pre pathway"):
        nm.from_brian2([G, K, gap])
    with pytest.raises(Brian2ImportError, match="without a NeuronGroup"):
        nm.from_brian2([Pg, Sp])
    with pytest.raises(ValueError, match="external"):
        nm.from_brian2([G], external="ignore")


def test_brian2_network_maps_with_spike_monitor_rates(b2):
    """Rates from SpikeMonitors (one on a group, two on subgroups covering the other) are spike
    counts / steps (oracle: the recorded spike indices counted here, over 300 steps = 30 ms / 0.1 ms);
    the report's packets per step are those rates × the other cores each unit reaches."""
    ms = b2.ms
    eqs = "dv/dt = (I - v) / (10*ms) : 1\nI : 1 (constant)"
    A = b2.NeuronGroup(40, eqs, threshold="v > 1", reset="v = 0", method="exact", name="A")
    A.I = "1.05 + 2.0 * i / 40"
    B = b2.NeuronGroup(24, eqs, threshold="v > 1", reset="v = 0", method="exact", name="B")
    B.I = "1.1 + 3.0 * (i % 5) / 5"
    S1 = b2.Synapses(A, B, on_pre="v_post += 0.01")
    S1.connect(p=0.3)
    S2 = b2.Synapses(B, A, on_pre="v_post += 0.01")
    S2.connect(p=0.3)
    S3 = b2.Synapses(A, A, on_pre="v_post += 0.01")
    S3.connect(condition="abs(i - j) < 4 and i != j")
    MA, MB1, MB2 = b2.SpikeMonitor(A), b2.SpikeMonitor(B[:10]), b2.SpikeMonitor(B[10:])
    net = b2.Network(A, B, S1, S2, S3, MA, MB1, MB2)
    net.run(30 * ms)
    rate = nm.brian2_activity(net, [MA, MB1, MB2])
    want = np.concatenate([np.bincount(MA.i[:], minlength=40), np.bincount(MB1.i[:], minlength=10),
                           np.bincount(MB2.i[:], minlength=14)]) / 300.0  # fmt: skip
    assert np.allclose(rate, want) and rate.max() > 0 and np.ptp(rate) > 0
    with pytest.raises(ValueError, match=r"no SpikeMonitor counts.*'B'"):
        nm.brian2_activity(net, [MA, MB1])
    with pytest.raises(ValueError, match="counts units another monitor counted"):
        nm.brian2_activity(net, [MA, MB1, MB2, b2.SpikeMonitor(B[5:7])])
    profile = small_loihi(16)
    res = nm.map_network(net, profile, activity=[MA, MB1, MB2], method="greedy")
    graph = nm.as_graph(net)  # one layer of 64 units: both groups, priced as masked rnn rows
    assert graph.sizes == [64] and nm.group_ranges(nm.from_brian2(net)) == {"A": (0, 40), "B": (40, 64)}
    assert nm.problems(res.layout, graph.model, profile, graph=graph) == []
    part = res.layout.core_of(0, 64)
    assert res.report["packets_per_step"] == pytest.approx(brute_packets(graph, part, want))
    assert res.report["packets_per_step"] != pytest.approx(brute_packets(graph, part, np.ones(64)))  # negative control


# --- NIR ------------------------------------------------------------------------------------------
@pytest.fixture
def nir():
    return pytest.importorskip("nir")


def lif(nir, n: int):
    return nir.LIF(tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n))


def cuba(nir, n: int):
    one = np.ones(n)
    return nir.CubaLIF(tau_syn=one * 0.005, tau_mem=one * 0.02, r=one, v_leak=0 * one, v_threshold=one)


def nir_of_stack(nir, model, params, transpose: str | None = None):
    """A neurosim rnn stack as NIR, by hand: per layer a CubaLIF node (the neuron model does not
    matter to the mapper), its input weights U and recurrent W as Linear/Affine nodes (NIR's weight
    is (out, in), as neurosim's W[post, pre]), the decoder into an Output."""
    L = len({k.split(".")[0] for k in params if k.startswith("layer")})
    n = params["layer0.W"].shape[0]
    nodes = {"in": nir.Input(np.array([params["layer0.U"].shape[1]]))}
    edges = []
    prev = "in"
    for layer in range(L):
        W, U = params[f"layer{layer}.W"], params[f"layer{layer}.U"]
        if transpose == f"layer{layer}.W":
            W = W.T
        nodes[f"u{layer}"] = nir.Affine(U, params[f"layer{layer}.b"])
        nodes[f"h{layer}"] = cuba(nir, n)
        nodes[f"w{layer}"] = nir.Linear(W)
        edges += [
            (prev, f"u{layer}"),
            (f"u{layer}", f"h{layer}"),
            (f"h{layer}", f"w{layer}"),
            (f"w{layer}", f"h{layer}"),
        ]
        prev = f"h{layer}"
    nodes["dec"] = nir.Affine(params["dec.W"], params["dec.b"])
    nodes["out"] = nir.Output(np.array([params["dec.W"].shape[0]]))
    edges += [(prev, "dec"), ("dec", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def test_nir_round_trip_of_a_neurosim_stack_equals_from_model(nir):
    """A masked 2-layer stack → NIR (by hand, from its parameters) → Graph: every projection equals
    ``graph.from_model``'s (the oracle: the model's masks), and the weights are the parameters'
    entries; a transposed recurrent matrix does not compare equal (negative control)."""
    m = ns.models.make("rnn", n_in=3, n_out=2, n_hidden=12, n_layers=2, density=0.25, structure_seed=4)
    params = m.init(np.random.default_rng(0))
    g = nm.from_nir(nir_of_stack(nir, m, params))
    ref = nm.from_model(m)
    assert g.sizes == ref.sizes == [12, 12]
    got, want = projection_sets(g), projection_sets(ref)
    assert set(got) == set(want) == {(0, 0), (0, 1), (1, 1)}
    for key in want:
        assert np.array_equal(got[key] > 0, want[key] > 0), key
    for p in g.projections:  # weights: W[post, pre] (recurrent) and U[post, pre] (layer 1's input)
        name = f"layer{p.dst}.W" if p.src == p.dst else f"layer{p.dst}.U"
        pre = np.repeat(np.arange(12), np.diff(p.indptr))
        assert np.array_equal(p.weights, params[name][p.indices, pre])
    bad = projection_sets(nm.from_nir(nir_of_stack(nir, m, params, transpose="layer0.W")))
    assert not np.array_equal(bad[(0, 0)] > 0, want[(0, 0)] > 0)
    assert np.array_equal(bad[(1, 1)] > 0, want[(1, 1)] > 0)  # only the transposed one differs


def test_nir_round_trip_of_a_spiking_model(nir):
    """neurosim's LIF layer (no autapses) as NIR: one group reading all the others but itself."""
    m = ns.models.make("lif", n_in=3, n_out=2, n_hidden=9)
    p = m.init(np.random.default_rng(1))
    nodes = {
        "in": nir.Input(np.array([3])),
        "win": nir.Linear(p["layer0.W_in"]),
        "z": lif(nir, 9),
        "rec": nir.Linear(p["layer0.W_rec"]),
        "dec": nir.Linear(p["dec.W"]),
        "out": nir.Output(np.array([2])),
    }
    edges = [("in", "win"), ("win", "z"), ("z", "rec"), ("rec", "z"), ("z", "dec"), ("dec", "out")]
    g = nm.from_nir(nir.NIRGraph(nodes=nodes, edges=edges))
    ref = nm.from_model(m)
    assert np.array_equal(projection_sets(g)[(0, 0)], projection_sets(ref)[(0, 0)])
    assert np.array_equal(projection_sets(g)[(0, 0)], 1 - np.eye(9, dtype=np.int64))  # hand: all but self


def test_nir_paths_multiply_through_chains_and_add_across_branches(nir):
    """a → L1 → L2 → b and a → L3 → b, a → b directly (one-to-one), b → Lo → Output: the
    projection a → b is (W2 W1 + W3 + I)ᵀ (hand-built here); the path to the Output adds nothing."""
    rng = np.random.default_rng(2)
    W1, W2, W3 = rng.normal(size=(5, 4)), rng.normal(size=(4, 5)), rng.normal(size=(4, 4)) * (rng.random((4, 4)) < 0.5)
    W2[0] = 0.0
    nodes = {
        "in": nir.Input(np.array([4])),
        "a": lif(nir, 4),
        "L1": nir.Linear(W1),
        "L2": nir.Affine(W2, np.ones(4)),
        "L3": nir.Linear(W3),
        "b": cuba(nir, 4),
        "Lo": nir.Linear(np.ones((2, 4))),
        "out": nir.Output(np.array([2])),
    }
    edges = [
        ("in", "a"),
        ("a", "L1"),
        ("L1", "L2"),
        ("L2", "b"),
        ("a", "L3"),
        ("L3", "b"),
        ("a", "b"),
        ("b", "Lo"),
        ("Lo", "out"),
    ]
    g = nm.from_nir(nir.NIRGraph(nodes=nodes, edges=edges))
    assert g.groups == (("a", 4), ("b", 4)) and len(g.projections) == 1
    want = (W2 @ W1 + W3 + np.eye(4)).T  # pre × post
    dense = np.zeros((4, 4))
    p = g.projections[0]
    dense[np.repeat(np.arange(4), np.diff(p.indptr)), p.indices] = p.weights
    assert np.allclose(dense, want)
    assert not np.allclose(dense, (W1.T @ W2.T + W3 + np.eye(4)).T)  # negative control: wrong order
    assert np.array_equal(dense != 0, want != 0)


def test_nir_refusals_name_the_node_and_type(nir):
    nodes = {
        "in": nir.Input(np.array([4])),
        "flat": nir.Flatten(input_type={"input": np.array([4])}),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "a": lif(nir, 4),
        "out": nir.Output(np.array([4])),
    }
    g = nir.NIRGraph(
        nodes=nodes, edges=[("in", "flat"), ("flat", "pool"), ("pool", "a"), ("a", "out")], type_check=False
    )
    with pytest.raises(nm.NIRImportError, match=r"'flat' \(Flatten\), 'pool' \(SumPool2d\); supported: neurons LIF"):
        nm.from_nir(g)
    with pytest.raises(nm.NIRImportError, match="Linear, Affine"):
        nm.from_nir(g)
    loop = {"a": lif(nir, 3), "L1": nir.Linear(np.eye(3)), "L2": nir.Linear(np.eye(3))}
    with pytest.raises(nm.NIRImportError, match="loop of linear nodes L1 → L2 → L1"):
        nm.from_nir(nir.NIRGraph(nodes=loop, edges=[("a", "L1"), ("L1", "L2"), ("L2", "L1")], type_check=False))
    shape = {"a": lif(nir, 3), "L": nir.Linear(np.ones((2, 5))), "b": lif(nir, 2)}
    with pytest.raises(nm.NIRImportError, match="'L' \\(Linear\\) takes 5 inputs; 'a' gives 3"):
        nm.from_nir(nir.NIRGraph(nodes=shape, edges=[("a", "L"), ("L", "b")], type_check=False))
    with pytest.raises(nm.NIRImportError, match="no neuron node"):
        nm.from_nir(
            nir.NIRGraph(
                nodes={"in": nir.Input(np.array([2])), "out": nir.Output(np.array([2]))}, edges=[("in", "out")]
            )
        )


def test_nir_graph_maps_to_a_valid_layout(nir):
    """map_network on a NIR graph (two groups, priced as one masked layer): the validator passes,
    and packets per step equal the definition recounted on the imported graph's synapses."""
    rng = np.random.default_rng(5)
    W = rng.normal(size=(30, 20)) * (rng.random((30, 20)) < 0.2)
    R = rng.normal(size=(30, 30)) * (rng.random((30, 30)) < 0.1)
    nodes = {
        "in": nir.Input(np.array([20])),
        "a": lif(nir, 20),
        "W": nir.Linear(W),
        "b": cuba(nir, 30),
        "R": nir.Linear(R),
        "out": nir.Output(np.array([30])),
    }
    edges = [("in", "a"), ("a", "W"), ("W", "b"), ("b", "R"), ("R", "b"), ("b", "out")]
    graph = nir.NIRGraph(nodes=nodes, edges=edges)
    profile = small_loihi(8)
    res = nm.map_network(graph, profile, method="auto", seed=1)
    flat = nm.as_graph(graph)
    assert nm.problems(res.layout, flat.model, profile, graph=flat) == []
    part = res.layout.core_of(0, 50)
    assert res.report["packets_per_step"] == pytest.approx(brute_packets(nm.from_nir(graph), part, np.ones(50)))
    assert res.report["cores_used"] == 7  # 50 units, at most 8 per core
