"""What the mapper accepts, as a ``Graph``: neurosim models, plain graphs, Brian2 networks, NIR graphs.

``as_graph(obj)`` is what ``map_network`` calls on its first argument:

* a neurosim model → ``graph.from_model`` (its layers, priced by its own accounting);
* a ``Graph`` → itself;
* a Brian2 network (a ``brian2.Network``, or a list/tuple of Brian2 objects) → ``from_brian2``;
* a ``nir.NIRGraph`` → ``from_nir``;

and then ``priced``: a graph without a neurosim model whose layers match its groups (every
imported graph, and a plain graph of several groups) is priced as one ``rnn`` layer over all its
units whose structural mask is the union of its projections (``W[post, pre]``, global unit ids,
group after group; ``graph.as_model``). Each unit then stores its own fan-in rows and its state,
which is what a core holds for a network of point neurons; the neuron model's own state
variables (v, I, refractory counters) are priced as the ``rnn``'s one state per unit, and a rule
is priced on that ``rnn`` (so ``eprop``, which needs a neurosim spiking model, refuses it). The
layout then has one layer; ``group_ranges`` gives each group's global unit range in it.

**Brian2** (``from_brian2``). Unit groups are the ``NeuronGroup``s (whole groups; a
``Subgroup`` is resolved to its group and offset), in the order given (a ``Network`` holds a set:
its groups are sorted by name). Projections are the ``Synapses``' (pre, post) pairs
(``_synaptic_pre``, ``_synaptic_post``: absolute indices, so subgroup sources and targets land at
their offsets), one projection per (source group, target group), several ``Synapses`` between the
same groups merged, duplicate pairs kept (each is a synapse the core stores). Only connectivity
and group sizes matter for mapping, so a network ``snn.from_brian2`` refuses for its neuron
equations (Hodgkin–Huxley, conductance-based, adaptive...) or for plasticity is still mapped:
synapses live on the postsynaptic core, so ``on_post`` (STDP) adds no traffic. **Weights** come
from the importer's own evaluation (``brian2_import._on_pre`` / ``_weights``: ``g += <expr>``
resolved as Brian2 resolves it, in mV of the current, as ``snn.from_brian2`` gives them) where the
target group and the ``on_pre`` code are in its supported form; elsewhere ``weights`` is None.
Refused, with a ``Brian2ImportError`` naming the object: no ``NeuronGroup``; a ``Subgroup``
passed as a group; ``Synapses`` without an ``on_pre`` pathway (summed-variable coupling sends a
value every step, not spikes); ``Synapses`` from or to a group that is not mapped — a
``PoissonGroup`` or ``SpikeGeneratorGroup`` is an input from off the chip, so ``external="drop"``
maps the network without those synapses, and a ``NeuronGroup`` left out of the list must be added.
``PoissonInput`` and monitors are ignored (a ``PoissonInput`` is generated where its group is:
no traffic). Activity: ``brian2_activity`` (a ``SpikeMonitor`` per group, or on subgroups that
together cover it: spike count / steps run).

**NIR** (``from_nir``). Unit groups are the neuron nodes (``NEURON_NODES``: LIF, CubaLIF, IF,
LI, CubaLI) in the graph's node order, of ``prod(shape)`` units each. From every neuron node the
edges are followed through ``Linear`` and ``Affine`` nodes (their ``weight`` is (out, in), as
neurosim's ``W[post, pre]``; chained ones multiply; the bias is a constant input, no traffic)
until a neuron node: the sum over all paths from group s to group t is the projection s → t
(pre × post = the product's transpose), its non-zeros the synapses and their values the
weights. A neuron node feeding a neuron node directly is one-to-one. Paths that end in an
``Output`` node leave the chip; ``Input`` nodes are inputs from off the chip. Any other node
type (Conv2d, Flatten, SumPool2d, Delay, Scale, a nested NIRGraph, ...) is refused by
``NIRImportError`` naming every such node, its type, and what is supported; so are weights that
are not 2-D, shapes that do not chain, and loops of linear nodes with no neuron between them.
"""

