"""Feature columns of a table file (CSV, Parquet) as a loader returns them, and the rows left out
for want of a target.

A table whose feature columns are all numbers, none missing, becomes a float32 array, as it
always did; any other becomes a pandas DataFrame whose numeric columns are float64 (NaN where a
value is missing) and whose text columns hold the stripped text (None where missing), ready for
:class:`fcnet.preprocessing.TabularEncoder`. What counts as missing is defined in
:mod:`fcnet.preprocessing.columns` (empty fields, NaN, null, NA-style tokens).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from fcnet.data._common import DataError
from fcnet.preprocessing.columns import factorize_text, numbers_of

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_MOSTLY = 0.9  # a column whose values are numbers in this share of rows but not all: a typo?
_MAX_SHOWN = 5


def features(who: str, where: str, columns: dict[str, Any], row_label: Callable[[int], str]) -> Any:
    """The feature matrix of ``columns`` (name -> pandas Series), all of one length.

    ``row_label(i)`` turns a row index into words for messages ("line 7" or "row 6").

    Returns
    -------
    numpy.ndarray (float32, C-contiguous) or pandas.DataFrame
        The array when every column holds numbers and none is missing.
    """
    import pandas as pd

    out: dict[str, np.ndarray] = {}
    only_numbers = True
    for name, series in columns.items():
        try:
            values, bad, texts = numbers_of(who, name, series)
            if bad.any():
                _warn_if_mostly_numbers(who, where, name, values, bad, series, row_label)
                codes, texts = factorize_text(who, name, series)
                out[name] = np.array([*texts, None], dtype=object)[codes]
                only_numbers = False
                continue
        except TypeError as exc:
            raise DataError(f"{who}: {where} {str(exc).removeprefix(f'{who}: ')}") from None
        _check_range(who, where, name, values, row_label)
        only_numbers = only_numbers and not np.isnan(values).any()
        out[name] = values
    if only_numbers:
        return np.ascontiguousarray(np.column_stack(list(out.values())), dtype=np.float32)
    return pd.DataFrame(out, copy=False)


def _check_range(
    who: str,
    where: str,
    name: str,
    values: np.ndarray,
    row_label: Callable[[int], str],
) -> None:
    """Infinite values, or values beyond float32's range, are refused: fcnet trains in float32."""
    with np.errstate(invalid="ignore"):
        beyond = np.abs(values) > _FLOAT32_MAX
    if not beyond.any():
        return
    i = int(np.argmax(beyond))
    value = values[i].item()
    expected = "a finite number" if np.isinf(value) else "a number within float32 range"
    expected += "" if np.isinf(value) else " (about +-3.4e38)"
    raise DataError(
        f"{who}: {where} {row_label(i)}, column {name!r}: expected {expected}, got {value!r}."
    )


def _warn_if_mostly_numbers(
    who: str,
    where: str,
    name: str,
    values: np.ndarray,
    bad: np.ndarray,
    series: Any,
    row_label: Callable[[int], str],
) -> None:
    present = np.count_nonzero(~np.isnan(values)) + np.count_nonzero(bad)
    if np.count_nonzero(bad) > (1.0 - _MOSTLY) * present:
        return
    rows = np.flatnonzero(bad)
    shown = ", ".join(f"{str(series.iloc[i]).strip()!r} at {row_label(int(i))}" for i in rows[:3])
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    warnings.warn(
        f"{who}: {where} column {name!r} holds numbers but for {len(rows)} value(s) "
        f"({shown}{more}); it is read as text (categories). Correct the value(s), or name the "
        f"column numeric (TabularEncoder(numeric=[{name!r}])) to read them as missing.",
        UserWarning,
        stacklevel=4,
    )


def rows_with_targets(
    who: str,
    where: str,
    missing: np.ndarray,
    name: str,
    row_label: Callable[[int], str],
) -> np.ndarray | None:
    """The rows to keep when some have no target: None when every row has one; a warning
    counts the others; no target at all is an error."""
    if not missing.any():
        return None
    rows = np.flatnonzero(missing)
    if len(rows) == len(missing):
        raise DataError(
            f"{who}: {where} column {name!r} holds no target value in any of its "
            f"{len(missing)} rows; expected values to train on."
        )
    shown = ", ".join(row_label(int(i)) for i in rows[:_MAX_SHOWN])
    more = f", ... ({len(rows)} in all)" if len(rows) > _MAX_SHOWN else ""
    warnings.warn(
        f"{who}: {where} {len(rows)} row(s) have no target value in column {name!r} "
        f"({shown}{more}); they are left out.",
        UserWarning,
        stacklevel=4,
    )
    return np.flatnonzero(~missing)
