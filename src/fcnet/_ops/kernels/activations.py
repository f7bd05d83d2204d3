"""The compiled passes of a Dense layer's element-wise work, one pass each (see
:mod:`fcnet.activations` for the math and the NumPy reference they must agree with):

* :func:`bias_activation`: ``Z <- Z + b`` and ``A <- f(Z)`` (training keeps both);
* :func:`bias_activation_inplace`: ``Z <- f(Z + b)`` (inference);
* :func:`activation_backward`: ``dZ <- dA * f'(Z)`` and ``db <- sum of dZ over the rows``;
* :func:`column_sums`: ``db`` alone (the identity's backward, where dZ is dA).

Shapes: Z, A, dA, dZ (m, n), b and db (n,). Arrays are C-contiguous, of one float dtype.

Each activation is a pair of scalar functions below, f and dA * f', written beside each other;
a kernel runs the loop of the activation named by its code (``CODES``) over each row, so that
every inner loop is a plain loop over one row that the compiler vectorises. The functions with
an exponential compute in float64 (:mod:`fcnet._ops.kernels.vmath`) and the store rounds to
the dtype; the others stay in the dtype. ``db`` is summed row after row into each column, in
the dtype: the same order every run.
"""

from __future__ import annotations

import numpy as np

from fcnet._ops.kernels import vmath
from fcnet._ops.kernels.jit import jit

IDENTITY, RELU, LEAKY_RELU, ELU, GELU, SIGMOID, TANH, SOFTPLUS = range(8)
CODES = {
    "identity": IDENTITY,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "elu": ELU,
    "gelu": GELU,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "softplus": SOFTPLUS,
}


# --- f and dA * f', activation by activation ------------------------------------------------
# ``zero`` and ``one`` are of the array's dtype, so that float32 stays float32.
@jit
def _relu(z, zero):  # max(z, 0)
    return z if z > zero else zero


@jit
def _relu_grad(g, z, zero):  # g if z > 0 else 0
    return g if z > zero else zero


@jit
def _leaky_relu(z, alpha, zero):  # z if z > 0 else alpha z
    return z if z > zero else alpha * z


@jit
def _leaky_relu_grad(g, z, alpha, zero):  # g if z > 0 else alpha g
    return g if z > zero else alpha * g


@jit
def _elu(z, alpha, zero):  # z if z > 0 else alpha (e^z - 1)
    return z if z > zero else alpha * vmath.expm1(z)


@jit
def _elu_grad(g, z, a, alpha, zero, one):  # g if z > 0 else g (f(z) + alpha)
    return g * (one if z > zero else a + alpha)


@jit
def _gelu(z):  # z Phi(z)
    return z * vmath.normal_cdf(z)


@jit
def _gelu_grad(g, z):  # g (Phi(z) + z phi(z))
    return g * (vmath.normal_cdf(z) + z * vmath.normal_pdf(z))


@jit
def _sigmoid(z):  # 1 / (1 + e^-z), from t = e^-|z| / (1 + e^-|z|) = sigmoid(-|z|)
    e = vmath.exp(-abs(np.float64(z)))
    t = e / (1.0 + e)
    return 1.0 - t if z >= 0 else t


@jit
def _sigmoid_grad(g, a, one):  # g f (1 - f)
    return (one - a) * a * g


@jit
def _tanh_grad(g, a, one):  # g (1 - f^2)
    return (one - a * a) * g


@jit
def _softplus(z):  # max(z, 0) + log(1 + e^-|z|)
    z = np.float64(z)
    return max(z, 0.0) + vmath.log1p_unit(vmath.exp(-abs(z)))


# softplus' = sigmoid: ``_sigmoid(z) * g``


# --- the kernels ----------------------------------------------------------------------------
@jit
def bias_activation(code, Z, b, A, alpha):
    """Z <- Z + b, A <- f(Z) for the activation ``code`` (alpha: LeakyReLU's and ELU's)."""
    zero = Z.dtype.type(0)
    alpha = Z.dtype.type(alpha)
    n = Z.shape[1]
    for i in range(Z.shape[0]):
        z, a = Z[i], A[i]
        if code == RELU:
            for j in range(n):
                v = z[j] + b[j]
                z[j] = v
                a[j] = _relu(v, zero)
        elif code == LEAKY_RELU:
            for j in range(n):
                v = z[j] + b[j]
                z[j] = v
                a[j] = _leaky_relu(v, alpha, zero)
        elif code == ELU:
            for j in range(n):
                v = z[j] + b[j]
                z[j] = v
                a[j] = _elu(v, alpha, zero)
        elif code == GELU:
            for j in range(n):
                v = z[j] + b[j]
                z[j] = v
                a[j] = _gelu(v)
        elif code == SIGMOID:
            for j in range(n):
                v = z[j] + b[j]
                z[j] = v
                a[j] = _sigmoid(v)
        elif code == TANH:
            for j in range(n):
                v = z[j] + b[j]
                z[j] = v
                a[j] = vmath.tanh(v)
        elif code == SOFTPLUS:
            for j in range(n):
                v = z[j] + b[j]
                z[j] = v
                a[j] = _softplus(v)
        else:  # IDENTITY: A is Z (the caller passes Z as A)
            for j in range(n):
                z[j] += b[j]


