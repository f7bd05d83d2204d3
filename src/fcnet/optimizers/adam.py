"""Adam and AdamW (see :mod:`fcnet.optimizers`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fcnet._validation import check_number
from fcnet.optimizers.base import Optimizer, _add_scaled


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (``weight_decay`` is an L2 term added to the gradient)::

    g = g + weight_decay * p
    m = beta1 m + (1 - beta1) g
    v = beta2 v + (1 - beta2) g^2
    p = p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
    """

    name = "adam"
    _decoupled = False

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        who = type(self).__name__
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise TypeError(f"{who}: expected betas as a pair (beta1, beta2), got {betas!r}.")
        b1 = check_number(who, "betas[0]", betas[0], low=0.0, high=1.0, high_open=True)
        b2 = check_number(who, "betas[1]", betas[1], low=0.0, high=1.0, high_open=True)
        self.betas = (b1, b2)
        self.eps = check_number(who, "eps", eps, low=0.0)
        self.weight_decay = check_number(who, "weight_decay", weight_decay, low=0.0)

    def _update_all(
        self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lrs: list[float]
    ) -> bool:
        return self.ops.adam_updates(
            *self._columns(params, grads, "m", "v"),
            lrs,
            betas=self.betas,
            eps=self.eps,
            weight_decay=self.weight_decay,
            decoupled=self._decoupled,
            t=self.t,
            gate=self.gate,
        )

    def _update(self, key: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        m = self._slot(key, "m", p)
        v = self._slot(key, "v", p)
        if self.ops.adam_update(
            p,
            g,
            m,
            v,
            lr=lr,
            betas=self.betas,
            eps=self.eps,
            weight_decay=self.weight_decay,
            decoupled=self._decoupled,
            t=self.t,
            gate=self.gate,
        ):
            return  # one pass, where ops has the kernel
        xp = self.ops.xp
        b1, b2 = self.betas
        tmp = self._tmp(key, "tmp", p)
        if self.weight_decay:
            if self._decoupled:
                p *= 1.0 - lr * self.weight_decay
            else:
                g = _add_scaled(xp, g, self.weight_decay, p, out=self._tmp(key, "decayed", p))
        m *= b1
        self.ops.axpy(1.0 - b1, g, m, tmp)
        v *= b2
        self.ops.axpy(1.0 - b2, xp.multiply(g, g, out=tmp), v, tmp)
        bias1 = 1.0 - b1**self.t
        bias2 = 1.0 - b2**self.t
        denom = xp.sqrt(v, out=tmp)
        denom /= math.sqrt(bias2)  # a Python float keeps float32 arrays in float32
        denom += self.eps
        self.ops.axpy(-(lr / bias1), xp.divide(m, denom, out=tmp), p, tmp)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "lr": self.lr,
            "betas": list(self.betas),
            "eps": self.eps,
            "weight_decay": self.weight_decay,
        }


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: Adam with decoupled weight decay, applied first::

    p = p * (1 - lr * weight_decay)
    then the Adam update with the plain gradient.
    """

    name = "adamw"
    _decoupled = True

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(lr, betas, eps, weight_decay)
