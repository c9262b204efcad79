"""Hardware profiles and the accounting of online learning on a chip.

``load_profile(name_or_path)``, ``list_profiles()``, ``json_schema()``; ``budget(model, rule,
profile, layout=None)`` → ``Budget`` (memory per core and region, ``.fits``, ``.culprits``,
energy and cycles per timestep by phase, NeuroBench-style metrics); ``largest_fitting`` over the
sizes a model's options allow (``buildable_range``); ``array_names()`` (what ``[formats.array_bits]``
may name). Modules: ``profile`` (format, validation), ``memory`` (what a core stores, packing),
``layout`` (default layout, connectivity limits), ``accounting`` (the budget), ``search``.
"""

from .accounting import PHASES, Budget, Culprit, RegionUse, budget, default_layout, raster_energy
from .profile import (
    Profile,
    ProfileError,
    Sourced,
    Sram,
    array_names,
    json_schema,
    list_profiles,
    load_profile,
    parse,
    schema_text,
)
from .search import buildable_range, largest_fitting, largest_in

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
    "array_names",
    "json_schema",
    "list_profiles",
    "load_profile",
    "parse",
    "schema_text",
    "buildable_range",
    "largest_fitting",
    "largest_in",
    "raster_energy",
]
