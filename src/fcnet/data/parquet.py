"""Parquet files (through pandas and pyarrow): :func:`load_parquet`."""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np

from fcnet.data._common import (
    DataError,
    _existing_file,
    _float32_features,
    _int64_labels,
    _listing,
    _one_line,
    _target_index,
)
from fcnet.data.dataset import Dataset


def load_parquet(
    path: str | os.PathLike, target: str | int | Literal[False] | None = None
) -> Dataset:
    """Read a Parquet file of numeric feature columns and one target column.

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
        ``X`` float32 from every column but the target (numbers or booleans). ``y``: int64 for
        an integer column, float64 for a float column, bool for a boolean column, else strings.

    Raises
    ------
    DataError
        pandas/pyarrow are missing, the file is missing or not Parquet, it has fewer than two
        columns or no rows, a value is missing, or a feature column is not numeric.
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
    missing = frame.isna().to_numpy()
    if missing.any():
        i, j = (int(k) for k in np.argwhere(missing)[0])
        raise DataError(
            f"{who}: {where} row {i}, column {names[j]!r}: missing value; expected a value, "
            "got null."
        )
    columns = []
    feature_names = []
    for j, name in enumerate(names):
        if j == t:
            continue
        series = frame.iloc[:, j]
        if series.dtype.kind not in "biuf":
            raise DataError(
                f"{who}: {where} column {name!r}: expected numbers, got dtype {series.dtype} "
                f"(first value {series.iloc[0]!r})."
            )
        columns.append(series.to_numpy(dtype=np.float64))
        feature_names.append(name)
    X = _float32_features(
        who, where, np.stack(columns, axis=1), feature_names, lambda i: f"row {i}"
    )
    if t is None:
        return Dataset(X, None, feature_names, None)
    series = frame.iloc[:, t]
    kind = series.dtype.kind
    if kind == "b":
        y = series.to_numpy(dtype=bool)
    elif kind in "iu":
        y = _int64_labels(series.to_numpy(), f"{who}: {where} column {names[t]!r}")
    elif kind == "f":
        y = series.to_numpy(dtype=np.float64)
        if not np.isfinite(y).all():
            i = int(np.argmin(np.isfinite(y)))
            raise DataError(
                f"{who}: {where} row {i}, column {names[t]!r}: expected a finite number, "
                f"got {y[i].item()!r}."
            )
    else:
        y = np.array(
            [_text_label(who, where, names[t], i, v) for i, v in enumerate(series.tolist())]
        )
    return Dataset(X, y, feature_names, names[t], target_is_column=True)


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
