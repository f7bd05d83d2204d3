"""What a model is given, made ready for its first layer: the features checked and passed through
the model's preprocessing, and the loss a target implies when none is named."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._validation import as_float_matrix


def prepare_inputs(model: Any, X: Any, who: str) -> np.ndarray:
    """Validate X (2-D, numeric, finite, right width) and apply the model's scaler, if any."""
    scaler = getattr(model, "preprocessing", None)
    if scaler is not None:
        X = as_float_matrix(who, "X", X, np.dtype(np.float64), getattr(scaler, "n_features", None))
        X = scaler.transform(X)
    return as_float_matrix(who, "X", X, model.dtype, model.n_in)


def infer_loss(y: Any, n_out: int | None) -> str:
    """The loss name for targets ``y`` and ``n_out`` outputs: cross-entropy for class labels
    with several outputs, binary cross-entropy for 0/1 labels and one output, else MSE."""
    y = np.asarray(y)
    names = y.dtype.kind in "USO"  # label names, encoded as classes 0..k-1 by fit
    integral = (
        names
        or y.dtype.kind in "biu"
        or (y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all())
    )
    if y.ndim == 1 and n_out is not None and n_out > 1:
        # (m,) targets cannot be values for several outputs, so they are class labels; a
        # fractional one then gets the labels message, not a confusing shape mismatch
        return "cross_entropy"
    if integral and n_out == 1 and y.size and (names or set(np.unique(y).tolist()) <= {0, 1}):
        return "binary_cross_entropy"
    return "mse"
