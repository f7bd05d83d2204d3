"""RMSprop (see :mod:`fcnet.optimizers`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._validation import check_number
from fcnet.optimizers.base import Optimizer, _add_scaled


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``::

    g = g + weight_decay * p
    v = alpha v + (1 - alpha) g^2
    a = sqrt(v - g_avg^2) + eps, with g_avg = alpha g_avg + (1 - alpha) g  if centered
        sqrt(v) + eps                                                   otherwise
    b = momentum b + g / a ;  p = p - lr * b        if momentum > 0
    p = p - lr * g / a                               otherwise
    """

    name = "rmsprop"

    def __init__(
        self,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(lr)
        self.alpha = check_number("RMSprop", "alpha", alpha, low=0.0, high=1.0)
        self.eps = check_number("RMSprop", "eps", eps, low=0.0)
        self.weight_decay = check_number("RMSprop", "weight_decay", weight_decay, low=0.0)
        self.momentum = check_number("RMSprop", "momentum", momentum, low=0.0)
        self.centered = bool(centered)

    def _update_all(
        self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lrs: list[float]
    ) -> bool:
        slots = (
            "square_avg",
            "grad_avg" if self.centered else "",
            "momentum" if self.momentum else "",
        )
        return self.ops.rmsprop_updates(
            *self._columns(params, grads, *slots),
            lrs,
            alpha=self.alpha,
            eps=self.eps,
            weight_decay=self.weight_decay,
            momentum=self.momentum,
            centered=self.centered,
            gate=self.gate,
        )

    def _update(self, key: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        v = self._slot(key, "square_avg", p)
        g_avg = self._slot(key, "grad_avg", p) if self.centered else p  # p: unused
        buf = self._slot(key, "momentum", p) if self.momentum else p
        if self.ops.rmsprop_update(
            p,
            g,
            v,
            g_avg,
            buf,
            lr=lr,
            alpha=self.alpha,
            eps=self.eps,
            weight_decay=self.weight_decay,
            momentum=self.momentum,
            centered=self.centered,
            gate=self.gate,
        ):
            return  # one pass, where ops has the kernel
        xp = self.ops.xp
        a = self.alpha
        tmp = self._tmp(key, "tmp", p)
        if self.weight_decay:
            g = _add_scaled(xp, g, self.weight_decay, p, out=self._tmp(key, "decayed", p))
        v *= a
        self.ops.axpy(1.0 - a, xp.multiply(g, g, out=tmp), v, tmp)
        avg = self._tmp(key, "avg", p)
        if self.centered:
            g_avg = self._slot(key, "grad_avg", p)
            g_avg *= a
            self.ops.axpy(1.0 - a, g, g_avg, tmp)
            xp.multiply(g_avg, g_avg, out=tmp)
            avg = xp.sqrt(xp.subtract(v, tmp, out=avg), out=avg)
        else:
            avg = xp.sqrt(v, out=avg)
        avg += self.eps
        if self.momentum:
            b = self._slot(key, "momentum", p)
            b *= self.momentum
            b += xp.divide(g, avg, out=tmp)
            self.ops.axpy(-lr, b, p, tmp)
        else:
            self.ops.axpy(-lr, xp.divide(g, avg, out=tmp), p, tmp)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "lr": self.lr,
            "alpha": self.alpha,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "momentum": self.momentum,
            "centered": self.centered,
        }
