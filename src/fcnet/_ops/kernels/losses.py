"""The compiled passes of the losses: each computes the per-sample losses L_i (m,) and the
gradient dL_i/dY_hat (m, k) in one pass over the rows (see :mod:`fcnet.losses` for the math and
the NumPy reference). The 1/m, or the sample weights, are applied by the caller, as on the
reference route.

Shapes: Z or Y_hat (m, k), Y (m, k) or labels (m,), dY (m, k), per_sample (m,); C-contiguous,
one float dtype (labels: integers). Sums over a row are added in float64, in order.
"""

from __future__ import annotations

import math

from fcnet._ops.kernels import vmath
from fcnet._ops.kernels.jit import jit


@jit
def softmax_cross_entropy_labels(Z, labels, dY, per_sample):
    """L_i = log sum_j e^(s_ij) - s_i,y_i with s = z - max z; dY = P - Y (Y one-hot).

    Labels outside [0, k) are clipped, as the reference's ``mode="clip"`` (``fit`` validates
    them first)."""
    m, k = Z.shape
    for i in range(m):
        z, d = Z[i], dY[i]
        top = z[0]
        for j in range(1, k):
            top = max(top, z[j])
        total = 0.0
        for j in range(k):
            e = vmath.exp(z[j] - top)
            d[j] = e
            total += e
        scale = 1.0 / total
        for j in range(k):
            d[j] = d[j] * scale
        y = min(max(labels[i], 0), k - 1)
        d[y] -= 1
        per_sample[i] = math.log(total) - (z[y] - top)


@jit
def softmax_cross_entropy_probabilities(Z, Y, dY, per_sample):
    """L_i = log sum_j e^(s_ij) sum_j y_ij - sum_j y_ij s_ij; dY = P - Y."""
    m, k = Z.shape
    for i in range(m):
        z, y, d = Z[i], Y[i], dY[i]
        top = z[0]
        for j in range(1, k):
            top = max(top, z[j])
        total = 0.0
        mass = 0.0
        dot = 0.0
        for j in range(k):
            s = z[j] - top
            e = vmath.exp(s)
            d[j] = e
            total += e
            mass += y[j]
            dot += y[j] * s
        scale = 1.0 / total
        for j in range(k):
            d[j] = d[j] * scale - y[j]
        per_sample[i] = math.log(total) * mass - dot


@jit
def binary_cross_entropy(Z, Y, dY, per_sample):
    """L_i = sum_j max(z, 0) - z y + log(1 + e^-|z|); dY = sigmoid(z) - y."""
    m, k = Z.shape
    for i in range(m):
        z, y, d = Z[i], Y[i], dY[i]
        total = 0.0
        for j in range(k):
            v = float(z[j])
            e = vmath.exp(-abs(v))  # e^-|z| in (0, 1]
            total += vmath.log1p_unit(e) + max(v, 0.0) - v * y[j]
            d[j] = (1.0 if v >= 0.0 else e) / (1.0 + e) - y[j]
        per_sample[i] = total


@jit
def squared_error(Y_hat, Y, dY, per_sample):
    """L_i = 1/2 sum_j r_ij^2 with r = Y_hat - Y; dY = r."""
    m, k = Y_hat.shape
    for i in range(m):
        p, y, d = Y_hat[i], Y[i], dY[i]
        total = 0.0
        for j in range(k):
            r = p[j] - y[j]
            d[j] = r
            total += r * r
        per_sample[i] = 0.5 * total


@jit
def absolute_error(Y_hat, Y, dY, per_sample):
    """L_i = sum_j |r_ij|; dY = sign(r) (0 where r is 0)."""
    m, k = Y_hat.shape
    zero = Y_hat.dtype.type(0)
    one = Y_hat.dtype.type(1)
    for i in range(m):
        p, y, d = Y_hat[i], Y[i], dY[i]
        total = 0.0
        for j in range(k):
            r = p[j] - y[j]
            d[j] = one if r > zero else (-one if r < zero else r)  # NaN stays NaN
            total += abs(r)
        per_sample[i] = total


@jit
def huber(Y_hat, Y, dY, per_sample, delta):
    """L_i = sum_j r^2 / 2 if |r| <= delta else delta (|r| - delta / 2); dY = clip(r, +-delta)."""
    m, k = Y_hat.shape
    delta = Y_hat.dtype.type(delta)
    half_delta = Y_hat.dtype.type(0.5) * delta
    half = Y_hat.dtype.type(0.5)
    for i in range(m):
        p, y, d = Y_hat[i], Y[i], dY[i]
        total = 0.0
        for j in range(k):
            r = p[j] - y[j]
            size = abs(r)
            total += half * r * r if size <= delta else delta * (size - half_delta)
            d[j] = min(max(r, -delta), delta) if r == r else r
        per_sample[i] = total
