"""The compiled updates of the optimizers: each reads a parameter, its gradient and its state
once and writes them once (see :mod:`fcnet.optimizers` for the equations and the NumPy
reference, whose order of operations these follow, so that the two agree to rounding).

Arrays of one shape and float dtype, C-contiguous (walked as flat vectors). The scalars come as
Python floats and are rounded to the arrays' dtype first, as NumPy rounds a Python float that
meets a float32 array, so that float32 stays float32; ``1 - beta`` and the like are computed by
the caller in float64 and rounded once, as on the reference route.
"""

from __future__ import annotations

import numpy as np

from fcnet._ops.kernels.jit import jit


@jit
def sgd(p, g, v, lr, momentum, keep, weight_decay, nesterov, first):
    """torch.optim.SGD: g <- g + wd p; v <- g (first step) or momentum v + keep g, with
    keep = 1 - dampening; g <- g + momentum v (Nesterov) or v; p <- p - lr g. ``v`` is unused
    without momentum."""
    P, G, V = p.reshape(p.size), g.reshape(g.size), v.reshape(v.size)
    T = p.dtype.type
    lr, momentum, keep, weight_decay = T(lr), T(momentum), T(keep), T(weight_decay)
    for i in range(P.size):
        d = G[i] + weight_decay * P[i] if weight_decay else G[i]
        if momentum:
            u = d if first else V[i] * momentum + keep * d
            V[i] = u
            d = d + momentum * u if nesterov else u
        P[i] = P[i] - lr * d


@jit
def adam(p, g, m, v, step, beta1, keep1, beta2, keep2, eps, sqrt_bias2, weight_decay, decay):
    """torch.optim.Adam (``decay`` = 1 - lr wd, AdamW's decoupled decay, applied first; else
    ``weight_decay`` adds wd p to g), with keep_k = 1 - beta_k::

        m <- beta1 m + keep1 g;  v <- beta2 v + keep2 g^2
        p <- p + step (m / (sqrt(v) / sqrt(1 - beta2^t) + eps)),  step = -lr / (1 - beta1^t)
    """
    P, G, M, V = p.reshape(p.size), g.reshape(g.size), m.reshape(m.size), v.reshape(v.size)
    T = p.dtype.type
    step, beta1, keep1, beta2, keep2 = T(step), T(beta1), T(keep1), T(beta2), T(keep2)
    eps, sqrt_bias2, weight_decay, decay = T(eps), T(sqrt_bias2), T(weight_decay), T(decay)
    one = T(1)
    for i in range(P.size):
        x = P[i] * decay if decay != one else P[i]
        d = G[i] + weight_decay * x if weight_decay else G[i]
        mi = M[i] * beta1 + keep1 * d
        vi = V[i] * beta2 + keep2 * (d * d)
        M[i] = mi
        V[i] = vi
        P[i] = x + step * (mi / (np.sqrt(vi) / sqrt_bias2 + eps))


@jit
def rmsprop(p, g, v, g_avg, buf, lr, alpha, keep, eps, weight_decay, momentum, centered):
    """torch.optim.RMSprop, with keep = 1 - alpha: g <- g + wd p; v <- alpha v + keep g^2;
    a = sqrt(v - g_avg^2) + eps with g_avg <- alpha g_avg + keep g (centered), else
    sqrt(v) + eps; p <- p - lr b with b <- momentum b + g / a (momentum), else p - lr g / a.
    ``g_avg`` and ``buf`` are unused where their option is off."""
    P, G, V = p.reshape(p.size), g.reshape(g.size), v.reshape(v.size)
    C, B = g_avg.reshape(g_avg.size), buf.reshape(buf.size)
    T = p.dtype.type
    lr, alpha, keep, eps = T(lr), T(alpha), T(keep), T(eps)
    weight_decay, momentum = T(weight_decay), T(momentum)
    for i in range(P.size):
        d = G[i] + weight_decay * P[i] if weight_decay else G[i]
        vi = V[i] * alpha + keep * (d * d)
        V[i] = vi
        if centered:
            ci = C[i] * alpha + keep * d
            C[i] = ci
            a = np.sqrt(vi - ci * ci) + eps
        else:
            a = np.sqrt(vi) + eps
        if momentum:
            bi = B[i] * momentum + d / a
            B[i] = bi
            P[i] = P[i] - lr * bi
        else:
            P[i] = P[i] - lr * (d / a)
