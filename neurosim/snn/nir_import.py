"""Import a NIR graph (the ``nir`` package) into ``populations.MultiNetwork``, to simulate event
by event.

Nodes, as NIR defines them (continuous time; times in seconds, ``time_unit``):

* ``LIF`` — τ dv/dt = (v_leak − v) + R·I, spike when v > v_threshold, v ← v_reset: a population
  whose input is a delta synapse, each input spike of weight w a jump Δv = R·w/τ;
* ``CubaLIF`` — τ_syn dI/dt = −I + w_in·S, τ_mem dv/dt = (v_leak − v) + R·I: a current channel
  of time constant τ_syn (one for the population), each input spike a jump of R·I by
  R·w_in·w/τ_syn;
* ``LI`` — τ dv/dt = (v_leak − v) + R·I without spikes (a leaky readout): a population that never
  fires (V_t = +∞), its input a jump Δv = R·w/τ as for LIF; as a readout only (its output is its
  voltage, not spikes: an LI node that drives a neuron node is refused);
* ``Linear`` and ``Affine`` (with a zero bias) — the weights of the paths between neuron nodes
  (products along a path, sums over paths);
* ``Delay`` — per-output delays, on a path's last step into a neuron node (rounded to the dt grid
  exactly or refused);
* ``Input`` — a spike input (its spikes from ``inputs={name: populations.SpikeInput}``; none
  given: silent), ``Output`` — nothing to simulate.

Refused by name: an ``LI`` node driving a neuron node, an ``Affine`` bias (a constant current),
a per-neuron τ_syn, a ``Delay`` followed by more weights, a path from a neuron back to itself with
no weights, and every other node. No refractory period (NIR has none). Voltages are taken as mV.
"""

from __future__ import annotations

import numpy as np

from . import populations as P


class NIRImportError(ValueError):
    """A NIR graph neurosim's event-driven simulator cannot take (the message names the node)."""


NEURONS = ("LIF", "CubaLIF", "LI")
WEIGHTS = ("Linear", "Affine")


def _kind(node) -> str:
    return type(node).__name__


def _vec(node, name: str, field: str, n: int) -> np.ndarray:
    a = np.asarray(getattr(node, field), float).reshape(-1)
    if a.size == 1:
        a = np.full(n, a[0])
    if a.shape != (n,) or not np.all(np.isfinite(a)):
        raise NIRImportError(f"NIR graph: node {name!r} ({_kind(node)}) {field} has shape {a.shape}: allowed "
                             f"{n} finite numbers (one per neuron)")  # fmt: skip
    return a


def _size(name: str, node) -> int:
    for field in ("tau", "tau_mem", "v_threshold"):
        if hasattr(node, field):
            return int(np.asarray(getattr(node, field)).size)
    shape = node.output_type.get("output") if isinstance(node.output_type, dict) else None
    if shape is None or not np.size(shape):
        raise NIRImportError(f"NIR graph: node {name!r} ({_kind(node)}) has no size")
    return int(np.prod(shape))


