"""Arrays a layer reuses from one batch to the next, so a training step allocates nothing.

A buffer is flat storage allocated for the largest size seen and handed out as a contiguous
(rows, cols) view of its start, so the last, smaller batch of an epoch costs no allocation
either, whether the batch runs along the rows (``Z (m, n)``) or the columns (a transposed
``(k, m)`` layout).
"""

from __future__ import annotations

import numpy as np

_MAX_VIEWS = 64


class Buffers:
    """Named scratch arrays of shape (rows, cols), grown only when a batch is larger."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}
        # the views handed out, by (name, rows, cols): a training step asks for the same ones
        # every time, and building a view costs more than finding it (about 1 us against 0.1)
        self._views: dict[tuple[str, int, int], np.ndarray] = {}

    def get(self, name: str, rows: int, cols: int, dtype: np.dtype) -> np.ndarray:
        """A C-contiguous (rows, cols) view of the buffer ``name``; its contents are undefined.

        For a fixed ``cols`` this is the first ``rows`` rows of one (max rows, cols) array.
        """
        key = (name, rows, cols)
        view = self._views.get(key)
        if view is not None and view.dtype == dtype:
            return view
        array = self._arrays.get(name)
        size = rows * cols
        if array is None or array.size < size or array.dtype != dtype:
            array = np.empty(size, dtype=dtype)
            self._arrays[name] = array
            self._forget_views(name)
        view = array[:size].reshape(rows, cols)
        if len(self._views) >= _MAX_VIEWS:  # many batch sizes: start over rather than grow
            self._views.clear()
        self._views[key] = view
        return view

    def _forget_views(self, name: str) -> None:
        for key in [key for key in self._views if key[0] == name]:
            del self._views[key]

    def ones(self, rows: int, dtype: np.dtype) -> np.ndarray:
        """A (rows,) view of ones: ``ones @ dZ`` sums over the batch faster than ``dZ.sum(0)``."""
        array = self._arrays.get("__ones")
        if array is None or array.shape[1] < rows or array.dtype != dtype:
            array = np.ones((1, rows), dtype=dtype)
            self._arrays["__ones"] = array
        return array[0, :rows]

    def zeros(self, rows: int, cols: int, dtype: np.dtype) -> np.ndarray:
        """A (rows, cols) view of zeros (never written): ``np.maximum(Z, zeros)`` runs ~3x
        faster than ``np.maximum(Z, 0)``, whose scalar operand disables the vectorised loop."""
        array = self._arrays.get("__zeros")
        size = rows * cols
        if array is None or array.size < size or array.dtype != dtype:
            array = np.zeros(size, dtype=dtype)
            self._arrays["__zeros"] = array
        return array[:size].reshape(rows, cols)

    def arange(self, n: int) -> np.ndarray:
        """A (n,) view of 0, 1, ..., n - 1 (intp), for index arithmetic without allocating."""
        array = self._arrays.get("__arange")
        if array is None or array.size < n:
            array = np.arange(n, dtype=np.intp)
            self._arrays["__arange"] = array
        return array[:n]

    def clear(self) -> None:
        """Drop every buffer (after inference, or before a change of dtype)."""
        self._arrays.clear()
        self._views.clear()

    def __deepcopy__(self, memo: dict) -> Buffers:
        return Buffers()
