"""Data loaders: CSV, Parquet, NPZ, IDX (the MNIST format) and the bundled digits.

Every loader returns a :class:`Dataset`: ``X`` float32 ``(m, n_features)`` C-contiguous, ``y``
``(m,)`` or ``(m, k)`` (or None when the file holds no labels), the feature names and the target
name. A bad file raises :class:`DataError` (a ``ValueError``) whose one-line message names the
loader, the file, what was wrong, what was expected and what was found::

    load_csv: 'x.csv' line 5 has 3 fields, expected 4.

Files are never unpickled, and a header's claimed size is checked against what the file can hold
before any memory is allocated for it.
"""

from __future__ import annotations

import array
import csv
import gzip
import importlib.resources
import io
import itertools
import math
import numbers
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from fcnet._validation import first_nonfinite

__all__ = [
    "DataError",
    "Dataset",
    "decode_labels",
    "encode_labels",
    "encode_with_classes",
    "infer_task",
    "load",
    "load_csv",
    "load_digits",
    "load_idx",
    "load_npz",
    "load_parquet",
    "split_rows",
]

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


# --- the result ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features, targets and their names, as read from a file.

    Unpacks like a pair: ``X, y = load_digits()``.

    Attributes
    ----------
    X : numpy.ndarray
        Features, float32, shape ``(m, n_features)``, C-contiguous, finite.
    y : numpy.ndarray or None
        Targets, shape ``(m,)`` or ``(m, k)``: int64 or float64 numbers, or strings (class
        names); None when the file holds no targets.
    feature_names : list of str
        One name per column of ``X``.
    target_name : str or None
        The name of the target column, or None without targets.
    target_is_column : bool
        True when ``y`` is one of the file's columns (CSV, Parquet), False when the file stores
        its labels apart from the features (NPZ, IDX).
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str | None = None
    target_is_column: bool = False

    def __post_init__(self) -> None:
        from fcnet._validation import as_float_matrix

        X = as_float_matrix("Dataset", "X", self.X, np.dtype(np.float32))
        object.__setattr__(self, "X", X)
        if self.y is not None:
            y = np.asarray(self.y)
            if y.ndim not in (1, 2) or len(y) != len(X):
                raise ValueError(
                    f"Dataset: expected y of shape ({len(X)},) or ({len(X)}, k), got {y.shape}."
                )
            object.__setattr__(self, "y", y)
        names = [str(name) for name in self.feature_names]
        if len(names) != X.shape[1]:
            raise ValueError(
                f"Dataset: expected {X.shape[1]} feature names (one per column of X), "
                f"got {len(names)}."
            )
        object.__setattr__(self, "feature_names", names)

    @property
    def n_samples(self) -> int:
        """Number of rows m."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return int(self.X.shape[1])

    def __iter__(self) -> Iterator[Any]:
        yield self.X
        yield self.y

    def __repr__(self) -> str:
        y = "None" if self.y is None else f"{self.y.dtype} {self.y.shape}"
        return (
            f"Dataset(X=float32 {self.X.shape}, y={y}, "
            f"n_features={self.n_features}, target_name={self.target_name!r})"
        )


# --- helpers shared by the loaders --------------------------------------------------------------


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


# --- bundled digits -----------------------------------------------------------------------------


def load_digits() -> Dataset:
    """The UCI handwritten digits bundled with fcnet: 1,797 images of 8x8 pixels, 10 classes.

    Read from the package (``fcnet/datasets/digits.npz``); nothing is ever downloaded. Unpacks
    like a pair: ``X, y = load_digits()``.

    Returns
    -------
    Dataset
        ``X`` float32 ``(1797, 64)``: the pixel intensities 0..16 divided by 16, so in [0, 1],
        row-major over the 8x8 image; ``y`` int64 ``(1797,)``: the digit 0..9.
    """
    resource = importlib.resources.files("fcnet") / "datasets" / "digits.npz"
    with np.load(io.BytesIO(resource.read_bytes()), allow_pickle=False) as archive:
        pixels = archive["X"]
        digits = archive["y"]
    X = pixels.astype(np.float32)
    X /= np.float32(16.0)
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    return Dataset(X, digits.astype(np.int64), names, "digit")


# --- CSV ----------------------------------------------------------------------------------------


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


# --- Parquet ------------------------------------------------------------------------------------


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


# --- NPZ ----------------------------------------------------------------------------------------


def _read_npz_member(
    who: str, where: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str
) -> np.ndarray:
    """One .npy member, checking its header's claimed size against the zip entry first."""
    if info.flag_bits & 0x1:
        raise DataError(f"{who}: {where} array {name!r} is encrypted; expected a plain .npz.")
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise DataError(
            f"{who}: {where} array {name!r} is stored uncompressed in {info.compress_size} "
            f"bytes but claims {info.file_size}; the archive is corrupt."
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DataError(
            f"{who}: {where} array {name!r} uses zip compression method {info.compress_type}; "
            "expected stored (0) or deflated (8), as numpy.savez writes."
        )
    if (
        info.compress_type == zipfile.ZIP_DEFLATED
        and info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + _DEFLATE_SLACK
    ):
        raise DataError(
            f"{who}: {where} array {name!r} claims {info.file_size} bytes from "
            f"{info.compress_size} compressed bytes, more than deflate can produce; "
            "the archive is corrupt."
        )
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise DataError(
                f"{who}: {where} array {name!r} has .npy format version {version}; expected "
                "1.0 or 2.0."
            )
        header_size = member.tell()
        if dtype.hasobject or dtype.kind not in "biufU" or dtype.itemsize == 0:
            raise DataError(
                f"{who}: {where} array {name!r} must hold numbers (or strings for y), "
                f"got dtype {dtype}."
            )
        if any(d < 0 for d in shape):
            raise DataError(
                f"{who}: {where} array {name!r} claims shape {shape}; expected sizes >= 0."
            )
        n_bytes = math.prod(shape) * dtype.itemsize
        if header_size + n_bytes != info.file_size:
            raise DataError(
                f"{who}: {where} array {name!r} claims shape {shape} ({n_bytes} bytes), but "
                f"its entry holds {info.file_size - header_size} bytes of data; the archive is "
                "corrupt."
            )
        payload = member.read(n_bytes)
    if len(payload) != n_bytes:
        raise DataError(
            f"{who}: {where} array {name!r} is truncated; expected {n_bytes} bytes, "
            f"got {len(payload)}."
        )
    flat = np.frombuffer(payload, dtype=dtype)
    return flat.reshape(shape, order="F" if fortran_order else "C")


def load_npz(path: str | os.PathLike) -> Dataset:
    """Read features ``X`` and optional targets ``y`` from an ``.npz`` archive (``np.savez``).

    Never unpickles: arrays of Python objects are refused. ``X`` of 3 or more dimensions
    (images) is flattened to ``(m, -1)``.

    Parameters
    ----------
    path : str or os.PathLike
        The archive. Other arrays in it are ignored.

    Returns
    -------
    Dataset
        ``X`` float32 ``(m, n)``; ``y`` ``(m,)`` or ``(m, k)`` (integers as int64), or None
        when the archive has no ``y``.

    Raises
    ------
    DataError
        The file is missing or not a valid .npz, it has no ``X``, ``X`` is not numeric, not at
        least 2-D or not finite, or ``y`` does not have one row per row of ``X``.
    """
    who = "load_npz"
    file = _existing_file(who, path)
    where = f"'{path}'"
    with open(file, "rb") as handle:
        magic = handle.read(6)
    if magic == b"\x93NUMPY":
        raise DataError(
            f"{who}: {where} is a single .npy array; expected an .npz archive with arrays 'X' "
            "and optional 'y' (numpy.savez)."
        )
    try:
        with zipfile.ZipFile(file) as archive:
            members = {
                info.filename[: -len(".npy")]: info
                for info in archive.infolist()
                if info.filename.endswith(".npy")
            }
            if "X" not in members:
                found = _listing(sorted(members)) if members else "no arrays"
                raise DataError(
                    f"{who}: {where} has no array 'X'; expected arrays 'X' and optional 'y', "
                    f"got {found}."
                )
            X_raw = _read_npz_member(who, where, archive, members["X"], "X")
            y_raw = (
                _read_npz_member(who, where, archive, members["y"], "y") if "y" in members else None
            )
    except DataError:
        raise
    # zipfile, zlib and the .npy header parser signal a corrupt archive with many types.
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        EOFError,
        ValueError,
        KeyError,
        NotImplementedError,
        RuntimeError,
        struct.error,
        OverflowError,
        SyntaxError,
    ) as exc:
        raise DataError(
            f"{who}: {where} is not a valid .npz archive; expected a zip of .npy arrays, "
            f"got {_one_line(exc)}."
        ) from None
    X = _as_features(who, where, X_raw)
    y = None
    if y_raw is not None:
        if y_raw.ndim not in (1, 2) or len(y_raw) != len(X) or 0 in y_raw.shape[1:]:
            raise DataError(
                f"{who}: {where} array 'y' has shape {y_raw.shape}; expected ({len(X)},) or "
                f"({len(X)}, k) with k >= 1, one row per row of X."
            )
        bad = first_nonfinite(y_raw) if y_raw.dtype.kind == "f" else None
        if bad is not None:
            raise DataError(
                f"{who}: {where} array 'y' row {bad[0]}: expected finite numbers, "
                f"got {y_raw[bad].item()!r}."
            )
        if y_raw.dtype.kind in "iu":
            y = _int64_labels(y_raw, f"{who}: {where} array 'y'")
        else:
            y = np.array(y_raw)
    names = [f"x{j}" for j in range(X.shape[1])]
    return Dataset(X, y, names, None if y is None else "y")