from __future__ import annotations

import sys

import numpy as np

from .graph import Graph, GraphError, Projection, as_model, from_model, with_model

NEURON_NODES = ("LIF", "CubaLIF", "IF", "LI", "CubaLI")
LINEAR_NODES = ("Linear", "Affine")
EDGE_NODES = ("Input", "Output")


class NIRImportError(ValueError):
    """A NIR graph the mapper cannot read (the message names the node, its type, what is allowed)."""


# --- dispatch --------------------------------------------------------------------------------------
def as_graph(obj) -> Graph:
    """The graph ``map_network`` places for ``obj`` (module docstring), priced (``priced``)."""
    if isinstance(obj, Graph):
        return priced(obj)
    if _is_brian2(obj):
        return priced(from_brian2(obj, namespace={}))
    if _is_nir(obj):
        return priced(from_nir(obj))
    return from_model(obj)


def as_activity(activity, obj):
    """``activity`` as ``map_network`` takes it: Brian2 ``SpikeMonitor``s (one, or a list) become
    spikes per unit per step over ``obj``'s groups (``brian2_activity``); anything else is as given."""
    mons = activity if isinstance(activity, (list, tuple)) else [activity]
    if not mons or not all(_is_spike_monitor(m) for m in mons):
        return activity
    if not _is_brian2(obj):
        raise ValueError(
            "activity: SpikeMonitors give rates over a Brian2 network's groups; this input is "
            f"{type(obj).__name__}: pass the Brian2 network itself, or brian2_activity(network, monitors)"
        )
    return brian2_activity(obj, mons)


def priced(graph: Graph) -> Graph:
    """``graph`` ready to price: as it is when it has a model or ``as_model`` prices it (one group,
    at most one projection); else all groups as one group (``flatten``) with ``as_model``'s model."""
    if graph.model is not None or (len(graph.groups) == 1 and len(graph.projections) <= 1):
        return graph
    flat = flatten(graph)
    return with_model(flat, as_model(flat))


def flatten(graph: Graph) -> Graph:
    """One group of all ``graph``'s units (global ids, group after group) and one projection, the
    union of all projections (the readout, if any, as explicit synapses onto the top group's unit 0)."""
    off, sizes = graph.offsets, graph.sizes
    pre, post, w = [], [], []
    weighted = all(p.weights is not None for p in graph.projections)
    for p in graph.projections:
        n_src, n_dst = sizes[p.src], sizes[p.dst]
        if p.dense:
            s, t = np.repeat(np.arange(n_src), n_dst), np.tile(np.arange(n_dst), n_src)
        else:
            s, t = np.repeat(np.arange(n_src), np.diff(p.indptr)), np.asarray(p.indices, np.int64)
        pre.append(s + off[p.src])
        post.append(t + off[p.dst])
        if weighted:
            w.append(np.asarray(p.weights, np.float64))
    if graph.readout:
        top = len(sizes) - 1
        pre.append(np.arange(sizes[top]) + off[top])
        post.append(np.full(sizes[top], off[top]))
        weighted = False
    name = "+".join(n for n, _ in graph.groups)
    n = graph.n_units
    if not pre:
        return Graph(((name, n),), ())
    return Graph(((name, n),), (_csr(0, 0, np.concatenate(pre), np.concatenate(post), n,
                                     np.concatenate(w) if weighted and w else None),))  # fmt: skip


def group_ranges(graph: Graph) -> dict[str, tuple[int, int]]:
    """Each group's global unit range [start, stop) (the unit ids of a flattened graph's layer)."""
    off = graph.offsets
    return {name: (int(off[g]), int(off[g + 1])) for g, (name, _) in enumerate(graph.groups)}


