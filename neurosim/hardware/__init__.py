"""Hardware profiles and the accounting of online learning on a chip.

``load_profile(name_or_path)``, ``list_profiles()``, ``json_schema()``; ``budget(model, rule,
profile, layout=None)`` → ``Budget`` (memory per core and region, ``.fits``, ``.culprits``,
energy and cycles per timestep by phase, NeuroBench-style metrics); ``largest_fitting``.
"""

from .accounting import PHASES, Budget, Culprit, RegionUse, budget, default_layout, raster_energy
from .profile import Profile, ProfileError, Sourced, Sram, json_schema, list_profiles, load_profile, parse, schema_text

__all__ = [
    "PHASES",
    "Budget",
    "Culprit",
    "RegionUse",
    "budget",
    "default_layout",
    "Profile",
    "ProfileError",
    "Sourced",
    "Sram",
    "json_schema",
    "list_profiles",
    "load_profile",
    "parse",
    "schema_text",
    "largest_fitting",
    "raster_energy",
]


def largest_fitting(build, rule, profile, lo: int = 1, hi: int = 1 << 16, **kw) -> int:
    """The largest n (hidden size) in [lo, hi] with ``budget(build(n), rule, profile).fits``
    (0 if even ``lo`` does not fit). Assumes fitting is monotone in n (bisection)."""
    if not budget(build(lo), rule, profile, **kw).fits:
        return 0
    if budget(build(hi), rule, profile, **kw).fits:
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if budget(build(mid), rule, profile, **kw).fits:
            lo = mid
        else:
            hi = mid
    return lo
