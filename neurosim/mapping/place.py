"""Placing cores on the mesh, and what the traffic costs there.

Given ``T[a, b]`` (packets per step from core a to core b, ``partition.traffic``), cores are put
on tiles (at most ``chip.cores_per_tile`` per tile; cores on one tile share its router, 0 hops).
A packet from a to b takes the dimension-ordered route (x first, then y: ``hardware.mesh``;
``route`` computes the routes and loads), so

    packet-hops = Σ_{a,b} T[a, b] · (|x_a − x_b| + |y_a − y_b|),
    load(link) = Σ of T[a, b] over the routes through the link,

and placement minimises (packet-hops, max link load) lexicographically by simulated annealing
over moves of one core to another tile (swapping with a core there when the tile is full): the
walk follows E = packet-hops + ``LOAD_WEIGHT`` · max link load, from the part-order placement
(core c on tile c // cores_per_tile, ``mesh.default_site``), and the best state seen — fewest
packet-hops, then the least-loaded busiest link — is kept, so the result is never worse than
part order. Deterministic for a seed.
"""

from __future__ import annotations

import time

import numpy as np

from ..hardware.profile import Profile
from .route import link_loads, max_load, xy_route  # noqa: F401 (routing lives in route.py)

LOAD_WEIGHT = 0.25  # packet-hops per unit of max link load, in the annealing walk only


def tile_sites(profile: Profile) -> np.ndarray:
    """(n_tiles, 2): the site of each tile, in ``mesh.default_site``'s numbering."""
    h, w = int(profile.chip.mesh_height), int(profile.chip.mesh_width)
    t = np.arange(w * h)
    return np.stack([t // h, t % h], 1)


def hops(sites: np.ndarray) -> np.ndarray:
    return np.abs(sites[:, None, 0] - sites[None, :, 0]) + np.abs(sites[:, None, 1] - sites[None, :, 1])


def part_order(profile: Profile, k: int) -> np.ndarray:
    """Tile of each core in part order (core c on tile c // cores_per_tile)."""
    return np.arange(k) // int(profile.chip.cores_per_tile)


def anneal(T: np.ndarray, profile: Profile, seed: int = 0, steps: int | None = None, time_limit_s=None) -> np.ndarray:
    """The tile of each core (module docstring)."""
    k = T.shape[0]
    per = int(profile.chip.cores_per_tile)
    sites = tile_sites(profile)
    n_tiles = sites.shape[0]
    tile = part_order(profile, k)
    if k <= 1 or not T.any():
        return tile
    D = hops(sites)
    W, H = int(profile.chip.mesh_width), int(profile.chip.mesh_height)
    a_nz, b_nz = np.nonzero(T)
    t_nz = T[a_nz, b_nz]
    cost = lambda tl: (  # noqa: E731
        float((T * D[tl][:, tl]).sum()),
        max_load(t_nz, sites[tl[a_nz]], sites[tl[b_nz]], W, H),
    )
    energy = lambda c: c[0] + LOAD_WEIGHT * c[1]  # noqa: E731
    rng = np.random.default_rng(seed)
    steps = steps or int(min(20000, 400 * k))
    best = cost(tile)
    cur = energy(best)
    best_tile = tile.copy()
    occupancy = np.bincount(tile, minlength=n_tiles)
    t0 = time.monotonic()
    temp0 = max(cur * 0.02, 1e-9)
    for step in range(steps):
        if time_limit_s is not None and step % 64 == 0 and time.monotonic() - t0 > time_limit_s:
            break
        temp = temp0 * (1 - step / steps) + 1e-12
        a = int(rng.integers(k))
        t = int(rng.integers(n_tiles))
        if t == tile[a]:
            continue
        new = tile.copy()
        if occupancy[t] >= per:
            b = int(rng.choice(np.flatnonzero(tile == t)))
            new[a], new[b] = t, tile[a]
        else:
            new[a] = t
        c = cost(new)
        e = energy(c)
        if e <= cur or rng.random() < np.exp(-(e - cur) / temp):
            tile, cur = new, e
            occupancy = np.bincount(tile, minlength=n_tiles)
            if c < best:  # lexicographic: packet-hops, then the busiest link
                best, best_tile = c, tile.copy()
    return best_tile
