"""neurosim: online learning rules for recurrent and spiking networks, priced on chips."""

from . import chip, hardware, kernels, losses, mapping, models, optim, report, rules, snn, sweep, tasks
from .checkpoint import CheckpointError, CheckpointMismatch
from .train import NetworkActivityError, TrainingDiverged, TrainingInterrupted, TrainResult, train

__version__ = "0.3.0"
__all__ = [
    "models",
    "rules",
    "tasks",
    "optim",
    "losses",
    "hardware",
    "report",
    "snn",
    "chip",
    "mapping",
    "kernels",
    "sweep",
    "train",
    "TrainResult",
    "TrainingDiverged",
    "TrainingInterrupted",
    "CheckpointError",
    "CheckpointMismatch",
    "NetworkActivityError",
]
