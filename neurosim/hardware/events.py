"""Event-level energy and time of a spike raster on a placed network, priced as SANA-FE prices it.

The model is SANA-FE's (Boyle et al., IEEE TCAD 2025; ``sanafe`` 2.2.9, its ``src/chip.cpp``,
``src/pipeline.hpp`` and ``src/schedule.cpp``), written from its documented behaviour:

* **Neurons.** Every neuron that is not an input (inputs are driven from outside the chip and
  cost nothing) is accessed every step (``ops.neuron_access``); a neuron with input (a synaptic
  event delivered the step before) or state (non-zero potential, a bias) is updated, which costs
  the full ``ops.neuron_update`` (it includes the access); a neuron that fires also generates a
  spike (``ops.spike_out``).
* **Messages.** A spike is one message per destination core (every core holding a target of the
  neuron, its own core included), and none for a neuron without outgoing synapses: each message
  costs ``ops.message_out`` at the sender, ``ops.message_in`` at the receiver, the route's hops
  (dimension-ordered, ``noc.hop_energy_pj_ew`` per east–west hop and ``_ns`` per north–south hop)
  and one ``ops.synop`` per synapse of the neuron on that core.
* **Time.** Each core works through its neurons in order; the latency of the neurons before a
  spike, plus ``message_out`` latency, is the generation delay of its first message (each further
  message of the same spike adds ``message_out`` only); what is left after the last message is a
  placeholder. A message is received after its route's latency (``mesh.route_latency_ns``:
  hops plus serialization) and processed in ``message_in`` + n × ``synop`` time by its receiving
  core, one message at a time. ``timing="detailed"`` schedules the messages globally with
  SANA-FE's semi-analytical NoC model (link occupancy along each route, blocking past
  ``noc.link_buffer_packets`` per link, a congestion delay from the mean processing time of the
  messages in flight); ``timing="simple"`` takes the busiest core's total send or receive time.
  The step ends with the barrier (``Profile.barrier_latency_ns(tiles in use)``).

Energies in pJ, times in ns; latencies in cycles are converted at ``chip.clock_mhz``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from .mesh import dimension_path, hop_counts_each, route_latency_ns, sites_of
from .profile import Profile


def _njit(fn):
    """Compiled lazily with numba (cached on disk); plain Python under ``NUMBA_DISABLE_JIT``."""
    import numba

    return numba.njit(cache=True, nogil=True)(fn)


ENERGY_KINDS = ("neuron_access", "neuron_update", "spike_out", "synop", "message_out", "message_in", "hops")


@dataclass(frozen=True)
class RasterCosts:
    """Per step (arrays of length ``steps``): ``energy_pj[kind]`` for each of ``ENERGY_KINDS``
    (``neuron_update`` is the part of an update beyond the access), ``time_ns`` (the simulated time
    of the step, barrier included), ``messages`` (spike messages sent) and ``synops``."""

    energy_pj: dict
    time_ns: np.ndarray
    messages: np.ndarray
    synops: np.ndarray

    @property
    def step_energy_pj(self) -> np.ndarray:
        return sum(self.energy_pj[k] for k in ENERGY_KINDS)

    def totals(self) -> dict:
        """Energy by kind summed over the steps, plus ``total`` (pJ) and ``time_ns``."""
        out = {k: float(self.energy_pj[k].sum()) for k in ENERGY_KINDS}
        out["total"] = float(self.step_energy_pj.sum())
        out["time_ns"] = float(self.time_ns.sum())
        return out


def as_synapses(network) -> tuple[np.ndarray, np.ndarray]:
    """(pre, post) index arrays of a network given as ``(pre, post)``, ``(pre, post, weight)`` or a
    sparse matrix (anything with ``tocoo()``, rows pre, columns post). Weights do not change the
    price of an event."""
    if hasattr(network, "tocoo"):
        coo = network.tocoo()
        return np.asarray(coo.row, np.int64), np.asarray(coo.col, np.int64)
    pre, post = network[0], network[1]
    pre, post = np.asarray(pre, np.int64).ravel(), np.asarray(post, np.int64).ravel()
    if pre.shape != post.shape:
        raise ValueError(f"pre and post must have the same length, got {pre.size} and {post.size}")
    return pre, post


def _ns(profile: Profile, op: str) -> float:
    return float(profile.ops.cycles(op)) * profile.chip.cycle_ns


@dataclass(frozen=True)
class _Axons:
    """One axon per (neuron, destination core): sorted by neuron, then core id."""

    pre: np.ndarray  # source neuron
    core: np.ndarray  # destination core
    synapses: np.ndarray  # synapses of the neuron on that core
    hops_ew: np.ndarray
    hops_ns: np.ndarray
    latency_ns: np.ndarray  # route latency
    yx: np.ndarray  # per axon: 1 where its route goes Y first (a layout's YX route), else 0 (XY)


def axon_triples(pre, post, core_of) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source, destination core, synapses there) of every axon of the synapses ``(pre, post)``:
    one per (neuron, core holding any of its targets), sorted by neuron, then core."""
    k = int(core_of.max()) + 1
    uniq, count = np.unique(pre * k + core_of[post], return_counts=True)
    return uniq // k, uniq % k, count


