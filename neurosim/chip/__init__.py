"""The cycle-level chip: ``simulate(model, rule, task, profile, layout=None, ...) -> ChipRun``.

It executes the same online learning ``ns.train`` does (the same loop and rule code), partitioned
onto the cores of a ``Layout``: each core's arrays held in the profile's number formats, and what
each core executes counted per timestep and phase — cycles, energy, the NoC's schedule and the
barrier (``simulate.py``: the design; ``owners.py``: which core holds which element;
``numbers.py``: the formats; ``costs.py``: the event model per step; ``run.py``: the result).
"""

from .costs import PHASES, ChipNet
from .numbers import DEFAULT_RANGE, ArrayFormat, FormatError
from .run import SCHEMA, ChipRun
from .simulate import FORMATS, simulate

__all__ = ["simulate", "ChipRun", "ChipNet", "FormatError", "ArrayFormat", "PHASES", "FORMATS", "SCHEMA",
           "DEFAULT_RANGE"]  # fmt: skip