def _csr(src: int, dst: int, pre: np.ndarray, post: np.ndarray, n_src: int, weights=None) -> Projection:
    """A projection from synapse lists (pre, post local ids), rows in pre order, stable."""
    pre, post = np.asarray(pre, np.int64), np.asarray(post, np.int64)
    order = np.argsort(pre, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(pre, minlength=n_src))]).astype(np.int64)
    w = None if weights is None else np.asarray(weights, np.float64)[order]
    return Projection(src, dst, indptr, post[order], w)


# --- Brian2 ----------------------------------------------------------------------------------------
def _is_brian2(obj) -> bool:
    """Whether ``obj`` is a Brian2 network; Brian2 is not imported to ask (a Brian2 object means it
    was, and importing it installs an exception hook)."""
    if "brian2" not in sys.modules:
        return False
    from brian2 import Network
    from brian2.core.base import BrianObject

    if isinstance(obj, Network):
        return True
    return isinstance(obj, (list, tuple)) and bool(obj) and all(isinstance(o, BrianObject) for o in obj)


def _is_spike_monitor(obj) -> bool:
    if "brian2" not in sys.modules:
        return False
    from brian2 import SpikeMonitor

    return isinstance(obj, SpikeMonitor)


def _objects(network) -> list:
    from brian2 import Network

    if isinstance(network, Network):
        return sorted(network.objects, key=lambda o: o.name)
    return list(network)


def _groups(network) -> list:
    """The NeuronGroups to map, in order (module docstring)."""
    from brian2 import NeuronGroup, Subgroup

    from ..snn.brian2_import import _refuse

    groups = []
    for o in _objects(network):
        if isinstance(o, Subgroup):
            raise _refuse(f"Subgroup {o.name!r} passed as a group", f"pass the whole NeuronGroup {o.source.name!r}")
        if isinstance(o, NeuronGroup) and all(g.id != o.id for g in groups):
            groups.append(o)
    if not groups:
        raise _refuse("a network without a NeuronGroup", "the mapper places NeuronGroups and their Synapses")
    return groups


def _root(group) -> tuple[object, int]:
    """(the group ``group`` is part of, the offset of its first neuron there)."""
    from brian2 import Subgroup

    return (group.source, int(group.start)) if isinstance(group, Subgroup) else (group, 0)


def from_brian2(network, *, namespace: dict | None = None, external: str = "raise") -> Graph:
    """The graph of a Brian2 network (a ``brian2.Network`` or a list of its objects): NeuronGroups
    as unit groups, Synapses as projections with the importer's weights where it applies (module
    docstring). ``namespace`` resolves the weights' constants, as Brian2's ``run(namespace=...)``
    (default: the caller's names). ``external``: ``"raise"`` (default) or ``"drop"`` for Synapses
    from groups off the chip (``PoissonGroup``, ``SpikeGeneratorGroup``)."""
    from brian2 import NeuronGroup, Synapses
    from brian2.core.namespace import get_local_namespace

    from .._errors import check_choice
    from ..snn.brian2_import import _refuse

    external = check_choice("external", external, ("raise", "drop"))
    if namespace is None:
        namespace = get_local_namespace(level=1)
    groups = _groups(network)
    index = {g.id: k for k, g in enumerate(groups)}
    pairs: dict[tuple[int, int], list] = {}
    for S in (o for o in _objects(network) if isinstance(o, Synapses)):
        src, dst = _root(S.source)[0], _root(S.target)[0]
        if not any(p.prepost == "pre" for p in S._pathways):
            raise _refuse(
                f"Synapses {S.name!r} without an on_pre pathway",
                "summed-variable coupling sends a value every step, not spikes; the mapper maps spiking synapses",
            )
        outside = [g for g in (src, dst) if g.id not in index]
        if outside:
            g = outside[0]
            if not isinstance(g, NeuronGroup) and external == "drop":
                continue
            hint = (
                "an input from off the chip: external='drop' maps the network without it"
                if not isinstance(g, NeuronGroup)
                else "add it to the network or list"
            )
            raise _refuse(f"Synapses {S.name!r} connect {type(g).__name__} {g.name!r}, which is not mapped", hint)
        pre = np.asarray(S._synaptic_pre[:], np.int64)
        post = np.asarray(S._synaptic_post[:], np.int64)
        pairs.setdefault((index[src.id], index[dst.id]), []).append((pre, post, _weights(S, dst, namespace)))
    projections = []
    for (a, b), parts in sorted(pairs.items()):
        ws = [w for _, _, w in parts]
        weights = np.concatenate(ws) if all(w is not None for w in ws) else None
        pre = np.concatenate([p for p, _, _ in parts])
        post = np.concatenate([q for _, q, _ in parts])
        projections.append(_csr(a, b, pre, post, len(groups[a]), weights))
    return Graph(tuple((g.name, len(g)) for g in groups), tuple(projections))


