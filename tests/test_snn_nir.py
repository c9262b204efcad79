"""NIR graphs (``nir``) in the event-driven simulator (``snn.nir_import.from_nir``), checked
against the closed forms of NIR's own equations: a LIF neuron's jump and decay after an input
spike, a CubaLIF neuron's difference of exponentials, a spike and its reset, a delay; each with a
negative control (the wrong R, the wrong τ_syn); unsupported nodes refused by name."""

from __future__ import annotations

import re

import numpy as np
import pytest

from neurosim.snn import populations as P

nir = pytest.importorskip("nir")
from neurosim.snn.nir_import import NIRImportError, from_nir  # noqa: E402

DT = 0.1  # ms


def _graph(neuron, w=2.0, delay=None):
    nodes = {"in": nir.Input(input_type={"input": np.array([1])}), "w": nir.Linear(weight=np.array([[w]])),
             "n": neuron, "out": nir.Output(output_type={"output": np.array([1])})}  # fmt: skip
    edges = [("in", "w"), ("w", "n"), ("n", "out")]
    if delay is not None:
        nodes["d"] = nir.Delay(delay=np.array([delay]))
        edges = [("in", "w"), ("w", "d"), ("d", "n"), ("n", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def _lif(tau=0.02, r=1.5, v_leak=0.0, v_th=1e3, v_reset=0.0):
    return nir.LIF(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([v_leak]),
                   v_threshold=np.array([v_th]), v_reset=np.array([v_reset]))  # fmt: skip


def _run(graph, spike_ms=1.0, steps=400, v0=None):
    inp = P.generator("in", 1, [0], [spike_ms], dt=DT)
    net, leak = from_nir(graph, inputs={"in": inp}, dt=DT)
    return P.simulate(net, steps, v0=leak if v0 is None else v0, record=[0]).v[:, 0]


def test_a_lif_neuron_jumps_by_r_w_over_tau_and_decays_with_tau():
    tau, r, w = 0.02, 1.5, 2.0  # s, NIR's units
    v = _run(_graph(_lif(tau, r), w))
    k = np.arange(400)
    s = 10  # the input's step (1 ms)
    want = np.where(k >= s, r * w / tau * np.exp(-(k - s) * DT / (tau * 1e3)), 0.0)
    assert np.allclose(v, want, rtol=1e-12, atol=1e-12)
    assert not np.allclose(_run(_graph(_lif(tau, 2 * r), w)), want)  # control: another R


def test_a_cuba_lif_neuron_follows_the_difference_of_exponentials():
    tm, ts, r, w_in, w = 0.02, 0.005, 1.0, 0.8, 3.0
    node = nir.CubaLIF(tau_syn=np.array([ts]), tau_mem=np.array([tm]), r=np.array([r]), v_leak=np.array([0.0]),
                       v_threshold=np.array([1e3]), v_reset=np.array([0.0]), w_in=np.array([w_in]))  # fmt: skip
    v = _run(_graph(node, w))
    s, k = 10, np.arange(400)
    t = (k - s) * DT  # ms after the input (its current starts in the step after it arrives)
    tm_ms, ts_ms = tm * 1e3, ts * 1e3
    jump = r * w_in * w / ts
    want = np.where(k > s, jump * ts_ms / (ts_ms - tm_ms) * (np.exp(-t / ts_ms) - np.exp(-t / tm_ms)), 0.0)
    assert np.allclose(v, want, rtol=1e-9, atol=1e-9)
    other = nir.CubaLIF(tau_syn=np.array([2 * ts]), tau_mem=np.array([tm]), r=np.array([r]), v_leak=np.array([0.0]),
                        v_threshold=np.array([1e3]), v_reset=np.array([0.0]), w_in=np.array([w_in]))  # fmt: skip
    assert not np.allclose(_run(_graph(other, w)), want)  # control: another τ_syn


def test_a_spike_resets_and_a_delay_shifts():
    v = _run(_graph(_lif(v_th=100.0, v_reset=-5.0), 2.0))  # jump 150 > 100: a spike, v ← v_reset
    inp = P.generator("in", 1, [0], [1.0], dt=DT)
    net, leak = from_nir(_graph(_lif(v_th=100.0, v_reset=-5.0), 2.0), inputs={"in": inp}, dt=DT)
    res = P.simulate(net, 400, v0=leak, record=[0])
    assert res.spike_step.tolist() == [11]  # crossed after the jump at step 10, fired at the next update
    assert v[11] == -5.0
    late = _run(_graph(_lif(), 2.0, delay=0.0025))  # 2.5 ms later
    early = _run(_graph(_lif(), 2.0))
    assert np.allclose(late[25:], early[:-25]) and np.all(late[:35] == 0.0)


@pytest.mark.parametrize(
    "node,said",
    [
        (nir.LI(tau=np.array([0.02]), r=np.array([1.0]), v_leak=np.array([0.0])), "LI) is not supported"),
        (nir.Affine(weight=np.array([[1.0]]), bias=np.array([0.5])), "nonzero bias"),
    ],
)
def test_unsupported_nodes_are_refused_by_name(node, said):
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([1])}), "x": node, "n": _lif()},
                     edges=[("in", "x"), ("x", "n")])  # fmt: skip
    with pytest.raises(NIRImportError, match=re.escape(said)):
        from_nir(g)
    with pytest.raises(NIRImportError, match="off the grid"):
        from_nir(_graph(_lif(), delay=0.00012))
