"""The boundary checks of the metrics: labels, scores and values, named in every message."""

from __future__ import annotations

from typing import Any

import numpy as np


def _as_array(who: str, name: str, values: Any) -> np.ndarray:
    try:
        return np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{who}: {name} could not be read as an array ({exc}).") from exc


def _check_rows(who: str, y_true: np.ndarray, y_pred: np.ndarray, pred_name: str) -> None:
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"{who}: y_true has {y_true.shape[0]} rows but {pred_name} has {y_pred.shape[0]}."
        )
    if y_true.shape[0] == 0:
        raise ValueError(f"{who}: y_true is empty (0 rows); expected at least one sample.")


def _nonfinite_message(who: str, name: str, values: np.ndarray) -> str | None:
    finite = np.isfinite(values)
    if finite.all():
        return None
    where = tuple(int(i) for i in np.argwhere(~finite)[0])
    kind = "NaN" if np.isnan(values[where]) else "inf"
    at = f"row {where[0]}" if values.ndim == 1 else f"row {where[0]}, column {where[1]}"
    return f"{who}: {name} contains {kind} at {at}; expected finite values."


def _as_labels(who: str, name: str, values: Any) -> np.ndarray:
    """Return class labels as a 1-D array of numbers or strings (an (m, 1) column is accepted)."""
    labels = _as_array(who, name, values)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"{who}: expected {name} to be 1-D class labels (m,), got shape {labels.shape}; "
            "for one-hot or probability rows pass Y.argmax(axis=1)."
        )
    if labels.dtype.kind == "O":
        # Object arrays come from lists of Python objects; let NumPy find one common type.
        labels = np.array(labels.tolist())
        if labels.dtype.kind == "O":
            raise TypeError(f"{who}: expected {name} to hold numbers or strings of one kind.")
    if labels.dtype.kind not in "biufUS":
        raise TypeError(
            f"{who}: expected {name} to hold class labels (integers or strings), "
            f"got dtype {labels.dtype}."
        )
    if labels.dtype.kind == "f":
        message = _nonfinite_message(who, name, labels)
        if message is not None:
            raise ValueError(message)
        fractional = np.flatnonzero(labels != np.round(labels))
        if fractional.size:
            row = int(fractional[0])
            raise ValueError(
                f"{who}: expected {name} to hold class labels, got the continuous value "
                f"{labels[row].item()!r} at row {row}; use mae, rmse or r2 for regression."
            )
    return labels


def _same_label_kind(
    who: str, first: tuple[str, np.ndarray], second: tuple[str, np.ndarray]
) -> None:
    def is_text(a: np.ndarray) -> bool:
        return a.dtype.kind in "US"

    if is_text(first[1]) != is_text(second[1]):
        kinds = ["strings" if is_text(a) else "numbers" for _, a in (first, second)]
        raise TypeError(
            f"{who}: expected {first[0]} and {second[0]} to hold labels of one kind, "
            f"got {kinds[0]} and {kinds[1]}."
        )


def _check_class_indices(who: str, name: str, labels: np.ndarray, n_classes: int) -> None:
    if labels.dtype.kind not in "biuf":
        raise TypeError(
            f"{who}: expected {name} to hold integer labels in [0, {n_classes}), "
            f"got dtype {labels.dtype}."
        )
    outside = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if outside.size:
        row = int(outside[0])
        raise ValueError(
            f"{who}: {name} must be integers in [0, {n_classes}), "
            f"got {labels[row].item()!r} at row {row}."
        )


def _label_pair(who: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    true = _as_labels(who, "y_true", y_true)
    pred = _as_labels(who, "y_pred", y_pred)
    _check_rows(who, true, pred, "y_pred")
    _same_label_kind(who, ("y_true", true), ("y_pred", pred))
    return true, pred


def _classes(who: str, true: np.ndarray, pred: np.ndarray, labels: Any) -> np.ndarray:
    """The classes to report, in output order: ``labels`` as given, or the sorted union."""
    if labels is None:
        return np.union1d(true, pred)
    classes = _as_labels(who, "labels", labels)
    if classes.size == 0:
        raise ValueError(f"{who}: expected labels to name at least one class, got none.")
    _same_label_kind(who, ("y_true", true), ("labels", classes))
    unique, counts = np.unique(classes, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"{who}: expected labels without repeats, got {unique[counts > 1][0].item()!r} "
            f"{int(counts[counts > 1][0])} times."
        )
    return classes


def _check_average(who: str, average: Any) -> None:
    if average is not None and average != "macro":
        raise ValueError(f"{who}: expected average to be 'macro' or None, got {average!r}.")


def _as_values(who: str, name: str, values: Any) -> np.ndarray:
    """Return regression targets or outputs as a float64 array (m,) or (m, k) of finite values."""
    array = _as_array(who, name, values)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{who}: expected {name} to hold real numbers, got dtype {array.dtype}.")
    if array.ndim not in (1, 2):
        raise ValueError(
            f"{who}: expected {name} of shape (m,) or (m, k), got {array.ndim}-D shape "
            f"{array.shape}."
        )
    # Metrics are reported as Python floats; accumulate in float64 whatever the model's dtype.
    array = array.astype(np.float64, copy=False)
    message = _nonfinite_message(who, name, array)
    if message is not None:
        raise ValueError(message)
    return array


def _value_pair(who: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    true = _as_values(who, "y_true", y_true)
    pred = _as_values(who, "y_pred", y_pred)
    _check_rows(who, true, pred, "y_pred")
    true = true.reshape(true.shape[0], -1)
    pred = pred.reshape(pred.shape[0], -1)
    if true.shape != pred.shape:
        raise ValueError(
            f"{who}: expected y_pred of shape (m, {true.shape[1]}) like y_true, got {pred.shape}."
        )
    return true, pred


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, and 0.0 where the denominator is 0 (scikit-learn's default)."""
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out
