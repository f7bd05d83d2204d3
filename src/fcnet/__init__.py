"""fcnet: fully connected neural networks with hand-written, numerically checked backprop."""

from fcnet import activations, callbacks, initializers, losses, optimizers
from fcnet.backend import get_dtype, set_dtype
from fcnet.gradcheck import GradCheckReport, check_gradients, numerical_gradient
from fcnet.io import load, save
from fcnet.layers import Dense, Dropout, register_layer
from fcnet.network import Sequential
from fcnet.training import History, TrainingDiverged, evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "Dense",
    "GradCheckReport",
    "Dropout",
    "History",
    "Sequential",
    "TrainingDiverged",
    "__version__",
    "activations",
    "callbacks",
    "check_gradients",
    "evaluate",
    "fit",
    "get_dtype",
    "initializers",
    "load",
    "losses",
    "numerical_gradient",
    "optimizers",
    "register_layer",
    "save",
    "set_dtype",
]
