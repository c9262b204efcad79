"""Reports: JSON first, figures rendered from it (functions take ``ax=None``, return the axes).

``build(result)`` makes the canonical ``Report`` of a budget, a chip run or a mapping (its JSON
schema: ``SCHEMA_FILE``), rendered to Markdown and to one self-contained HTML page;
``compare`` puts several side by side (``document``)."""

from . import chip_plots, mapping_plots, plots
from .document import KINDS, SCHEMA, SCHEMA_FILE, Figure, Report, build, compare
from .plots import plot_learning_curve

__all__ = [
    "chip_plots",
    "mapping_plots",
    "plots",
    "KINDS",
    "SCHEMA",
    "SCHEMA_FILE",
    "Figure",
    "Report",
    "build",
    "compare",
    "plot_learning_curve",
]
