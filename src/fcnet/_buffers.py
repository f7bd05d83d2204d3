"""Arrays a layer reuses from one batch to the next, so a training step allocates nothing.

A buffer is allocated for the largest batch seen and handed out as a view of its first ``m``
rows, so the last, smaller batch of an epoch costs no allocation either.
"""

from __future__ import annotations

import numpy as np


class Buffers:
    """Named scratch arrays of shape (rows, cols), grown only when a batch is larger."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, rows: int, cols: int, dtype: np.dtype) -> np.ndarray:
        """A (rows, cols) view of the buffer ``name``; its contents are undefined."""
        array = self._arrays.get(name)
        if (
            array is None
            or array.shape[0] < rows
            or array.shape[1] != cols
            or array.dtype != dtype
        ):
            array = np.empty((rows, cols), dtype=dtype)
            self._arrays[name] = array
        return array[:rows]

    def ones(self, rows: int, dtype: np.dtype) -> np.ndarray:
        """A (rows,) view of ones: ``ones @ dZ`` sums over the batch faster than ``dZ.sum(0)``."""
        array = self._arrays.get("__ones")
        if array is None or array.shape[1] < rows or array.dtype != dtype:
            array = np.ones((1, rows), dtype=dtype)
            self._arrays["__ones"] = array
        return array[0, :rows]

    def clear(self) -> None:
        """Drop every buffer (after inference, or before a change of dtype)."""
        self._arrays.clear()

    def __deepcopy__(self, memo: dict) -> Buffers:
        return Buffers()