def from_nir(graph, inputs: dict | None = None, dt: float = 0.1, time_unit: float = 1000.0):
    """(``MultiNetwork``, v0 = each neuron's v_leak) of a ``nir.NIRGraph``: ``inputs`` {Input node:
    ``populations.SpikeInput``}, ``dt`` in ms, ``time_unit`` the milliseconds one unit of the
    graph's time constants and delays is (1000: seconds, NIR's convention; 1: milliseconds). An
    input spike's jump uses the graph's own units (a Dirac of 1/unit)."""
    inputs = dict(inputs or {})
    nodes = dict(graph.nodes)
    scale_t = float(time_unit)
    if not scale_t > 0:
        raise NIRImportError(f"time_unit={time_unit!r}: allowed milliseconds per unit of the graph's time (> 0)")
    bad = [(n, _kind(v)) for n, v in nodes.items() if _kind(v) not in (*NEURONS, *WEIGHTS, "Delay", "Input",
                                                                         "Output")]  # fmt: skip
    if bad:
        n, k = bad[0]
        why = "not an event-driven LIF part"
        raise NIRImportError(f"NIR graph: node {n!r} ({k}) is not supported ({why}); supported: "
                             f"{', '.join((*NEURONS, *WEIGHTS, 'Delay', 'Input', 'Output'))}")  # fmt: skip
    for n, v in nodes.items():
        if _kind(v) == "Affine" and np.any(np.asarray(v.bias) != 0):
            raise NIRImportError(f"NIR graph: node {n!r} (Affine) has a nonzero bias (a constant current): "
                                 "allowed a zero bias, or a Linear node")  # fmt: skip
    for name in inputs:
        if name not in nodes or _kind(nodes[name]) != "Input":
            raise NIRImportError(f"inputs: {name!r} is not an Input node of the graph; its Input nodes: "
                                 f"{[n for n, v in nodes.items() if _kind(v) == 'Input']}")  # fmt: skip
    succ: dict = {n: [] for n in nodes}
    for a, b in graph.edges:
        for end in (a, b):
            if end not in nodes:
                raise NIRImportError(f"NIR graph: edge ({a!r}, {b!r}) names {end!r}, which is not a node")
        succ[a].append(b)
    neurons = [n for n, v in nodes.items() if _kind(v) in NEURONS]
    if not neurons:
        raise NIRImportError(f"NIR graph: no neuron node; supported neurons: {', '.join(NEURONS)}")
    for name in neurons:
        tgt = _reaches_neuron(name, nodes, succ) if _kind(nodes[name]) == "LI" else None
        if tgt is not None:
            raise NIRImportError(f"NIR graph: node {name!r} (LI) is not supported as an input of {tgt!r} "
                                 f"({_kind(nodes[tgt])}): an LI node has no spikes, its output is its voltage; "
                                 "allowed: an LI node as a readout (into Output)")  # fmt: skip
    pops, jump = [], {}
    for name in neurons:
        node = nodes[name]
        n = _size(name, node)
        if _kind(node) == "LI":  # a LIF that never fires: V_t = +inf
            tau, r, v_leak = _vec(node, name, "tau", n), _vec(node, name, "r", n), _vec(node, name, "v_leak", n)
            pops.append(P.Population(name, n, tau_m=tau * scale_t, E_l=v_leak, V_t=np.inf, V_r=v_leak,
                                     refractory=0.0, channels={"in": 0.0}))  # fmt: skip
            jump[name] = r / tau
        elif _kind(node) == "LIF":
            tau, r = _vec(node, name, "tau", n), _vec(node, name, "r", n)
            pops.append(P.Population(name, n, tau_m=tau * scale_t, E_l=_vec(node, name, "v_leak", n),
                                     V_t=_vec(node, name, "v_threshold", n), V_r=_vec(node, name, "v_reset", n),
                                     refractory=0.0, channels={"in": 0.0}))  # fmt: skip
            jump[name] = r / tau  # Δv per unit weight (a Dirac input)
        else:
            tau_syn = _vec(node, name, "tau_syn", n)
            if np.ptp(tau_syn) > 1e-12 * np.abs(tau_syn).max():
                raise NIRImportError(f"NIR graph: node {name!r} (CubaLIF) has a per-neuron tau_syn: allowed one "
                                     "value for the node")  # fmt: skip
            r, w_in = _vec(node, name, "r", n), _vec(node, name, "w_in", n)
            pops.append(P.Population(name, n, tau_m=_vec(node, name, "tau_mem", n) * scale_t,
                                     E_l=_vec(node, name, "v_leak", n), V_t=_vec(node, name, "v_threshold", n),
                                     V_r=_vec(node, name, "v_reset", n), refractory=0.0,
                                     channels={"in": float(tau_syn[0]) * scale_t}))  # fmt: skip
            jump[name] = r * w_in / tau_syn  # Δ(R·I) per unit weight
    sources = {n: _size(n, v) for n, v in nodes.items() if _kind(v) == "Input"}
    sizes = {**{p.name: p.n for p in pops}, **sources}
    projs = []
    for src in [*neurons, *sources]:
        found: dict = {}
        _follow(src, np.eye(sizes[src]), None, src, [], nodes, succ, sizes, found, dt, scale_t)
        for (tgt, _), (M, delay) in found.items():
            post, pre = np.nonzero(M)
            if pre.size:
                w = M[post, pre] * jump[tgt][post]
                d = np.zeros(pre.size) if delay is None else delay[post]
                projs.append(P.projection(src, tgt, pre, post, w, "in", delay_ms=d, dt=dt))
    spike_inputs = []
    for name, n in sources.items():
        given = inputs.get(name) or P.generator(name, n, [], [], dt)
        if given.n != n or given.name != name:
            raise NIRImportError(
                f"inputs[{name!r}]: {given.n} sources named {given.name!r}: allowed {n} named {name!r}"
            )
        spike_inputs.append(given)
    net = P.build(pops, projs, spike_inputs, dt=dt)
    return net, net.E_l.copy()


