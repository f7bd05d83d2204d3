"""Boundary checks, each raising one shape of message: who, what was expected, what was received.

``Dense: expected X of shape (m, 4), got (32, 3).``
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def check_positive_int(who: str, name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer >= 1, else raise."""
    return _check_int(who, name, value, 1, "a positive integer")


def check_nonnegative_int(who: str, name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer >= 0, else raise."""
    return _check_int(who, name, value, 0, "a non-negative integer")


def _check_int(who: str, name: str, value: Any, minimum: int, expected: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{who}: expected {name} to be {expected}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{who}: expected {name} to be {expected}, got {value!r}.")
    return int(value)


def check_number(
    who: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float if it is a finite real number inside the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: expected {name} to be a number, got {value!r}.")
    value = float(value)
    lo = "-inf" if low is None else repr(low)
    hi = "inf" if high is None else repr(high)
    opening = "(" if low_open or low is None else "["
    closing = ")" if high_open or high is None else "]"
    interval = f"{opening}{lo}, {hi}{closing}"
    bad = not np.isfinite(value)
    if low is not None and (value < low or (low_open and value == low)):
        bad = True
    if high is not None and (value > high or (high_open and value == high)):
        bad = True
    if bad:
        raise ValueError(f"{who}: expected {name} in {interval}, got {value!r}.")
    return value


def check_choice(who: str, name: str, value: Any, choices: dict[str, Any]) -> Any:
    """Look ``value`` up (case-insensitive) in ``choices``; the error lists the valid names."""
    if not isinstance(value, str):
        raise TypeError(f"{who}: expected {name} to be a string or an object, got {value!r}.")
    key = value.lower().replace("-", "_")
    if key not in choices:
        valid = ", ".join(repr(k) for k in sorted(choices))
        raise ValueError(f"{who}: unknown {name} {value!r}; expected one of {valid}.")
    return choices[key]


_SCAN_CHUNK = 1 << 16  # elements checked at a time when looking for a NaN or inf


def first_nonfinite(A: np.ndarray) -> tuple[int, ...] | None:
    """Index of the first NaN or inf in ``A`` (row-major), or None when all are finite.

    Allocates nothing of A's size (a training set of 200 MB is checked without a 50 MB mask):
    the sum of squares of A (a BLAS dot product when A is contiguous, faster than a NumPy sum)
    is finite only when every entry is (NaN and inf propagate), so a finite result ends the
    check in one vectorised pass. A non-finite one (a bad entry, or finite values whose squares
    overflow) is followed by a scan in chunks that finds the entry, if any.
    """
    if A.dtype.kind in "biu" or A.size == 0:
        return None
    if A.dtype.kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            if A.flags.c_contiguous and A.dtype.itemsize >= 4:
                flat = A.reshape(-1)  # a view
                total = np.dot(flat, flat)
            else:
                total = np.add.reduce(A, axis=None)
        if np.isfinite(total):
            return None
    return _scan_nonfinite(np.asarray(A))


def _scan_nonfinite(A: np.ndarray) -> tuple[int, ...] | None:
    if A.ndim == 0:
        return None if np.isfinite(A) else ()
    row_size = max(A[0].size, 1)
    step = max(_SCAN_CHUNK // row_size, 1)
    for start in range(0, A.shape[0], step):
        finite = np.isfinite(A[start : start + step])
        if not finite.all():
            index = np.argwhere(~finite)[0]
            return (start + int(index[0]),) + tuple(int(i) for i in index[1:])
    return None


def as_float_matrix(
    who: str,
    name: str,
    X: Any,
    dtype: np.dtype,
    n_cols: int | None = None,
    *,
    check_finite: bool = True,
) -> np.ndarray:
    """Validate a 2-D numeric array of finite values and return it in ``dtype``.

    Data already of the dtype and C-contiguous is returned as is (never copied).
    ``check_finite=False`` leaves the NaN/inf scan to the caller (see :func:`check_finite_rows`)
    when the data is used as is; data that needs a cast or a copy is scanned here regardless.
    """
    if isinstance(X, np.ndarray):
        arr = X
    else:
        try:
            arr = np.asarray(X)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{who}: {name} could not be read as an array ({exc}).") from exc
    if arr.dtype == object or arr.dtype.kind in "USVMmO":
        raise TypeError(f"{who}: expected {name} to hold numbers, got dtype {arr.dtype}.")
    if arr.dtype.kind == "c":
        raise TypeError(f"{who}: expected {name} to hold real numbers, got dtype {arr.dtype}.")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{who}: expected {name} to hold numbers, got dtype {arr.dtype}.")
    if arr.ndim != 2:
        raise ValueError(
            f"{who}: expected {name} to be 2-D (m, n_features), got {arr.ndim}-D shape {arr.shape}."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{who}: {name} is empty (0 rows); expected at least one sample.")
    if n_cols is not None and arr.shape[1] != n_cols:
        raise ValueError(f"{who}: expected {name} of shape (m, {n_cols}), got {arr.shape}.")
    if arr.dtype == dtype and arr.flags.c_contiguous:  # used as is
        if check_finite and arr.dtype.kind == "f":
            check_finite_rows(who, name, arr)
        return arr
    original = arr
    with np.errstate(over="ignore", invalid="ignore"):
        arr = np.ascontiguousarray(arr, dtype=dtype)
    # One scan, of the copy: the cast keeps NaN and inf, and turns finite values beyond the
    # range of a narrower dtype into inf. Only when it finds something is the original scanned,
    # so that a NaN/inf of the user's is reported before an out-of-range value.
    bad = first_nonfinite(arr) if original.dtype.kind == "f" else None
    if bad is not None:
        check_finite_rows(who, name, original)
        limit = float(np.finfo(dtype).max)
        raise ValueError(
            f"{who}: {name} holds {original[bad].item()!r} at row {bad[0]}, column "
            f"{bad[1]}, beyond the range of {dtype} (about +-{limit:.3g}); "
            "scale the data first."
        )
    return arr


def check_finite_rows(who: str, name: str, rows: np.ndarray, first_row: int = 0) -> None:
    """Raise if the array ``rows`` (rows ``first_row``, ... of the user's ``name``: 1-D values or
    2-D rows) holds a NaN or inf, naming the first one by its row (and column)."""
    bad = first_nonfinite(rows)
    if bad is not None:
        kind = "NaN" if np.isnan(rows[bad]) else "inf"
        where = ", column ".join(str(i) for i in (first_row + bad[0], *bad[1:]))
        raise ValueError(
            f"{who}: {name} contains {kind} at row {where}; clean or impute it before training."
        )
