"""The mesh: where a core sits, and what a route between two cores costs.

A core's site is ``(x, y)``, the coordinates of its tile on the mesh (``chip.mesh_width`` ×
``chip.mesh_height`` tiles of ``chip.cores_per_tile`` cores). ``default_site`` is the numbering
of core ids the default layout uses — SANA-FE's numbering of Loihi's mesh: cores fill tiles, and
tiles fill the mesh column by column (tile ``t`` at ``x = t // mesh_height``, ``y = t %
mesh_height``), so tile 1 is one hop north of tile 0. A ``Layout`` carries each core's site
explicitly, so a mapper may place cores anywhere. Routes are dimension-ordered (x first, then y):
``|dx|`` east–west hops and ``|dy|`` north–south hops, each with its own energy and latency; a
packet longer than a link's width adds its serialization once per route (wormhole routing: the
hop latencies are those of the head flit). ``packets_for`` counts the packets a graded value
needs: its bits over the packet's payload (``noc.payload_bits``, the packet less its routing header).
"""

from __future__ import annotations

import numpy as np

from .profile import Profile


def default_site(profile: Profile, core_id: int) -> tuple[int, int]:
    """Tile coordinates of core ``core_id``: cores fill tiles, tiles fill the mesh column by column
    (SANA-FE's tile numbering: ``x = tile // mesh_height``, ``y = tile % mesh_height``)."""
    tile = int(core_id) // int(profile.chip.cores_per_tile)
    height = int(profile.chip.mesh_height)
    return tile // height, tile % height


def sites_of(profile: Profile, core_ids) -> np.ndarray:
    """``default_site`` of each of ``core_ids``, as an (k, 2) int array (vectorised)."""
    tile = np.asarray(core_ids, np.int64).ravel() // int(profile.chip.cores_per_tile)
    height = int(profile.chip.mesh_height)
    return np.stack([tile // height, tile % height], axis=1)


def dimension_path(a, b, order: str = "xy") -> list[tuple[int, int]]:
    """Tiles from ``a`` to ``b`` in dimension order ``order`` ("xy": x first, "yx": y first),
    both ends included."""
    (x, y), (x1, y1) = (int(a[0]), int(a[1])), (int(b[0]), int(b[1]))
    out = [(x, y)]
    for axis in (0, 1) if order == "xy" else (1, 0):
        while (x, y)[axis] != (x1, y1)[axis]:
            if axis == 0:
                x += 1 if x1 > x else -1
            else:
                y += 1 if y1 > y else -1
            out.append((x, y))
    return out


def hop_counts_each(src, dsts) -> tuple[np.ndarray, np.ndarray]:
    """(east–west, north–south) hops of each route from ``src`` (one site or (k, 2) sites) to each
    of ``dsts`` ((k, 2) sites)."""
    d = np.asarray(dsts, np.int64).reshape(-1, 2)
    s = np.asarray(src, np.int64).reshape(-1, 2)
    return np.abs(d[:, 0] - s[:, 0]), np.abs(d[:, 1] - s[:, 1])


def hop_counts(src, dsts) -> tuple[int, int]:
    """(east–west, north–south) hops summed over the routes from site ``src`` to each of ``dsts``
    (an (k, 2) array of sites; vectorised: a layer may span hundreds of cores)."""
    ew, ns = hop_counts_each(src, dsts)
    return int(ew.sum()), int(ns.sum())


def hop_energy_pj(profile: Profile, src, dsts) -> float:
    """Σ over the routes from ``src`` to each of ``dsts`` of their hop energies."""
    ew, ns = hop_counts(src, dsts)
    return float(ew * profile.noc.hop_energy_pj_ew + ns * profile.noc.hop_energy_pj_ns)


def serialization_ns(profile: Profile) -> float:
    """The time a packet adds to a route beyond its head flit: (⌈packet_bits / link width⌉ − 1)
    link cycles at ``chip.clock_mhz``. Zero when a packet fits one link transfer (Loihi)."""
    return (profile.noc.flits_per_packet - 1) * profile.chip.cycle_ns


def packets_for(profile: Profile, value_bits: int) -> int:
    """Packets one message of ``value_bits`` bits needs: ⌈value_bits / noc.payload_bits⌉ (at least
    one: a binary spike is one packet however few bits it carries). The header is routing, not
    room for data, so a 32-bit value on a 40-bit SpiNNaker packet (8-bit header) is one packet
    and on a 32-bit Loihi packet (16-bit header) two."""
    if int(value_bits) < 0:
        raise ValueError(f"packets_for: value_bits {value_bits!r} must be ≥ 0")
    return max(1, -(-int(value_bits) // profile.noc.payload_bits))


def route_latency_ns(profile: Profile, src, dsts) -> np.ndarray:
    """Latency of each route from ``src`` to each of ``dsts`` (ns): ``|dx|`` × ``hop_latency_ns_ew``
    + ``|dy|`` × ``hop_latency_ns_ns``, plus ``serialization_ns`` for a route of at least one hop
    (a message to its own tile does not cross a link)."""
    ew, ns = hop_counts_each(src, dsts)
    hops = ew * profile.noc.hop_latency_ns_ew + ns * profile.noc.hop_latency_ns_ns
    return hops + np.where(ew + ns > 0, serialization_ns(profile), 0.0)
