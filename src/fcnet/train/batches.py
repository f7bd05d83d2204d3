"""The batches of an epoch: where each starts, and the buffers its rows are gathered into.

The training rows are moved to the model's device once per ``fit`` (on the CPU they are used
where they lie, never copied); each epoch's order is moved once; every batch is gathered into the
same buffers (``ops.take_rows``), the last, partial one into their first rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Batches:
    """The training data on the device and the gather of one batch (see the module docstring).

    Parameters
    ----------
    ops : Ops
        The model's operations.
    X, Y : ndarray
        The validated training rows and targets (host).
    weights : ndarray or None
        Per-row weights.
    """

    def __init__(self, ops: Any, X: np.ndarray, Y: np.ndarray, weights: np.ndarray | None) -> None:
        self.ops = ops
        self.X = ops.asarray(X)
        self.Y = ops.asarray(Y)
        self.weights = None if weights is None else ops.asarray(weights)
        self.order: Any = None
        self._buffers: tuple[Any, Any, Any] | None = None

    def start_epoch(self, order: np.ndarray, shares: list[tuple[int, int]]) -> None:
        """Take the epoch's row order (host) and make sure the buffers hold the most rows a
        step gathers: ``order[lo:hi]`` for each ``(lo, hi)`` of ``shares``."""
        self.order = self.ops.asarray(order)
        rows = max(hi - lo for lo, hi in shares)
        buffers = self._buffers
        if buffers is None or len(buffers[0]) < rows:
            ops, X, Y, weights = self.ops, self.X, self.Y, self.weights
            self._buffers = (
                ops.empty((rows, X.shape[1]), X.dtype),
                ops.empty((rows,) + Y.shape[1:], Y.dtype),
                None if weights is None else ops.empty(rows, weights.dtype),
            )

    error = None  # rows in memory cannot fail to be read (see StreamBatches)
    #: (X_b, its sum of squares) of the last gather, once :meth:`keep_squares` asked for it
    last: tuple[Any, float] | None = None
    _squares: Any = None

    def keep_squares(self) -> None:
        """Sum the squares of each batch's X_b as its rows are copied (:attr:`last`): the
        first layer's ||X||_F^2, which the bound of the fused SGD update reads
        (:mod:`fcnet.train.fused_sgd`)."""
        self._squares = self.ops.empty(self.X.shape[1] + 1, np.float64)

    def close(self) -> None:
        """Nothing to release."""

    def gather(self, start: int, stop: int) -> tuple[Any, Any, Any]:
        """(X_b, Y_b, w_b) of the rows ``order[start:stop]``, in the reused buffers."""
        assert self._buffers is not None
        x_buf, y_buf, w_buf = self._buffers
        rows = self.order[start:stop]
        full = stop - start == len(x_buf)  # the same arrays every step (the BLAS finds them known)
        n = stop - start
        take, squares = self.ops.take_rows, self._squares
        # the squares argument only where asked for (an Ops subclass may not take it)
        Xb = take(
            self.X, rows, x_buf if full else x_buf[:n], *(() if squares is None else (squares,))
        )
        if squares is not None:
            self.last = (Xb, float(squares[-1]))
        Yb = take(self.Y, rows, y_buf if full else y_buf[:n])
        wb = None if w_buf is None else take(self.weights, rows, w_buf if full else w_buf[:n])
        return Xb, Yb, wb


def batch_bounds(n: int, batch_size: int, min_rows: int) -> list[int]:
    """Start of every batch, then n: batches of ``batch_size`` rows, the last one partial.

    A last batch smaller than ``min_rows`` (a BatchNorm needs 2 rows to compute a variance)
    joins the batch before it rather than being dropped, so every row is still used.
    """
    bounds = list(range(0, n, batch_size)) + [n]
    if len(bounds) > 2 and n - bounds[-2] < min_rows:
        del bounds[-2]
    return bounds


def sort_batches(order: np.ndarray, bounds: list[int]) -> None:
    """Sort the rows of each batch of a shuffled ``order`` in place (see batch_bounds).

    A batch is the same set of rows in any order (the gradient sums over it), and gathering the
    rows in ascending order reads X front to back: about 10% faster for large batches.
    """
    last = bounds[-2]  # every batch before the last has batch_size = bounds[1] rows
    if last:
        order[:last].reshape(-1, bounds[1]).sort(axis=1)
    order[last:].sort()
