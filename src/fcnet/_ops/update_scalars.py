"""The scalars of the optimizers' update kernels, computed once on the host in float64 (the CPU's
compiled kernels and the GPU's take the same). The ``*_named`` forms key them by the names the
GPU's kernels give them (:mod:`fcnet._ops.cuda_source`), so that the one-parameter kernel and the
table kernel take theirs from one place."""

from __future__ import annotations

import math


def adam_bias(betas: tuple[float, float], t: int) -> tuple[float, float]:
    """Adam's bias corrections at step t: (1 - beta1^t, sqrt(1 - beta2^t))."""
    return 1.0 - betas[0] ** t, math.sqrt(1.0 - betas[1] ** t)


def adam_scalars(
    lr: float, betas: tuple[float, float], eps: float, weight_decay: float, decoupled: bool, t: int
) -> tuple[float, ...]:
    """The scalars of an Adam update kernel, in float64: (step, beta1, keep1, beta2, keep2, eps,
    sqrt_bias2, l2, decay), with step = -lr / (1 - beta1^t), keep_k = 1 - beta_k,
    sqrt_bias2 = sqrt(1 - beta2^t), and AdamW's decay = 1 - lr wd (l2 = 0) or Adam's L2 term
    l2 = wd (decay = 1)."""
    b1, b2 = betas
    bias1, sqrt_bias2 = adam_bias(betas, t)
    decay, l2 = (1.0 - lr * weight_decay, 0.0) if decoupled else (1.0, weight_decay)
    return -(lr / bias1), b1, 1.0 - b1, b2, 1.0 - b2, eps, sqrt_bias2, l2, decay


#: The names of :func:`adam_scalars`' values.
ADAM_NAMES = (
    "step",
    "beta1",
    "keep1",
    "beta2",
    "keep2",
    "eps",
    "sqrt_bias2",
    "weight_decay",
    "decay",
)


def adam_named(
    lr: float, betas: tuple[float, float], eps: float, weight_decay: float, decoupled: bool, t: int
) -> dict[str, float]:
    """:func:`adam_scalars` by name (``weight_decay`` is the L2 term), and ``bias1`` = 1 -
    beta1^t, from which the table kernel makes each parameter's step."""
    values = adam_scalars(lr, betas, eps, weight_decay, decoupled, t)
    named = dict(zip(ADAM_NAMES, values, strict=True))
    named["bias1"] = adam_bias(betas, t)[0]
    return named


def sgd_named(
    lr: float, momentum: float, dampening: float, weight_decay: float
) -> dict[str, float]:
    """SGD's scalars: ``keep`` = 1 - dampening."""
    return {"lr": lr, "momentum": momentum, "keep": 1.0 - dampening, "weight_decay": weight_decay}


def rmsprop_named(
    lr: float, alpha: float, eps: float, weight_decay: float, momentum: float
) -> dict[str, float]:
    """RMSprop's scalars: ``keep`` = 1 - alpha."""
    return {
        "lr": lr,
        "alpha": alpha,
        "keep": 1.0 - alpha,
        "eps": eps,
        "weight_decay": weight_decay,
        "momentum": momentum,
    }
