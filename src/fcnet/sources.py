"""Training data larger than memory: sources that ``fit`` streams in groups of rows.

``model.fit(ParquetSource("big.parquet", target="y"), None, ...)`` reads the file one row
group at a time and never holds more than a few of them: the targets (one column) are read
whole, the features group by group as the epoch needs them. In data-parallel training each
process reads only the groups its rows are in.

The order of an epoch, seeded by ``fit``'s ``rng``, is reproducible::

    1. the row groups in a random order;
    2. taken ``window`` at a time, the rows of each window in a random order;

so a window of row groups is what a process holds in memory (plus the next ones, read ahead
while it trains). ``shuffle=False`` reads the rows in the file's order. With N processes the
epoch's rows are dealt out in contiguous runs of that order (see :mod:`fcnet.train.stream`).

A source is any :class:`Source`: :class:`ParquetSource` (pyarrow, the ``data`` extra), and
:class:`ArraySource` over an array already at hand, e.g. a memory-mapped ``.npy``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any, Literal

import numpy as np

from fcnet._validation import check_positive_int, first_nonfinite
from fcnet.data._common import DataError, _target_index

__all__ = ["ArraySource", "ParquetSource", "Source"]


class Source:
    """Rows of features and targets readable one group at a time (the protocol of ``fit``).

    Subclasses set ``name`` (for messages), ``feature_names``, ``target_name``, ``window`` and
    ``group_rows`` (the rows of each group, int64) and implement :meth:`read_group` and
    :meth:`targets`.
    """

    name = "source"
    feature_names: list[str]
    target_name: str | None = None
    group_rows: np.ndarray
    window = 4

    # --- what a subclass implements ----------------------------------------------------------
    def read_group(self, i: int, dtype: Any = np.float32) -> np.ndarray:
        """The features of group ``i`` as a C-contiguous ``(group_rows[i], n_features)`` array
        of ``dtype``, checked finite (a ``DataError`` names the row and column otherwise)."""
        raise NotImplementedError

    def targets(self) -> np.ndarray:
        """The target of every row, ``(n_rows,)`` (or ``(n_rows, k)``), read whole."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """A digest of what the source holds, cheap to compute (checkpoints compare it)."""
        raise NotImplementedError

    # --- shared -------------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_rows(self) -> int:
        return int(self.group_rows.sum())

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_rows, self.n_features

    def __len__(self) -> int:
        return self.n_rows

    @property
    def group_starts(self) -> np.ndarray:
        """The first row of each group, then n_rows: ``(n_groups + 1,)``."""
        starts = getattr(self, "_starts", None)
        if starts is None:
            starts = self._starts = np.concatenate([[0], np.cumsum(self.group_rows)])
        return starts

    def groups_of(self, rows: np.ndarray) -> np.ndarray:
        """The group each of ``rows`` (row numbers) is in."""
        return np.searchsorted(self.group_starts, rows, side="right") - 1

    def rows_of_groups(self, groups: np.ndarray) -> np.ndarray:
        """Every row of ``groups``, ascending."""
        starts = self.group_starts
        groups = np.sort(np.asarray(groups, dtype=np.int64))
        return np.concatenate(
            [np.arange(starts[g], starts[g + 1]) for g in groups] or [np.zeros(0, np.int64)]
        )

    def epoch_rows(self, rows: np.ndarray, rng: np.random.Generator, shuffle: bool) -> np.ndarray:
        """``rows`` (ascending row numbers) in an epoch's order: groups in a random order, then
        the rows of each window of ``window`` groups in a random order (see the module
        docstring); in the file's order when not ``shuffle``."""
        rows = np.asarray(rows, dtype=np.int64)
        if not shuffle:
            return rows
        starts = self.group_starts
        cuts = np.searchsorted(rows, starts)  # rows[cuts[g]:cuts[g + 1]] are group g's
        groups = np.flatnonzero(np.diff(cuts))
        groups = rng.permutation(groups)
        parts = []
        for w in range(0, len(groups), self.window):
            window = groups[w : w + self.window]
            part = np.concatenate([rows[cuts[g] : cuts[g + 1]] for g in window])
            parts.append(rng.permutation(part))
        return np.concatenate(parts) if parts else rows

    def hold_out(self, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(training rows, validation rows), ascending: whole groups, ``fraction`` of them
        (at least one) drawn at random, held out, so that validation reads only its groups."""
        n_groups = len(self.group_rows)
        k = max(1, int(round(fraction * n_groups)))
        if k >= n_groups:
            raise ValueError(
                f"fit: validation_split={fraction} holds out whole row groups of a source, and "
                f"{self.name} has {n_groups}; pass validation_data, or write the file in more "
                "row groups."
            )
        held = rng.choice(n_groups, size=k, replace=False)
        kept = np.setdiff1d(np.arange(n_groups), held)
        return self.rows_of_groups(kept), self.rows_of_groups(held)

    def _check_finite(self, block: np.ndarray, first_row: int, original: Any = None) -> None:
        bad = first_nonfinite(block)
        if bad is not None:
            i, j = bad
            value = block[i, j].item() if original is None else original(i, j)
            raise DataError(
                f"{type(self).__name__}: {self.name} row {first_row + i}, column "
                f"{self.feature_names[j]!r}: expected a finite number, got {value!r}."
            )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name}, rows={self.n_rows}, "
            f"features={self.n_features}, groups={len(self.group_rows)})"
        )


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


class ArraySource(Source):
    """Arrays at hand (a memory-mapped ``.npy``: ``np.load(path, mmap_mode="r")``) read as a
    source, in groups of ``group_rows`` rows, for the streamed order of :class:`Source`.

    ``fit`` trains on such an array directly too, without a copy; a source is for the
    windowed order, or to check streaming against the same data in memory.
    """

    def __init__(
        self, X: np.ndarray, y: Any, *, group_rows: int = 65536, window: int = 4, name: str = ""
    ) -> None:
        who = "ArraySource"
        if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype.kind not in "biuf":
            raise TypeError(f"{who}: expected X to be a 2-D numeric array, got {type(X).__name__}.")
        y = None if y is None else np.asarray(y)
        if y is not None and len(y) != len(X):
            raise ValueError(f"{who}: y has {len(y)} rows but X has {len(X)}.")
        size = check_positive_int(who, "group_rows", group_rows)
        self.X, self.y = X, y
        self.window = check_positive_int(who, "window", window)
        self.name = name or f"an array of shape {X.shape}"
        self.feature_names = [str(j) for j in range(X.shape[1])]
        full, rest = divmod(len(X), size)
        self.group_rows = np.array([size] * full + ([rest] if rest else []), dtype=np.int64)

    def read_group(self, i: int, dtype: Any = np.float32) -> np.ndarray:
        start, stop = self.group_starts[i], self.group_starts[i + 1]
        block = np.array(self.X[start:stop], dtype=dtype, order="C")
        self._check_finite(block, int(start))
        return block

    def targets(self) -> np.ndarray:
        if self.y is None:
            raise DataError(f"ArraySource: {self.name} has no targets (y=None).")
        return self.y

    def fingerprint(self) -> str:
        X = self.X
        rows = np.unique(np.linspace(0, len(X) - 1, num=min(len(X), 257)).astype(np.int64))
        digest = hashlib.blake2b(digest_size=16)
        digest.update(repr((X.shape, X.dtype.str, self.group_rows.tolist())).encode())
        digest.update(np.ascontiguousarray(X[rows]).tobytes())
        return digest.hexdigest()


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
