"""A step-by-step trace of backpropagation with numbers (:func:`explain`, in
:mod:`fcnet.tracing`), and the textbook example it is shown on (:func:`worked_example`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet.layers import Dense
from fcnet.network import Sequential
from fcnet.tracing import explain

__all__ = ["explain", "worked_example"]


def worked_example() -> tuple[Any, np.ndarray, np.ndarray]:
    """The one-layer example of ``docs/math.md``: (model, X, Y) in float64.

    One Dense layer with the identity activation, ``W = [[0.15, 0.20], [0.25, 0.30]]``,
    ``b = [0.35, 0.45]``, ``X = [[0.1, 0.5]]``, ``Y = [[0.01, 0.99]]``; with MSE the loss is
    0.18365.
    """
    layer = Dense(2, 2, activation="identity", dtype="float64", rng=0)
    layer.W[...] = [[0.15, 0.20], [0.25, 0.30]]
    layer.b[...] = [0.35, 0.45]
    X = np.array([[0.1, 0.5]])
    Y = np.array([[0.01, 0.99]])
    return Sequential([layer]), X, Y
