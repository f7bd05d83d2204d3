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
import operator
from typing import Any

import numpy as np

from fcnet._ops import cuda_source, cuda_tables

_THREADS = 256
_MAX_BLOCKS = 1024


class CupyTables:
    """The table route of :class:`~fcnet._ops.cupy_ops.CupyOps` (a mixin: ``asarray`` and
    ``is_array`` are the Ops' own)."""

    _cp: Any
    _open: Any  # the gate when none is given
    _tables: dict[str, list[Any]]
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
        scalars: tuple[Any, ...],
        gate: Any,
    ) -> bool:
        """Launch the table kernel of ``spec`` on ``columns`` (p, g, state...; one list each);
        ``scalars``: the kernel's parameters after the learning rates. False: the arrays do not
        suit (not this device's, mixed dtypes or sizes, not C-contiguous)."""
        found = self._table(kind, columns, lrs)
        if found is None:
            return False
        table, offsets, rows, total, rates, dtype = found
        function = self._table_function(cuda_tables.name(spec) + cuda_source.suffix(dtype))
        blocks = (min(max(math.ceil(total / _THREADS), 1), _MAX_BLOCKS),)
        function(blocks, (_THREADS,), (table, offsets, np.int64(rows), rates, *scalars, gate))
        return True

    def _table(self, kind: str, columns: list[list[Any]], lrs: list[float]) -> Any:
        arrays = [a for column in columns for a in column]
        cached = self._tables.get(kind)
        if (
            cached is None
            or len(cached[0]) != len(arrays)
            or not all(map(operator.is_, cached[0], arrays))
        ):
            cached = self._new_table(columns, arrays, lrs)
            if cached is None:
                return None
            self._tables[kind] = cached
        elif cached[1] != lrs:
            cached[1] = list(lrs)
            cached[2] = np.array(lrs, dtype=np.float64)  # kept alive while it is copied
            self._upload(cached[3][4], cached[2])
        return cached[3]

    def _new_table(self, columns: list[list[Any]], arrays: list[Any], lrs: list[float]) -> Any:
        params = columns[0]
        if not params or params[0].dtype not in (np.float32, np.float64):
            return None
        dtype = params[0].dtype
        for r, p in enumerate(params):
            for a in (column[r] for column in columns):
                if not self.is_array(a) or a.dtype != dtype or a.size != p.size:
                    return None
                if not a.flags.c_contiguous:
                    return None
        addresses = np.array(
            [[self._address(column[r]) for column in columns] for r in range(len(params))],
            dtype=np.uint64,
        )
        offsets = np.concatenate([[0], np.cumsum([p.size for p in params])]).astype(np.int64)
        host_rates = np.array(lrs, dtype=np.float64)
        rates = self.asarray(host_rates)
        found = (self.asarray(addresses), self.asarray(offsets), len(params))
        found += (int(offsets[-1]), rates, dtype)
        return [arrays, list(lrs), host_rates, found]

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
        T = params[0].dtype.type
        spec = cuda_source.sgd(momentum=bool(momentum), nesterov=bool(nesterov), first=False)
        scalars = T(momentum), T(1.0 - dampening), T(weight_decay)
        columns = [params, grads, buffers]
        return self._update_table("sgd", spec, columns, lrs, scalars, self._open_or(gate))

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
        T = params[0].dtype.type
        b1, b2 = betas
        own = np.float64(1.0 - b1**t), np.float64(weight_decay), np.int32(bool(decoupled))
        shared = (T(b1), T(1.0 - b1), T(b2), T(1.0 - b2), T(eps), T(math.sqrt(1.0 - b2**t)))
        columns = [params, grads, ms, vs]
        spec = cuda_source.adam()
        return self._update_table("adam", spec, columns, lrs, own + shared, self._open_or(gate))

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
        T = params[0].dtype.type
        spec = cuda_source.rmsprop(centered=bool(centered), momentum=bool(momentum))
        scalars = T(alpha), T(1.0 - alpha), T(eps), T(weight_decay), T(momentum)
        columns = [params, grads, vs, g_avgs, buffers]
        return self._update_table("rmsprop", spec, columns, lrs, scalars, self._open_or(gate))

    def _open_or(self, gate: Any) -> Any:
        return self._open if gate is None else gate
