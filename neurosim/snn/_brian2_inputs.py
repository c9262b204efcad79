"""Inputs to an imported Brian2 group that the import would leave out (see ``brian2_import``).

Every Brian2 object that acts on the group must be in the import. They are looked for among the
objects of ``network`` (and what those contain) or, by default, among every live Brian2 object
(Brian2 keeps weak references to all of them): a ``PoissonInput`` on the group or a subgroup,
``Synapses`` into it from another group, ``Synapses`` from it that write ``_pre`` variables,
``run_regularly`` code, ``Synapses`` from the group to itself that were not passed. Monitors,
subgroups, outgoing ``Synapses`` that only read the group and inactive objects are not inputs.
A ``NetworkOperation`` runs Python that cannot be inspected: it only warns. The refusal points to
``from_brian2_network``, which imports spike generators, Poisson groups and ``PoissonInput`` drives.
"""

from __future__ import annotations

import re
import warnings

from .brian2_import import _refuse


def _candidates(network) -> list:
    """The objects to search: those of ``network`` (and what they contain), or every live one."""
    from brian2 import Network
    from brian2.core.base import BrianObject

    if network is None:
        return [o for o in (r() for r in list(BrianObject.__instances__())) if o is not None]
    todo = list(network.objects) if isinstance(network, Network) else [network]
    out = []
    while todo:
        o = todo.pop()
        if isinstance(o, BrianObject):
            out.append(o)
            todo.extend(o.contained_objects)
        elif isinstance(o, dict):
            todo.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            todo.extend(o)
        else:
            raise _refuse(f"network={o!r}", "expected a brian2.Network or a collection of Brian2 objects")
    return out


def _root(obj):
    """The group ``obj`` is (or is a Subgroup of); None for a dead weak proxy or a non-group.
    Objects are compared by Brian2's unique ``id``: names may repeat across networks."""
    from brian2 import Subgroup

    try:
        root = obj.source if isinstance(obj, Subgroup) else obj
        root.id  # noqa: B018 (a dead proxy raises here)
        return root
    except (ReferenceError, AttributeError):
        return None


def _is(obj, ids: set) -> bool:
    root = _root(obj)
    return root is not None and root.id in ids


def _name(obj) -> str | None:
    root = _root(obj)
    return None if root is None else root.name


def _writes_pre(S, line: str) -> bool:
    m = re.match(r"\s*(\w+)\s*[-+*/]?=(?!=)", line)
    return bool(m) and S.variables.indices.get(m.group(1)) == "_presynaptic_idx"


def _describe(o, group, known: set) -> str | None:
    """How ``o`` acts on ``group`` (or on a passed Synapses), or None if it does not."""
    from brian2 import EventMonitor, PoissonInput, PopulationRateMonitor, StateMonitor, Subgroup, Synapses
    from brian2.synapses.synapses import SynapticPathway

    if o.id in known or isinstance(o, (EventMonitor, StateMonitor, PopulationRateMonitor, Subgroup, SynapticPathway)):
        return None  # the import itself, read-only monitors, views, pathways (judged with their Synapses)
    if isinstance(o, Synapses):
        if _is(o.target, {group.id}):
            return f"Synapses {o.name!r} from {_name(o.source)!r}"
        writes = [line.strip() for p in o._pathways for line in p.code.splitlines() if _writes_pre(o, line)]
        return (
            f"Synapses {o.name!r} writing to their source: {writes}" if writes and _is(o.source, {group.id}) else None
        )
    if not any(_is(getattr(o, a, None), {group.id} | known) for a in ("group", "source", "target")):
        return None
    if isinstance(o, PoissonInput):
        return f"PoissonInput {o.name!r} ({o._N} sources at {o._rate} onto {o._target_var!r})"
    code = getattr(o, "abstract_code", "")
    return f"{type(o).__name__} {o.name!r}" + (f" running {code.strip()!r}" if code else "")


def check_inputs(group, synapses: list, network, inputs: str) -> None:
    """Raise (``inputs=\"raise\"``) or warn, naming every input to ``group`` left out of the import."""
    from brian2 import NetworkOperation

    known = {group.id, group.state_updater.id}
    known |= {r.id for r in (*group.thresholder.values(), *group.resetter.values())}
    known |= {S.id for S in synapses} | {p.id for S in synapses for p in S._pathways}
    objs = [o for o in _candidates(network) if o.active]
    found = [d for d in (_describe(o, group, known) for o in objs) if d]
    ops = [
        o.name
        for o in objs
        if isinstance(o, NetworkOperation) and (network is not None or o._scope_key == group._scope_key)
    ]
    if ops:
        warnings.warn(
            f"from_brian2: NetworkOperation {ops} may change {group.name!r}; it is not imported", stacklevel=3
        )
    if not found:
        return
    msg = (
        f"inputs to {group.name!r} that the import leaves out: {'; '.join(found)}",
        "supported: Synapses from the group to itself, passed in `synapses`; pass network=<what you run> "
        "to search only its objects, or inputs='warn' to import without them; neurosim.snn.from_brian2_network "
        "imports SpikeGeneratorGroup, PoissonGroup and PoissonInput drives with their Synapses",
    )
    if inputs == "raise":
        raise _refuse(*msg)
    warnings.warn(f"from_brian2 imports without {msg[0]}", stacklevel=3)
