"""The checks of targets and sample weights that every loss makes at the boundary."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._validation import first_nonfinite


def check_sample_weight(who: str, sample_weight: Any, m: int) -> np.ndarray:
    """Validate per-sample weights: (m,), finite, >= 0, not all zero; returned as float64."""
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{who}: sample_weight must hold numbers ({exc}).") from exc
    if w.ndim != 1 or len(w) != m:
        raise ValueError(f"{who}: expected sample_weight of shape ({m},), got {w.shape}.")
    bad = first_nonfinite(w)
    if bad is not None:
        raise ValueError(f"{who}: sample_weight contains {w[bad]} at row {bad[0]}.")
    if (w < 0).any():
        row = int(np.argmax(w < 0))
        raise ValueError(f"{who}: sample_weight must be >= 0, got {w[row]} at row {row}.")
    if not w.any():
        raise ValueError(f"{who}: sample_weight is all zero; at least one weight must be > 0.")
    return w


def class_targets(who: str, Y: Any, n_classes: int, dtype: np.dtype) -> np.ndarray:
    """Integer labels (m,) in [0, n_classes) as int64, or probability rows (m, k) as ``dtype``."""
    Y = np.asarray(Y)
    if Y.dtype == object or Y.dtype.kind in "USc":
        raise TypeError(f"{who}: labels must be integers, got dtype {Y.dtype}.")
    if Y.ndim == 2 and Y.shape[1] == 1:
        Y = Y[:, 0]
    if Y.ndim == 1:
        if Y.dtype.kind == "f":
            bad = first_nonfinite(Y)
            if bad is not None:
                raise ValueError(f"{who}: labels contain {Y[bad]} at row {bad[0]}.")
            fractional = Y != np.round(Y)
            if fractional.any():
                row = int(np.argmax(fractional))
                raise ValueError(
                    f"{who}: labels must be integers in [0, {n_classes}), "
                    f"got {Y[row]} at row {row}."
                )
        labels = Y.astype(np.int64)
        outside = (labels < 0) | (labels >= n_classes)
        if outside.any():
            row = int(np.argmax(outside))
            raise ValueError(
                f"{who}: labels must be integers in [0, {n_classes}), "
                f"got {labels[row]} at row {row}."
            )
        return labels
    if Y.ndim != 2 or Y.shape[1] != n_classes:
        raise ValueError(
            f"{who}: expected integer labels (m,) or probability rows (m, {n_classes}), "
            f"got shape {Y.shape}."
        )
    P = Y.astype(dtype)
    bad = first_nonfinite(P)
    if bad is not None:
        raise ValueError(f"{who}: targets contain {P[bad]} at row {bad[0]}, column {bad[1]}.")
    if (P < 0).any():
        row = int(np.argwhere(P < 0)[0][0])
        raise ValueError(
            f"{who}: probability rows must be >= 0, got a negative value at row {row}."
        )
    sums = P.sum(axis=1, dtype=np.float64)
    off = np.abs(sums - 1.0) > 1e-4
    if off.any():
        row = int(np.argmax(off))
        raise ValueError(
            f"{who}: probability rows must sum to 1, got {sums[row]:.6g} at row {row}."
        )
    return P


def _regression_targets(who: str, Y: Any, n_out: int, dtype: np.dtype) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.dtype == object or Y.dtype.kind in "USc":
        raise TypeError(f"{who}: targets must be real numbers, got dtype {Y.dtype}.")
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[1] != n_out:
        raise ValueError(
            f"{who}: expected targets of shape (m, {n_out}) to match the output, got {Y.shape}."
        )
    Y = np.ascontiguousarray(Y, dtype=dtype)
    bad = first_nonfinite(Y)
    if bad is not None:
        raise ValueError(f"{who}: targets contain {Y[bad]} at row {bad[0]}, column {bad[1]}.")
    return Y
