"""A Parquet file read by row groups (pyarrow, imported when one is opened)."""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any, Literal

import numpy as np

from fcnet._validation import check_positive_int
from fcnet.data._common import DataError, _target_index
from fcnet.sources.base import Source


class ParquetSource(Source):
    """A Parquet file of numeric feature columns and a target column, read by row groups.

    Parameters
    ----------
    path : str or os.PathLike
    target : str or int or False, optional
        The target column, by name or index; default the last. ``False``: no target (a source
        to predict from, or validation rows whose targets come from elsewhere).
    window : int, default 4
        Row groups whose rows are shuffled together; a process holds ``window + 1`` row groups
        at a time (a window in use, the next group read ahead) and decodes one more. Write
        files with row groups of a size you can hold that many of
        (``pyarrow.parquet.write_table(..., row_group_size=...)``).

    Raises
    ------
    DataError
        pyarrow is missing, the file is not Parquet, has no rows, or a feature column is not
        numeric; when read, a missing or non-finite value (naming the row and column).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        target: str | int | Literal[False] | None = None,
        *,
        window: int = 4,
    ) -> None:
        who = "ParquetSource"
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"{who}: expected a path, got {type(path).__name__}.")
        self.path = os.fspath(path)
        self.name = f"'{self.path}'"
        self.window = check_positive_int(who, "window", window)
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise DataError(
                f"{who}: reading Parquet needs the 'data' extra: pip install 'fcnet[data]'."
            ) from None
        if not os.path.isfile(self.path):
            raise DataError(f"{who}: no such file {self.name}; expected a Parquet file.")
        try:
            self._file = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow reports a foreign file with many exception types
            raise DataError(f"{who}: {self.name} is not a readable Parquet file ({exc}).") from None
        self._lock = threading.Lock()  # one reader of the file at a time
        self._pa = pa
        schema = self._file.schema_arrow
        names = [str(name) for name in schema.names]
        t = None if target is False else _target_index(who, self.name, target, names)
        if len(names) < (1 if t is None else 2):
            raise DataError(f"{who}: {self.name} has no feature column besides the target.")
        self.target_name = None if t is None else names[t]
        self.feature_names = [name for j, name in enumerate(names) if j != t]
        for name in self.feature_names:
            kind = schema.field(name).type
            if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or kind == pa.bool_()):
                raise DataError(
                    f"{who}: {self.name} column {name!r}: expected numbers, got {kind}."
                )
        meta = self._file.metadata
        self.group_rows = np.array(
            [meta.row_group(i).num_rows for i in range(meta.num_row_groups)], dtype=np.int64
        )
        if self.n_rows == 0:
            raise DataError(f"{who}: {self.name} has no rows; expected at least one.")

    def read_group(self, i: int, dtype: Any = np.float32) -> np.ndarray:
        pa = self._pa
        dtype = np.dtype(dtype)
        with self._lock:
            table = self._file.read_row_group(i, columns=self.feature_names, use_threads=False)
        first = int(self.group_starts[i])
        for j, column in enumerate(table.columns):
            if column.null_count:
                row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
                raise DataError(
                    f"ParquetSource: {self.name} row {first + row}, column "
                    f"{self.feature_names[j]!r}: missing value; expected a number, got null."
                )
        kind = pa.float64() if dtype == np.float64 else pa.float32()
        if any(field.type != kind for field in table.schema):
            table = table.cast(pa.schema([(name, kind) for name in table.schema.names]))
        block = _row_major(table, dtype)
        self._check_finite(block, first, lambda r, c: table.column(c)[r].as_py())
        return block

    def targets(self) -> np.ndarray:
        if self.target_name is None:
            raise DataError(f"ParquetSource: {self.name} was opened with target=False.")
        pa = self._pa
        with self._lock:
            column = self._file.read(columns=[self.target_name], use_threads=False).column(0)
        where = f"ParquetSource: {self.name} column {self.target_name!r}"
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise DataError(f"{where} row {row}: missing target; expected a value, got null.")
        kind = column.type
        if kind == pa.bool_():
            return column.to_numpy(zero_copy_only=False).astype(bool)
        if pa.types.is_integer(kind):
            return column.to_numpy().astype(np.int64)
        if pa.types.is_floating(kind):
            y = column.to_numpy().astype(np.float64)
            if not np.isfinite(y).all():
                row = int(np.argmin(np.isfinite(y)))
                raise DataError(f"{where} row {row}: expected a finite number, got {y[row]!r}.")
            return y
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
        return np.array([str(v) for v in column.to_pylist()])

    def fingerprint(self) -> str:
        meta = self._file.metadata
        parts: list[Any] = [self.group_rows.tolist(), self.feature_names, self.target_name]
        for i in range(meta.num_row_groups):
            group = meta.row_group(i)
            parts.append(group.total_byte_size)
            for j in (0, group.num_columns - 1):
                stats = group.column(j).statistics
                if stats is not None and stats.has_min_max:
                    parts.append((str(stats.min), str(stats.max)))
        return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def _row_major(table: Any, dtype: np.dtype) -> np.ndarray:
    """The columns of a pyarrow table of one float type as a C-contiguous (rows, columns)
    array: one copy (into an Arrow tensor, which the array views)."""
    import pyarrow as pa

    columns = table.columns
    if all(c.num_chunks == 1 for c in columns):
        batch = pa.RecordBatch.from_arrays([c.chunk(0) for c in columns], table.schema.names)
    else:
        batch = table.combine_chunks().to_batches()[0]
    try:
        block = np.asarray(batch.to_tensor(row_major=True))
        return block if block.dtype == dtype else block.astype(dtype)
    except (TypeError, AttributeError):  # an older pyarrow: no row-major tensors
        pass
    block = np.empty((table.num_rows, table.num_columns), dtype=dtype)
    for j, column in enumerate(columns):
        block[:, j] = column.to_numpy()
    return block
