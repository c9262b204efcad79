"""Hardware profiles and the accounting of online learning on a chip.

``load_profile(name_or_path)``, ``list_profiles()``, ``json_schema()``; ``budget(model, rule,
profile, layout=None)`` → ``Budget`` (memory per core and region, ``.fits``, ``.culprits``,
energy and cycles per timestep by phase, NeuroBench-style metrics); ``largest_fitting`` over the
sizes a model's options allow (``buildable_range``); ``array_names()`` (what ``[formats.array_bits]``
may name); ``Layout`` and ``layers_in_order`` (the default). Modules: ``profile`` (typed format,
validation), ``formats`` (fixed point), ``mesh`` (sites, routes), ``events`` (the SANA-FE event
model), ``layout`` (the ``Layout`` type, the default), ``memory`` (what a core stores, packing),
``connectivity`` (axons, fan-out), ``capabilities`` (what a chip runs), ``accounting`` (the
budget), ``search``.
"""

from .accounting import PHASES, Budget, Culprit, RegionUse, budget, raster_energy
from .layout import CoreUnits, Layout, LayoutError, Route, Units, layers_in_order
from .profile import (
    Board,
    IoPort,
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

default_layout = layers_in_order  # the name budgets used before the Layout type

__all__ = [
    "PHASES",
    "Budget",
    "Culprit",
    "RegionUse",
    "budget",
    "default_layout",
    "layers_in_order",
    "Layout",
    "LayoutError",
    "CoreUnits",
    "Route",
    "Units",
    "Board",
    "IoPort",
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
