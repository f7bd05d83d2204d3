"""The compiled passes of the losses: each computes the per-sample losses L_i (m,) and the
gradient dL_i/dY_hat (m, k) in one pass over the rows (see :mod:`fcnet.losses` for the math and
the NumPy reference). The 1/m, or the sample weights, are applied by the caller, as on the
reference route.

Shapes: Z or Y_hat (m, k), Y (m, k) or labels (m,), dY (m, k), per_sample (m,); C-contiguous,
one float dtype (labels: integers); ``scratch``: of that dtype, (k + 3, max(m, k)) for the
cross-entropy, (1, k) for the others (the caller's, so that a step allocates nothing). Sums over
a row are added in float64, in order, from terms rounded to the dtype.

Within a row, the exponentials and the per-entry terms are computed in a loop of their own
into a scratch row (vectorised), and summed in another: a sum in the same loop would
keep the compiler from vectorising it (the additions must stay in order), and the exponentials
would then be computed one at a time (measured: 1,024 rows of 10 logits took 176 us so, against
about 30 us).
"""

from __future__ import annotations

import math

import numpy as np

from fcnet._ops.kernels import vmath
from fcnet._ops.kernels.jit import inline, jit


@inline
def _row_max(z):
    top = z[0]
    for j in range(1, z.size):
        top = max(top, z[j])
    return top


@inline
def _sum(row):
    total = 0.0
    for j in range(row.size):
        total += row[j]
    return total


@jit
def softmax_cross_entropy_labels(Z, labels, dY, per_sample, scratch):
    """L_i = log sum_j e^(s_ij) - s_i,y_i with s = z - max z; dY = P - Y (Y one-hot).

    Labels outside [0, k) are clipped, as the reference's ``mode="clip"`` (``fit`` validates
    them first). From ``_ACROSS_ROWS`` rows on, computed on the (k, m) transpose, as the NumPy
    reference is: the maxima, sums and logarithms then run across the batch, vectorised."""
    m, k = Z.shape
    if m >= _ACROSS_ROWS and scratch.shape[1] == m:
        _softmax_cross_entropy_across_rows(Z, labels, dY, per_sample, scratch)
        return
    e = scratch[0, :k]
    for i in range(m):
        z, d = Z[i], dY[i]
        top = _row_max(z)
        for j in range(k):
            e[j] = vmath.exp(z[j] - top)
        total = _sum(e)
        scale = 1.0 / total
        for j in range(k):
            d[j] = e[j] * scale
        y = min(max(labels[i], 0), k - 1)
        d[y] -= 1
        per_sample[i] = math.log(total) - (z[y] - top)


_ACROSS_ROWS = 64  # measured: the row-wise loop is faster below, the transposed one above


@jit
def _softmax_cross_entropy_across_rows(Z, labels, dY, per_sample, scratch):
    m, k = Z.shape
    S = scratch[:k]  # S^T: the logits, then their exponentials
    for j in range(k):  # written row after row (column after column of Z): 4x faster
        s = S[j]
        for i in range(m):
            s[i] = Z[i, j]
    top, total, lse = scratch[k], scratch[k + 1], scratch[k + 2]
    top[:] = S[0]
    for j in range(1, k):
        s = S[j]
        for i in range(m):
            top[i] = max(top[i], s[i])
    total[:] = 0.0
    for j in range(k):
        s = S[j]
        for i in range(m):
            e = vmath.exp(s[i] - top[i])
            s[i] = e
            total[i] += e  # summed over j in order, for each i: no reordering
    for i in range(m):
        lse[i] = vmath.log_ge1(total[i])
    for i in range(m):
        d = dY[i]
        scale = 1.0 / total[i]
        for j in range(k):
            d[j] = S[j, i] * scale
        y = min(max(labels[i], 0), k - 1)
        d[y] -= 1
        per_sample[i] = lse[i] - (Z[i, y] - top[i])


@jit
def softmax_cross_entropy_probabilities(Z, Y, dY, per_sample, scratch):
    """L_i = log sum_j e^(s_ij) sum_j y_ij - sum_j y_ij s_ij; dY = P - Y."""
    m, k = Z.shape
    e, terms = scratch[0, :k], scratch[1, :k]
    for i in range(m):
        z, y, d = Z[i], Y[i], dY[i]
        top = _row_max(z)
        for j in range(k):
            s = z[j] - top
            e[j] = vmath.exp(s)
            terms[j] = y[j] * s
        total = _sum(e)
        mass = _sum(y)
        scale = 1.0 / total
        for j in range(k):
            d[j] = e[j] * scale - y[j]
        per_sample[i] = math.log(total) * mass - _sum(terms)


@jit
def binary_cross_entropy(Z, Y, dY, per_sample, scratch):
    """L_i = sum_j max(z, 0) - z y + log(1 + e^-|z|); dY = sigmoid(z) - y."""
    m, k = Z.shape
    terms = scratch[0, :k]
    for i in range(m):
        z, y, d = Z[i], Y[i], dY[i]
        for j in range(k):
            v = np.float64(z[j])
            e = vmath.exp(-abs(v))  # e^-|z| in (0, 1]
            terms[j] = vmath.log1p_unit(e) + max(v, 0.0) - v * y[j]
            d[j] = (1.0 if v >= 0.0 else e) / (1.0 + e) - y[j]
        per_sample[i] = _sum(terms)


@jit
def squared_error(Y_hat, Y, dY, per_sample, scratch):
    """L_i = 1/2 sum_j r_ij^2 with r = Y_hat - Y; dY = r."""
    m, k = Y_hat.shape
    terms = scratch[0, :k]
    for i in range(m):
        p, y, d = Y_hat[i], Y[i], dY[i]
        for j in range(k):
            r = p[j] - y[j]
            d[j] = r
            terms[j] = r * r
        per_sample[i] = 0.5 * _sum(terms)


@jit
def absolute_error(Y_hat, Y, dY, per_sample, scratch):
    """L_i = sum_j |r_ij|; dY = sign(r) (0 where r is 0)."""
    m, k = Y_hat.shape
    zero = Y_hat.dtype.type(0)
    one = Y_hat.dtype.type(1)
    terms = scratch[0, :k]
    for i in range(m):
        p, y, d = Y_hat[i], Y[i], dY[i]
        for j in range(k):
            r = p[j] - y[j]
            d[j] = one if r > zero else (-one if r < zero else r)  # NaN stays NaN
            terms[j] = abs(r)
        per_sample[i] = _sum(terms)


@jit
def huber(Y_hat, Y, dY, per_sample, scratch, delta):
    """L_i = sum_j r^2 / 2 if |r| <= delta else delta (|r| - delta / 2); dY = clip(r, +-delta)."""
    m, k = Y_hat.shape
    delta = Y_hat.dtype.type(delta)
    half = Y_hat.dtype.type(0.5)
    half_delta = half * delta
    terms = scratch[0, :k]
    for i in range(m):
        p, y, d = Y_hat[i], Y[i], dY[i]
        for j in range(k):
            r = p[j] - y[j]
            size = abs(r)
            terms[j] = half * r * r if size <= delta else delta * (size - half_delta)
            d[j] = min(max(r, -delta), delta) if r == r else r
        per_sample[i] = _sum(terms)
