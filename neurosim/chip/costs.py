"""What one timestep costs on the chip, from the events it executed.

The network as the chip sees it (``ChipNet``): the chip's inputs (``n_in`` sources on layer 0's
home core, driven from outside: ``events.price_raster``'s inputs), every unit of every layer on
its core (``Layout.core_of``) and the readout units on the top layer's home core. Synapses follow
``hardware.connectivity``: inputs → every unit of layer 0; every unit → every unit of the next
layer (the top layer → the readout); within a layer, the recurrent weights' structure (a
structural mask, the spiking layer's no-autapse matrix; none for the LRU's element-wise
recurrence).

A unit is *active* when it sends: a spike (spiking models) or a non-zero activation (rate
models: any slot of its state); an input when its value is non-zero. A unit is *updated* as
SANA-FE updates it (``events.updated_neurons``): it fires, received a packet the step before, or
its state (membrane, h, readout y) was non-zero after the step before. The inference phases
(neuron, receive, send) are priced by the one event model, ``hardware.events`` — per-core event
counts (``event_counts``), their energies (``energy_of``), neuron latencies and SANA-FE's NoC
scheduler (``step_time``: dimension-ordered routes, hop latency per direction, serialization,
link occupancy and blocking past ``link_buffer_packets``, receivers processing one message at a
time). Rate models' packets carry activations whose synaptic events are multiply-accumulates:
they are priced with the ``mac`` costs in place of ``synop``.

The learning phases of a core (error, trace, gradient, update) run between its neuron updates
and its sends: their time delays the core's first packet (``step_time(lead_ns=)``). The error
phase sends messages of its own (``LearningNoC``: the packets ``mapping.learning`` declares, the
spatial error's partial sums and the readout's errors, scheduled by the same event model), so a
core's learning starts when its last error has arrived. The step's
time is the scheduler's (the slowest core's compute, its packets' delivery and processing) plus
the barrier over the tiles in use.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..hardware import events
from ..hardware.connectivity import readout_core
from ..hardware.layout import Layout, layer_units
from ..hardware.memory import Net
from ..kernels.config import backend
from ..models.cells import mask_pairs

PHASES = ("receive", "neuron", "error", "trace", "gradient", "update", "send", "static")
DIRECTIONS = ("north", "east", "south", "west")


def event_profile(profile, spiking: bool):
    """The profile the event model prices with: rate models' synaptic events are MACs."""
    if spiking:
        return profile
    ops = dataclasses.replace(
        profile.ops, synop_energy_pj=profile.ops.mac_energy_pj, synop_cycles=profile.ops.mac_cycles
    )
    return dataclasses.replace(profile, ops=ops)


@dataclasses.dataclass(frozen=True)
class Block:
    """All-to-all synapses from nodes ``a0 … a1 − 1`` to nodes ``b0 … b1 − 1`` (``self_excluded``:
    none from a node to itself); ``source``: "input", "layer" (between layer units) or "readout"
    (onto the readout's nodes)."""

    a0: int
    a1: int
    b0: int
    b1: int
    self_excluded: bool = False
    source: str = "layer"


