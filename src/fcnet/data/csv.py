"""CSV and TSV files: :func:`load_csv`."""

from __future__ import annotations

import array
import csv
import itertools
import os
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np

from fcnet.data._common import (
    DataError,
    _existing_file,
    _float32_features,
    _is_number,
    _listing,
    _numeric_target,
    _one_line,
    _target_index,
)
from fcnet.data.dataset import Dataset


def _csv_records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each record, skipping blank lines."""
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield reader.line_num, row


def _looks_like_header(first: list[str], second: list[str] | None) -> bool:
    """Whether the first row names the columns.

    Feature columns must be numeric, so only the target column may hold text in a data row. The
    first row is a header when it holds text in two or more columns, or holds text in a column
    that is numeric in the second row, or is the only row and holds any text.
    """
    text = [j for j, field in enumerate(first) if field.strip() and not _is_number(field)]
    if not text:
        return False
    if len(text) >= 2 or second is None or len(second) != len(first):
        return True
    return _is_number(second[text[0]])


def _bad_feature_field(
    who: str, where: str, line: int, row: list[str], columns: list[int], names: list[str]
) -> DataError:
    """The error for the first feature field of ``row`` that is not a number."""
    for j in columns:
        text = row[j]
        if not text.strip():
            return DataError(
                f"{who}: {where} line {line}, column {names[j]!r}: missing value; expected a "
                "number, got an empty field."
            )
        if not _is_number(text):
            return DataError(
                f"{who}: {where} line {line}, column {names[j]!r}: expected a number, got {text!r}."
            )
    raise AssertionError("unreachable: every field parsed")  # pragma: no cover


def _csv_target(
    who: str, where: str, texts: list[str], lines: array.array, name: str
) -> np.ndarray:
    for i, text in enumerate(texts):
        if not text.strip():
            raise DataError(
                f"{who}: {where} line {lines[i]}, column {name!r}: missing value; expected a "
                "target value, got an empty field."
            )
    try:
        numbers_ = np.array([float(text) for text in texts], dtype=np.float64)
    except ValueError:
        return np.array([text.strip() for text in texts])
    finite = np.isfinite(numbers_)
    if not finite.all():
        i = int(np.argmin(finite))
        raise DataError(
            f"{who}: {where} line {lines[i]}, column {name!r}: expected a finite number, "
            f"got {texts[i]!r}."
        )
    return _numeric_target(numbers_)


def load_csv(
    path: str | os.PathLike,
    target: str | int | Literal[False] | None = None,
    *,
    header: Literal["infer"] | bool = "infer",
    delimiter: str = ",",
) -> Dataset:
    """Read a CSV file of numeric feature columns and one target column.

    Parsed with Python's ``csv`` module (no pandas needed). Blank lines are skipped; a UTF-8
    byte-order mark is ignored.

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
        Whether the first row names the columns. ``"infer"``: it does when it holds text in two
        or more fields, or text in a column that is numeric in the second row (a headerless
        file may still hold text labels in its target column). Without a header the columns
        are named ``col0``, ``col1``, ...
    delimiter : str, default ","
        Field separator (``"\\t"`` for TSV).

    Returns
    -------
    Dataset
        ``X`` float32 from every column but the target. ``y`` holds the target column: strings
        if any value is not a number, else int64 when every value is integral, else float64.

    Raises
    ------
    DataError
        The file is missing, empty, has only one column or no data rows, a row has the wrong
        number of fields, a field is empty, a feature is not a finite number, or ``target``
        names no column.
    """
    who = "load_csv"
    file = _existing_file(who, path)
    where = f"'{path}'"
    if header != "infer" and not isinstance(header, bool):
        raise ValueError(f"{who}: expected header to be 'infer', True or False, got {header!r}.")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"{who}: expected delimiter to be one character, got {delimiter!r}.")
    try:
        with open(file, newline="", encoding="utf-8-sig") as handle:
            return _read_csv(who, where, handle, target, header, delimiter)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{who}: {where} is not UTF-8 text; expected a CSV file, got undecodable byte "
            f"{exc.object[exc.start : exc.start + 1]!r} at byte {exc.start}."
        ) from None
    except csv.Error as exc:
        raise DataError(f"{who}: {where} is not valid CSV ({_one_line(exc)}).") from None


def _read_csv(
    who: str,
    where: str,
    handle: Any,
    target: Any,
    header: Literal["infer"] | bool,
    delimiter: str,
) -> Dataset:
    records = _csv_records(csv.reader(handle, delimiter=delimiter))
    first = next(records, None)
    if first is None:
        raise DataError(f"{who}: {where} is empty; expected a header and data rows, got no rows.")
    first_line, first_row = first
    n = len(first_row)
    second = next(records, None) if header == "infer" else None
    has_header = (
        header if isinstance(header, bool) else _looks_like_header(first_row, second and second[1])
    )
    if has_header:
        names = [field.strip() or f"col{j}" for j, field in enumerate(first_row)]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise DataError(
                f"{who}: {where} line {first_line}: expected unique column names, got "
                f"{_listing(duplicates)} more than once."
            )
        body: Iterator[tuple[int, list[str]]] = itertools.chain(
            [second] if second is not None else [], records
        )
    else:
        names = [f"col{j}" for j in range(n)]
        body = itertools.chain([first], [second] if second is not None else [], records)
    t: int | None = None
    if target is not False:
        if n < 2:
            raise DataError(
                f"{who}: {where} has 1 column; expected at least 2 (features and a target)."
            )
        t = _target_index(who, where, target, names)
    feature_columns = [j for j in range(n) if j != t]

    values = array.array("d")
    lines = array.array("q")
    texts: list[str] = []
    for line, row in body:
        if len(row) != n:
            raise DataError(f"{who}: {where} line {line} has {len(row)} fields, expected {n}.")
        if t is not None:
            texts.append(row.pop(t))
        lines.append(line)
        try:
            values.extend(map(float, row))  # C-speed; a failed row is re-examined below
        except ValueError:
            if t is not None:
                row.insert(t, texts[-1])
            raise _bad_feature_field(who, where, line, row, feature_columns, names) from None
    if not lines:
        raise DataError(
            f"{who}: {where} has a header but no data rows; expected at least one row of values."
        )
    m = len(lines)
    feature_names = [names[j] for j in feature_columns]
    X64 = np.frombuffer(values, dtype=np.float64).reshape(m, len(feature_columns))
    X = _float32_features(who, where, X64, feature_names, lambda i: f"line {lines[i]}")
    if t is None:
        return Dataset(X, None, feature_names, None)
    y = _csv_target(who, where, texts, lines, names[t])
    return Dataset(X, y, feature_names, names[t], target_is_column=True)