def _axons(profile, triples, core_of, sites, routes=None) -> _Axons:
    a_pre, a_core, count = triples
    src, dst = sites[core_of[a_pre]], sites[a_core]
    ew, ns = hop_counts_each(src, dst)
    lat = route_latency_ns(profile, src, dst)
    yx = np.zeros(a_pre.size, np.int8)
    if routes:
        k = int(sites.shape[0])
        ys = np.array([a * k + b for (a, b), o in routes.items() if o == "yx"], np.int64)
        yx[np.isin(core_of[a_pre] * k + a_core, ys)] = 1
    return _Axons(a_pre, a_core, count, ew, ns, lat, yx)


def route_orders(layout_routes, sites) -> dict:
    """(src core, dst core) → "xy" or "yx": the dimension order of each of a layout's routes
    (``Layout.routes``; ``sites``: core id → (x, y)). The event model follows XY and YX routes;
    a route that is neither (a turn more than one) is refused by name."""
    out = {}
    for r in layout_routes:
        tiles = [tuple(t) for t in r.tiles]
        xy = dimension_path(sites[r.src], sites[r.dst], "xy")
        yx = dimension_path(sites[r.src], sites[r.dst], "yx")
        if tiles == xy:
            out[(r.src, r.dst)] = "xy"
        elif tiles == yx:
            out[(r.src, r.dst)] = "yx"
        else:
            raise ValueError(f"route {r.src} → {r.dst} through {tiles}: the event model follows XY or YX routes only")
    return out


def updated_neurons(network, raster, potential=None) -> np.ndarray:
    """(steps × n) bool: the neurons updated at each step — those with input (a synaptic event
    delivered the step before: a presynaptic spike at t − 1), those firing at t, and, given
    ``potential`` (steps × n, each neuron's state after each step), those whose state was non-zero
    after step t − 1 (SANA-FE's LIF: ``|v| > 0``; a neuron with a bias passes its own mask)."""
    pre, post = as_synapses(network)
    raster = np.asarray(raster, bool)
    steps, n = raster.shape
    out = raster.copy()
    for t in range(1, steps):
        out[t, post[raster[t - 1, pre]]] = True
    if potential is not None:
        potential = np.asarray(potential, float)
        if potential.shape != raster.shape:
            raise ValueError(f"potential must have the raster's shape {raster.shape}, got {potential.shape}")
        out[1:] |= potential[:-1] != 0
    return out


@dataclass(frozen=True)
class EventNet:
    """A placed network read once for pricing its steps (``price_raster`` and the chip
    simulation share it): the axons, each neuron's core, the inputs, the core sites and ports, the
    per-message processing time and the barrier for the tiles in use."""

    profile: Profile
    n: int
    n_cores: int
    core_of: np.ndarray
    is_input: np.ndarray
    sites: np.ndarray
    ax: _Axons
    process_ns: np.ndarray  # per axon: message_in + synapses × synop
    first_axon: np.ndarray
    n_axons: np.ndarray
    groups: list  # (core, its neurons in index order)
    port: np.ndarray
    barrier_ns: float

    @property
    def live(self) -> np.ndarray:
        return ~self.is_input


def event_net(profile: Profile, network, core_of, *, inputs=None, sites=None, n_cores: int | None = None,
              routes: dict | None = None, axons=None) -> EventNet:  # fmt: skip
    """The ``EventNet`` of ``network`` (``as_synapses``) placed by ``core_of`` (see
    ``price_raster``); ``n_cores``: core ids to allow for (default: up to the largest used);
    ``routes``: (src core, dst core) → "xy" | "yx" (``route_orders`` of a layout's routes; the
    pairs not given route XY). ``axons``: the network's ``axon_triples`` instead of ``network``
    (None), for a network too large to list synapse by synapse (sorted by source, then core)."""
    core_of = np.asarray(core_of, np.int64).ravel()
    n = core_of.size
    if axons is None:
        pre, post = as_synapses(network)
        if pre.size and (pre.min() < 0 or post.min() < 0 or pre.max() >= n or post.max() >= n):
            raise ValueError(f"synapse indices must lie in 0 … {n - 1}")
        axons = axon_triples(pre, post, core_of) if pre.size else (pre, pre, pre)
    else:
        axons = tuple(np.asarray(a, np.int64) for a in axons)
        if axons[0].size and (axons[0].min() < 0 or axons[0].max() >= n or np.any(np.diff(axons[0]) < 0)):
            raise ValueError(f"axon sources must lie in 0 … {n - 1}, sorted")
    is_input = np.zeros(n, bool)
    if inputs is not None:
        inputs = np.asarray(inputs)
        if inputs.dtype == bool:
            is_input[:] = inputs
        else:
            is_input[inputs.astype(np.int64)] = True
    n_cores = max(int(core_of.max()) + 1, n_cores or 0)
    if sites is None:
        sites = sites_of(profile, np.arange(n_cores))
    sites = np.asarray(sites, np.int64).reshape(-1, 2)
    if sites.shape[0] < n_cores:
        raise ValueError(f"sites gives {sites.shape[0]} cores; core_of uses core ids up to {n_cores - 1}")
    ax = _axons(profile, axons, core_of, sites, routes)
    process_ns = _ns(profile, "message_in") + ax.synapses * _ns(profile, "synop")
    tiles_in_use = len({tuple(s) for s in sites[np.unique(core_of)]})
    order = np.lexsort((np.arange(n), core_of))  # by core, then index
    cuts = np.flatnonzero(np.diff(core_of[order])) + 1
    groups = [(int(core_of[g[0]]), g) for g in np.split(order, cuts) if g.size]
    return EventNet(
        profile, n, n_cores, core_of, is_input, sites, ax, process_ns, np.searchsorted(ax.pre, np.arange(n)),
        np.bincount(ax.pre, minlength=n), groups, _port_in_tile(sites[:n_cores]),
        profile.barrier_latency_ns(tiles_in_use),
    )  # fmt: skip