class ChipNet:
    """The chip's event graph of ``model`` on ``layout`` (module docstring). All-to-all
    connections are ``Block``s, never listed synapse by synapse (a 16k-neuron spiking layer has
    2.7·10⁸ synapses but 16k × 16 axons on 16 cores)."""

    def __init__(self, model, rule, profile, layout: Layout):
        self.model, self.profile = model, profile
        self.spiking = bool(getattr(model, "spiking", False))
        self.net = Net(model, rule)
        units = layer_units(model)
        entries = layout.entries()
        self.units = units
        self.n_in, self.n_out = model.n_in, self.net.n_out  # a plain graph's model: no readout nodes
        self.offsets = np.cumsum([model.n_in] + units).tolist()  # first node of each layer, then the readout
        cores = [np.full(model.n_in, layout.core_of(0, units[0])[0], np.int64)]
        cores += [layout.core_of(layer, n) for layer, n in enumerate(units)]
        cores.append(np.full(self.n_out, readout_core(self.net, entries), np.int64))
        self.core_of = np.concatenate(cores)
        self.n = self.core_of.size
        self.blocks, self.sparse = self._connections()
        sites = layout.sites()
        n_cores = max(sites) + 1
        site_arr = np.zeros((n_cores, 2), np.int64)
        for c, s in sites.items():
            site_arr[c] = s
        self.n_cores = n_cores
        self.routes = events.route_orders(layout.routes, site_arr) if layout.routes else None  # XY or YX, as mapped
        self.ev = events.event_net(event_profile(profile, self.spiking), None, self.core_of,
                                   inputs=np.arange(model.n_in), sites=site_arr, n_cores=n_cores,
                                   routes=self.routes, axons=self._triples())  # fmt: skip

    def _connections(self) -> tuple[list[Block], tuple[np.ndarray, np.ndarray]]:
        """The synapses as dense ``Block``s (inputs → layer 0, layer → layer above, the top layer →
        the readout, a dense or spiking recurrence) and the (pre, post) node pairs of the structured
        (masked) recurrences: nothing is listed synapse by synapse that is all-to-all."""
        blocks, pre, post = [], [], []
        off = self.offsets
        for layer, n in enumerate(self.units):
            src = (0, self.n_in) if layer == 0 else (off[layer - 1], off[layer])
            blocks.append(Block(*src, off[layer], off[layer] + n, source="input" if layer == 0 else "layer"))
            rec = self._recurrent(layer)
            if isinstance(rec, Block):
                blocks.append(rec)
            elif rec is not None:
                j, i = rec  # W[j, i]: unit i is read by unit j
                pre.append(off[layer] + i)
                post.append(off[layer] + j)
        top = len(self.units) - 1
        if self.n_out:
            blocks.append(Block(off[top], off[top + 1], off[top + 1], off[top + 1] + self.n_out, source="readout"))
        cat = lambda a: np.concatenate(a).astype(np.int64) if a else np.zeros(0, np.int64)  # noqa: E731
        return blocks, (cat(pre), cat(post))

    def _triples(self, layers_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``events.axon_triples`` of every synapse (``layers_only``: between layer units only),
        from the blocks without listing their synapses."""
        C = int(self.core_of.max()) + 1
        keys, counts = [], []
        for blk in self.blocks:
            if layers_only and blk.source != "layer":
                continue
            cores, per = np.unique(self.core_of[blk.b0 : blk.b1], return_counts=True)
            src = np.arange(blk.a0, blk.a1, dtype=np.int64)
            key = (src[:, None] * C + cores[None, :]).ravel()
            cnt = np.broadcast_to(per[None, :], (src.size, cores.size)).ravel().copy()
            if blk.self_excluded:  # a unit of both ranges does not synapse onto itself
                own = (src >= blk.b0) & (src < blk.b1)
                pos = np.searchsorted(cores, self.core_of[src[own]])
                cnt.reshape(src.size, cores.size)[np.flatnonzero(own), pos] -= 1
            keep = cnt > 0
            keys.append(key[keep])
            counts.append(cnt[keep])
        pre, post = self.sparse
        if pre.size:
            a_pre, a_core, cnt = events.axon_triples(pre, post, self.core_of)
            keys.append(a_pre * C + a_core)
            counts.append(cnt)
        if not keys:
            z = np.zeros(0, np.int64)
            return z, z, z
        key, cnt = np.concatenate(keys), np.concatenate(counts).astype(np.int64)
        order = np.argsort(key, kind="stable")
        key, cnt = key[order], cnt[order]
        first = np.ones(key.size, bool)
        first[1:] = key[1:] != key[:-1]
        u = key[first]
        total = np.add.reduceat(cnt, np.flatnonzero(first)) if key.size else cnt
        return u // C, u % C, total

    @property
    def pre(self) -> np.ndarray:
        return self._pairs()[0]

    @property
    def post(self) -> np.ndarray:
        return self._pairs()[1]

    def _pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every synapse as (pre, post) node pairs, listed (for the per-sample specification and
        tests; the pricing itself never lists the blocks)."""
        got = self.__dict__.get("_pair_list")
        if got is None:
            pre, post = [self.sparse[0]], [self.sparse[1]]
            for blk in self.blocks:
                a, b = np.meshgrid(np.arange(blk.a0, blk.a1), np.arange(blk.b0, blk.b1), indexing="ij")
                keep = (a != b) if blk.self_excluded else np.ones(a.shape, bool)
                pre.append(a[keep])
                post.append(b[keep])
            got = (np.concatenate(pre).astype(np.int64), np.concatenate(post).astype(np.int64))
            self._pair_list = got
        return got

    def _recurrent(self, layer) -> Block | tuple[np.ndarray, np.ndarray] | None:
        """The layer's recurrent synapses: a ``Block`` when they are all-to-all (the spiking
        layer's, without autapses; an unmasked (n, n) recurrent weight), else (post, pre) of the
        union of its recurrent weights' masks (dense, or scipy.sparse without densifying), None
        without any."""
        n, o = self.units[layer], self.offsets[layer]
        if self.spiking:
            return Block(o, o + n, o, o + n, self_excluded=True)
        keys = []
        for name in self.model.cell_param_names(layer):
            if self.net.param_layout[name][1] == "recurrent" and self.net.shapes[name] == (n, n):
                m = self.net.masks.get(name)
                if m is None:
                    return Block(o, o + n, o, o + n)
                j, i = mask_pairs(m)
                keys.append(j * n + i)
        if not keys:
            return None
        k = np.unique(np.concatenate(keys)) if len(keys) > 1 else np.sort(keys[0])
        return k // n, k % n

    def routing_entries(self) -> np.ndarray:
        """Per core, the distinct other cores its units send packets to (one routing entry each),
        among the layers' units (the readout's core and the chip's inputs left out, as
        ``hardware.connectivity.destinations`` counts them)."""
        a_pre, a_core, _ = self._triples(layers_only=True)
        src, dst = self.core_of[a_pre], a_core
        pairs = np.unique(np.stack([src, dst])[:, src != dst], axis=1)
        return np.bincount(pairs[0], minlength=self.n_cores)[: self.n_cores]

    # --- one step -------------------------------------------------------------------------------
    def activity(self, x, model_state, b: int):
        """(active, state non-zero) per node for sample ``b`` after a step with input ``x``."""
        active = np.zeros(self.n, bool)
        nonzero = np.zeros(self.n, bool)
        active[: self.n_in] = x[b] != 0
        off = self.offsets
        if self.spiking:
            active[off[0] : off[1]] = model_state.z[b] != 0
            nonzero[off[0] : off[1]] = model_state.v[b] != 0
        else:
            for layer, n in enumerate(self.units):
                h = np.asarray(model_state.h[layer][b]).reshape(-1, n)
                active[off[layer] : off[layer] + n] = (h != 0).any(0)
            nonzero[: off[-1]] = active[: off[-1]]
            nonzero[: self.n_in] = False
        if self.n_out:
            nonzero[off[-1] :] = np.asarray(model_state.y[b]) != 0
        return active, nonzero

    def price(self, fired, nonzero_prev, fired_prev, lead_ns, timing: str = "detailed"):
        """Counts, per-core energies and cycles of the inference phases, and the step's time (ns,
        barrier excluded) with the learning work ``lead_ns`` (per core) before each core's sends."""
        raster = np.stack([fired_prev, fired])
        upd = events.updated_neurons((self.pre, self.post), raster, np.stack([nonzero_prev, nonzero_prev]))[1]
        upd = upd | fired
        counts = {k: v[0] for k, v in events.event_counts(self.ev, fired[None], upd[None]).items()}
        by_phase, cycles = self._phases(counts)
        lat = events.neuron_latency(self.ev, fired, upd)
        stats: dict = {} if timing == "detailed" else None
        time = events.step_time(self.ev, lat, fired, timing=timing, lead_ns=lead_ns, stats=stats)
        return counts, by_phase, cycles, time, stats

    def _phases(self, counts: dict) -> tuple[dict, dict]:
        """(energy, cycles) of the inference phases (neuron, receive, send) from event counts."""
        energy = events.energy_of(self.ev.profile, counts)
        ops = self.ev.profile.ops
        cycles = {
            "neuron": counts["neuron_access"] * ops.neuron_access_cycles
            + counts["neuron_update"] * (ops.neuron_update_cycles - ops.neuron_access_cycles)
            + counts["spike_out"] * ops.spike_out_cycles,
            "receive": counts["message_in"] * ops.message_in_cycles + counts["synop"] * ops.synop_cycles,
            "send": counts["message_out"] * ops.message_out_cycles,
        }
        by_phase = {
            "neuron": energy["neuron_access"] + energy["neuron_update"] + energy["spike_out"],
            "receive": energy["synop"] + energy["message_in"],
            "send": energy["message_out"] + energy["hops"],
        }
        return by_phase, cycles

    # --- a batch of samples' steps at once -----------------------------------------------------
    def _matrices(self):
        """Sparse (nodes × cores) matrices that turn who fires / is updated into per-core counts,
        and the (nodes × nodes) synapse matrix for who receives input: made once per net."""
        m = self.__dict__.get("_mats")
        if m is None:
            from scipy import sparse

            ev, ax, C, n = self.ev, self.ev.ax, self.n_cores, self.n
            src = self.core_of[ax.pre]

            def per_core(rows, cols, vals):
                return sparse.csr_matrix((np.asarray(vals, np.float64), (rows, cols)), shape=(n, C))

            live = ev.live.astype(np.float64)
            fired = [  # what a firing node adds, per core, to each kind (stacked: one product)
                per_core(np.arange(n), self.core_of, live),  # spike_out: live nodes on their core
                per_core(ax.pre, ax.core, ax.synapses),
                per_core(ax.pre, src, np.ones(ax.pre.size)),
                per_core(ax.pre, ax.core, np.ones(ax.pre.size)),
                per_core(ax.pre, src, ax.hops_ew),
                per_core(ax.pre, src, ax.hops_ns),
            ]
            m = {
                "home": sparse.csr_matrix(fired[0].T),  # cores × nodes
                "fired": sparse.csr_matrix(sparse.hstack(fired).T),  # (kinds × cores) × nodes
                "by_pre": sparse.csr_matrix((np.ones(self.sparse[0].size), self.sparse), shape=(n, n)),
                "access": np.bincount(self.core_of[ev.live], minlength=C)[:C].astype(np.int64),
            }
            self._mats = m
        return m

    def activity_batch(self, x, model_state):
        """``activity`` of every sample at once: (active, state non-zero), samples × nodes."""
        x = np.asarray(x)
        B = x.shape[0]
        active = np.zeros((B, self.n), bool)
        nonzero = np.zeros((B, self.n), bool)
        active[:, : self.n_in] = x != 0
        off = self.offsets
        if self.spiking:
            active[:, off[0] : off[1]] = np.asarray(model_state.z) != 0
            nonzero[:, off[0] : off[1]] = np.asarray(model_state.v) != 0
        else:
            for layer, n in enumerate(self.units):
                h = np.asarray(model_state.h[layer]).reshape(B, -1, n)
                active[:, off[layer] : off[layer] + n] = (h != 0).any(1)
            nonzero[:, : off[-1]] = active[:, : off[-1]]
            nonzero[:, : self.n_in] = False
        nonzero[:, off[-1] :] = np.asarray(model_state.y).reshape(B, -1) != 0
        return active, nonzero

    def price_batch(self, fired, nonzero_prev, fired_prev, lead_ns, timing: str = "detailed"):
        """``price`` of every sample's step at once (samples × nodes inputs, ``lead_ns`` samples ×
        cores): counts, energies and cycles per sample and core, each sample's time, critical core
        and (detailed timing) the packets per link slot summed over the samples. Equal to
        ``price`` sample by sample (``tests/test_chip_costs.py``)."""
        m = self._matrices()
        fired = np.asarray(fired, bool)
        B = fired.shape[0]
        C = self.n_cores
        received = self.received(np.ascontiguousarray(fired_prev, np.bool_))
        upd = fired | received | np.asarray(nonzero_prev, bool)
        per = np.rint(m["fired"] @ fired.T.astype(np.float64)).astype(np.int64).reshape(6, C, B)
        counts = {
            "neuron_access": np.broadcast_to(m["access"], (B, C)).copy(),
            "neuron_update": np.rint(m["home"] @ upd.T.astype(np.float64)).astype(np.int64).T,
            **{k: per[i].T for i, k in enumerate(("spike_out", "synop", "message_out", "message_in", "hops_ew",
                                                   "hops_ns"))},
        }  # fmt: skip
        by_phase, cycles = self._phases(counts)
        lat = events.neuron_latency(self.ev, fired, upd)
        if timing == "detailed":
            times, crit, links = events.step_times(self.ev, lat, fired, lead_ns)
            return counts, by_phase, cycles, times, crit, links, self.link_shape()
        times = np.array([events.step_time(self.ev, lat[b], fired[b], timing="simple", lead_ns=lead_ns[b])
                          for b in range(B)])  # fmt: skip
        return counts, by_phase, cycles, times, None, None, None

    def received(self, fired_prev: np.ndarray) -> np.ndarray:
        """(samples × nodes) who has a presynaptic node that fired the step before: a block's
        targets all, when any of its sources fired (less a unit whose only firing source was
        itself, without autapses); the listed pairs' targets through their CSR."""
        out = _received(self._matrices()["by_pre"], fired_prev)
        for blk in self.blocks:
            f = fired_prev[:, blk.a0 : blk.a1]
            n_fired = f.sum(1)
            got = np.broadcast_to((n_fired > 0)[:, None], (f.shape[0], blk.b1 - blk.b0)).copy()
            lo, hi = max(blk.a0, blk.b0), min(blk.a1, blk.b1)
            if blk.self_excluded and lo < hi:  # from another source of the block only
                got[:, lo - blk.b0 : hi - blk.b0] = (n_fired[:, None] - fired_prev[:, lo:hi]) > 0
            out[:, blk.b0 : blk.b1] |= got
        return out

    def link_shape(self) -> tuple[int, int, int]:
        """(mesh width, height, link slots per router) of the scheduler's link numbering."""
        g = events._sched_consts(self.ev)
        return (g[9] // (g[7] * g[8]), g[7], g[8])  # n_links, height, per_router


LEARNING_KINDS = ("error_message_out", "error_message_in", "error_hops_ew", "error_hops_ns")


class LearningNoC:
    """The learning phases' messages on the NoC: every packet of ``mapping.learning.error_waves``
    (the spatial error's partial sums, the readout's errors; the mapper counts the same packets),
    scheduled by the one event model, wave by wave from the top layer down.

    A wave is priced as a step of the event model whose sources are the packets: one virtual
    source per packet on its sending core, with one axon to the core of the unit it serves, routed
    as the layout routes (XY or YX), each processed in ``message_in`` (the partial sum's add is in
    the rule's error operations). Layer ``l``'s wave starts on each core when that core has
    finished layer ``l + 1``'s wave and computed its share of layer ``l``'s error operations
    (``err_ns[l]``); ``done_ns[c]`` is when core ``c`` holds every error it needs — the learning
    phases after it (trace, gradient, update) start there. Errors are dense, so every sample's
    step sends the same packets: the waves are scheduled once, with the NoC to themselves (the
    spikes of the step go after the learning phases)."""

    def __init__(self, chipnet: ChipNet, rule, err_ns: list[np.ndarray]):
        from ..mapping.graph import from_model
        from ..mapping.learning import error_waves

        net, C = chipnet, chipnet.n_cores
        graph = dataclasses.replace(from_model(net.model), readout=net.n_out > 0)
        part = net.core_of[net.n_in : net.offsets[-1]]
        self.waves = error_waves(graph, rule, net.model, part)
        self.counts = {k: np.zeros(C, np.int64) for k in LEARNING_KINDS}
        self.links: dict[int, int] = {}
        ready = np.zeros(C)
        by_layer = {w.layer: w for w in self.waves}
        profile, sites, routes = net.ev.profile, net.ev.sites, net.routes  # the chip's own event model
        for layer in range(len(err_ns) - 1, -1, -1):
            lead = ready + err_ns[layer]
            w = by_layer.get(layer)
            if w is None:
                ready = lead
                continue
            V = w.src.size
            core_of = np.concatenate([net.core_of, w.src])
            ev = events.event_net(profile, (net.n + np.arange(V), net.n_in + w.dst), core_of, sites=sites,
                                  n_cores=C, routes=routes)  # fmt: skip
            ev = dataclasses.replace(ev, process_ns=np.full(ev.ax.pre.size, events._ns(profile, "message_in")))
            fired = np.zeros(core_of.size, bool)
            fired[net.n :] = True
            stats: dict = {}
            events.step_time(ev, np.zeros(core_of.size), fired, lead_ns=lead, stats=stats)
            ready = np.maximum(lead, np.asarray(stats["finished"][:C]))
            for k, v in stats["links"].items():
                self.links[k] = self.links.get(k, 0) + v
            src = ev.core_of[ev.ax.pre]
            for kind, core, vals in (
                ("error_message_out", src, 1),
                ("error_message_in", ev.ax.core, 1),
                ("error_hops_ew", src, ev.ax.hops_ew),
                ("error_hops_ns", src, ev.ax.hops_ns),
            ):
                self.counts[kind] += np.bincount(core, np.broadcast_to(vals, src.shape), minlength=C)[:C].astype(
                    np.int64)  # fmt: skip
        self.done_ns = ready
        ops, noc = profile.ops, profile.noc
        c = self.counts
        self.cycles = c["error_message_out"] * ops.message_out_cycles + c["error_message_in"] * ops.message_in_cycles
        self.energy = (c["error_message_out"] * ops.message_out_energy_pj + c["error_message_in"]
                       * ops.message_in_energy_pj + c["error_hops_ew"] * noc.hop_energy_pj_ew + c["error_hops_ns"]
                       * noc.hop_energy_pj_ns)  # fmt: skip

    @property
    def packets(self) -> int:
        return int(self.counts["error_message_out"].sum())


def _received(by_pre, fired_prev: np.ndarray) -> np.ndarray:
    """(samples × nodes) who has a presynaptic node that fired the step before: the targets of
    who fired, O(their synapses) — compiled, or with scipy on the numpy kernel backend (twins)."""
    if backend() == "numpy":
        out = np.zeros_like(fired_prev)
        for b, row in enumerate(fired_prev):
            idx = np.flatnonzero(row)
            if idx.size:
                out[b, by_pre[idx].indices] = True
        return out
    return _received_kernel(by_pre.indptr.astype(np.int64), by_pre.indices.astype(np.int64), fired_prev)


@events._njit
def _received_kernel(indptr, indices, fired_prev):
    B, n = fired_prev.shape
    out = np.zeros((B, n), np.bool_)
    for b in range(B):
        for i in range(n):
            if fired_prev[b, i]:
                for k in range(indptr[i], indptr[i + 1]):
                    out[b, indices[k]] = True
    return out


def link_name(slot: int, shape) -> str:
    """A link slot of the event model's density map as text: 'x,y:east' or 'x,y:port k'."""
    width, height, per_router = shape
    router, link = divmod(int(slot), per_router)
    x, y = divmod(router, height)
    return f"{x},{y}:{DIRECTIONS[link] if link < 4 else f'port {link - 4}'}"
