"""The columns of a table as :class:`TabularEncoder` reads them: a DataFrame (or a 2-D array) with
string names, each column's values as numbers or as text, and the role a column's values imply.

What counts as missing, in every column: NaN, None, ``pandas.NA``, and text that is empty or one
of the NA-style tokens (case and surrounding spaces ignored)::

    "", "na", "n/a", "nan", "null", "none", "?", "#n/a", "<na>", "nat", "-nan"

Text values are compared stripped of surrounding spaces; a number stands for the text it reads as
(``3``, ``3.0`` and ``"3"`` are the one category ``"3"``; booleans are ``"True"``/``"False"``).
Each distinct value of a column is examined once (``pandas.factorize`` groups the rows first), so
a column of 200,000 rows and 10 categories costs ten conversions, not 200,000.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

MISSING_TOKENS = frozenset(
    {"", "na", "n/a", "nan", "null", "none", "?", "#n/a", "<na>", "nat", "-nan"}
)
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})
_MAX_LISTED = 10


def listing(names: list[str]) -> str:
    """Names for a message: ``'a', 'b', ... (n columns)``."""
    shown = ", ".join(repr(name) for name in names[:_MAX_LISTED])
    return shown + (f", ... ({len(names)} columns)" if len(names) > _MAX_LISTED else "")


def is_frame(X: Any) -> bool:
    """Whether ``X`` is a pandas DataFrame (without importing pandas when nobody has)."""
    import sys

    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(X, pd.DataFrame)


def as_frame(who: str, X: Any, names: list[str] | None = None) -> Any:
    """X as a DataFrame whose column names are strings.

    A DataFrame is used as it is (its names made strings); a 2-D array (numbers or objects)
    becomes one whose columns are ``names``, or ``"0", "1", ...`` without them.
    """
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        frame = X
        if not all(isinstance(c, str) for c in frame.columns):
            frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    elif isinstance(X, np.ndarray | list | tuple):
        array = np.asarray(X, dtype=None if isinstance(X, np.ndarray) else object)
        if array.ndim != 2:
            raise ValueError(
                f"{who}: expected X as a DataFrame or a 2-D array (m, n_columns), got "
                f"{array.ndim}-D shape {array.shape}."
            )
        if names is None or len(names) != array.shape[1]:
            names = [str(j) for j in range(array.shape[1])]
        frame = pd.DataFrame(array, columns=names, copy=False)
    else:
        raise TypeError(
            f"{who}: expected X as a pandas DataFrame or a 2-D array, got {type(X).__name__}."
        )
    columns = list(frame.columns)
    if len(set(columns)) != len(columns):
        twice = sorted({c for c in columns if columns.count(c) > 1})
        raise ValueError(f"{who}: expected unique column names, got {listing(twice)} twice.")
    if len(frame) == 0:
        raise ValueError(f"{who}: X is empty (0 rows); expected at least one row.")
    return frame


def text_of(value: Any) -> str | None:
    """One value as the text it stands for, or None when it is missing (see the module notes)."""
    if isinstance(value, str):
        text = value.strip()
        return None if text.lower() in MISSING_TOKENS else text
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return None
        if number.is_integer() and abs(number) < 2.0**53:
            return str(int(number))
        return repr(number)
    if isinstance(value, bytes):
        return text_of(value.decode("utf-8", errors="backslashreplace"))
    if _is_na(value):
        return None
    kind = "list" if isinstance(value, list | tuple | np.ndarray) else type(value).__name__
    raise TypeError(f"a {kind} value {' '.join(repr(value).split())[:60]}")


def _is_na(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def factorize_text(who: str, name: str, series: Any) -> tuple[np.ndarray, list[str]]:
    """A column as text: ``codes`` (m,) int64 indexing ``texts``, -1 where a value is missing.

    Distinct values that read as the same text (``" a"`` and ``"a"``, ``1`` and ``1.0``) get one
    code. ``texts`` are in order of first appearance.
    """
    import pandas as pd

    try:
        raw_codes, uniques = pd.factorize(series, use_na_sentinel=True)
        texts_of_uniques = [text_of(value) for value in uniques]
    except TypeError:  # a value that is no scalar (a list, a map): find the first, for the message
        for row, value in enumerate(series.tolist()):
            try:
                text_of(value)
            except TypeError as exc:
                raise TypeError(
                    f"{who}: column {name!r} row {row}: expected numbers or text, got {exc}."
                ) from None
        raise
    distinct: dict[str, int] = {}
    remap = np.empty(len(texts_of_uniques) + 1, dtype=np.int64)
    for i, text in enumerate(texts_of_uniques):
        remap[i] = -1 if text is None else distinct.setdefault(text, len(distinct))
    remap[-1] = -1  # pandas' missing sentinel -1 indexes this last entry
    return remap[np.asarray(raw_codes, dtype=np.int64)], list(distinct)


def is_numeric_dtype(series: Any) -> bool:
    """Numbers (not booleans) by dtype, including pandas' nullable integer and float types."""
    import pandas as pd

    dtype = series.dtype
    return (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not isinstance(dtype, pd.CategoricalDtype)
    )