# --- IDX (MNIST) --------------------------------------------------------------------------------

_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_exactly(stream: Any, size: int) -> bytes:
    data = stream.read(size)
    return data if data is not None else b""


def _read_idx(who: str, file: Path, shown: str) -> np.ndarray:
    """The array of one IDX file (plain or gzip), refusing a header the file cannot back."""
    where = f"'{shown}'"
    file_size = file.stat().st_size
    with open(file, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        stream: Any = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        try:
            return _parse_idx(who, where, stream, compressed, file_size)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{who}: {where} is not a valid gzip stream; expected a gzipped IDX file, got "
                f"{_one_line(exc)}."
            ) from None
        finally:
            if compressed:
                stream.close()


def _parse_idx(who: str, where: str, stream: Any, compressed: bool, file_size: int) -> np.ndarray:
    magic = _read_exactly(stream, 4)
    if len(magic) < 4:
        raise DataError(
            f"{who}: {where} is truncated; expected a 4-byte IDX header, got {len(magic)} bytes."
        )
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES:
        codes = ", ".join(f"0x{code:02X}" for code in _IDX_TYPES)
        raise DataError(
            f"{who}: {where} is not an IDX file; expected magic 00 00 <type: {codes}> <ndim>, "
            f"got {magic.hex(' ')}."
        )
    dtype = _IDX_TYPES[magic[2]]
    ndim = magic[3]
    if ndim == 0:
        raise DataError(f"{who}: {where} declares 0 dimensions; expected at least 1.")
    dims_bytes = _read_exactly(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise DataError(
            f"{who}: {where} is truncated in its header; expected {4 * ndim} bytes of "
            f"dimensions, got {len(dims_bytes)}."
        )
    dims = struct.unpack(f">{ndim}I", dims_bytes)
    n_bytes = math.prod(dims) * dtype.itemsize
    header_size = 4 + 4 * ndim
    if not compressed and file_size - header_size != n_bytes:
        raise DataError(
            f"{who}: {where} declares dims {dims} of {dtype.str[1:]} ({n_bytes} bytes), but "
            f"the file holds {file_size - header_size} bytes after its header."
        )
    if compressed and n_bytes > _MAX_DEFLATE_RATIO * file_size + _DEFLATE_SLACK:
        raise DataError(
            f"{who}: {where} declares dims {dims} ({n_bytes} bytes), more than a gzip file of "
            f"{file_size} bytes can hold; the file is corrupt."
        )
    # Read in chunks so a stream shorter than its header claims costs only what it holds.
    chunks = []
    remaining = n_bytes
    while remaining:
        chunk = stream.read(min(remaining, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    if remaining:
        raise DataError(
            f"{who}: {where} is truncated; dims {dims} need {n_bytes} bytes of data, "
            f"got {n_bytes - remaining}."
        )
    if compressed and stream.read(1):
        raise DataError(
            f"{who}: {where} holds more data than its dims {dims} declare ({n_bytes} bytes)."
        )
    return np.frombuffer(b"".join(chunks), dtype=dtype).reshape(dims)


def load_idx(
    images_path: str | os.PathLike, labels_path: str | os.PathLike | None = None
) -> Dataset:
    """Read an IDX file (the MNIST format), plain or gzipped, and optionally its labels.

    The format: two zero bytes, a type code (0x08 ubyte, 0x09 byte, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions, then each dimension as a big-endian
    uint32, then the values, big-endian, row-major. Gzip is recognised by its magic bytes.

    Parameters
    ----------
    images_path : str or os.PathLike
        Samples ``(n, a, b, ...)`` (or ``(n, features)``), flattened to ``(n, a*b*...)``.
        Unsigned-byte images are scaled to [0, 1] by dividing by 255; other types keep their
        values.
    labels_path : str or os.PathLike, optional
        Labels ``(n,)`` (integers become int64, floats float64).

    Returns
    -------
    Dataset
        ``X`` float32 ``(n, a*b)``; ``y`` the labels or None.

    Raises
    ------
    DataError
        A file is missing, truncated, has a bad magic number, declares dimensions its size
        cannot hold (refused before reading), or the label count differs from the image count.
    """
    who = "load_idx"
    images_file = _existing_file(who, images_path)
    labels_file = None if labels_path is None else _existing_file(who, labels_path)
    where = f"'{images_path}'"
    images = _read_idx(who, images_file, str(images_path))
    if images.ndim < 2:
        raise DataError(
            f"{who}: {where} holds a 1-D array of shape {images.shape} (labels?); expected "
            "images (n, rows, cols) or samples (n, features)."
        )
    if images.shape[0] == 0 or math.prod(images.shape[1:]) == 0:
        raise DataError(
            f"{who}: {where} holds shape {images.shape}; expected at least one sample of at "
            "least one value."
        )
    if images.dtype == np.uint8:
        X = images.reshape(len(images), -1).astype(np.float32)
        X /= np.float32(255.0)  # in place: one float32 copy of the images, not two
    else:
        X = _as_features(who, where, images, "images")
    if images.ndim >= 3:
        names = ["pixel_" + "_".join(map(str, index)) for index in np.ndindex(*images.shape[1:])]
    else:
        names = [f"x{j}" for j in range(X.shape[1])]
    y = None
    if labels_file is not None:
        labels_where = f"'{labels_path}'"
        labels = _read_idx(who, labels_file, str(labels_path))
        if labels.ndim not in (1, 2) or len(labels) != len(X):
            raise DataError(
                f"{who}: labels {labels_where} have shape {labels.shape}; expected "
                f"({len(X)},), one label per image of {where}."
            )
        if labels.dtype.kind == "f" and not np.isfinite(labels).all():
            i = int(np.argwhere(~np.isfinite(labels))[0][0])
            raise DataError(f"{who}: labels {labels_where} row {i}: expected a finite number.")
        y = labels.astype(np.int64 if labels.dtype.kind in "iu" else np.float64)
    return Dataset(X, y, names, None if y is None else "label")


# --- dispatch -----------------------------------------------------------------------------------

_IDX_NAME = re.compile(r"(\.idx\d*|-ubyte)$")


def _has_idx_magic(file: Path) -> bool:
    try:
        with open(file, "rb") as raw:
            start = raw.read(2)
            raw.seek(0)
            stream: Any = gzip.GzipFile(fileobj=raw) if start == _GZIP_MAGIC else raw
            magic = stream.read(4)
    except (OSError, EOFError, zlib.error):
        return False
    return len(magic) == 4 and magic[:2] == b"\0\0" and magic[2] in _IDX_TYPES and magic[3] > 0


def _idx_labels_for(images: Path) -> Path | None:
    """The MNIST labels file next to an images file, if there is one.

    ``train-images-idx3-ubyte[.gz]`` -> ``train-labels-idx1-ubyte[.gz]`` (either compression).
    """
    if "images" not in images.name:
        return None
    name = images.name.replace("images", "labels").replace("idx3", "idx1")
    base = name[: -len(".gz")] if name.endswith(".gz") else name
    for candidate in dict.fromkeys([name, base, base + ".gz"]):
        labels = images.with_name(candidate)
        if labels != images and labels.is_file():
            return labels
    return None


def load(path: str | os.PathLike, target: str | int | Literal[False] | None = None) -> Dataset:
    """Read a data file, choosing the loader by its name.

    ``.csv`` -> :func:`load_csv`; ``.tsv`` -> :func:`load_csv` with tab delimiter;
    ``.parquet`` / ``.pq`` -> :func:`load_parquet`; ``.npz`` -> :func:`load_npz`; ``.idx``,
    ``*-ubyte`` and ``.gz`` files holding IDX -> :func:`load_idx`, with the labels file found by
    the MNIST naming convention (``train-images-idx3-ubyte.gz`` ->
    ``train-labels-idx1-ubyte.gz``) when it exists.

    Parameters
    ----------
    path : str or os.PathLike
        The data file.
    target : str or int or False, optional
        The target column for CSV and Parquet (default: the last column); ``False``: the file
        has no target column, every column is a feature. NPZ and IDX files carry their labels
        separately, so they take none (``False`` reads them as they are).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        The file is missing, its type is not supported, ``target`` is given for NPZ or IDX, or
        the loader rejects it.
    """
    who = "load"
    file = _existing_file(who, path)
    name = file.name.lower()
    if name.endswith(".csv"):
        return load_csv(path, target)
    if name.endswith((".tsv", ".tab")):
        return load_csv(path, target, delimiter="\t")
    if name.endswith((".parquet", ".pq")):
        return load_parquet(path, target)
    is_idx = _IDX_NAME.search(name.removesuffix(".gz")) is not None
    if name.endswith(".npz") or is_idx or (name.endswith(".gz") and _has_idx_magic(file)):
        if target is not None and target is not False:
            raise DataError(
                f"{who}: '{path}' stores its labels apart from the features; expected no "
                f"target, got target={target!r}."
            )
        if name.endswith(".npz"):
            return load_npz(path)
        return load_idx(path, _idx_labels_for(file))
    suffix = "".join(file.suffixes[-2:]) or "no suffix"
    raise DataError(
        f"{who}: '{path}' has an unsupported type ({suffix}); expected one of "
        f"{', '.join(SUPPORTED_SUFFIXES)}."
    )


# --- labels -------------------------------------------------------------------------------------


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


def split_rows(
    n_rows: int,
    fraction: float,
    rng: Any,
    *,
    labels: Any = None,
    rows: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle row indices and split them into (kept, held out), about ``fraction`` held out.

    Parameters
    ----------
    n_rows : int
        The rows are ``0 .. n_rows - 1`` (or ``rows`` when given).
    fraction : float in [0, 1)
        Share of the rows to hold out: ``round(fraction * n)`` of them.
    rng : numpy.random.Generator or int
        Source of the shuffle.
    labels : array-like (n_rows,), optional
        Class codes of every row: each class is split in the same proportion (stratified), and a
        class with at least two rows keeps at least one row on each side.
    rows : array-like of int, optional
        Split only these rows (e.g. what is left after a test split).

    Returns
    -------
    kept, held_out : ndarray of int64, each sorted
    """
    from fcnet._random import as_generator
    from fcnet._validation import check_nonnegative_int, check_number

    n_rows = check_nonnegative_int("split_rows", "n_rows", n_rows)
    fraction = check_number("split_rows", "fraction", fraction, low=0.0, high=1.0, high_open=True)
    generator = as_generator(rng, "split_rows")
    if rows is None:
        rows = np.arange(n_rows, dtype=np.int64)
    else:
        given = np.asarray(rows)
        if given.ndim != 1 or (given.size and given.dtype.kind not in "iu"):
            raise TypeError(
                "split_rows: expected rows as a 1-D array of integer row indices, got "
                f"{given.dtype} of shape {given.shape}."
            )
        rows = given.astype(np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= n_rows):
            bad = rows[(rows < 0) | (rows >= n_rows)][0]
            raise ValueError(
                f"split_rows: expected rows in [0, {n_rows}) (n_rows is {n_rows}), got {bad}."
            )
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) != n_rows:
            raise ValueError(
                f"split_rows: expected labels of shape ({n_rows},), one per row, "
                f"got shape {labels.shape}."
            )
    if fraction == 0 or len(rows) < 2:
        return np.sort(rows), np.empty(0, dtype=np.int64)
    groups = (
        [rows] if labels is None else [rows[labels[rows] == c] for c in np.unique(labels[rows])]
    )
    kept, held = [], []
    for members in groups:
        members = generator.permutation(members)
        n_held = int(round(fraction * len(members)))
        if len(members) >= 2:
            n_held = min(max(n_held, 1), len(members) - 1)
        held.append(members[:n_held])
        kept.append(members[n_held:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


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
