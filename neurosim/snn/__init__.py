"""Event-driven current-based LIF networks (CSR synapses, delays, refractoriness, exact
integration), simulated inside numba, and an importer from Brian2 (``from_brian2``).
``populations``: several populations with their own or per-neuron constants, projections between
them, Poisson and spike-time inputs, delta synapses (``populations.build``, ``populations.simulate``)."""

from . import populations
from .eprop_events import eprop_gradient_events
from .network import LIFNetwork, SimResult, coba, cuba, from_edges, simulate

__all__ = [
    "LIFNetwork",
    "SimResult",
    "coba",
    "cuba",
    "from_edges",
    "simulate",
    "from_brian2",
    "from_brian2_network",
    "populations",
    "eprop_gradient_events",
]


def from_brian2_network(objects, namespace=None, *, seed=0, duration_ms=None):
    """See ``neurosim.snn.brian2_network.from_brian2_network``: several groups, spike generators,
    Poisson groups and inputs (drawn from ``seed`` for ``duration_ms``) and synapses between them,
    into a ``populations.MultiNetwork`` (Brian2 is optional)."""
    try:
        import brian2  # noqa: F401
    except ImportError:
        raise ImportError(
            "from_brian2_network needs Brian2, which is optional: pip install 'neurosim[brian2]'"
        ) from None
    from .brian2_network import from_brian2_network as f

    if namespace is None:
        from brian2.core.namespace import get_local_namespace

        namespace = get_local_namespace(level=1)
    return f(objects, namespace, seed=seed, duration_ms=duration_ms)


def from_brian2(group, synapses=(), namespace=None, *, network=None, inputs="raise"):
    """See ``neurosim.snn.brian2_import.from_brian2`` (imports Brian2 on first use; Brian2 is the
    optional extra ``neurosim[brian2]``)."""
    try:
        import brian2  # noqa: F401
    except ImportError:
        raise ImportError("from_brian2 needs Brian2, which is optional: pip install 'neurosim[brian2]'") from None
    from .brian2_import import from_brian2 as f

    if namespace is None:
        from brian2.core.namespace import get_local_namespace

        namespace = get_local_namespace(level=1)
    return f(group, synapses, namespace, network=network, inputs=inputs)