def _weights(S, target, namespace: dict) -> np.ndarray | None:
    """The importer's per-synapse weights (mV of the current) of ``S`` onto ``target``, or None
    where the target's equations or ``S``'s on_pre code are outside the importer's form."""
    from ..snn.brian2_import import Brian2ImportError, _neuron, _on_pre
    from ..snn.brian2_import import _weights as weights_of

    try:
        neuron = _neuron(target, namespace)
        k, wexpr, code = _on_pre(S, target, neuron)
        return weights_of(S, target, neuron.g[k], wexpr, code, namespace) * 1e3 * neuron.scale[k]
    except Brian2ImportError:
        return None


def brian2_activity(network, monitors, steps: int | None = None) -> np.ndarray:
    """Spikes per unit per step over the network's groups (global order, as ``from_brian2``):
    each ``SpikeMonitor``'s counts over ``steps`` (default: the steps its clock has run, t / dt).
    Every unit must be counted by exactly one monitor (on its group or on subgroups)."""
    from brian2 import SpikeMonitor

    from ..snn.brian2_import import _si

    groups = _groups(network)
    index = {g.id: k for k, g in enumerate(groups)}
    offsets = np.concatenate([[0], np.cumsum([len(g) for g in groups])]).astype(np.int64)
    rate = np.full(int(offsets[-1]), np.nan)
    for m in monitors:
        if not isinstance(m, SpikeMonitor):
            raise ValueError(f"activity: {m!r} is not a brian2.SpikeMonitor; allowed: SpikeMonitors on the groups")
        root, start = _root(m.source)
        if root.id not in index:
            raise ValueError(f"activity: SpikeMonitor {m.name!r} records {root.name!r}, which is not mapped")
        n = int(steps) if steps is not None else int(round(_si(m.clock.t_[:]) / _si(m.clock.dt_)))
        if n < 1:
            raise ValueError(f"activity: SpikeMonitor {m.name!r} has run {n} steps; allowed: a monitor after a run")
        lo = int(offsets[index[root.id]]) + start
        sl = slice(lo, lo + len(m.source))
        if not np.isnan(rate[sl]).all():
            raise ValueError(f"activity: SpikeMonitor {m.name!r} counts units another monitor counted")
        rate[sl] = np.asarray(m.count[:], np.float64) / n
    missing = [g.name for k, g in enumerate(groups) if np.isnan(rate[offsets[k] : offsets[k + 1]]).any()]
    if missing:
        raise ValueError(f"activity: no SpikeMonitor counts (all of) the groups {missing}; allowed: one per unit")
    return rate


# --- NIR -------------------------------------------------------------------------------------------
def _is_nir(obj) -> bool:
    if "nir" not in sys.modules:
        return False
    import nir

    return isinstance(obj, nir.NIRGraph)


def _kind(node) -> str:
    return type(node).__name__


def _size(name: str, node) -> int:
    shape = np.asarray(node.output_type["output"]).reshape(-1)
    return int(np.prod(shape)) if shape.size else 1


