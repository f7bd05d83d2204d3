"""Every parameter's optimizer update in one kernel launch on the GPU (the ``*_updates`` of
:class:`~fcnet._ops.base.Ops`), from a table of their addresses (see
:mod:`fcnet._ops.cuda_tables`): at a small network's step the launches, not the arithmetic, set
the speed, and this makes the update one launch where it was one a parameter.

The table, the offsets and the learning rates live on the device, made once and reused while the
same arrays come back step after step (compared by identity); the learning rates are copied
again, without waiting for the device, only when they change (a schedule).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fcnet._ops import cuda_source, cuda_tables
from fcnet._ops.tables import Tables, table_dtype
from fcnet._ops.update_scalars import adam_named, rmsprop_named, sgd_named

_THREADS = 256
_MAX_BLOCKS = 1024


class CupyTables:
    """The table route of :class:`~fcnet._ops.cupy_ops.CupyOps` (a mixin: ``asarray``,
    ``zeros`` and ``is_array`` are the Ops' own)."""

    _cp: Any
    _open: Any  # the gate when none is given
    _tables: Tables
    _table_module: Any = None

    def _address(self, a: Any) -> int:
        return int(a.data.ptr)

    def _upload(self, device: Any, host: np.ndarray) -> None:
        """Copy ``host`` into ``device`` in stream order, without waiting for the device."""
        device.set(host, stream=self._cp.cuda.get_current_stream())

    def _table_function(self, name: str) -> Any:
        if self._table_module is None:
            self._table_module = self._cp.RawModule(
                code=cuda_tables.module(), options=("-std=c++14",)
            )
        return self._table_module.get_function(name)

    def _update_table(
        self,
        kind: str,
        spec: cuda_source.Elementwise,
        columns: list[list[Any]],
        lrs: list[float],
        named: dict[str, float],
        own: tuple[Any, ...],
        gate: Any,
    ) -> bool:
        """Launch the table kernel of ``spec`` on ``columns`` (p, g, state...; one list each):
        after the learning rates, the kernel's ``own`` parameters, then the scalars it shares
        with the one-parameter kernel, from ``named``. False: the arrays do not suit (not this
        device's, mixed dtypes or sizes, not C-contiguous)."""
        found = self._tables.get(kind, columns, lrs, self._new_table, self._set_rates)
        if found is None:
            return False
        table, offsets, rows, total, rates, dtype = found[:6]
        shared = spec.scalar_values(named, dtype, skip=cuda_tables.PER_ROW[kind])
        function = self._table_function(cuda_tables.name(spec) + cuda_source.suffix(dtype))
        blocks = (min(max(math.ceil(total / _THREADS), 1), _MAX_BLOCKS),)
        args = (table, offsets, np.int64(rows), rates, *own, *shared, self._open_or(gate))
        function(blocks, (_THREADS,), args)
        return True

    def _new_table(self, columns: list[list[Any]]) -> list[Any] | None:
        """[addresses, offsets, rows, elements, learning rates, dtype, their host copy] on the
        device, or None when the arrays do not suit."""
        dtype = table_dtype(columns)
        if dtype is None or not all(self.is_array(a) for column in columns for a in column):
            return None
        params = columns[0]
        addresses = np.array(
            [[self._address(column[r]) for column in columns] for r in range(len(params))],
            dtype=np.uint64,
        )
        offsets = np.concatenate([[0], np.cumsum([p.size for p in params])]).astype(np.int64)
        rates = self.zeros(len(params), np.float64)
        table = [self.asarray(addresses), self.asarray(offsets), len(params), int(offsets[-1])]
        return [*table, rates, dtype, None]

    def _set_rates(self, table: list[Any], lrs: list[float]) -> None:
        table[6] = np.array(lrs, dtype=np.float64)  # kept alive while it is copied
        self._upload(table[4], table[6])

    # --- the Ops methods ----------------------------------------------------------------------
    def sgd_updates(
        self,
        params: list[Any],
        grads: list[Any],
        buffers: list[Any],
        lrs: list[float],
        *,
        momentum: float,
        dampening: float,
        weight_decay: float,
        nesterov: bool,
        gate: Any = None,
    ) -> bool:
        if not params:
            return False
        spec = cuda_source.sgd(momentum=bool(momentum), nesterov=bool(nesterov), first=False)
        named = sgd_named(0.0, momentum, dampening, weight_decay)  # lr: each row's own
        columns = [params, grads, buffers]
        return self._update_table("sgd", spec, columns, lrs, named, (), gate)

    def adam_updates(
        self,
        params: list[Any],
        grads: list[Any],
        ms: list[Any],
        vs: list[Any],
        lrs: list[float],
        *,
        betas: tuple[float, float],
        eps: float,
        weight_decay: float,
        decoupled: bool,
        t: int,
        gate: Any = None,
    ) -> bool:
        if not params:
            return False
        named = adam_named(0.0, betas, eps, weight_decay, decoupled, t)  # step: each row's own
        own = np.float64(named["bias1"]), np.float64(weight_decay), np.int32(bool(decoupled))
        columns = [params, grads, ms, vs]
        return self._update_table("adam", cuda_source.adam(), columns, lrs, named, own, gate)

    def rmsprop_updates(
        self,
        params: list[Any],
        grads: list[Any],
        vs: list[Any],
        g_avgs: list[Any],
        buffers: list[Any],
        lrs: list[float],
        *,
        alpha: float,
        eps: float,
        weight_decay: float,
        momentum: float,
        centered: bool,
        gate: Any = None,
    ) -> bool:
        if not params:
            return False
        spec = cuda_source.rmsprop(centered=bool(centered), momentum=bool(momentum))
        named = rmsprop_named(0.0, alpha, eps, weight_decay, momentum)  # lr: each row's own
        columns = [params, grads, vs, g_avgs, buffers]
        return self._update_table("rmsprop", spec, columns, lrs, named, (), gate)

    def _open_or(self, gate: Any) -> Any:
        return self._open if gate is None else gate
