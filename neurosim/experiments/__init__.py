"""Studies that run many trainings and write a JSON result and a figure (``neurosim study``)."""

from . import gradient_quality

STUDIES = {"gradient-quality": gradient_quality}

__all__ = ["gradient_quality", "STUDIES"]