def from_nir(graph) -> Graph:
    """The graph of a ``nir.NIRGraph`` (module docstring): neuron nodes as unit groups, the
    weights of Linear/Affine paths between them as projections."""
    nodes = dict(graph.nodes)
    bad = [(n, _kind(v)) for n, v in nodes.items() if _kind(v) not in NEURON_NODES + LINEAR_NODES + EDGE_NODES]
    if bad:
        listed = ", ".join(f"{n!r} ({k})" for n, k in bad)
        raise NIRImportError(
            f"NIR graph: unsupported node{'s' if len(bad) > 1 else ''} {listed}; supported: neurons "
            f"{', '.join(NEURON_NODES)}, weights {', '.join(LINEAR_NODES)}, and {', '.join(EDGE_NODES)}"
        )
    for n, v in nodes.items():
        if _kind(v) in LINEAR_NODES and np.ndim(v.weight) != 2:
            raise NIRImportError(
                f"NIR graph: node {n!r} ({_kind(v)}) has a weight of shape {np.shape(v.weight)}; allowed: 2-D (out, in)"
            )
    neurons = [n for n, v in nodes.items() if _kind(v) in NEURON_NODES]
    if not neurons:
        raise NIRImportError(f"NIR graph: no neuron node; supported neurons: {', '.join(NEURON_NODES)}")
    sizes = {n: _size(n, nodes[n]) for n in neurons}
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in graph.edges:
        for end in (a, b):
            if end not in nodes:
                raise NIRImportError(f"NIR graph: edge ({a!r}, {b!r}) names {end!r}, which is not a node")
        succ[a].append(b)
    total: dict[tuple[str, str], np.ndarray] = {}  # (src, dst) → (n_dst, n_src), summed over paths
    for s in neurons:
        _follow(s, np.eye(sizes[s]), s, [], nodes, succ, sizes, total)
    index = {n: k for k, n in enumerate(neurons)}
    projections = []
    for (s, t), M in sorted(total.items(), key=lambda kv: (index[kv[0][0]], index[kv[0][1]])):
        post, pre = np.nonzero(M)
        if pre.size:
            projections.append(_csr(index[s], index[t], pre, post, sizes[s], M[post, pre]))
    return Graph(tuple((n, sizes[n]) for n in neurons), tuple(projections))


def _follow(src, M, at, path, nodes, succ, sizes, total) -> None:
    """Push ``M`` (the map from ``src``'s outputs to ``at``'s outputs) along every edge out of ``at``."""
    for nxt in succ[at]:
        node, kind = nodes[nxt], _kind(nodes[nxt])
        if kind == "Output" or kind == "Input":
            continue
        n_in = M.shape[0]
        if kind in NEURON_NODES:
            if sizes[nxt] != n_in:
                raise NIRImportError(
                    f"NIR graph: {at!r} gives {n_in} values to neuron node {nxt!r} ({kind}), which has {sizes[nxt]}"
                )
            key = (src, nxt)
            total[key] = total.get(key, 0) + M
            continue
        W = np.asarray(node.weight, np.float64)
        if W.shape[1] != n_in:
            raise NIRImportError(f"NIR graph: node {nxt!r} ({kind}) takes {W.shape[1]} inputs; {at!r} gives {n_in}")
        if nxt in path:
            raise NIRImportError(
                f"NIR graph: a loop of linear nodes {' → '.join([*path[path.index(nxt) :], nxt])} "
                "with no neuron node in it; allowed: loops through a neuron node"
            )
        _follow(src, W @ M, nxt, [*path, nxt], nodes, succ, sizes, total)


__all__ = [
    "EDGE_NODES",
    "LINEAR_NODES",
    "NEURON_NODES",
    "GraphError",
    "NIRImportError",
    "as_activity",
    "as_graph",
    "brian2_activity",
    "flatten",
    "from_brian2",
    "from_nir",
    "group_ranges",
    "priced",
]
