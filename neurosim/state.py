"""State declarations: one ``ArraySpec`` per array a model or a rule keeps between steps.

The same declarations price memory (``hardware.budget``), lay arrays out on a chip's cores and
place units (the mapper): each says its shape, who owns it (which axis is indexed by which unit,
or one copy per layer or model), its number-format role, and whether it is per sample.
``tests/test_battery.py`` checks every declaration against the arrays ``init`` creates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OWNERS = ("unit", "pre", "shared", "global")
INDEXES = ("unit", "state", "param", "pattern")
ROLES = ("state", "trace", "gradient", "optimizer")
BELONGS = ("synapse", "neuron", "parameter", "history", "state", "output", "event")


@dataclass(frozen=True)
class ArraySpec:
    """One state array of a model or a rule, declared so that accounting, the chip and the
    mapper put it where it lives.

    ``shape`` is per sample (``per_sample``) or for the whole batch (one copy shared by every
    sample: e-prop's running rate, UORO's step counter). ``belongs``: what it is (synapse,
    neuron or parameter traces, history, model state, output state, or an event: the last
    spikes, which a chip sends as packets and does not store). ``owner`` says who holds it:

    * ``"unit"`` — axis ``axis`` is indexed by the units of ``layer``; ``index`` says how an
      index i maps to its unit u: ``"unit"`` (u = i + ``offset``; e-prop's ALIF-only arrays start
      at the first ALIF neuron), ``"state"`` (u = i mod n_units: the slot-major state of a cell,
      the LRU's [Re h; Im h]), ``"param"`` (the unit the cell's active parameter i writes to: its
      row), ``"pattern"`` (SnAp-n's kept influence entries, owned by their parameter's unit). A
      layer split over cores splits the array with its units.
    * ``"pre"`` — indexed by presynaptic sources (the layer's inputs or its own units, read by
      every unit): each core holding units of the layer keeps its own copy.
    * ``"shared"`` — one copy per layer, on the core holding the layer's unit 0.
    * ``"global"`` — one copy per model, on the core holding layer 0's unit 0.

    ``role`` is the number format it is stored in (the profile's ``state``, ``trace``,
    ``gradient`` or optimizer format); ``bits`` overrides it (a refractory counter). ``dtype``:
    "float" (the model's dtype; complex when ``complex``) or "int". ``padded``: the simulation
    stores the array for every unit of the layer (a vectorised step), while only the declared
    units hold state and are priced (the ALIF adaptation of a mixed LIF/ALIF layer)."""

    name: str
    layer: int
    shape: tuple[int, ...]
    belongs: str  # BELONGS
    complex: bool = False
    owner: str = "unit"
    axis: int = 0
    index: str = "unit"
    offset: int = 0
    role: str = "trace"
    per_sample: bool = True
    dtype: str = "float"
    bits: int | None = None
    padded: bool = False  # stored for every unit of the layer; only units offset … hold state

    def __post_init__(self):
        for field_, allowed in (("belongs", BELONGS), ("owner", OWNERS), ("index", INDEXES), ("role", ROLES)):
            if getattr(self, field_) not in allowed:
                raise ValueError(f"ArraySpec {self.name!r}: {field_}={getattr(self, field_)!r}; allowed: {allowed}")
        if self.owner in ("unit", "pre") and not 0 <= self.axis < max(1, len(self.shape)):
            raise ValueError(f"ArraySpec {self.name!r}: axis {self.axis} outside shape {self.shape}")

    @property
    def floats(self) -> int:
        return int(np.prod(self.shape)) * (2 if self.complex else 1)
