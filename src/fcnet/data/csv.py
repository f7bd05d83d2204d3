"""CSV and TSV files: :func:`load_csv`, read by pandas (``read_csv``, C engine, every field as
text), then typed column by column: a column whose values all read as numbers is numeric, any
other holds text (categories); empty fields and NA-style tokens are missing values."""

from __future__ import annotations

import csv
import io
import os
from typing import Any, Literal

import numpy as np

from fcnet.data._common import (
    DataError,
    _existing_file,
    _is_number,
    _listing,
    _numeric_target,
    _one_line,
    _target_index,
)
from fcnet.data.dataset import Dataset
from fcnet.data.tables import features, rows_with_targets
from fcnet.preprocessing.columns import text_of


def _decode(who: str, where: str, raw: bytes, encoding: str) -> str:
    """The file's text; undecodable bytes are an error naming the byte, its offset and line."""
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    try:
        return raw.decode("utf-8-sig" if utf8 else encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{who}: {where} is not {'UTF-8' if utf8 else encoding} text; expected a CSV file, "
            f"got undecodable byte {exc.object[exc.start : exc.start + 1]!r} at byte "
            f"{exc.start} (line {line}); name the file's encoding (encoding='latin-1', ...) "
            "if it has another."
        ) from None
    except LookupError:
        raise ValueError(f"{who}: unknown encoding {encoding!r}.") from None


def _records(who: str, where: str, text: str, delimiter: str) -> list[tuple[int, int]]:
    """(line number, number of fields) of each record, blank lines skipped, as pandas skips them.

    Without quotes and with plain line ends, counting delimiters per line is exact; otherwise
    Python's ``csv`` module counts (a quoted field may hold the delimiter or a line end).
    """
    if '"' not in text and "\r" not in text.replace("\r\n", "\n"):
        return [
            (i + 1, line.count(delimiter) + 1)
            for i, line in enumerate(text.split("\n"))
            if line.strip()
        ]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [
            (reader.line_num, len(row))
            for row in reader
            if row and not (len(row) == 1 and not row[0].strip())
        ]
    except csv.Error as exc:
        raise DataError(f"{who}: {where} is not valid CSV ({_one_line(exc)}).") from None


def _looks_like_header(first: list[str], second: list[str] | None) -> bool:
    """Whether the first row names the columns.

    It does when it holds text (a field that is neither a number nor missing) and either holds
    no number, or holds text in a column where the second row holds a number, or is the only
    row. A headerless file's first row is data: text there (categories, labels) comes with
    numbers in other columns, and the second row has text in the same columns.
    """
    text = [j for j, f in enumerate(first) if text_of(f) is not None and not _is_number(f)]
    if not text:
        return False
    if second is None or not any(_is_number(f) for f in first):
        return True
    return any(_is_number(second[j]) for j in text)


