"""Training from a :class:`fcnet.sources.Source`: the rows a process reads, and their batches.

Each epoch's rows come in the source's order ``V`` (:meth:`Source.epoch_rows`: row groups
shuffled, then rows within windows of groups). With N processes, process p computes rows
``lo_p .. hi_p`` of every batch (see ``_share``), and these are the next rows of its own
contiguous run of ``V``::

    V = [ run of process 0 | run of process 1 | ... ]      (run p: sum over batches of hi_p - lo_p)
    batch k = [ next rows of run 0, next rows of run 1, ... ]

so a process reads only the groups of its run (and at most one group at each end that it
shares). :func:`stream_order` writes this order into the epoch's global ``order``, which is
what one process training in memory on ``X[order]`` without shuffling would see: the same
numbers, the same model.

:class:`StreamBatches` gathers a step's rows from the groups they are in, reading each group
once per epoch, in the order the process needs them, one group ahead in a helper thread, and
dropping a group as soon as the process is past its last row: it holds at most ``window + 1``
groups (more only when one step's rows span more groups than that).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np


def stream_order(V: np.ndarray, bounds: list[int], size: int) -> np.ndarray:
    """The epoch's order of rows: batch k's rows ``bounds[k] + share of p`` are the next of
    process p's run of ``V`` (see the module docstring); ``V`` itself for one process."""
    if size == 1:
        return V
    n = np.diff(np.asarray(bounds, dtype=np.int64))
    starts = np.asarray(bounds[:-1], dtype=np.int64)
    order = np.empty_like(V)
    taken = 0
    for p in range(size):
        lo = starts + (n * p) // size
        hi = starts + (n * (p + 1)) // size
        count = hi - lo
        positions = np.repeat(lo - np.concatenate([[0], np.cumsum(count)[:-1]]), count)
        positions += np.arange(count.sum())
        order[positions] = V[taken : taken + count.sum()]
        taken += int(count.sum())
    return order


class SourceRows:
    """Some rows of a source (the validation rows held out of it), to predict by groups."""

    def __init__(self, source: Any, rows: np.ndarray) -> None:
        self.source = source
        self.rows = np.asarray(rows, dtype=np.int64)  # ascending

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, part: slice) -> SourceRows:
        return SourceRows(self.source, self.rows[part])

    def outputs(self, model: Any, prepare: Any) -> np.ndarray:
        """The model's outputs on these rows (m, n_out), reading one group at a time."""
        source, rows = self.source, self.rows
        out = np.empty((len(rows), model.n_out or 1), dtype=model.dtype)
        groups = source.groups_of(rows)
        cuts = np.flatnonzero(np.diff(groups)) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(rows)], strict=True):
            if hi == lo:
                continue
            g = int(groups[lo])
            block = prepare(source.read_group(g, model.dtype))
            out[lo:hi] = model._predict_raw(block[rows[lo:hi] - source.group_starts[g]], 4096)
        return out


class ArrayRows(SourceRows):
    """Some rows of an array too large to copy (a memory map), to predict by blocks."""

    def __init__(self, X: np.ndarray, rows: np.ndarray) -> None:
        super().__init__(X, rows)

    def __getitem__(self, part: slice) -> ArrayRows:
        return ArrayRows(self.source, self.rows[part])

    def outputs(self, model: Any, prepare: Any) -> np.ndarray:
        out = np.empty((len(self.rows), model.n_out or 1), dtype=model.dtype)
        for lo in range(0, len(self.rows), 4096):
            block = self.source[self.rows[lo : lo + 4096]]  # a copy of these rows only
            out[lo : lo + len(block)] = model._predict_raw(block, 4096)
        return out


