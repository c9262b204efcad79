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
    cost = lambda tl: (  # noqa: E731  exact, from scratch
        float((T * D[tl][:, tl]).sum()),
        max_load(t_nz, sites[tl[a_nz]], sites[tl[b_nz]], W, H),
    )
    energy = lambda c: c[0] + LOAD_WEIGHT * c[1]  # noqa: E731
    # Incremental state of the walk: a move changes the hops and routes of the flows of the one or
    # two cores it moves only (O(k) flows of O(k²)); the best state is re-priced from scratch.
    Ts = T + T.T
    flows_of = [np.flatnonzero((a_nz == c) | (b_nz == c)) for c in range(k)]
    n_links = 2 * W * H * 2 + 2 * W * H * 2
    loads = np.bincount(*_link_ids(t_nz, sites[tile[a_nz]], sites[tile[b_nz]], W, H), minlength=n_links)
    rng = np.random.default_rng(seed)
    steps = steps or int(min(20000, 400 * k))
    best = cost(tile)
    cur_hops = best[0]
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
        b = -1
        if occupancy[t] >= per:
            b = int(rng.choice(np.flatnonzero(tile == t)))
            new[a], new[b] = t, tile[a]
        else:
            new[a] = t
        moved = [a] if b < 0 else [a, b]
        d_hops = 0.0
        for c in moved:  # rows of the moved cores against the cores that stay
            stay = np.ones(k, bool)
            stay[moved] = False
            d_hops += float((Ts[c, stay] * (D[new[c], new[stay]] - D[tile[c], tile[stay]])).sum())
        if b >= 0:
            d_hops += float(Ts[a, b] * (D[new[a], new[b]] - D[tile[a], tile[b]]))
        fl = np.unique(np.concatenate([flows_of[c] for c in moved]))
        old_ids, old_w = _link_ids(t_nz[fl], sites[tile[a_nz[fl]]], sites[tile[b_nz[fl]]], W, H)
        new_ids, new_w = _link_ids(t_nz[fl], sites[new[a_nz[fl]]], sites[new[b_nz[fl]]], W, H)
        trial = loads.copy()
        np.subtract.at(trial, old_ids, old_w)
        np.add.at(trial, new_ids, new_w)
        c = (cur_hops + d_hops, float(trial.max()) if trial.size else 0.0)
        e = energy(c)
        if e <= cur or rng.random() < np.exp(-(e - cur) / temp):
            tile, cur, cur_hops, loads = new, e, c[0], trial
            occupancy = np.bincount(tile, minlength=n_tiles)
            if c[0] < best[0] + 1e-9 * max(1.0, abs(best[0])):  # a candidate best: priced exactly
                exact = cost(tile)
                if exact < best:  # lexicographic: packet-hops, then the busiest link
                    best, best_tile = exact, tile.copy()
    return best_tile


def _link_ids(t: np.ndarray, src: np.ndarray, dst: np.ndarray, W: int, H: int):
    """(link id, packets) of every link of every XY route (``max_load``'s numbering: x links
    from 0, y links from 2·W·H, two directions each)."""
    if t.size == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    x0, y0, x1, y1 = src[:, 0], src[:, 1], dst[:, 0], dst[:, 1]
    ids, ws = [], []
    for n_seg, sign, fixed, start, base, stride in (
        (np.abs(x1 - x0), np.sign(x1 - x0), y0, x0, 0, W),  # along x at the source's row
        (np.abs(y1 - y0), np.sign(y1 - y0), x1, y0, 2 * W * H, H),  # then along y at the target's column
    ):
        rep = np.repeat(np.arange(t.size), n_seg)
        step = np.arange(rep.size) - np.repeat(np.cumsum(n_seg) - n_seg, n_seg)
        s = sign[rep]
        pos = start[rep] + s * step
        ids.append(base + (fixed[rep] * stride + np.minimum(pos, pos + s)) * 2 + (s > 0))
        ws.append(t[rep])
    return np.concatenate(ids).astype(np.int64), np.concatenate(ws).astype(np.float64)
