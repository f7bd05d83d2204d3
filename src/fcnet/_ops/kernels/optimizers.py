"""The compiled updates of the optimizers: each reads a parameter, its gradient and its state
once and writes them once (see :mod:`fcnet.optimizers` for the equations and the NumPy
reference, whose order of operations these follow, so that the two agree to rounding).

Two forms of each: ``sgd(p, g, v, ...)`` updates one parameter; ``sgd_table(table, lrs, like,
...)`` updates every parameter of a model in one call, from a table of their addresses (one row
a parameter: the addresses of p, g and up to three state arrays, then the size; see
``FusedOps._table``, which keeps the arrays alive while the table is in use). One call instead of
one a parameter: at a small network's step the calls cost more than the arithmetic.

Arrays of one float dtype, C-contiguous (walked as flat vectors). The scalars come as Python
floats and are rounded to the arrays' dtype first, as NumPy rounds a Python float that meets a
float32 array, so that float32 stays float32; ``1 - beta`` and the like are computed in float64
and rounded once, as on the reference route. ``lrs``: each row's learning rate (float64).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from fcnet._ops.kernels.jit import inline, jit


@intrinsic
def _pointer(typingctx, address, like):
    """The integer ``address`` as a pointer to elements of ``like``'s dtype."""
    pointer = types.CPointer(like.dtype)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(pointer))

    return pointer(address, like), codegen


@inline
def _column(table, row, column, like):
    """The flat array whose address is ``table[row, column]`` (size: the last column)."""
    return numba.carray(_pointer(table[row, column], like), table[row, table.shape[1] - 1])


# --- SGD --------------------------------------------------------------------------------------
@inline
def _sgd(P, G, V, lr, momentum, keep, weight_decay, nesterov, first):
    for i in range(P.size):
        d = G[i] + weight_decay * P[i] if weight_decay else G[i]
        if momentum:
            u = d if first else V[i] * momentum + keep * d
            V[i] = u
            d = d + momentum * u if nesterov else u
        P[i] = P[i] - lr * d


@jit
def sgd(p, g, v, lr, momentum, keep, weight_decay, nesterov, first):
    """torch.optim.SGD: g <- g + wd p; v <- g (first step) or momentum v + keep g, with
    keep = 1 - dampening; g <- g + momentum v (Nesterov) or v; p <- p - lr g. ``v`` is unused
    without momentum."""
    T = p.dtype.type
    P, G, V = p.reshape(p.size), g.reshape(g.size), v.reshape(v.size)
    _sgd(P, G, V, T(lr), T(momentum), T(keep), T(weight_decay), nesterov, first)


@jit
def sgd_table(table, lrs, like, momentum, keep, weight_decay, nesterov):
    """:func:`sgd` on every row of ``table`` (p, g, v), none at its first step."""
    T = like.dtype.type
    momentum, keep, weight_decay = T(momentum), T(keep), T(weight_decay)
    for r in range(table.shape[0]):
        P, G, V = _column(table, r, 0, like), _column(table, r, 1, like), _column(table, r, 2, like)
        _sgd(P, G, V, T(lrs[r]), momentum, keep, weight_decay, nesterov, False)


# --- Adam -------------------------------------------------------------------------------------
@inline
def _adam(P, G, M, V, step, beta1, keep1, beta2, keep2, eps, sqrt_bias2, weight_decay, decay):
    one = P.dtype.type(1)
    for i in range(P.size):
        x = P[i] * decay if decay != one else P[i]
        d = G[i] + weight_decay * x if weight_decay else G[i]
        mi = M[i] * beta1 + keep1 * d
        vi = V[i] * beta2 + keep2 * (d * d)
        M[i] = mi
        V[i] = vi
        P[i] = x + step * (mi / (np.sqrt(vi) / sqrt_bias2 + eps))


@jit
def adam(p, g, m, v, step, beta1, keep1, beta2, keep2, eps, sqrt_bias2, weight_decay, decay):
    """torch.optim.Adam (``decay`` = 1 - lr wd, AdamW's decoupled decay, applied first; else
    ``weight_decay`` adds wd p to g), with keep_k = 1 - beta_k::

        m <- beta1 m + keep1 g;  v <- beta2 v + keep2 g^2
        p <- p + step (m / (sqrt(v) / sqrt(1 - beta2^t) + eps)),  step = -lr / (1 - beta1^t)
    """
    T = p.dtype.type
    P, G, M, V = p.reshape(p.size), g.reshape(g.size), m.reshape(m.size), v.reshape(v.size)
    _adam(P, G, M, V, T(step), T(beta1), T(keep1), T(beta2), T(keep2), T(eps), T(sqrt_bias2),
          T(weight_decay), T(decay))  # fmt: skip


@jit
def adam_table(table, lrs, like, bias1, beta1, beta2, eps, sqrt_bias2, weight_decay, decoupled):
    """:func:`adam` on every row of ``table`` (p, g, m, v); each row's step -lr / bias1 and
    decay 1 - lr wd (decoupled) or L2 term wd come from its learning rate, as in ``adam``'s
    caller."""
    T = like.dtype.type
    keep1, keep2 = T(1.0 - beta1), T(1.0 - beta2)
    l2 = T(0.0) if decoupled else T(weight_decay)
    for r in range(table.shape[0]):
        P, G = _column(table, r, 0, like), _column(table, r, 1, like)
        M, V = _column(table, r, 2, like), _column(table, r, 3, like)
        lr = lrs[r]
        decay = T(1.0 - lr * weight_decay) if decoupled else T(1.0)
        _adam(P, G, M, V, T(-(lr / bias1)), T(beta1), keep1, T(beta2), keep2, T(eps),
              T(sqrt_bias2), l2, decay)  # fmt: skip


# --- RMSprop ----------------------------------------------------------------------------------
@inline
def _rmsprop(P, G, V, C, B, lr, alpha, keep, eps, weight_decay, momentum, centered):
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


@jit
def rmsprop(p, g, v, g_avg, buf, lr, alpha, keep, eps, weight_decay, momentum, centered):
    """torch.optim.RMSprop, with keep = 1 - alpha: g <- g + wd p; v <- alpha v + keep g^2;
    a = sqrt(v - g_avg^2) + eps with g_avg <- alpha g_avg + keep g (centered), else
    sqrt(v) + eps; p <- p - lr b with b <- momentum b + g / a (momentum), else p - lr g / a.
    ``g_avg`` and ``buf`` are unused where their option is off."""
    T = p.dtype.type
    P, G, V = p.reshape(p.size), g.reshape(g.size), v.reshape(v.size)
    C, B = g_avg.reshape(g_avg.size), buf.reshape(buf.size)
    _rmsprop(P, G, V, C, B, T(lr), T(alpha), T(keep), T(eps), T(weight_decay), T(momentum),
             centered)  # fmt: skip


@jit
def rmsprop_table(table, lrs, like, alpha, keep, eps, weight_decay, momentum, centered):
    """:func:`rmsprop` on every row of ``table`` (p, g, v, g_avg, buf)."""
    T = like.dtype.type
    alpha, keep, eps, weight_decay, momentum = (
        T(alpha),
        T(keep),
        T(eps),
        T(weight_decay),
        T(momentum),
    )
    for r in range(table.shape[0]):
        P, G, V = _column(table, r, 0, like), _column(table, r, 1, like), _column(table, r, 2, like)
        C, B = _column(table, r, 3, like), _column(table, r, 4, like)
        _rmsprop(P, G, V, C, B, T(lrs[r]), alpha, keep, eps, weight_decay, momentum, centered)
