"""What a model is given, made ready for its first layer: the features checked and passed through
the model's preprocessing, and the loss a target implies when none is named."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._validation import as_float_matrix
from fcnet.preprocessing.columns import (
    as_frame,
    is_bool_dtype,
    is_frame,
    is_numeric_dtype,
    listing,
)
from fcnet.preprocessing.tabular import TabularEncoder


def prepare_inputs(model: Any, X: Any, who: str) -> np.ndarray:
    """X made ready for the first layer: validated (2-D, numeric, finite, right width) after the
    model's preprocessing, if any.

    ``model.preprocessing`` may be a scaler (X must be numbers) or a
    :class:`~fcnet.preprocessing.TabularEncoder` (X a DataFrame or array, as the encoder takes
    it). An encoder that was never fitted is fitted here on X when ``who`` is ``"fit"`` (``fit``
    with a ``validation_split`` fits it first on the training rows alone: see
    :func:`fit_encoder_on`); elsewhere it is an error. A DataFrame given to a model without an
    encoder must hold only numbers (and booleans); ``fit`` records its column names
    (``model.feature_names``, saved with the model), and a later table is matched to them by
    name (another order or extra columns are fine; a missing one is an error naming it).
    """
    preprocessing = getattr(model, "preprocessing", None)
    if isinstance(preprocessing, TabularEncoder):
        if not preprocessing.fitted:
            if who != "fit":
                raise RuntimeError(
                    f"{who}: model.preprocessing is a TabularEncoder that was never fitted; "
                    "fit the model (which fits it on the training data) or the encoder first."
                )
            preprocessing.fit(X)
        X = preprocessing.transform(X)
        return as_float_matrix(who, "X", X, model.dtype, model.n_in)
    if is_frame(X):
        X = numeric_frame(who, _by_name(model, X, who))
    if preprocessing is not None:
        X = as_float_matrix(
            who, "X", X, np.dtype(np.float64), getattr(preprocessing, "n_features", None)
        )
        X = preprocessing.transform(X)
    return as_float_matrix(who, "X", X, model.dtype, model.n_in)


def unfitted_encoder(model: Any) -> TabularEncoder | None:
    """The model's TabularEncoder when it has one that was never fitted, else None."""
    preprocessing = getattr(model, "preprocessing", None)
    if isinstance(preprocessing, TabularEncoder) and not preprocessing.fitted:
        return preprocessing
    return None


def fit_encoder_on(model: Any, X: Any, rows: np.ndarray) -> np.ndarray:
    """Fit the model's TabularEncoder on the rows ``rows`` of X alone (the training rows, so
    that the rows held out for validation teach it nothing: not their medians, scales or
    categories), then prepare every row of X for the first layer."""
    frame = as_frame("fit", X)
    model.preprocessing.fit(frame.iloc[rows])
    return prepare_inputs(model, frame, "fit")


def _by_name(model: Any, frame: Any, who: str) -> Any:
    """The table's columns in the order of ``model.feature_names`` (recorded by ``fit``)."""
    names = getattr(model, "feature_names", None)
    columns = [str(name) for name in frame.columns]
    if names is not None:
        missing = [name for name in names if name not in columns]
        if not missing:
            return frame.set_axis(columns, axis=1)[list(names)]
        if who != "fit":
            raise ValueError(
                f"{who}: X lacks the column{'s' if len(missing) > 1 else ''} {listing(missing)} "
                f"the model was trained on; expected the columns {listing(list(names))}."
            )
    if who == "fit":
        model.feature_names = columns
    return frame


def numeric_frame(who: str, frame: Any) -> np.ndarray:
    """A DataFrame of numbers (and booleans) as a float64 array, its columns in order; text
    columns or missing values raise an error that names them and the way to encode them."""
    hint = (
        "set model.preprocessing = fcnet.preprocessing.TabularEncoder() to encode them "
        "(fit fits it on the training data)."
    )
    text = [
        str(name)
        for name in frame.columns
        if not (is_numeric_dtype(frame[name]) or is_bool_dtype(frame[name]))
    ]
    if text:
        raise TypeError(f"{who}: X has columns that are not numbers ({listing(text)}); {hint}")
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    gaps = np.isnan(values).any(axis=0)
    if gaps.any():
        missing = [str(name) for name, gap in zip(frame.columns, gaps, strict=True) if gap]
        raise ValueError(f"{who}: X has missing values in columns {listing(missing)}; {hint}")
    return values


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
