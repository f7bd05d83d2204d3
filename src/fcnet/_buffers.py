"""Arrays a layer reuses from one batch to the next, so a training step allocates nothing.

A buffer is flat storage allocated for the largest size seen and handed out as a contiguous
(rows, cols) view of its start, so the last, smaller batch of an epoch costs no allocation
either, whether the batch runs along the rows (``Z (m, n)``) or the columns (a transposed
``(k, m)`` layout).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

_MAX_VIEWS = 64


class Buffers:
    """Named scratch arrays of shape (rows, cols), grown only when a batch is larger.

    Parameters
    ----------
    ops : Ops, optional
        Allocates the arrays (:mod:`fcnet._ops`); None: NumPy arrays.
    """

    def __init__(self, ops: Any = None) -> None:
        self.ops = ops
        self._arrays: dict[str, np.ndarray] = {}
        # the views handed out, by (name, shape): a training step asks for the same ones every
        # time, and building a view costs more than finding it (about 1 us against 0.1)
        self._views: dict[tuple[str | int, ...], np.ndarray] = {}

    def get(self, name: str, rows: int, cols: int, dtype: np.dtype) -> np.ndarray:
        """A C-contiguous (rows, cols) view of the buffer ``name``; its contents are undefined.

        For a fixed ``cols`` this is the first ``rows`` rows of one (max rows, cols) array.
        """
        view = self._views.get((name, rows, cols))
        if view is not None and (view.dtype is dtype or view.dtype == dtype):
            return view
        return self._view(name, (rows, cols), dtype)

    def ones(self, rows: int, dtype: np.dtype) -> np.ndarray:
        """A (rows,) view of ones: ``ones @ dZ`` sums over the batch faster than ``dZ.sum(0)``."""
        view = self._views.get(("__ones", rows))
        if view is not None and (view.dtype is dtype or view.dtype == dtype):
            return view
        return self._view("__ones", (rows,), dtype, _fill_ones)

    def zeros(self, rows: int, cols: int, dtype: np.dtype) -> np.ndarray:
        """A (rows, cols) view of zeros (never written): ``np.maximum(Z, zeros)`` runs ~3x
        faster than ``np.maximum(Z, 0)``, whose scalar operand disables the vectorised loop."""
        view = self._views.get(("__zeros", rows, cols))
        if view is not None and (view.dtype is dtype or view.dtype == dtype):
            return view
        return self._view("__zeros", (rows, cols), dtype, _fill_zeros)

    def arange(self, n: int) -> np.ndarray:
        """A (n,) view of 0, 1, ..., n - 1 (intp), for index arithmetic without allocating."""
        return self._view("__arange", (n,), np.dtype(np.intp), _fill_arange)

    def _view(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype: np.dtype,
        fill: Callable[[Any, Any], None] | None = None,
    ) -> np.ndarray:
        """The first ``prod(shape)`` elements of the flat array ``name``, as ``shape``; the array
        is (re)allocated, and filled by ``fill``, when it is missing, too small or of another
        dtype. Views are kept under the key ``(name, *shape)``, which the methods above look up
        before calling this (a flat tuple hashes faster than one holding the shape)."""
        key = (name, *shape)
        view = self._views.get(key)
        if view is not None and view.dtype == dtype:
            return view
        array = self._arrays.get(name)
        size = math.prod(shape)
        if array is None or array.size < size or array.dtype != dtype:
            ops = self.ops
            array = np.empty(size, dtype=dtype) if ops is None else ops.empty(size, dtype)
            if fill is not None:
                fill(array, ops)
            self._arrays[name] = array
            self._forget_views(name)
        view = array[:size].reshape(shape)
        if len(self._views) >= _MAX_VIEWS:  # many batch sizes: start over rather than grow
            self._views.clear()
        self._views[key] = view
        return view

    def _forget_views(self, name: str) -> None:
        for key in [key for key in self._views if key[0] == name]:
            del self._views[key]

    def clear(self) -> None:
        """Drop every buffer (after inference, or before a change of dtype)."""
        self._arrays.clear()
        self._views.clear()

    def __deepcopy__(self, memo: dict) -> Buffers:
        return Buffers(self.ops)

    def __getstate__(self) -> dict[str, Any]:  # scratch is never pickled
        return {"ops": self.ops}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state.get("ops"))


def _fill_ones(array: Any, ops: Any) -> None:
    array[...] = 1


def _fill_zeros(array: Any, ops: Any) -> None:
    array[...] = 0


def _fill_arange(array: Any, ops: Any) -> None:
    array[...] = np.arange(array.size, dtype=array.dtype) if ops is None else ops.arange(array.size)
