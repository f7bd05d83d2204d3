"""What every loader shares: the error type, the file check and the messages' helpers."""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fcnet._validation import first_nonfinite

SUPPORTED_SUFFIXES = (
    ".csv",
    ".tsv",
    ".parquet",
    ".pq",
    ".npz",
    ".idx",
    "-ubyte (IDX / MNIST)",
    ".gz (gzipped IDX)",
)
MAX_CLASSES = 50

# Deflate cannot expand data more than about 1032-fold; a header claiming more than this many
# bytes per byte of compressed file is corrupt (or a decompression bomb) and is refused unread.
_MAX_DEFLATE_RATIO = 1100
_DEFLATE_SLACK = 1 << 16
_CHUNK = 1 << 20
_MAX_LISTED = 20


class DataError(ValueError):
    """A data file is missing, malformed or holds values fcnet cannot train on.

    A ``ValueError``, so callers (the CLI) catch one type; the message is one line naming the
    loader and the file.
    """


def _existing_file(who: str, path: Any) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{who}: expected a path (str or os.PathLike), got {type(path).__name__}.")
    file = Path(path)
    if not file.exists():
        raise DataError(f"{who}: no such file '{path}'; expected a path to an existing file.")
    if not file.is_file():
        raise DataError(f"{who}: '{path}' is not a regular file (a directory?); expected a file.")
    return file


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:_MAX_LISTED])
    if len(names) > _MAX_LISTED:
        shown += f", ... ({len(names)} columns)"
    return shown


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _target_index(who: str, where: str, target: Any, names: list[str]) -> int:
    """Column index of ``target`` (a name, an index, or None for the last column)."""
    n = len(names)
    if target is None:
        return n - 1
    if isinstance(target, bool) or not isinstance(target, str | numbers.Integral):
        raise TypeError(
            f"{who}: expected target to be a column name or an integer index, "
            f"got {type(target).__name__}."
        )
    if isinstance(target, str):
        if target in names:
            return names.index(target)
        stripped = target.strip()
        if stripped in names:
            return names.index(stripped)
        if re.fullmatch(r"-?\d+", stripped):  # "--target 3" from the command line
            target = int(stripped)
        else:
            raise DataError(
                f"{who}: {where} has no column {target!r}; expected one of {_listing(names)}."
            )
    index = int(target)
    if not -n <= index < n:
        raise DataError(
            f"{who}: {where} has {n} columns; expected a target index in [{-n}, {n - 1}], "
            f"got {index}."
        )
    return index % n


def _numeric_target(values: np.ndarray) -> np.ndarray:
    """int64 when every value is integral (and fits), else float64; values must be finite."""
    if (
        values.size
        and np.all(values == np.trunc(values))
        and float(np.max(np.abs(values))) < 2.0**63
    ):
        return values.astype(np.int64)
    return values.astype(np.float64, copy=False)


def _float32_features(
    who: str, where: str, X: np.ndarray, names: list[str], row_label: Any
) -> np.ndarray:
    """Check a numeric feature matrix (finite, within float32) and return it as float32.

    ``row_label(i)`` turns a row index into words for the message ("line 7" or "row 6"). One
    scan of the float32 copy finds both problems (the cast keeps NaN and inf and turns values
    beyond float32's range into inf); only then is the original looked at, so that a NaN or inf
    is reported before an out-of-range value.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        X32 = np.ascontiguousarray(X, dtype=np.float32)
    if X.dtype.kind != "f":
        return X32  # integers and booleans are finite and within range
    bad = first_nonfinite(X32)
    if bad is None:
        return X32
    nonfinite = first_nonfinite(X)
    i, j = bad if nonfinite is None else nonfinite
    expected = "a number within float32 range (about +-3.4e38)"
    raise DataError(
        f"{who}: {where} {row_label(i)}, column {names[j]!r}: expected "
        f"{expected if nonfinite is None else 'a finite number'}, got {X[i, j].item()!r}."
    )


def _as_features(who: str, where: str, X: np.ndarray, name: str = "X") -> np.ndarray:
    """An array read from a binary file as finite float32 (m, n): 3-D and up is flattened."""
    if X.dtype.kind not in "biuf":
        raise DataError(f"{who}: {where} array {name!r} must hold numbers, got dtype {X.dtype}.")
    if X.ndim < 2:
        raise DataError(
            f"{who}: {where} array {name!r} is {X.ndim}-D with shape {X.shape}; expected a 2-D "
            "array (samples, features)."
        )
    if X.shape[0] == 0 or math.prod(X.shape[1:]) == 0:
        raise DataError(
            f"{who}: {where} array {name!r} has shape {X.shape}; expected at least one sample "
            "and one feature."
        )
    X = X.reshape(X.shape[0], -1)
    names = [f"x{j}" for j in range(X.shape[1])]
    return _float32_features(who, where, X, names, lambda i: f"row {i}")


def _int64_labels(values: np.ndarray, where: str) -> np.ndarray:
    """Integer targets as int64; an unsigned value beyond int64 is refused, not wrapped."""
    largest = np.iinfo(np.int64).max
    if values.dtype == np.uint64 and values.size and values.max() > largest:
        at = np.unravel_index(int(np.argmax(values > largest)), values.shape)
        raise DataError(
            f"{where}: row {at[0]} holds {int(values[at])}, beyond the int64 range that "
            f"integer targets are read into (largest {largest})."
        )
    return values.astype(np.int64)