COUNT_KINDS = (
    "neuron_access",
    "neuron_update",
    "spike_out",
    "synop",
    "message_out",
    "message_in",
    "hops_ew",
    "hops_ns",
)


def event_counts(net: EventNet, raster, upd) -> dict:
    """Per step and core (steps × n_cores integer arrays): the events of ``COUNT_KINDS`` that
    ``raster`` (who fires) and ``upd`` (who is updated: input or state) execute. Neuron events
    count on the neuron's core; a message's ``synop`` and ``message_in`` on the receiving core, its
    ``message_out`` and hops on the sending core."""
    raster, upd = np.atleast_2d(raster), np.atleast_2d(upd)
    steps, C, ax = raster.shape[0], net.n_cores, net.ax
    live = net.live

    def by(core, weights):  # (steps × k) weights binned by the k items' cores
        out = np.zeros((steps, C), np.int64)
        for c in np.unique(core):
            sel = core == c
            out[:, c] = weights[:, sel].sum(1)
        return out

    sent = raster[:, ax.pre].astype(np.int64)  # steps × axons: the messages of each step
    src = net.core_of[ax.pre]
    return {
        "neuron_access": by(net.core_of, np.broadcast_to(live, raster.shape).astype(np.int64)),
        "neuron_update": by(net.core_of, (upd & live).astype(np.int64)),
        "spike_out": by(net.core_of, (raster & live).astype(np.int64)),
        "synop": by(ax.core, sent * ax.synapses),
        "message_out": by(src, sent),
        "message_in": by(ax.core, sent),
        "hops_ew": by(src, sent * ax.hops_ew),
        "hops_ns": by(src, sent * ax.hops_ns),
    }


def energy_of(profile: Profile, counts: dict) -> dict:
    """Energy (pJ) of event counts (``event_counts``, summed or not), by ``ENERGY_KINDS``
    (``neuron_update`` is the part of an update beyond the access)."""
    ops, noc = profile.ops, profile.noc
    return {
        "neuron_access": counts["neuron_access"] * ops.neuron_access_energy_pj,
        "neuron_update": counts["neuron_update"] * (ops.neuron_update_energy_pj - ops.neuron_access_energy_pj),
        "spike_out": counts["spike_out"] * ops.spike_out_energy_pj,
        "synop": counts["synop"] * ops.synop_energy_pj,
        "message_out": counts["message_out"] * ops.message_out_energy_pj,
        "message_in": counts["message_in"] * ops.message_in_energy_pj,
        "hops": counts["hops_ew"] * noc.hop_energy_pj_ew + counts["hops_ns"] * noc.hop_energy_pj_ns,
    }


def neuron_latency(net: EventNet, raster, upd) -> np.ndarray:
    """Per step and neuron (ns): access for every live neuron, the rest of an update for an
    updated one, spike generation for one that fires (inputs cost nothing)."""
    p, live = net.profile, net.live
    access, update, spike = _ns(p, "neuron_access"), _ns(p, "neuron_update"), _ns(p, "spike_out")
    lat = np.where(live, access, 0.0) + np.where(upd & live, update - access, 0.0)
    return lat + np.where(raster & live, spike, 0.0)


def step_time(net: EventNet, lat, fired, *, timing: str = "detailed", lead_ns=None, stats: dict | None = None) -> float:
    """The simulated time (ns, barrier not included) of one step: neuron latencies ``lat`` (n),
    who fires ``fired`` (n); ``lead_ns`` (per core) delays each core's first message by the work it
    does before sending (the chip's learning phases); ``stats`` (detailed timing only) receives the
    packets per link slot (``links``) and each core's end (``finished``)."""
    out_ns = _ns(net.profile, "message_out")
    if timing == "simple":
        queues = _step_messages(net.groups, lat, fired, net.first_axon, net.n_axons, out_ns, net.n_cores, lead_ns)
        return _simple(queues, net.process_ns, net.ax, net.n_cores)
    flat = _flat_groups(net)
    lead = np.zeros(net.n_cores) if lead_ns is None else np.asarray(lead_ns, np.float64)
    q = _step_messages_flat(*flat, np.asarray(lat, np.float64), np.asarray(fired, np.bool_),
                            np.asarray(net.first_axon, np.int64), np.asarray(net.n_axons, np.int64), out_ns,
                            net.n_cores, lead)  # fmt: skip
    return _detailed_fast(q, net.process_ns, net.ax, net.sites, net.port, net.profile, stats)


