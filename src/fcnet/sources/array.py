"""Arrays at hand (a memory map) read as a source."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from fcnet._validation import check_positive_int
from fcnet.data._common import DataError
from fcnet.sources.base import Source


class ArraySource(Source):
    """Arrays at hand (a memory-mapped ``.npy``: ``np.load(path, mmap_mode="r")``) read as a
    source, in groups of ``group_rows`` rows, for the streamed order of :class:`Source`.

    ``fit`` trains on such an array directly too, without a copy; a source is for the
    windowed order, for parts split by groups (the command line), or to check streaming
    against the same data in memory. ``columns``: the columns of X that are features (default
    all); each group read copies only its rows and these columns.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: Any,
        *,
        group_rows: int = 65536,
        window: int = 4,
        name: str = "",
        columns: Any = None,
    ) -> None:
        who = "ArraySource"
        if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype.kind not in "biuf":
            raise TypeError(f"{who}: expected X to be a 2-D numeric array, got {type(X).__name__}.")
        y = None if y is None else np.asarray(y)
        if y is not None and len(y) != len(X):
            raise ValueError(f"{who}: y has {len(y)} rows but X has {len(X)}.")
        size = check_positive_int(who, "group_rows", group_rows)
        self.X, self.y = X, y
        self.columns = None if columns is None else np.asarray(columns, dtype=np.int64)
        self.window = check_positive_int(who, "window", window)
        self.name = name or f"an array of shape {X.shape}"
        kept = range(X.shape[1]) if self.columns is None else self.columns
        self.feature_names = [str(j) for j in kept]
        full, rest = divmod(len(X), size)
        self.group_rows = np.array([size] * full + ([rest] if rest else []), dtype=np.int64)

    def read_group(self, i: int, dtype: Any = np.float32) -> np.ndarray:
        start, stop = self.group_starts[i], self.group_starts[i + 1]
        rows = self.X[start:stop]
        rows = rows if self.columns is None else np.asarray(rows)[:, self.columns]
        block = np.array(rows, dtype=dtype, order="C")
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
        columns = None if self.columns is None else self.columns.tolist()
        digest.update(repr((X.shape, X.dtype.str, self.group_rows.tolist(), columns)).encode())
        digest.update(np.ascontiguousarray(X[rows]).tobytes())
        return digest.hexdigest()