def is_bool_dtype(series: Any) -> bool:
    """Booleans by dtype (numpy ``bool`` or pandas' nullable ``boolean``)."""
    import pandas as pd

    return pd.api.types.is_bool_dtype(series.dtype) and not isinstance(
        series.dtype, pd.CategoricalDtype
    )


def numbers_of(who: str, name: str, series: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A column as float64 numbers, NaN where missing.

    Returns ``(values, bad, texts)``: ``bad`` marks the rows whose text reads as no number (they
    are NaN in ``values``), ``texts`` the text of each row's value for messages (filled only for
    bad rows; empty when nothing is bad).
    """
    import pandas as pd

    if is_numeric_dtype(series) or is_bool_dtype(series):
        with np.errstate(invalid="ignore"):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.zeros(len(values), dtype=bool), []
    if pd.api.types.is_datetime64_any_dtype(series.dtype) or pd.api.types.is_timedelta64_dtype(
        series.dtype
    ):
        raise TypeError(
            f"{who}: column {name!r} holds dates or times ({series.dtype}); expected numbers or "
            "text: convert it (e.g. to days since a date) or drop it."
        )
    codes, texts = factorize_text(who, name, series)
    parsed = np.array([_number(text) for text in texts] + [np.nan], dtype=np.float64)
    values = parsed[codes]
    unparsed = np.array([_number(text) is None for text in texts] + [False], dtype=bool)
    return values, unparsed[codes], texts if unparsed.any() else []


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def infer_role(who: str, name: str, series: Any) -> str:
    """The role a column's values imply: ``"boolean"`` (bool dtype, or text that is only
    true/false), ``"numeric"`` (numbers, or text that all reads as numbers), ``"categorical"``
    (other text), or ``"empty"`` (every value missing)."""
    if is_bool_dtype(series):
        return "empty" if series.isna().all() else "boolean"
    values, bad, _ = numbers_of(who, name, series)
    if not bad.any():
        return "empty" if np.isnan(values).all() else "numeric"
    _, texts = factorize_text(who, name, series)
    if {text.lower() for text in texts} <= {"true", "false"}:
        return "boolean"
    return "categorical"


def booleans_of(who: str, name: str, series: Any) -> np.ndarray:
    """A boolean column as 1.0 / 0.0, NaN where missing; other values raise ValueError."""
    if is_bool_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    codes, texts = factorize_text(who, name, series)
    lookup = []
    for text in texts:
        key = text.lower()
        if key not in _TRUE | _FALSE:
            row = int(np.flatnonzero(codes == len(lookup))[0])
            raise ValueError(
                f"{who}: column {name!r} is boolean (true/false); got {text!r} at row {row}."
            )
        lookup.append(1.0 if key in _TRUE else 0.0)
    return np.array([*lookup, np.nan], dtype=np.float64)[codes]
