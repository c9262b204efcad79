"""The mapper: a network (with its learning state) → a ``hardware.Layout``.

``map_network(model_or_graph, profile, rule=None, activity=None, method="auto", seed=0,
time_limit_s=None) → MappingResult`` (``.layout``, ``.report``, ``.to_json()``). Modules:
``graph`` (unit groups, projections, the spike hypergraph), ``capacity`` (learning-aware core
loads from ``memory.core_store``), ``partition`` (round-robin, greedy, METIS, hypergraph,
refinement, repair), ``place`` (annealed placement on the mesh), ``route`` (XY, YX and adaptive
routes, multicast trees, routing-table entries per router), ``report`` (quality), ``judge`` (the
layout run by ``ns.chip.simulate``), ``validate`` (an independent check through ``budget``),
``infeasible`` (culprits and the smallest change that fits), ``inputs`` (Brian2 networks and NIR
graphs as graphs; ``as_graph``, what ``map_network`` reads its input with), ``board`` (a board
of chips: chips first, then cores; the inter-chip report).
"""

from .capacity import Capacity
from .graph import Graph, GraphError, Projection, as_model, csr, from_model, with_model
from .infeasible import MappingInfeasible
from .inputs import NIRImportError, as_graph, brian2_activity, flatten, from_brian2, from_nir, group_ranges
from .mapper import METHODS, MappingResult, map_network
from .route import ROUTINGS, RoutingTableOverflow
from .validate import MappingError, problems, validate

__all__ = [
    "METHODS",
    "Capacity",
    "Graph",
    "GraphError",
    "MappingError",
    "MappingInfeasible",
    "MappingResult",
    "NIRImportError",
    "Projection",
    "ROUTINGS",
    "RoutingTableOverflow",
    "as_graph",
    "as_model",
    "brian2_activity",
    "flatten",
    "from_brian2",
    "csr",
    "from_model",
    "from_nir",
    "group_ranges",
    "map_network",
    "problems",
    "validate",
    "with_model",
]
