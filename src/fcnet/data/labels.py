"""Class labels: codes and back, a trained model's classes, and the task a target implies."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from fcnet.data._common import MAX_CLASSES, _one_line


def encode_labels(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Map class labels to integer codes ``0..k-1`` in sorted order of the classes.

    Parameters
    ----------
    y : array-like, shape (m,)
        Labels: strings, integers, booleans or integral floats.

    Returns
    -------
    codes : numpy.ndarray of int64, shape (m,)
        ``classes[codes] == y``.
    classes : numpy.ndarray, shape (k,)
        The sorted distinct labels.

    Raises
    ------
    ValueError
        ``y`` is not 1-D, empty, or holds NaN.
    TypeError
        ``y`` mixes types that cannot be sorted together.
    """
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"encode_labels: expected labels of shape (m,), got {labels.shape}.")
    if labels.size == 0:
        raise ValueError("encode_labels: expected at least one label, got none.")
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        i = int(np.argwhere(~np.isfinite(labels))[0][0])
        raise ValueError(
            f"encode_labels: labels must be finite, got {labels[i].item()!r} at row {i}."
        )
    try:
        classes, codes = np.unique(labels, return_inverse=True)
    except TypeError as exc:
        raise TypeError(
            f"encode_labels: expected labels of one sortable type, got {_one_line(exc)}."
        ) from None
    return codes.reshape(-1).astype(np.int64), classes


def encode_with_classes(y: Any, classes: Any, who: str = "encode_with_classes") -> np.ndarray:
    """Labels -> their positions in a fixed ``classes`` array (a trained model's classes).

    Unlike :func:`encode_labels`, the classes are given: a label outside them is an error that
    names the label, its row and the classes.
    """
    y = np.asarray(y)
    classes = np.asarray(classes)
    if y.ndim != 1:
        raise ValueError(
            f"{who}: expected labels of shape (m,) for a model with classes, got {y.shape}."
        )
    kinds = {y.dtype.kind, classes.dtype.kind}
    if kinds <= set("biuf") or kinds in ({"U"}, {"S"}):  # comparable: one vectorised lookup
        codes = class_positions(y, classes)
        unknown = np.flatnonzero(codes < 0)
        row = int(unknown[0]) if unknown.size else None
    else:  # mixed or object labels: Python's equality, one row at a time
        lookup = {c: i for i, c in enumerate(classes.tolist())}
        codes = np.empty(len(y), dtype=np.int64)
        row = None
        for i, value in enumerate(y.tolist()):
            if value not in lookup:
                row = i
                break
            codes[i] = lookup[value]
    if row is not None:
        value = y[row]
        value = value.item() if isinstance(value, np.generic) else value
        raise ValueError(
            f"{who}: label {value!r} at row {row} is not one of the model's classes "
            f"{classes.tolist()}."
        )
    return codes.astype(np.int64, copy=False)


def class_positions(values: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Index of each value in ``classes`` (any order), or -1 for a value not among them."""
    order = np.argsort(classes, kind="stable")
    ordered = classes[order]
    position = np.minimum(np.searchsorted(ordered, values), ordered.size - 1)
    return np.where(ordered[position] == values, order[position], -1)


def decode_labels(codes: Any, classes: Any) -> np.ndarray:
    """Map integer codes back to class labels: ``classes[codes]``.

    Parameters
    ----------
    codes : array-like of int
        Codes in ``[0, len(classes))``, any shape.
    classes : array-like, shape (k,)
        The classes returned by :func:`encode_labels`.

    Returns
    -------
    numpy.ndarray
        The labels, shaped like ``codes``.
    """
    codes = np.asarray(codes)
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise ValueError(f"decode_labels: expected classes of shape (k,), got {classes.shape}.")
    if codes.dtype.kind not in "iu":
        raise TypeError(f"decode_labels: expected integer codes, got dtype {codes.dtype}.")
    k = len(classes)
    outside = (codes < 0) | (codes >= k)
    if outside.any():
        index = tuple(int(i) for i in np.argwhere(outside)[0])
        row = index[0] if len(index) == 1 else index
        raise ValueError(
            f"decode_labels: codes must be integers in [0, {k}), got {int(codes[index])} at "
            f"row {row}."
        )
    return classes[codes]


def infer_task(
    y: Any, *, max_classes: int = MAX_CLASSES
) -> Literal["classification", "regression"]:
    """Guess whether targets call for classification or regression.

    The rule: strings, booleans and other non-numeric labels are classes. Numbers are classes
    when every value is integral (ints, or floats like 0.0 / 1.0) and there are at most
    ``max_classes`` distinct values; otherwise (fractional values, or many distinct integers
    such as counts or years) the task is regression. Targets with more than one column
    ``(m, k)`` are regression (multi-output). Override the guess when it is wrong (the CLI's
    ``--task``).

    Parameters
    ----------
    y : array-like, shape (m,) or (m, k)
    max_classes : int, default 50

    Returns
    -------
    {"classification", "regression"}
    """
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 2:
        return "regression"
    if values.ndim != 1:
        raise ValueError(f"infer_task: expected y of shape (m,) or (m, k), got {values.shape}.")
    if values.size == 0:
        raise ValueError("infer_task: expected at least one target, got none.")
    kind = values.dtype.kind
    if kind in "USbO":
        return "classification"
    if kind not in "iuf":
        raise TypeError(f"infer_task: expected numbers or labels, got dtype {values.dtype}.")
    if kind == "f":
        if not np.isfinite(values).all():
            i = int(np.argwhere(~np.isfinite(values))[0][0])
            raise ValueError(
                f"infer_task: targets must be finite, got {values[i].item()!r} at row {i}."
            )
        if not np.all(values == np.trunc(values)):
            return "regression"
    return "classification" if len(np.unique(values)) <= max_classes else "regression"