@jit
def bias_activation_inplace(code, Z, b, alpha):
    """Z <- f(Z + b) in place, for inference (no Z to keep for a backward pass)."""
    zero = Z.dtype.type(0)
    alpha = Z.dtype.type(alpha)
    n = Z.shape[1]
    for i in range(Z.shape[0]):
        z = Z[i]
        if code == RELU:
            for j in range(n):
                z[j] = _relu(z[j] + b[j], zero)
        elif code == LEAKY_RELU:
            for j in range(n):
                z[j] = _leaky_relu(z[j] + b[j], alpha, zero)
        elif code == ELU:
            for j in range(n):
                z[j] = _elu(z[j] + b[j], alpha, zero)
        elif code == GELU:
            for j in range(n):
                z[j] = _gelu(z[j] + b[j])
        elif code == SIGMOID:
            for j in range(n):
                z[j] = _sigmoid(z[j] + b[j])
        elif code == TANH:
            for j in range(n):
                z[j] = vmath.tanh(z[j] + b[j])
        elif code == SOFTPLUS:
            for j in range(n):
                z[j] = _softplus(z[j] + b[j])
        else:
            for j in range(n):
                z[j] += b[j]


@jit
def activation_backward(code, dA, Z, A, dZ, db, alpha):
    """dZ <- dA * f'(Z) and db <- the column sums of dZ, for the activation ``code``."""
    zero = Z.dtype.type(0)
    one = Z.dtype.type(1)
    alpha = Z.dtype.type(alpha)
    n = Z.shape[1]
    db[:] = zero
    for i in range(Z.shape[0]):
        g, z, a, d = dA[i], Z[i], A[i], dZ[i]
        if code == RELU:
            for j in range(n):
                d[j] = _relu_grad(g[j], z[j], zero)
        elif code == LEAKY_RELU:
            for j in range(n):
                d[j] = _leaky_relu_grad(g[j], z[j], alpha, zero)
        elif code == ELU:
            for j in range(n):
                d[j] = _elu_grad(g[j], z[j], a[j], alpha, zero, one)
        elif code == GELU:
            for j in range(n):
                d[j] = _gelu_grad(g[j], z[j])
        elif code == SIGMOID:
            for j in range(n):
                d[j] = _sigmoid_grad(g[j], a[j], one)
        elif code == TANH:
            for j in range(n):
                d[j] = _tanh_grad(g[j], a[j], one)
        elif code == SOFTPLUS:
            for j in range(n):
                d[j] = g[j] * _sigmoid(z[j])
        else:
            for j in range(n):
                d[j] = g[j]
        for j in range(n):
            db[j] += d[j]


@jit
def column_sums(dZ, db):
    """db <- the sum of dZ's rows, added row after row."""
    db[:] = 0
    for i in range(dZ.shape[0]):
        row = dZ[i]
        for j in range(dZ.shape[1]):
            db[j] += row[j]


# --- softmax over each row --------------------------------------------------------------------
@jit
def bias_softmax(Z, b, A):
    """Z <- Z + b, A <- softmax of each row of Z: e^(z_j - max z) / sum_k e^(z_k - max z).
    ``A`` may be ``Z`` itself (each row is read before it is written)."""
    n = Z.shape[1]
    for i in range(Z.shape[0]):
        z, a = Z[i], A[i]
        top = z[0] + b[0]
        for j in range(n):
            v = z[j] + b[j]
            z[j] = v
            top = max(top, v)
        total = 0.0
        for j in range(n):
            e = vmath.exp(z[j] - top)
            a[j] = e
            total += e
        scale = 1.0 / total
        for j in range(n):
            a[j] = a[j] * scale


@jit
def softmax_backward(dA, A, dZ, db):
    """dZ <- A * (dA - sum_j dA_j A_j) per row, and db <- the column sums of dZ."""
    n = A.shape[1]
    db[:] = 0
    for i in range(A.shape[0]):
        g, a, d = dA[i], A[i], dZ[i]
        dot = 0.0
        for j in range(n):
            dot += g[j] * a[j]
        for j in range(n):
            d[j] = a[j] * (g[j] - dot)
            db[j] += d[j]
