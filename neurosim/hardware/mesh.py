"""The mesh: where a core sits, and what a route between two cores costs.

A core's site is ``(x, y)``, the coordinates of its tile on the mesh (``chip.mesh_width`` ×
``chip.mesh_height`` tiles of ``chip.cores_per_tile`` cores). ``default_site`` is the numbering
of core ids the default layout uses; a ``Layout`` carries each core's site explicitly, so a mapper
may place cores anywhere. Routes are dimension-ordered (Manhattan): ``|dx|`` east–west hops and
``|dy|`` north–south hops, each with its own energy and latency.
"""

from __future__ import annotations

import numpy as np

from .profile import Profile


def default_site(profile: Profile, core_id: int) -> tuple[int, int]:
    """Tile coordinates of core ``core_id``: cores fill tiles, tiles fill the mesh row by row."""
    tile = int(core_id) // int(profile.chip["cores_per_tile"])
    width = int(profile.chip["mesh_width"])
    return tile % width, tile // width


def hop_counts(src, dsts) -> tuple[int, int]:
    """(east–west, north–south) hops summed over the routes from site ``src`` to each of ``dsts``
    (an (k, 2) array of sites; vectorised: a layer may span hundreds of cores)."""
    d = np.asarray(dsts, np.int64).reshape(-1, 2)
    return int(np.abs(d[:, 0] - src[0]).sum()), int(np.abs(d[:, 1] - src[1]).sum())


def hop_energy_pj(profile: Profile, src, dsts) -> float:
    """Σ over the routes from ``src`` to each of ``dsts`` of their hop energies."""
    ew, ns = hop_counts(src, dsts)
    return float(ew * profile.noc["hop_energy_pj_ew"] + ns * profile.noc["hop_energy_pj_ns"])
