"""The base class of the optimizers: learning rate, per-parameter state and scratch, the step
that validates and dispatches, checkpoints (see :mod:`fcnet.optimizers`)."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from fcnet._ops import default_ops
from fcnet._validation import check_number


class Optimizer:
    """Base class: holds ``lr``, per-parameter state and the step count ``t``."""

    name = "optimizer"
    #: The device-side flag a fit on a device sets (see :class:`fcnet.train.guard.DeviceGuard`):
    #: passed to ``ops.*_update``, whose kernels write nothing where it is false. None: no gate.
    gate: Any = None

    def __init__(self, lr: float) -> None:
        self.lr = check_number(type(self).__name__, "lr", lr, low=0.0, low_open=True)
        self.t = 0
        self.ops = default_ops()  # the arrays' kind; fit sets the model's
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._scratch: dict[str, dict[str, np.ndarray]] = {}
        self._columns_cache: Any = None  # the last step's arrays for _update_all

    def step(
        self,
        params: dict[str, np.ndarray],
        grads: dict[str, np.ndarray],
        lr_scale: dict[str, float] | None = None,
    ) -> None:
        """Update every array in ``params`` in place from the matching entry of ``grads``."""
        missing = params.keys() - grads.keys()
        if missing:
            raise ValueError(
                f"{type(self).__name__}: grads lack the keys {sorted(missing)} present in params."
            )
        self.t += 1
        lrs = []
        for key, p in params.items():
            g = grads[key]
            if g.shape != p.shape:
                raise ValueError(
                    f"{type(self).__name__}: gradient {key!r} has shape {g.shape}, "
                    f"expected {p.shape}."
                )
            lrs.append(self.lr if lr_scale is None else self.lr * lr_scale.get(key, 1.0))
        if self._update_all(params, grads, lrs):  # one compiled call, where ops has it
            return
        for (key, p), lr in zip(params.items(), lrs, strict=True):
            self._update(key, p, grads[key], lr)

    def _update_all(
        self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lrs: list[float]
    ) -> bool:
        """Update every parameter in one call to ``ops`` (its ``*_updates``), the same numbers
        as :meth:`_update` key after key; False: not done (then :meth:`_update` is called)."""
        return False

    def _columns(
        self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], *slots: str
    ) -> list[list[np.ndarray]]:
        """[params, grads, then each state slot's arrays] as lists in the order of ``params``
        (a slot named "" stands for p itself: an array the update leaves alone), made again
        only when the arrays differ from the last step's, or ``state`` or a key's dict of
        slots was replaced (the state's arrays are updated in place, never replaced, but by
        :meth:`load_state_dict`)."""
        cached = self._columns_cache
        if (
            cached is not None
            and cached[0] == slots
            and cached[1] is self.state
            and len(cached[3][0]) == len(params)
            and all(map(operator.is_, cached[3][0], params.values()))
            and all(map(operator.is_, cached[3][1], map(grads.__getitem__, params)))
            and all(map(operator.is_, cached[2], map(self.state.get, params)))
        ):
            return cached[3]
        columns = [list(params.values()), [grads[key] for key in params]]
        for name in slots:
            columns.append([self._slot(k, name, p) if name else p for k, p in params.items()])
        per_key = [self.state.get(key) for key in params]
        self._columns_cache = (slots, self.state, per_key, columns)
        return columns

    def _slot(self, key: str, name: str, like: np.ndarray) -> np.ndarray:
        slots = self.state.setdefault(key, {})
        if name not in slots:
            slots[name] = self.ops.zeros(like.shape, like.dtype)
        return slots[name]

    def _tmp(self, key: str, name: str, like: np.ndarray) -> np.ndarray:
        """A scratch array shaped like ``like`` for intermediate terms; contents undefined."""
        slots = self._scratch.setdefault(key, {})
        array = slots.get(name)
        if array is None or array.shape != like.shape or array.dtype != like.dtype:
            array = slots[name] = self.ops.empty(like.shape, like.dtype)
        return array

    def _update(self, key: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        raise NotImplementedError

    def state_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able scalars, arrays) describing the optimizer, for checkpoints."""
        arrays = {
            f"{key}/{name}": a for key, slots in self.state.items() for name, a in slots.items()
        }
        return {"config": self.get_config(), "t": self.t}, arrays

    def load_state_dict(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.t = int(meta["t"])
        self.state = {}
        self._columns_cache = None
        for name, array in arrays.items():
            key, slot = name.rsplit("/", 1)
            self.state.setdefault(key, {})[slot] = self.ops.asarray(np.array(array))

    def get_config(self) -> dict[str, Any]:
        """Hyperparameters with the optimizer name under ``"name"``."""
        return {"name": self.name, "lr": self.lr}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def _add_scaled(xp: Any, g: Any, c: float, a: Any, *, out: Any) -> Any:
    """g + c * a with the array module ``xp``, written into ``out`` (neither ``g`` nor ``a``)."""
    xp.multiply(a, c, out=out)
    return xp.add(g, out, out=out)