def step_times(net: EventNet, lat, fired, lead_ns=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``step_time(timing="detailed")`` of many independent steps in one compiled call: ``lat``,
    ``fired`` (steps × n), ``lead_ns`` (steps × n_cores or None). Returns (time per step (ns,
    barrier not included), the critical core of each step (the core whose last message or whose
    processing ended last, as ``stats["finished"]`` gives it), packets per link slot summed over
    the steps). The chip simulation prices a batch's samples with it."""
    lat = np.ascontiguousarray(np.atleast_2d(lat), np.float64)
    fired = np.ascontiguousarray(np.atleast_2d(fired), np.bool_)
    B = lat.shape[0]
    lead = np.zeros((B, net.n_cores)) if lead_ns is None else np.ascontiguousarray(lead_ns, np.float64)
    # steps alike in every input (a rate model's samples, whose units are all active) have one
    # schedule: each distinct step is scheduled once, its link packets counted as often as it occurs
    key = np.concatenate([lat.view(np.uint8), fired.view(np.uint8), lead.view(np.uint8)], axis=1)
    seen: dict = {}  # a distinct step's bytes → its number
    first = []  # the first step of each distinct one
    inverse = np.empty(B, np.int64)
    for b, row in enumerate(key):
        inverse[b] = seen.setdefault(row.tobytes(), len(seen))
        if inverse[b] == len(first):
            first.append(b)
    count = np.bincount(inverse, minlength=len(first))
    g = _sched_consts(net)
    times, crit, links = _step_times(*_flat_groups(net), lat[first], fired[first],
                                     np.asarray(net.first_axon, np.int64), np.asarray(net.n_axons, np.int64),
                                     _ns(net.profile, "message_out"), net.n_cores, lead[first], *g,
                                     count.astype(np.int64))  # fmt: skip
    return times[inverse], crit[inverse], links


def _sched_consts(net: EventNet) -> tuple:
    """The scheduler's per-net arrays (``_detailed_fast``'s), made once per net."""
    g = net.__dict__.get("_sched")
    if g is None:
        p, ax, sites, port = net.profile, net.ax, net.sites, net.port
        width = max(int(p.chip.mesh_width), int(sites[:, 0].max()) + 1)
        height = max(int(p.chip.mesh_height), int(sites[:, 1].max()) + 1)
        per_router = 4 + max(int(p.chip.cores_per_tile), int(port.max(initial=0)) + 1)
        s = np.asarray(sites, np.int64)
        g = (
            np.asarray(ax.core, np.int64), (np.asarray(ax.hops_ew, np.int64) + np.asarray(ax.hops_ns, np.int64)),
            np.asarray(ax.latency_ns, np.float64), np.asarray(net.process_ns, np.float64),
            np.ascontiguousarray(s[:, 0]), np.ascontiguousarray(s[:, 1]), np.asarray(port, np.int64), height,
            per_router, width * height * per_router, float(p.noc.link_buffer_packets),
            max(net.n_cores, int(ax.core.max(initial=0)) + 1), np.asarray(ax.yx, np.int8),
        )  # fmt: skip
        object.__setattr__(net, "_sched", g)
    return g


@_njit
def _step_times(g_core, g_ptr, g_idx, lat, fired, first_axon, n_axons, out_ns, n_cores, lead, ax_core, hops,
                latency, process, site_x, site_y, port, height, per_router, n_links, buffer, n_finished,
                ax_yx, weight):  # fmt: skip
    B = lat.shape[0]
    times = np.zeros(B)
    crit = np.zeros(B, np.int64)
    links = np.zeros(n_links, np.int64)
    for b in range(B):
        q_ptr, q_gen, q_k = _step_messages_flat(g_core, g_ptr, g_idx, lat[b], fired[b], first_axon, n_axons,
                                                out_ns, n_cores, lead[b])  # fmt: skip
        last, link_count, finished, sent_end = _schedule(q_ptr, q_gen, q_k, ax_core, hops, latency, process,
                                                         site_x, site_y, port, height, per_router, n_links, buffer,
                                                         n_finished, ax_yx)  # fmt: skip
        times[b] = last
        links += weight[b] * link_count
        best, arg = -1.0, 0
        for c in range(n_cores):
            end = max(finished[c], sent_end[c])
            if end > best:
                best, arg = end, c
        crit[b] = arg
    return times, crit, links


def _flat_groups(net: EventNet) -> tuple:
    """``net.groups`` as arrays (core per group, offsets, neurons), made once per net."""
    flat = net.__dict__.get("_flat_groups")
    if flat is None:
        sizes = [len(idx) for _, idx in net.groups]
        flat = (
            np.array([c for c, _ in net.groups], np.int64),
            np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            np.concatenate([np.asarray(idx, np.int64) for _, idx in net.groups])
            if net.groups
            else np.zeros(0, np.int64),
        )
        object.__setattr__(net, "_flat_groups", flat)
    return flat


def price_raster(
    profile: Profile,
    network,
    core_of,
    raster,
    *,
    inputs=None,
    sites=None,
    updated=None,
    timing: str = "detailed",
) -> RasterCosts:
    """Energy and simulated time of each step of ``raster`` (steps × n, bool: who fires when).

    ``network``: synapses (``as_synapses``); ``core_of[i]``: the core of neuron i; ``inputs``:
    bool mask (or index list) of the neurons driven from outside (no access, update or spike
    cost; their messages are paid); ``sites``: (n_cores, 2) mesh site of each core id (default
    ``mesh.default_site``); ``updated``: (steps × n) bool, the neurons updated (with input or state)
    at each step, default ``updated_neurons(network, raster)`` (input only); ``timing``: "detailed" or "simple".
    Neurons on a core are processed in index order."""
    if timing not in ("detailed", "simple"):
        raise ValueError(f"timing: {timing!r}; allowed: detailed, simple")
    raster = np.asarray(raster, bool)
    if raster.ndim != 2:
        raise ValueError(f"raster must be steps × neurons, got shape {raster.shape}")
    steps, n = raster.shape
    core_of = np.asarray(core_of, np.int64).ravel()
    if core_of.shape != (n,):
        raise ValueError(f"core_of has {core_of.size} entries for {n} neurons")
    net = event_net(profile, network, core_of, inputs=inputs, sites=sites)
    pre, post = as_synapses(network)
    upd = updated_neurons((pre, post), raster) if updated is None else np.asarray(updated, bool) | raster
    if upd.shape != raster.shape:
        raise ValueError(f"updated must have the raster's shape {raster.shape}, got {upd.shape}")
    counts = event_counts(net, raster, upd)
    energy = energy_of(profile, {k: v.sum(1) for k, v in counts.items()})
    lat_neuron = neuron_latency(net, raster, upd)
    time = np.empty(steps)
    for t in range(steps):
        time[t] = step_time(net, lat_neuron[t], raster[t], timing=timing) + net.barrier_ns
    return RasterCosts(energy, time, counts["message_out"].sum(1), counts["synop"].sum(1))


def _step_messages(groups, lat, fired, first_axon, n_axons, out_ns, n_cores, lead_ns=None):
    """Per core, its messages of one step in sending order: (generation delay, axon index, or −1
    for the placeholder that carries the processing time after the last message). ``lead_ns``:
    per core, time added before its first message (or as its placeholder). Latencies add up neuron
    by neuron, as a core works through them (the specification of ``_step_messages_flat``)."""
    queues = [[] for _ in range(n_cores)]
    for core, idx in groups:
        q = queues[core]
        pending = 0.0
        for i in idx:
            pending += float(lat[i])
            if fired[i] and n_axons[i] > 0:
                for k in range(int(first_axon[i]), int(first_axon[i] + n_axons[i])):
                    q.append((pending + out_ns, k))
                    pending = 0.0
        if pending != 0.0:
            q.append((pending, -1))
    if lead_ns is not None:
        for core, lead in enumerate(lead_ns):
            if lead:
                q = queues[core]
                if q:
                    q[0] = (q[0][0] + float(lead), q[0][1])
                else:
                    q.append((float(lead), -1))
    return queues


@_njit
def _step_messages_flat(g_core, g_ptr, g_idx, lat, fired, first_axon, n_axons, out_ns, n_cores, lead):
    """``_step_messages`` as flat arrays: core c's messages are ``q_gen[q_ptr[c]:q_ptr[c + 1]]``
    (generation delays) and ``q_k`` (axons, −1 for the placeholder)."""
    cap = 0
    for g in range(g_core.size):
        for j in range(g_ptr[g], g_ptr[g + 1]):
            i = g_idx[j]
            if fired[i]:
                cap += n_axons[i]
        cap += 1
    cap += n_cores
    gen = np.empty(cap)
    kk = np.empty(cap, np.int64)
    owner = np.empty(cap, np.int64)
    n = 0
    for g in range(g_core.size):
        core = g_core[g]
        pending = 0.0
        for j in range(g_ptr[g], g_ptr[g + 1]):
            i = g_idx[j]
            pending += lat[i]
            if fired[i] and n_axons[i] > 0:
                for k in range(first_axon[i], first_axon[i] + n_axons[i]):
                    gen[n], kk[n], owner[n] = pending + out_ns, k, core
                    n += 1
                    pending = 0.0
        if pending != 0.0:
            gen[n], kk[n], owner[n] = pending, -1, core
            n += 1
    counts = np.zeros(n_cores, np.int64)
    for e in range(n):
        counts[owner[e]] += 1
    added = np.zeros(n_cores, np.bool_)
    for c in range(n_cores):  # a lead on a core with no message becomes its placeholder
        if lead[c] != 0.0 and counts[c] == 0:
            gen[n], kk[n], owner[n] = lead[c], -1, c
            counts[c] = 1
            added[c] = True
            n += 1
    q_ptr = np.zeros(n_cores + 1, np.int64)
    for c in range(n_cores):
        q_ptr[c + 1] = q_ptr[c] + counts[c]
    fill = q_ptr[:-1].copy()
    q_gen = np.empty(n)
    q_k = np.empty(n, np.int64)
    for e in range(n):  # stable: each core's messages keep their order
        c = owner[e]
        q_gen[fill[c]], q_k[fill[c]] = gen[e], kk[e]
        fill[c] += 1
    for c in range(n_cores):  # the lead delays the core's first message
        if lead[c] != 0.0 and not added[c]:
            q_gen[q_ptr[c]] += lead[c]
    return q_ptr, q_gen, q_k


def _simple(queues, process_ns, ax, n_cores) -> float:
    send = np.zeros(n_cores)
    recv = np.zeros(n_cores)
    for c, q in enumerate(queues):
        for gen, k in q:
            send[c] += gen
            if k >= 0:
                recv[int(ax.core[k])] += process_ns[k]
    return float(max(send.max(initial=0.0), recv.max(initial=0.0)))


# --- the detailed scheduler ---------------------------------------------------------------------
class _Msg:
    __slots__ = ("src", "k", "gen", "sent", "received", "process", "links", "hops")

    def __init__(self, src, k, gen):
        self.src, self.k, self.gen = src, k, gen
        self.sent = 0.0


def _heap_push(heap, m):
    """std::priority_queue::push with a 'later sent first' comparator (libstdc++ __push_heap):
    the same tie order as SANA-FE's C++ priority queue."""
    heap.append(m)
    _sift_up(heap, len(heap) - 1, 0, m)


def _sift_up(heap, hole, top, m):
    parent = (hole - 1) // 2
    while hole > top and heap[parent].sent > m.sent:
        heap[hole] = heap[parent]
        hole = parent
        parent = (hole - 1) // 2
    heap[hole] = m


def _heap_pop(heap):
    """std::priority_queue::pop (libstdc++ pop_heap + __adjust_heap): returns the earliest."""
    top = heap[0]
    last = heap.pop()
    n = len(heap)
    if n == 0:
        return top
    hole, child = 0, 0
    while child < (n - 1) // 2:
        child = 2 * (child + 1)
        if heap[child].sent > heap[child - 1].sent:
            child -= 1
        heap[hole] = heap[child]
        hole = child
    if (n & 1) == 0 and child == (n - 2) // 2:
        child = 2 * (child + 1)
        heap[hole] = heap[child - 1]
        hole = child - 1
    _sift_up(heap, hole, 0, last)
    return top


def _route_links(src, dst, src_offset, height, per_router, yx: bool = False):
    """The link slots a message occupies on its dimension-ordered route, X first (or Y first:
    ``yx``) (SANA-FE's density map: the sender's core port, then at each router the direction the
    packet came in by)."""
    north, east, south, west, ndir = 0, 1, 2, 3, 4
    (sx, sy), (dx, dy) = src, dst
    idx = lambda x, y, link: (x * height + y) * per_router + link  # noqa: E731
    links, slot, x, y = [], ndir + src_offset, sx, sy
    for axis in (1, 0) if yx else (0, 1):
        while (x, y)[axis] != (dx, dy)[axis]:
            links.append(idx(x, y, slot))
            if axis == 0:
                slot, x = (east, x + 1) if x < dx else (west, x - 1)
            else:
                slot, y = (north, y + 1) if y < dy else (south, y - 1)
    links.append(idx(dx, dy, slot))
    return links


def _port_in_tile(sites) -> np.ndarray:
    """Each core's port on its tile's router: its rank among the cores sharing its site (by id)."""
    order = np.lexsort((np.arange(len(sites)), sites[:, 1], sites[:, 0]))
    port = np.empty(len(sites), np.int64)
    s = sites[order]
    new = np.ones(len(s), bool)
    new[1:] = np.any(s[1:] != s[:-1], axis=1)
    start = np.maximum.accumulate(np.where(new, np.arange(len(s)), 0))
    port[order] = np.arange(len(s)) - start
    return port


def _detailed(queues, process_ns, ax, sites, port, profile, stats=None) -> float:
    """SANA-FE's semi-analytical scheduler (``schedule_messages_timestep_detailed``)."""
    # the link map: routers by (x, y) (the mesh, or as far as explicit sites reach), each with four
    # directions and one port per core of its tile
    width = max(int(profile.chip.mesh_width), int(sites[:, 0].max()) + 1)
    height = max(int(profile.chip.mesh_height), int(sites[:, 1].max()) + 1)
    per_router = 4 + max(int(profile.chip.cores_per_tile), int(port.max(initial=0)) + 1)
    buffer = float(profile.noc.link_buffer_packets)
    density = [0.0] * (width * height * per_router)
    n_cores = len(queues)
    finished = [0.0] * max(n_cores, int(ax.core.max(initial=0)) + 1)
    state = {"mean": 0.0, "count": 0}
    if stats is not None:
        stats.setdefault("links", {})
        sent_end = [0.0] * n_cores
    pending = []
    for c, q in enumerate(queues):
        msgs = [_Msg(c, k, g) for g, k in q]
        pending.append(msgs)
    heap: list = []
    cursor = [0] * n_cores
    for c in range(n_cores):
        if pending[c]:
            m = pending[c][0]
            cursor[c] = 1
            m.sent = m.gen
            _heap_push(heap, m)

    def track(m, entering):
        adjust = 1.0 / (2.0 + m.hops)
        if not entering:
            adjust = -adjust
        for link in m.links:
            density[link] += adjust
        if entering:
            state["mean"] += (m.process - state["mean"]) / (state["count"] + 1.0)
            state["count"] += 1
        else:
            if state["count"] > 1:
                state["mean"] += (state["mean"] - m.process) / (state["count"] - 1.0)
            else:
                state["mean"] = 0.0
            state["count"] -= 1

    last = 0.0
    leaving: list = []  # (received, receiving core, arrival number, message) of the messages in flight
    arrivals = 0
    while heap:
        m = _heap_pop(heap)
        last = max(last, m.sent)
        t = m.sent
        if leaving and leaving[0][0] <= t:  # messages fully received by t leave the NoC,
            out = []  # in SANA-FE's order: by receiving core, then by arrival in its queue
            while leaving and leaving[0][0] <= t:
                out.append(heapq.heappop(leaving))
            for *_, r in sorted(out, key=lambda e: (e[1], e[2])):
                track(r, False)
        if m.k >= 0:
            k = m.k
            dest = int(ax.core[k])
            src_site, dst_site = sites[m.src], sites[dest]
            m.hops = int(ax.hops_ew[k] + ax.hops_ns[k])
            m.process = float(process_ns[k])
            m.links = _route_links(
                (int(src_site[0]), int(src_site[1])),
                (int(dst_site[0]), int(dst_site[1])),
                int(port[m.src]),
                height,
                per_router,
                bool(ax.yx[k]),
            )
            along = sum(density[link] for link in m.links)
            capacity = (m.hops + 1) * buffer
            if along > capacity:
                m.sent += (along - capacity) * state["mean"]
            congestion = along * state["mean"] / (m.hops + 1.0)
            arrive = m.sent + max(float(ax.latency_ns[k]), congestion)
            m.received = max(finished[dest], arrive)
            finished[dest] = max(finished[dest] + m.process, arrive + m.process)
            last = max(last, finished[dest])
            heapq.heappush(leaving, (m.received, dest, arrivals, m))
            arrivals += 1
            track(m, True)
            if stats is not None:
                for link in m.links:
                    stats["links"][link] = stats["links"].get(link, 0) + 1
        c = m.src
        if stats is not None:
            sent_end[c] = max(sent_end[c], m.sent)
        if cursor[c] < len(pending[c]):
            nxt = pending[c][cursor[c]]
            cursor[c] += 1
            nxt.sent = m.sent + nxt.gen
            _heap_push(heap, nxt)
            last = max(last, nxt.sent)
    if stats is not None:
        stats["finished"] = [max(a, b) for a, b in zip(finished, sent_end + [0.0] * (len(finished) - n_cores))]
        stats["link_shape"] = (width, height, per_router)
    return last


# --- the detailed scheduler, compiled ------------------------------------------------------------
# ``_detailed`` above is the specification (and the numpy/Python twin); ``_detailed_fast`` runs the
# same algorithm on flat arrays in one numba call: the same heap discipline (libstdc++'s, for
# SANA-FE's tie order), the same order of every floating-point operation, so the same result.
@_njit
def _schedule(q_ptr, q_gen, q_k, ax_core, hops, latency, process, site_x, site_y, port, height, per_router,
              n_links, buffer, n_finished, ax_yx):  # fmt: skip
    n_cores = q_ptr.size - 1
    n_msgs = q_gen.size
    sent = np.zeros(n_msgs)
    received = np.zeros(n_msgs)
    src_of = np.empty(n_msgs, np.int64)
    for c in range(n_cores):
        for i in range(q_ptr[c], q_ptr[c + 1]):
            src_of[i] = c
    # each message's links, in a flat buffer
    link_ptr = np.zeros(n_msgs + 1, np.int64)
    for i in range(n_msgs):
        k = q_k[i]
        link_ptr[i + 1] = link_ptr[i] + (hops[k] + 1 if k >= 0 else 0)
    links = np.empty(link_ptr[n_msgs], np.int64)
    density = np.zeros(n_links)
    link_count = np.zeros(n_links, np.int64)
    finished = np.zeros(n_finished)
    sent_end = np.zeros(n_cores)
    cursor = np.zeros(n_cores, np.int64)
    heap = np.empty(n_msgs + 1, np.int64)
    size = 0
    for c in range(n_cores):
        if q_ptr[c + 1] > q_ptr[c]:
            m = q_ptr[c]
            cursor[c] = 1
            sent[m] = q_gen[m]
            size = _push(heap, size, m, sent)
    # messages in flight: a min-heap on (received, receiving core, arrival number)
    fl = np.empty(n_msgs + 1, np.int64)
    fl_key_r = np.zeros(n_msgs + 1)
    fl_key_d = np.zeros(n_msgs + 1, np.int64)
    fl_key_a = np.zeros(n_msgs + 1, np.int64)
    fl_size = 0
    out = np.empty(n_msgs + 1, np.int64)
    mean, count = 0.0, 0
    last, arrivals = 0.0, 0
    while size > 0:
        m, size = _pop(heap, size, sent)
        last = max(last, sent[m])
        t = sent[m]
        if fl_size > 0 and fl_key_r[fl[0]] <= t:
            n_out = 0
            while fl_size > 0 and fl_key_r[fl[0]] <= t:
                out[n_out], fl_size = _fl_pop(fl, fl_size, fl_key_r, fl_key_d, fl_key_a)
                n_out += 1
            # SANA-FE's order: by receiving core, then by arrival (insertion sort: batches are small)
            for a in range(1, n_out):
                e = out[a]
                b = a - 1
                while b >= 0 and (fl_key_d[out[b]] > fl_key_d[e] or (fl_key_d[out[b]] == fl_key_d[e]
                                                                      and fl_key_a[out[b]] > fl_key_a[e])):  # fmt: skip
                    out[b + 1] = out[b]
                    b -= 1
                out[b + 1] = e
            for a in range(n_out):
                r = out[a]
                kr = q_k[r]
                adjust = -1.0 / (2.0 + hops[kr])
                for j in range(link_ptr[r], link_ptr[r + 1]):
                    density[links[j]] += adjust
                if count > 1:
                    mean += (mean - process[kr]) / (count - 1.0)
                else:
                    mean = 0.0
                count -= 1
        k = q_k[m]
        c = src_of[m]
        if k >= 0:
            dest = ax_core[k]
            _route(links, link_ptr[m], site_x[c], site_y[c], site_x[dest], site_y[dest], port[c], height, per_router,
                   ax_yx[k])  # fmt: skip
            h = hops[k]
            along = 0.0
            for j in range(link_ptr[m], link_ptr[m + 1]):
                along += density[links[j]]
            capacity = (h + 1) * buffer
            if along > capacity:
                sent[m] += (along - capacity) * mean
            congestion = along * mean / (h + 1.0)
            arrive = sent[m] + max(latency[k], congestion)
            received[m] = max(finished[dest], arrive)
            finished[dest] = max(finished[dest] + process[k], arrive + process[k])
            last = max(last, finished[dest])
            fl_key_r[m], fl_key_d[m], fl_key_a[m] = received[m], dest, arrivals
            fl_size = _fl_push(fl, fl_size, m, fl_key_r, fl_key_d, fl_key_a)
            arrivals += 1
            adjust = 1.0 / (2.0 + h)
            for j in range(link_ptr[m], link_ptr[m + 1]):
                density[links[j]] += adjust
                link_count[links[j]] += 1
            mean += (process[k] - mean) / (count + 1.0)
            count += 1
        sent_end[c] = max(sent_end[c], sent[m])
        if cursor[c] < q_ptr[c + 1] - q_ptr[c]:
            nxt = q_ptr[c] + cursor[c]
            cursor[c] += 1
            sent[nxt] = sent[m] + q_gen[nxt]
            size = _push(heap, size, nxt, sent)
            last = max(last, sent[nxt])
    return last, link_count, finished, sent_end


@_njit
def _sift(heap, hole, top, m, sent):
    parent = (hole - 1) // 2
    while hole > top and sent[heap[parent]] > sent[m]:
        heap[hole] = heap[parent]
        hole = parent
        parent = (hole - 1) // 2
    heap[hole] = m


@_njit
def _push(heap, size, m, sent):
    heap[size] = m
    _sift(heap, size, 0, m, sent)
    return size + 1


@_njit
def _pop(heap, size, sent):
    top = heap[0]
    last = heap[size - 1]
    n = size - 1
    if n == 0:
        return top, 0
    hole, child = 0, 0
    while child < (n - 1) // 2:
        child = 2 * (child + 1)
        if sent[heap[child]] > sent[heap[child - 1]]:
            child -= 1
        heap[hole] = heap[child]
        hole = child
    if (n & 1) == 0 and child == (n - 2) // 2:
        child = 2 * (child + 1)
        heap[hole] = heap[child - 1]
        hole = child - 1
    _sift(heap, hole, 0, last, sent)
    return top, n


@_njit
def _fl_less(a, b, r, d, arr):
    if r[a] != r[b]:
        return r[a] < r[b]
    if d[a] != d[b]:
        return d[a] < d[b]
    return arr[a] < arr[b]


@_njit
def _fl_push(h, size, m, r, d, arr):
    i = size
    h[i] = m
    while i > 0:
        p = (i - 1) // 2
        if _fl_less(h[i], h[p], r, d, arr):
            h[i], h[p] = h[p], h[i]
            i = p
        else:
            break
    return size + 1


@_njit
def _fl_pop(h, size, r, d, arr):
    top = h[0]
    size -= 1
    h[0] = h[size]
    i = 0
    while True:
        a, b, s = 2 * i + 1, 2 * i + 2, i
        if a < size and _fl_less(h[a], h[s], r, d, arr):
            s = a
        if b < size and _fl_less(h[b], h[s], r, d, arr):
            s = b
        if s == i:
            break
        h[i], h[s] = h[s], h[i]
        i = s
    return top, size


@_njit
def _route(links, at, sx, sy, dx, dy, src_offset, height, per_router, yx):
    """``_route_links`` into ``links[at:]``."""
    north, east, south, west, ndir = 0, 1, 2, 3, 4
    slot = ndir + src_offset
    x, y = sx, sy
    for phase in range(2):
        along_x = (phase == 0) != (yx != 0)
        while (x != dx) if along_x else (y != dy):
            links[at] = (x * height + y) * per_router + slot
            at += 1
            if along_x:
                slot, x = (east, x + 1) if x < dx else (west, x - 1)
            else:
                slot, y = (north, y + 1) if y < dy else (south, y - 1)
    links[at] = (dx * height + dy) * per_router + slot


def _detailed_fast(queues, process_ns, ax, sites, port, profile, stats=None) -> float:
    """``_detailed`` in one compiled call (same arguments — or the queues flat, as
    ``_step_messages_flat`` gives them — same result)."""
    width = max(int(profile.chip.mesh_width), int(sites[:, 0].max()) + 1)
    height = max(int(profile.chip.mesh_height), int(sites[:, 1].max()) + 1)
    per_router = 4 + max(int(profile.chip.cores_per_tile), int(port.max(initial=0)) + 1)
    if isinstance(queues, tuple):  # already flat: (q_ptr, q_gen, q_k)
        q_ptr, q_gen, q_k = queues
    else:
        lengths = np.array([len(q) for q in queues], np.int64)
        q_ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = [e for q in queues for e in q]
        q_gen = np.array([g for g, _ in flat], np.float64)
        q_k = np.array([k for _, k in flat], np.int64)
    n_cores = q_ptr.size - 1
    n_finished = max(n_cores, int(ax.core.max(initial=0)) + 1)
    s = np.asarray(sites, np.int64)  # indexed by core id, senders and receivers alike
    xs, ys = np.ascontiguousarray(s[:, 0]), np.ascontiguousarray(s[:, 1])
    hops = (np.asarray(ax.hops_ew, np.int64) + np.asarray(ax.hops_ns, np.int64)).astype(np.int64)
    last, link_count, finished, sent_end = _schedule(
        q_ptr, q_gen, q_k, np.asarray(ax.core, np.int64), hops, np.asarray(ax.latency_ns, np.float64),
        np.asarray(process_ns, np.float64), xs, ys, np.asarray(port, np.int64), height, per_router,
        width * height * per_router, float(profile.noc.link_buffer_packets), n_finished,
        np.asarray(ax.yx, np.int8),
    )  # fmt: skip
    if stats is not None:
        links = stats.setdefault("links", {})
        for link in np.flatnonzero(link_count):
            links[int(link)] = links.get(int(link), 0) + int(link_count[link])
        ends = list(sent_end) + [0.0] * (n_finished - n_cores)
        stats["finished"] = [max(float(a), float(b)) for a, b in zip(finished, ends)]
        stats["link_shape"] = (width, height, per_router)
    return float(last)