def _reaches_neuron(src, nodes, succ):
    """The first neuron node a path of weights and delays from ``src`` reaches, or None."""
    seen, todo = set(), list(succ[src])
    while todo:
        x = todo.pop()
        if x in seen:
            continue
        seen.add(x)
        if _kind(nodes[x]) in NEURONS:
            return x
        if _kind(nodes[x]) not in ("Input", "Output"):
            todo.extend(succ[x])
    return None


def _follow(src, M, delay, at, path, nodes, succ, sizes, found, dt, scale_t) -> None:
    """Push ``M`` (``src``'s outputs → ``at``'s outputs) along each edge out of ``at``."""
    for nxt in succ[at]:
        node, kind = nodes[nxt], _kind(nodes[nxt])
        if kind in ("Output", "Input"):
            continue
        n_in = M.shape[0]
        if kind in NEURONS:
            if sizes[nxt] != n_in:
                raise NIRImportError(
                    f"NIR graph: {at!r} gives {n_in} values to {nxt!r} ({kind}), which has {sizes[nxt]}"
                )
            if at == src and delay is None and _kind(nodes[src]) in NEURONS:
                raise NIRImportError(f"NIR graph: an edge from {src!r} to {nxt!r} without weights: allowed a Linear or "
                                     "Affine node between neuron nodes")  # fmt: skip
            key = (nxt, None if delay is None else delay.tobytes())
            old = found.get(key)
            found[key] = (M if old is None else old[0] + M, delay)
            continue
        if nxt in path:
            raise NIRImportError(f"NIR graph: a loop of weight nodes through {nxt!r} with no neuron node in it")
        if kind == "Delay":
            d = np.asarray(node.delay, float).reshape(-1) * scale_t
            if d.size == 1:
                d = np.full(n_in, d[0])
            if d.size != n_in:
                raise NIRImportError(f"NIR graph: node {nxt!r} (Delay) has {d.size} delays for {n_in} values")
            steps = np.rint(d / dt)
            if np.any(np.abs(steps * dt - d) > 1e-9 * np.maximum(1.0, d)) or np.any(d < 0):
                raise NIRImportError(f"NIR graph: node {nxt!r} (Delay) has delays off the grid of dt = {dt} ms: "
                                     "allowed multiples of dt")  # fmt: skip
            if delay is not None:
                raise NIRImportError(f"NIR graph: two Delay nodes on one path ({nxt!r})")
            nxt_kinds = {_kind(nodes[x]) for x in succ[nxt]}
            if nxt_kinds - set(NEURONS):
                raise NIRImportError(f"NIR graph: node {nxt!r} (Delay) feeds {sorted(nxt_kinds)}: allowed a Delay "
                                     "directly before neuron nodes")  # fmt: skip
            _follow(src, M, steps * dt, nxt, [*path, nxt], nodes, succ, sizes, found, dt, scale_t)
            continue
        if delay is not None:
            raise NIRImportError(f"NIR graph: weights {nxt!r} after a Delay: allowed a Delay last on a path")
        W = np.asarray(node.weight, float)
        if W.ndim != 2 or W.shape[1] != n_in:
            raise NIRImportError(f"NIR graph: node {nxt!r} ({kind}) has weights of shape {W.shape} for {n_in} inputs")
        _follow(src, W @ M, None, nxt, [*path, nxt], nodes, succ, sizes, found, dt, scale_t)