class StreamBatches:
    """The gather of a step's rows from a source (see the module docstring).

    Parameters
    ----------
    ops : Ops
    source : Source
    Y, weights : ndarray
        The targets and per-row weights of every row (host), read whole.
    dtype : numpy dtype
        The model's.
    prepare : callable
        Applied to each group as read (the model's preprocessing and checks).
    defer_errors : bool
        Keep a failure to read (bad rows) in :attr:`error` and hand out zeros instead of
        raising, so that a process of a data-parallel run can still take part in the step's
        reduction, which tells every process (see :mod:`fcnet.train.parallel`).
    """

    def __init__(
        self,
        ops: Any,
        source: Any,
        Y: np.ndarray,
        weights: np.ndarray | None,
        dtype: Any,
        prepare: Any,
        defer_errors: bool = False,
    ) -> None:
        self.ops, self.source, self.dtype, self.prepare = ops, source, np.dtype(dtype), prepare
        self.Y = ops.asarray(Y)
        self.weights = None if weights is None else ops.asarray(weights)
        self.defer_errors = defer_errors
        self.error: Exception | None = None
        self.order: Any = None
        self._buffers: tuple[Any, Any, Any] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fcnet-read")
        self._blocks: dict[int, Any] = {}  # group -> its rows (array) or a Future of them
        self._plan: list[int] = []  # the groups still to read, in the order they are needed
        self._last: dict[int, int] = {}  # group -> the step after which it is not needed

    def start_epoch(self, order: np.ndarray, shares: list[tuple[int, int]]) -> None:
        """Take the epoch's order and this process's ``(lo, hi)`` of every step left."""
        self.order = np.asarray(order)
        rows = max(hi - lo for lo, hi in shares)
        if self._buffers is None or len(self._buffers[0]) < rows:
            ops = self.ops
            self._buffers = (
                ops.empty((rows, self.source.n_features), self.dtype),
                ops.empty((rows,) + self.Y.shape[1:], self.Y.dtype),
                None if self.weights is None else ops.empty(rows, self.weights.dtype),
            )
        self._drop_all()
        self._step_of = {lo: k for k, (lo, _) in enumerate(shares)}
        mine = np.concatenate([self.order[lo:hi] for lo, hi in shares])
        groups = self.source.groups_of(mine)
        steps = np.repeat(np.arange(len(shares)), [hi - lo for lo, hi in shares])
        firsts = np.unique(groups, return_index=True)[1]
        self._plan = [int(g) for g in groups[np.sort(firsts)]]
        self._last = {int(g): int(s) for g, s in zip(groups, steps, strict=True)}
        self._read_ahead()

    def gather(self, lo: int, hi: int) -> tuple[Any, Any, Any]:
        """(X_b, Y_b, w_b) of the rows ``order[lo:hi]`` (this process's share of a step)."""
        assert self._buffers is not None
        x_buf, y_buf, w_buf = self._buffers
        n = hi - lo
        full = n == len(x_buf)
        rows = self.order[lo:hi]
        Xb = x_buf if full else x_buf[:n]
        take = self.ops.take_rows
        Yb = take(self.Y, self.ops.asarray(rows), y_buf if full else y_buf[:n])
        wb = None
        if w_buf is not None:
            wb = take(self.weights, self.ops.asarray(rows), w_buf if full else w_buf[:n])
        try:
            self._gather_features(rows, Xb)
        except Exception as exc:
            if not self.defer_errors:
                raise
            self.error = self.error or exc
            Xb[...] = 0
        step = self._step_of.get(lo)
        if step is not None:
            for g in [g for g, last in self._last.items() if last <= step and g in self._blocks]:
                del self._blocks[g]
        self._read_ahead()
        return Xb, Yb, wb

    def _gather_features(self, rows: np.ndarray, out: Any) -> None:
        source = self.source
        groups = source.groups_of(rows)
        for g in np.unique(groups):
            where = np.flatnonzero(groups == g)
            block = self._block(int(g))
            local = rows[where] - source.group_starts[g]
            if len(where) == len(rows):
                self.ops.take_rows(block, self.ops.asarray(local), out)
            else:
                out[where] = block[local]

    def _block(self, g: int) -> Any:
        entry = self._blocks.get(g)
        if entry is None:
            entry = self._blocks[g] = self._pool.submit(self._read, g)
            if g in self._plan:
                self._plan.remove(g)
        if isinstance(entry, Future):
            entry = self._blocks[g] = entry.result()
        return entry

    def _read(self, g: int) -> Any:
        return self.ops.asarray(self.prepare(self.source.read_group(g, self.dtype)))

    def _read_ahead(self) -> None:
        """Keep the next group being read while the process trains on those it holds (at most
        a window of groups and one more, held or being read)."""
        pending = sum(isinstance(e, Future) and not e.done() for e in self._blocks.values())
        cap = max(int(getattr(self.source, "window", 1)), 1) + 1
        while self._plan and pending < 1 and len(self._blocks) < cap:
            g = self._plan.pop(0)
            if g not in self._blocks:
                self._blocks[g] = self._pool.submit(self._read, g)
                pending += 1

    def _drop_all(self) -> None:
        for entry in self._blocks.values():
            if isinstance(entry, Future):
                entry.cancel()
        self._blocks = {}

    def close(self) -> None:
        """Stop the reading thread and drop every group held."""
        self._drop_all()
        self._pool.shutdown(wait=True, cancel_futures=True)
