"""neurosim: online learning rules for recurrent and spiking networks, priced on chips."""

from . import losses, models, optim, rules, tasks
from .train import NetworkActivityError, TrainingDiverged, TrainResult, train

__version__ = "0.1.0"
__all__ = [
    "models",
    "rules",
    "tasks",
    "optim",
    "losses",
    "train",
    "TrainResult",
    "TrainingDiverged",
    "NetworkActivityError",
]
