"""Stochastic gradient descent (see :mod:`fcnet.optimizers`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._validation import check_number
from fcnet.optimizers.base import Optimizer, _add_scaled


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum, Nesterov and weight decay.

    As ``torch.optim.SGD``::

        g = g + weight_decay * p
        v = g (first step), else v = momentum * v + (1 - dampening) * g
        g = g + momentum * v  if nesterov  else  v          (only when momentum > 0)
        p = p - lr * g
    """

    name = "sgd"

    def __init__(
        self,
        lr: float = 0.01,
        momentum: float = 0.0,
        *,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        self.momentum = check_number("SGD", "momentum", momentum, low=0.0)
        self.dampening = check_number("SGD", "dampening", dampening, low=0.0, high=1.0)
        self.nesterov = bool(nesterov)
        self.weight_decay = check_number("SGD", "weight_decay", weight_decay, low=0.0)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(
                "SGD: nesterov needs momentum > 0 and dampening = 0, "
                f"got momentum={self.momentum}, dampening={self.dampening}."
            )

    def _update_all(
        self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lrs: list[float]
    ) -> bool:
        if self.momentum and not all(key in self.state for key in params):
            return False  # a first step: v <- g, key by key
        columns = self._columns(params, grads, "momentum" if self.momentum else "")
        return self.ops.sgd_updates(
            *columns,
            lrs,
            momentum=self.momentum,
            dampening=self.dampening,
            weight_decay=self.weight_decay,
            nesterov=self.nesterov,
            gate=self.gate,
        )

    def _update(self, key: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        first = key not in self.state
        v = self._slot(key, "momentum", p) if self.momentum else p
        # one pass where ops has the kernel (plain SGD is one axpy already, unless gated)
        if (self.momentum or self.weight_decay or self.gate is not None) and self.ops.sgd_update(
            p,
            g,
            v,
            lr=lr,
            momentum=self.momentum,
            dampening=self.dampening,
            weight_decay=self.weight_decay,
            nesterov=self.nesterov,
            first=first,
            gate=self.gate,
        ):
            return
        xp = self.ops.xp
        tmp = self._tmp(key, "tmp", p)
        if self.weight_decay:
            g = _add_scaled(xp, g, self.weight_decay, p, out=self._tmp(key, "decayed", p))
        if self.momentum:
            if first:
                v[...] = g
            else:
                v *= self.momentum
                self.ops.axpy(1.0 - self.dampening, g, v, tmp)
            if self.nesterov:
                g = _add_scaled(xp, g, self.momentum, v, out=tmp)
            else:
                g = v
        self.ops.axpy(-lr, g, p, tmp)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "lr": self.lr,
            "momentum": self.momentum,
            "dampening": self.dampening,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
        }
