"""Parquet files (through pandas and pyarrow): :func:`load_parquet`."""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np

from fcnet.data._common import (
    DataError,
    _existing_file,
    _int64_labels,
    _listing,
    _one_line,
    _target_index,
)
from fcnet.data.dataset import Dataset
from fcnet.data.tables import features, rows_with_targets


def load_parquet(
    path: str | os.PathLike, target: str | int | Literal[False] | None = None
) -> Dataset:
    """Read a Parquet file of feature columns and one target column.

    Needs pandas and pyarrow (the ``data`` extra), imported only when called.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    target : str or int or False, optional
        The target column: its name or integer index. Default: the last column. ``False``: the
        file has no target column; every column is a feature and ``y`` is None.

    Returns
    -------
    Dataset
        ``X`` from every column but the target: a float32 array when every one holds numbers
        (or booleans) and none is missing, else a pandas DataFrame (numeric columns float64
        with NaN where missing, text columns the stripped text with None where missing) for
        :class:`fcnet.preprocessing.TabularEncoder`. ``y``: int64 for an integer column,
        float64 for a float column, bool for a boolean column, else strings. Rows without a
        target value are left out, with a warning that counts them.

    Raises
    ------
    DataError
        pyarrow is missing, the file is missing or not Parquet, it has fewer than two columns
        or no rows, a number is infinite or beyond float32's range, or a column holds values
        that are neither numbers nor text (lists, maps).
    """
    who = "load_parquet"
    file = _existing_file(who, path)
    where = f"'{path}'"
    try:
        import pandas as pd
        import pyarrow  # noqa: F401  (pandas needs it for Parquet)
    except ImportError:
        raise DataError(
            "load_parquet: reading Parquet needs the 'data' extra: pip install 'fcnet[data]'."
        ) from None
    try:
        frame = pd.read_parquet(file)
    # pyarrow reports a corrupt or foreign file with many exception types (ArrowInvalid,
    # OSError, NotImplementedError, ...); each is the same thing to the caller.
    except Exception as exc:
        raise DataError(
            f"{who}: {where} is not a readable Parquet file; expected Parquet, got "
            f"{_one_line(exc)}."
        ) from None
    names = [str(column) for column in frame.columns]
    needed = 1 if target is False else 2
    if len(names) < needed:
        raise DataError(
            f"{who}: {where} has {len(names)} column{'s' * (len(names) != 1)}; expected at "
            + ("least 1." if needed == 1 else "least 2 (features and a target).")
        )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise DataError(
            f"{who}: {where}: expected unique column names, got {_listing(duplicates)} more "
            "than once."
        )
    if len(frame) == 0:
        raise DataError(f"{who}: {where} has no rows; expected at least one row of values.")
    t = None if target is False else _target_index(who, where, target, names)
    rows = np.arange(len(frame))
    y = None
    if t is not None:
        missing = frame.iloc[:, t].isna().to_numpy()
        keep = rows_with_targets(who, where, missing, names[t], lambda i: f"row {i}")
        if keep is not None:
            frame, rows = frame.iloc[keep], rows[keep]
        y = _target(who, where, frame.iloc[:, t], names[t], rows)
    feature_names = [name for j, name in enumerate(names) if j != t]
    columns = {
        name: frame.iloc[:, j].reset_index(drop=True) for j, name in enumerate(names) if j != t
    }
    X = features(who, where, columns, lambda i: f"row {rows[i]}")
    if t is None:
        return Dataset(X, None, feature_names, None)
    return Dataset(X, y, feature_names, names[t], target_is_column=True)


def _target(who: str, where: str, series: Any, name: str, rows: np.ndarray) -> np.ndarray:
    """The target column's values: bool, int64, finite float64, or text labels."""
    kind = series.dtype.kind
    if kind == "b":
        return series.to_numpy(dtype=bool)
    if kind in "iu":
        return _int64_labels(series.to_numpy(), f"{who}: {where} column {name!r}")
    if kind == "f":
        y = series.to_numpy(dtype=np.float64)
        if not np.isfinite(y).all():
            i = int(np.argmin(np.isfinite(y)))
            raise DataError(
                f"{who}: {where} row {rows[i]}, column {name!r}: expected a finite number, "
                f"got {y[i].item()!r}."
            )
        return y
    values = series.tolist()
    return np.array([_text_label(who, where, name, int(rows[i]), v) for i, v in enumerate(values)])


def _text_label(who: str, where: str, column: str, row: int, value: Any) -> str:
    """A value of a Parquet target column that is not all numbers, as a class label: text as
    it is, bytes decoded as UTF-8, a number (in a mixed column) as its text; a list, a map or
    anything else is refused (its repr is no label)."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            pass
    elif isinstance(value, str | int | float | np.number | np.bool_):
        return str(value)
    shown = " ".join(repr(value).split())
    raise DataError(
        f"{who}: {where} row {row}, column {column!r}: expected a number or a text label, "
        f"got {type(value).__name__} {shown[:80]}."
    )
