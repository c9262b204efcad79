"""The quality of a mapping: cores, memory use per core and region, traffic on the mesh.

Traffic is multicast-aware and rate-weighted (``graph`` module docstring): a unit with activity
r sends r packets per step to every other core holding one of its targets. With XY routes:
packets per step, packet-hops per step, the rate-weighted mean hops of a packet and the largest
hop count of any route carrying traffic, and routing-table entries per core (distinct destination
cores). The routing's part (the busiest link under XY, YX and adaptive routing, multicast trees,
table entries per router against the limit) is ``route.plan``'s report, which ``map_network``
adds, with ``max_link_load`` and ``link_loads`` (``[x, y, x', y', packets per step]`` from tile
(x, y) to its neighbour (x', y'), every loaded link) under the chosen routing. Memory use comes from ``budget``
on the finished layout: used / capacity bits per core and region, the neuron count per core,
and the region that decides — the one nearest its capacity on the most cores. On a board
(``board``), packet-hops and hops are those on the chips' meshes; the chip-to-chip part is the
report's ``board`` entry.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from . import partition as P
from . import place


def quality(graph, layout, part, tile, ptr, pins, rate, profile, b, chip=None) -> dict:
    """The report of a mapping; ``b``: the budget of its layout. ``chip``: the board chip of each
    core (None: one chip); hops are then those on each chip's mesh — a packet between two chips
    counts in ``packets_per_step`` and its mesh hops not at all (the board's links are
    ``board.inter_chip``'s)."""
    k = int(part.max()) + 1
    T = P.traffic(part, ptr, pins, rate, k)
    sites = place.tile_sites(profile)[tile]
    H = place.hops(sites)
    if chip is not None:
        H = np.where(chip[:, None] == chip[None, :], H, 0)
    packets = float(T.sum())
    packet_hops = float((T * H).sum())
    util: dict[int, dict[str, float]] = {c: {} for c in range(k)}
    for r in b.regions:
        util[r.core][r.region] = r.used_bits / r.capacity_bits if r.capacity_bits else 0.0
    for c in layout.cores:
        util[c.core]["neurons"] = c.n_units / float(profile.core.max_neurons)
    deciding = Counter(max(u, key=u.get) for u in util.values() if u)
    return {
        "cores_used": k,
        "units": graph.n_units,
        "fits": b.fits,
        "culprits": [str(c) for c in b.culprits],
        "utilisation": {str(c): u for c, u in util.items()},
        "deciding_region": deciding.most_common(1)[0][0] if deciding else None,
        "packets_per_step": packets,
        "packet_hops_per_step": packet_hops,
        "mean_hops": packet_hops / packets if packets else 0.0,
        "max_hops": int(H[T > 0].max()) if packets else 0,
        "routing_entries": [int(x) for x in (T > 0).sum(1)],
        "edge_cut_synapses": int((part[np.repeat(np.arange(ptr.size - 1), np.diff(ptr))] != part[pins]).sum()),
    }