def load_csv(
    path: str | os.PathLike,
    target: str | int | Literal[False] | None = None,
    *,
    header: Literal["infer"] | bool = "infer",
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Dataset:
    """Read a CSV file of feature columns and one target column.

    Parsed by pandas (every field as text first). Blank lines are skipped; a UTF-8 byte-order
    mark is ignored. A feature column whose values all read as numbers is numeric; any other
    holds text. Empty fields and NA-style tokens (``NA``, ``nan``, ``null``, ``?``, ...; see
    :mod:`fcnet.preprocessing.columns`) are missing values.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    target : str or int or False, optional
        The target column: its header name or its integer index (negative counts from the
        end; a string of digits is taken as an index when no column has that name). Default:
        the last column. ``False``: the file has no target column (features to predict from);
        every column is a feature and ``y`` is None.
    header : {"infer", True, False}, default "infer"
        Whether the first row names the columns. ``"infer"``: it does when it holds text and no
        number, or text in a column that holds a number in the second row. Without a header the
        columns are named ``col0``, ``col1``, ...
    delimiter : str, default ","
        Field separator (``"\\t"`` for TSV).
    encoding : str, default "utf-8"
        The file's text encoding.

    Returns
    -------
    Dataset
        ``X``: a float32 array when every feature is a number and none is missing, else a
        pandas DataFrame (numeric columns float64 with NaN where missing, text columns the
        stripped text with None where missing) for :class:`fcnet.preprocessing.TabularEncoder`.
        ``y`` holds the target column: strings if any value is not a number, else int64 when
        every value is integral, else float64. Rows without a target value are left out, with
        a warning that counts them.

    Raises
    ------
    DataError
        The file is missing, empty, not text in ``encoding``, has only one column or no data
        rows, a row has the wrong number of fields, a number is infinite or beyond float32's
        range, or ``target`` names no column.
    """
    who = "load_csv"
    file = _existing_file(who, path)
    where = f"'{path}'"
    if header != "infer" and not isinstance(header, bool):
        raise ValueError(f"{who}: expected header to be 'infer', True or False, got {header!r}.")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValueError(f"{who}: expected delimiter to be one character, got {delimiter!r}.")
    if not isinstance(encoding, str):
        raise TypeError(f"{who}: expected encoding as a string, got {type(encoding).__name__}.")
    text = _decode(who, where, file.read_bytes(), encoding)
    records = _records(who, where, text, delimiter)
    if not records:
        raise DataError(f"{who}: {where} is empty; expected a header and data rows, got no rows.")
    n = records[0][1]
    for line, count in records:
        if count != n:
            raise DataError(f"{who}: {where} line {line} has {count} fields, expected {n}.")
    head = _parse(who, where, text, delimiter, names=None, skip=None, nrows=2)
    first = [str(field) for field in head.iloc[0]]
    second = [str(field) for field in head.iloc[1]] if len(head) > 1 else None
    has_header = header if isinstance(header, bool) else _looks_like_header(first, second)
    names = [f"col{j}" for j in range(n)]
    header_line = None
    if has_header:
        names = [field.strip() or f"col{j}" for j, field in enumerate(first)]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise DataError(
                f"{who}: {where} line {records[0][0]}: expected unique column names, got "
                f"{_listing(duplicates)} more than once."
            )
        header_line, records = records[0][0], records[1:]
    if not records:
        raise DataError(
            f"{who}: {where} has a header but no data rows; expected at least one row of values."
        )
    rows = _parse(who, where, text, delimiter, names=names, skip=header_line)
    if len(rows) != len(records):
        raise DataError(
            f"{who}: {where} is not valid CSV: its records could not be delimited consistently "
            f"({len(rows)} parsed, {len(records)} counted)."
        )
    t: int | None = None
    if target is not False:
        if n < 2:
            raise DataError(
                f"{who}: {where} has 1 column; expected at least 2 (features and a target)."
            )
        t = _target_index(who, where, target, names)
    lines = np.array([line for line, _ in records], dtype=np.int64)
    y = None
    if t is not None:
        y, keep = _target(who, where, rows.iloc[:, t], names[t], lines)
        if keep is not None:
            rows, lines = rows.iloc[keep], lines[keep]
    feature_names = [name for j, name in enumerate(names) if j != t]
    columns = {
        name: rows.iloc[:, j].reset_index(drop=True) for j, name in enumerate(names) if j != t
    }
    X = features(who, where, columns, lambda i: f"line {lines[i]}")
    if t is None:
        return Dataset(X, None, feature_names, None)
    return Dataset(X, y, feature_names, names[t], target_is_column=True)


def _parse(
    who: str,
    where: str,
    text: str,
    delimiter: str,
    *,
    names: list[str] | None,
    skip: int | None,
    nrows: int | None = None,
) -> Any:
    """The records as a DataFrame: with ``names``, columns whose every field pandas reads as a
    number are numeric (pandas' parser gives the float Python's ``float`` gives, checked on
    100,000 values of every magnitude) and the others text, empty fields kept as ""; without,
    every field as text. ``skip`` is the header's line number."""
    import pandas as pd

    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            names=range(len(names)) if names is not None else None,
            skiprows=None if skip is None else [skip - 1],
            nrows=nrows,
            dtype=None if names is not None else str,
            keep_default_na=False,
            na_values=[],
            skip_blank_lines=True,
            engine="c",
        )
    # the C parser reports malformed input with several types (ParserError, ValueError, ...)
    except Exception as exc:
        raise DataError(f"{who}: {where} is not valid CSV ({_one_line(exc)}).") from None


def _target(
    who: str, where: str, series: Any, name: str, lines: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """The target values (numbers when all are, else stripped text) and the rows to keep."""
    if series.dtype.kind in "iuf":  # every field a number: none is missing
        values = series.to_numpy()
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            i = int(np.argmin(np.isfinite(values)))
            raise DataError(
                f"{who}: {where} line {lines[i]}, column {name!r}: expected a finite number, "
                f"got {str(series.iloc[i])!r}."
            )
        return _numeric_target(
            values.astype(np.float64)
        ) if values.dtype.kind == "f" else values.astype(np.int64), None
    texts = [text_of(value) for value in series.tolist()]
    missing = np.array([value is None for value in texts], dtype=bool)
    keep = rows_with_targets(who, where, missing, name, lambda i: f"line {lines[i]}")
    present = texts if keep is None else [texts[i] for i in keep]
    try:
        values = np.array([float(value) for value in present], dtype=np.float64)
    except ValueError:
        return np.array(present), keep
    finite = np.isfinite(values)
    if not finite.all():
        i = int(np.argmin(finite))
        at = lines[i if keep is None else keep[i]]
        raise DataError(
            f"{who}: {where} line {at}, column {name!r}: expected a finite number, "
            f"got {present[i]!r}."
        )
    return _numeric_target(values), keep
