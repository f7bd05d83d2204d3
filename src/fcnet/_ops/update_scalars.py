"""The scalars of the optimizers' update kernels, computed once on the host in float64 (the CPU's
compiled kernels and the GPU's take the same)."""

from __future__ import annotations

import math


def adam_scalars(
    lr: float, betas: tuple[float, float], eps: float, weight_decay: float, decoupled: bool, t: int
) -> tuple[float, ...]:
    """The scalars of an Adam update kernel, in float64: (step, beta1, keep1, beta2, keep2, eps,
    sqrt_bias2, l2, decay), with step = -lr / (1 - beta1^t), keep_k = 1 - beta_k,
    sqrt_bias2 = sqrt(1 - beta2^t), and AdamW's decay = 1 - lr wd (l2 = 0) or Adam's L2 term
    l2 = wd (decay = 1)."""
    b1, b2 = betas
    step = -(lr / (1.0 - b1**t))
    decay, l2 = (1.0 - lr * weight_decay, 0.0) if decoupled else (1.0, weight_decay)
    return step, b1, 1.0 - b1, b2, 1.0 - b2, eps, math.sqrt(1.0 - b2**t), l2, decay
