"""Optimizers with the update equations of ``torch.optim``, so results compare number for number.

``opt.step(params, grads)`` updates the arrays of ``params`` in place; both are dicts with the
same keys (``model.params()``, ``model.grads()``). State (momentum, moments) is kept per key.
Learning rates may be scaled per parameter with ``lr_scale={key: factor}``.

A step allocates nothing once every key has been seen: intermediate terms such as ``lr * g`` are
written into scratch arrays kept per key (not part of the state, so checkpoints do not carry
them), and ``grads`` are never modified. Updates of the form ``p <- p + c * a`` on large arrays go
through the BLAS's ``axpy`` when NumPy's BLAS provides one (see ``fcnet._blas``): one pass shared
between the BLAS's threads instead of two in one thread, the same result up to rounding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fcnet._ops import default_ops
from fcnet._validation import check_choice, check_number


class Optimizer:
    """Base class: holds ``lr``, per-parameter state and the step count ``t``."""

    name = "optimizer"

    def __init__(self, lr: float) -> None:
        self.lr = check_number(type(self).__name__, "lr", lr, low=0.0, low_open=True)
        self.t = 0
        self.ops = default_ops()  # the arrays' kind; fit sets the model's
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._scratch: dict[str, dict[str, np.ndarray]] = {}

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
        for key, p in params.items():
            g = grads[key]
            if g.shape != p.shape:
                raise ValueError(
                    f"{type(self).__name__}: gradient {key!r} has shape {g.shape}, "
                    f"expected {p.shape}."
                )
            lr = self.lr if lr_scale is None else self.lr * lr_scale.get(key, 1.0)
            self._update(key, p, g, lr)

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
        for name, array in arrays.items():
            key, slot = name.rsplit("/", 1)
            self.state.setdefault(key, {})[slot] = self.ops.asarray(np.array(array))

    def get_config(self) -> dict[str, Any]:
        """Hyperparameters with the optimizer name under ``"name"``."""
        return {"name": self.name, "lr": self.lr}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


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

    def _update(self, key: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        first = key not in self.state
        v = self._slot(key, "momentum", p) if self.momentum else p
        # one pass where ops has the kernel (plain SGD is one axpy already)
        if (self.momentum or self.weight_decay) and self.ops.sgd_update(
            p,
            g,
            v,
            lr=lr,
            momentum=self.momentum,
            dampening=self.dampening,
            weight_decay=self.weight_decay,
            nesterov=self.nesterov,
            first=first,
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


def _add_scaled(xp: Any, g: Any, c: float, a: Any, *, out: Any) -> Any:
    """g + c * a with the array module ``xp``, written into ``out`` (neither ``g`` nor ``a``)."""
    xp.multiply(a, c, out=out)
    return xp.add(g, out, out=out)


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop)}


def get_optimizer(optimizer: str | Optimizer, lr: float | None = None) -> Optimizer:
    """Return a new optimizer for a name (``"adam"``, ...) or the object itself."""
    if isinstance(optimizer, str):
        cls = check_choice("optimizers", "optimizer", optimizer, OPTIMIZERS)
        return cls() if lr is None else cls(lr=lr)
    if hasattr(optimizer, "step"):
        if lr is not None:
            optimizer.lr = check_number(type(optimizer).__name__, "lr", lr, low=0.0, low_open=True)
        return optimizer
    raise TypeError(
        f"optimizers: expected an optimizer name or an Optimizer, got {type(optimizer).__name__}."
    )


def optimizer_from_config(config: dict[str, Any]) -> Optimizer:
    """Rebuild an optimizer from :meth:`Optimizer.get_config`."""
    args = {k: v for k, v in config.items() if k != "name"}
    if "betas" in args:
        args["betas"] = tuple(args["betas"])
    return check_choice("optimizers", "optimizer", config["name"], OPTIMIZERS)(**args)
