"""The tables of addresses behind the optimizers' one-call updates, shared by the CPU's compiled
kernels (:class:`~fcnet._ops.kernel_ops.KernelOps`) and the GPU's
(:class:`~fcnet._ops.cupy_tables.CupyTables`): which arrays a table can take, and the cache that
makes a table once and reuses it step after step."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np


def table_dtype(columns: list[list[Any]]) -> np.dtype | None:
    """The parameters' dtype when every row of ``columns`` (p, g, then state arrays; one list
    each, one entry a parameter) is of one float dtype, p's size and C-contiguous, else None."""
    params = columns[0]
    if not params or params[0].dtype.kind != "f":
        return None
    dtype = params[0].dtype
    for r, p in enumerate(params):
        for column in columns:
            a = column[r]
            if a.dtype != dtype or a.size != p.size or not a.flags.c_contiguous:
                return None
    return dtype


class Tables:
    """Per optimizer kind, the table made from the arrays of ``columns`` and the learning rates
    it was last given.

    A table is made again only when other arrays come (compared by identity: an array's memory
    does not move while the array lives, and the entry keeps the arrays alive), and its learning
    rates are set again only when they change (a schedule).
    """

    def __init__(self) -> None:
        self._entries: dict[str, list[Any]] = {}

    def made(self, kind: str) -> Any:
        """The table last made for ``kind``, or None."""
        entry = self._entries.get(kind)
        return None if entry is None else entry[1]

    def get(
        self,
        kind: str,
        columns: list[list[Any]],
        lrs: list[float],
        make: Callable[[list[list[Any]]], Any],
        set_rates: Callable[[Any, list[float]], None],
    ) -> Any:
        """The table for ``columns``, made by ``make(columns)`` (None: the arrays do not suit,
        and None is returned) and given ``lrs`` by ``set_rates(table, lrs)`` when they are new."""
        arrays = [a for column in columns for a in column]
        entry = self._entries.get(kind)
        if (
            entry is None
            or len(entry[0]) != len(arrays)
            or not all(map(operator.is_, entry[0], arrays))
        ):
            table = make(columns)
            if table is None:
                return None
            entry = self._entries[kind] = [arrays, table, None]
        if entry[2] != lrs:
            set_rates(entry[1], lrs)
            entry[2] = list(lrs)
        return entry[1]
