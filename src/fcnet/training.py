"""Training; it lives in :mod:`fcnet.train` (one module per concern). The names are kept here."""

from fcnet._inputs import prepare_inputs
from fcnet.train import History, Trainer, TrainingDiverged, evaluate, fit

__all__ = ["History", "Trainer", "TrainingDiverged", "evaluate", "fit", "prepare_inputs"]
