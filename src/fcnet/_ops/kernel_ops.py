"""The compiled kernels' side of the CPU's operations that does not depend on a layer: loading
them once per object (:meth:`KernelOps._load`) and the optimizers' updates, one parameter at a
time (``sgd_update``, ...) or every parameter in one call (``sgd_updates``, ...; see
:mod:`fcnet._ops.kernels.optimizers`). :class:`fcnet._ops.fused.FusedOps` adds the layers' and
losses' passes. Each method returns False where it has no kernel for its arrays: the optimizer
then runs its NumPy code, the reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._ops.base import Ops
from fcnet._ops.tables import Tables, table_dtype
from fcnet._ops.update_scalars import adam_bias, adam_scalars


class _Lookups:
    """What a FusedOps looked up once: the kernel modules (None: not yet; False: none) and, per
    activation class, its (forward, infer) kernels or None, its backward kernel or None, and its
    Dense-layer kernels (with the products) or None; and the optimizers' tables of addresses.
    Slots, not a ``__dict__``: code that walks a model's attributes (the float64 copy of the
    gradient checker) does not wander into Numba's objects."""

    __slots__ = ("K", "forward", "backward", "dense", "tables")

    def __init__(self) -> None:
        self.K: Any = None
        self.forward: dict[type, Any] = {}
        self.backward: dict[type, Any] = {}
        self.dense: dict[type, Any] = {}  # -> (forward or None, infer or None, backward)
        self.tables = Tables()  # the optimizers' tables of addresses


class KernelOps(Ops):
    """Kernel loading and the optimizers' updates (see the module docstring).

    Parameters
    ----------
    kernels : bool, default True
        Use the compiled kernels when they are installed; False: always the NumPy reference.
    """

    def __init__(self, kernels: bool = True) -> None:
        self.kernels = bool(kernels)
        self._cache = _Lookups()

    def _load(self) -> Any:
        cache = self._cache
        if cache.K is None:
            K = None
            if self.kernels:
                from fcnet._ops.kernels.loader import load

                K = load()
            cache.K = K or False
        return cache.K or None

    def __getstate__(self) -> dict[str, Any]:  # the kernels are looked up again after a load
        return {**vars(self), "_cache": _Lookups()}

    # --- optimizers ---------------------------------------------------------------------------
    def _update_kernels(self, p: Any, g: Any) -> Any:
        """The update kernels when they can take ``p`` and ``g`` (the state arrays are the
        optimizer's own, made like ``p``), else None."""
        K = self._cache.K if self._cache.K is not None else self._load()
        if not K or g.dtype is not p.dtype or not g.flags.c_contiguous:
            return None
        if not (p.flags.c_contiguous and p.flags.writeable):
            return None
        return K.optimizers

    def sgd_update(
        self,
        p: Any,
        g: Any,
        v: Any,
        *,
        lr: float,
        momentum: float,
        dampening: float,
        weight_decay: float,
        nesterov: bool,
        first: bool,
        gate: Any = None,  # never given on the CPU: the host's guard checks first
    ) -> bool:
        kernels = self._update_kernels(p, g)
        if kernels is None:
            return False
        keep = 1.0 - dampening
        kernels.sgd(p, g, v, lr, momentum, keep, weight_decay, nesterov, first)
        return True

    def adam_update(
        self,
        p: Any,
        g: Any,
        m: Any,
        v: Any,
        *,
        lr: float,
        betas: tuple[float, float],
        eps: float,
        weight_decay: float,
        decoupled: bool,
        t: int,
        gate: Any = None,  # never given on the CPU: the host's guard checks first
    ) -> bool:
        kernels = self._update_kernels(p, g)
        if kernels is None:
            return False
        kernels.adam(p, g, m, v, *adam_scalars(lr, betas, eps, weight_decay, decoupled, t))
        return True

    def rmsprop_update(
        self,
        p: Any,
        g: Any,
        v: Any,
        g_avg: Any,
        buf: Any,
        *,
        lr: float,
        alpha: float,
        eps: float,
        weight_decay: float,
        momentum: float,
        centered: bool,
        gate: Any = None,  # never given on the CPU: the host's guard checks first
    ) -> bool:
        kernels = self._update_kernels(p, g)
        if kernels is None:
            return False
        keep = 1.0 - alpha
        kernels.rmsprop(p, g, v, g_avg, buf, lr, alpha, keep, eps, weight_decay, momentum, centered)
        return True

    # --- every parameter in one call ------------------------------------------------------
    def _table(self, kind: str, columns: list[list[Any]], lrs: list[float]) -> Any:
        """(table, like, lrs) for the ``*_table`` kernels: the table of addresses of
        ``columns`` (p, g, then state arrays, one list each, one entry a parameter), an empty
        array of their dtype, the learning rates as an array; None when an array does not suit
        (not C-contiguous, another dtype or size than its row's p, p read-only). Made once and
        reused while the same arrays come back (:class:`~fcnet._ops.tables.Tables`)."""
        found = self._cache.tables.get(kind, columns, lrs, _new_table, _set_rates)
        return None if found is None else tuple(found)

    def _table_kernels(self, params: list[Any]) -> Any:
        K = self._cache.K if self._cache.K is not None else self._load()
        if not K or not params or params[0].dtype.kind != "f":
            return None
        return K.optimizers

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
        kernels = self._table_kernels(params)
        found = None if kernels is None else self._table("sgd", [params, grads, buffers], lrs)
        if found is None:
            return False
        table, like, lr = found
        kernels.sgd_table(table, lr, like, momentum, 1.0 - dampening, weight_decay, nesterov)
        return True

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
        kernels = self._table_kernels(params)
        found = None if kernels is None else self._table("adam", [params, grads, ms, vs], lrs)
        if found is None:
            return False
        table, like, lr = found
        b1, b2 = betas
        bias1, sqrt_bias2 = adam_bias(betas, t)
        kernels.adam_table(table, lr, like, bias1, b1, b2, eps, sqrt_bias2, weight_decay, decoupled)
        return True

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
        kernels = self._table_kernels(params)
        columns = [params, grads, vs, g_avgs, buffers]
        found = None if kernels is None else self._table("rmsprop", columns, lrs)
        if found is None:
            return False
        table, like, lr = found
        keep = 1.0 - alpha
        kernels.rmsprop_table(table, lr, like, alpha, keep, eps, weight_decay, momentum, centered)
        return True


def _new_table(columns: list[list[Any]]) -> list[Any] | None:
    """[the addresses and size of each row, an empty array of their dtype, the rates]."""
    dtype = table_dtype(columns)
    if dtype is None or not all(p.flags.writeable for p in columns[0]):
        return None
    rows = [
        [column[r].ctypes.data for column in columns] + [p.size] for r, p in enumerate(columns[0])
    ]
    return [np.array(rows, dtype=np.int64), np.empty(0, dtype), None]


def _set_rates(table: list[Any], lrs: list[float]) -> None:
    table[2] = np.array(lrs, dtype=np.float64)
