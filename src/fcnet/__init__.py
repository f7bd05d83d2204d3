"""fcnet: fully connected neural networks with hand-written, numerically checked backprop."""

from os import PathLike
from typing import Any

from fcnet import (
    activations,
    callbacks,
    data,
    distributed,
    initializers,
    interop,
    losses,
    metrics,
    optimizers,
    preprocessing,
    schedules,
    sources,
)
from fcnet._ops import set_device
from fcnet.backend import get_dtype, get_num_threads, set_dtype, set_num_threads
from fcnet.gradcheck import GradCheckReport, check_gradients, numerical_gradient
from fcnet.io import load, save
from fcnet.layers import Dense, Dropout, Embedding, register_layer
from fcnet.network import Sequential
from fcnet.normalization import BatchNorm, LayerNorm
from fcnet.training import History, TrainingDiverged, evaluate, fit

__version__ = "0.1.0"


def to_onnx(model: Sequential, path: str | PathLike[str] | None = None, *, opset: int = 17) -> Any:
    """Export ``model`` to ONNX (needs the onnx package); see :func:`fcnet.interop.to_onnx`."""
    from fcnet.interop.onnx_export import to_onnx as export

    return export(model, path, opset=opset)


__all__ = [
    "BatchNorm",
    "Dense",
    "Dropout",
    "Embedding",
    "GradCheckReport",
    "History",
    "LayerNorm",
    "Sequential",
    "TrainingDiverged",
    "__version__",
    "activations",
    "callbacks",
    "check_gradients",
    "data",
    "distributed",
    "evaluate",
    "fit",
    "get_dtype",
    "get_num_threads",
    "initializers",
    "interop",
    "load",
    "losses",
    "metrics",
    "numerical_gradient",
    "optimizers",
    "preprocessing",
    "register_layer",
    "save",
    "schedules",
    "sources",
    "set_device",
    "set_dtype",
    "set_num_threads",
    "to_onnx",
]
