"""The compiled passes of a Dense layer's element-wise work, one pass each (see
:mod:`fcnet.activations` for the math and the NumPy reference they must agree with). For each
activation ``<name>`` (``KERNELS``):

* ``<name>_forward(Z, b, A, alpha, sq)``: ``Z <- Z + b`` and ``A <- f(Z)`` (training keeps
  both);
* ``<name>_infer(Z, b, alpha)``: ``Z <- f(Z + b)`` in place (inference);
* ``<name>_backward(dA, Z, A, dZ, db, alpha, sq)``: ``dZ <- dA * f'(Z)`` and ``db <- the sum of
  dZ over the rows``;

and :func:`identity_forward` (``identity_forward(Z, b, alpha, sq)``, where A is Z); the
identity's backward (where dZ is dA) is ``column_sums(dZ, db, sq)`` of
:mod:`fcnet._ops.kernels.sums`, which also holds the sums of the other backward kernels. ``alpha``:
LeakyReLU's and ELU's parameter, unused by the others. Shapes: Z, A, dA, dZ (m, n), b and db
(n,); arrays C-contiguous, of one float dtype.

``sq``: the sums of squares of the array a training pass writes (A forward, dZ backward),
taken while its rows are in cache (see :mod:`fcnet._ops.kernels.sums`): ``sq[n]`` is
``sum_ij A_ij^2``; an empty ``sq``, nothing.

Each activation is first a pair of scalar functions, f and dA * f', beside each other, then its
three loops, each a plain loop over one row that the compiler vectorises. A kernel per
activation, rather than one taking the activation as an argument, compiles (once, into the disk
cache) only what a model uses. The functions with an exponential compute in float64
(:mod:`fcnet._ops.kernels.vmath`) and the store rounds to the dtype; the others stay in the
dtype (``zero``, ``one``, ``alpha`` are of the array's dtype).
"""

from __future__ import annotations

import numpy as np

from fcnet._ops.kernels import sums, vmath
from fcnet._ops.kernels.jit import inline, jit


@jit
def identity_forward(Z, b, alpha, sq):
    """Z <- Z + b (the identity's forward in training: A is Z), with Z's sums of squares."""
    sums.start(sq)
    for i in range(Z.shape[0]):
        z = Z[i]
        for j in range(Z.shape[1]):
            z[j] += b[j]
        sums.add_row(z, sq)
    sums.end(sq)


@jit
def identity_infer(Z, b, alpha):
    """Z <- Z + b (the identity's forward: A is Z)."""
    for i in range(Z.shape[0]):
        z = Z[i]
        for j in range(Z.shape[1]):
            z[j] += b[j]


# --- relu: f(z) = max(z, 0);  dA f'(z) = g if z > 0 else 0
@inline
def _relu(z, alpha, zero):
    return z if z > zero else zero


@inline
def _relu_grad(g, z, a, alpha, zero, one):
    return g if z > zero else zero


@jit
def relu_forward(Z, b, A, alpha, sq):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    sums.start(sq)
    for i in range(Z.shape[0]):
        z, a = Z[i], A[i]
        for j in range(Z.shape[1]):
            v = z[j] + b[j]
            z[j] = v
            a[j] = _relu(v, alpha, zero)
        sums.add_row(a, sq)
    sums.end(sq)


@jit
def relu_infer(Z, b, alpha):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    for i in range(Z.shape[0]):
        z = Z[i]
        for j in range(Z.shape[1]):
            z[j] = _relu(z[j] + b[j], alpha, zero)


@jit
def relu_backward(dA, Z, A, dZ, db, alpha, sq):
    zero, one, alpha = Z.dtype.type(0), Z.dtype.type(1), Z.dtype.type(alpha)
    db[:] = zero
    sums.start(sq)
    for i in range(Z.shape[0]):
        g, z, a, d = dA[i], Z[i], A[i], dZ[i]
        for j in range(Z.shape[1]):
            d[j] = _relu_grad(g[j], z[j], a[j], alpha, zero, one)
        sums.sum_block(dZ, i, db, sq)
    sums.end(sq)


# --- leaky_relu: f(z) = z if z > 0 else alpha z;  dA f'(z) = g if z > 0 else alpha g
@inline
def _leaky_relu(z, alpha, zero):
    return z if z > zero else alpha * z


@inline
def _leaky_relu_grad(g, z, a, alpha, zero, one):
    return g if z > zero else alpha * g


@jit
def leaky_relu_forward(Z, b, A, alpha, sq):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    sums.start(sq)
    for i in range(Z.shape[0]):
        z, a = Z[i], A[i]
        for j in range(Z.shape[1]):
            v = z[j] + b[j]
            z[j] = v
            a[j] = _leaky_relu(v, alpha, zero)
        sums.add_row(a, sq)
    sums.end(sq)


@jit
def leaky_relu_infer(Z, b, alpha):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    for i in range(Z.shape[0]):
        z = Z[i]
        for j in range(Z.shape[1]):
            z[j] = _leaky_relu(z[j] + b[j], alpha, zero)


@jit
def leaky_relu_backward(dA, Z, A, dZ, db, alpha, sq):
    zero, one, alpha = Z.dtype.type(0), Z.dtype.type(1), Z.dtype.type(alpha)
    db[:] = zero
    sums.start(sq)
    for i in range(Z.shape[0]):
        g, z, a, d = dA[i], Z[i], A[i], dZ[i]
        for j in range(Z.shape[1]):
            d[j] = _leaky_relu_grad(g[j], z[j], a[j], alpha, zero, one)
        sums.sum_block(dZ, i, db, sq)
    sums.end(sq)


# --- elu: f(z) = z if z > 0 else alpha (e^z - 1);  dA f'(z) = g if z > 0 else g (f(z) + alpha)
@inline
def _elu(z, alpha, zero):
    return z if z > zero else alpha * vmath.expm1(z)


@inline
def _elu_grad(g, z, a, alpha, zero, one):
    return g * (one if z > zero else a + alpha)


@jit
def elu_forward(Z, b, A, alpha, sq):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    sums.start(sq)
    for i in range(Z.shape[0]):
        z, a = Z[i], A[i]
        for j in range(Z.shape[1]):
            v = z[j] + b[j]
            z[j] = v
            a[j] = _elu(v, alpha, zero)
        sums.add_row(a, sq)
    sums.end(sq)


@jit
def elu_infer(Z, b, alpha):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    for i in range(Z.shape[0]):
        z = Z[i]
        for j in range(Z.shape[1]):
            z[j] = _elu(z[j] + b[j], alpha, zero)


@jit
def elu_backward(dA, Z, A, dZ, db, alpha, sq):
    zero, one, alpha = Z.dtype.type(0), Z.dtype.type(1), Z.dtype.type(alpha)
    db[:] = zero
    sums.start(sq)
    for i in range(Z.shape[0]):
        g, z, a, d = dA[i], Z[i], A[i], dZ[i]
        for j in range(Z.shape[1]):
            d[j] = _elu_grad(g[j], z[j], a[j], alpha, zero, one)
        sums.sum_block(dZ, i, db, sq)
    sums.end(sq)


# --- gelu: f(z) = z Phi(z);  dA f'(z) = g (Phi(z) + z phi(z))
@inline
def _gelu(z, alpha, zero):
    return z * vmath.normal_cdf(z)


@inline
def _gelu_grad(g, z, a, alpha, zero, one):
    return g * (vmath.normal_cdf(z) + z * vmath.normal_pdf(z))


@jit
def gelu_forward(Z, b, A, alpha, sq):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    sums.start(sq)
    for i in range(Z.shape[0]):
        z, a = Z[i], A[i]
        for j in range(Z.shape[1]):
            v = z[j] + b[j]
            z[j] = v
            a[j] = _gelu(v, alpha, zero)
        sums.add_row(a, sq)
    sums.end(sq)


@jit
def gelu_infer(Z, b, alpha):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    for i in range(Z.shape[0]):
        z = Z[i]
        for j in range(Z.shape[1]):
            z[j] = _gelu(z[j] + b[j], alpha, zero)


@jit
def gelu_backward(dA, Z, A, dZ, db, alpha, sq):
    zero, one, alpha = Z.dtype.type(0), Z.dtype.type(1), Z.dtype.type(alpha)
    db[:] = zero
    sums.start(sq)
    for i in range(Z.shape[0]):
        g, z, a, d = dA[i], Z[i], A[i], dZ[i]
        for j in range(Z.shape[1]):
            d[j] = _gelu_grad(g[j], z[j], a[j], alpha, zero, one)
        sums.sum_block(dZ, i, db, sq)
    sums.end(sq)


# --- sigmoid: f(z) = 1 / (1 + e^-z);  dA f'(z) = g f (1 - f)
@inline
def _sigmoid(z, alpha, zero):  # from t = e^-|z| / (1 + e^-|z|) = sigmoid(-|z|): no overflow
    e = vmath.exp(-abs(np.float64(z)))
    t = e / (1.0 + e)
    return 1.0 - t if z >= zero else t


@inline
def _sigmoid_grad(g, z, a, alpha, zero, one):
    return (one - a) * a * g


@jit
def sigmoid_forward(Z, b, A, alpha, sq):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    sums.start(sq)
    for i in range(Z.shape[0]):
        z, a = Z[i], A[i]
        for j in range(Z.shape[1]):
            v = z[j] + b[j]
            z[j] = v
            a[j] = _sigmoid(v, alpha, zero)
        sums.add_row(a, sq)
    sums.end(sq)


@jit
def sigmoid_infer(Z, b, alpha):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    for i in range(Z.shape[0]):
        z = Z[i]
        for j in range(Z.shape[1]):
            z[j] = _sigmoid(z[j] + b[j], alpha, zero)


@jit
def sigmoid_backward(dA, Z, A, dZ, db, alpha, sq):
    zero, one, alpha = Z.dtype.type(0), Z.dtype.type(1), Z.dtype.type(alpha)
    db[:] = zero
    sums.start(sq)
    for i in range(Z.shape[0]):
        g, z, a, d = dA[i], Z[i], A[i], dZ[i]
        for j in range(Z.shape[1]):
            d[j] = _sigmoid_grad(g[j], z[j], a[j], alpha, zero, one)
        sums.sum_block(dZ, i, db, sq)
    sums.end(sq)


# --- tanh: f(z) = tanh z;  dA f'(z) = g (1 - f^2)
@inline
def _tanh(z, alpha, zero):
    return vmath.tanh(z)


@inline
def _tanh_grad(g, z, a, alpha, zero, one):
    return (one - a * a) * g


@jit
def tanh_forward(Z, b, A, alpha, sq):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    sums.start(sq)
    for i in range(Z.shape[0]):
        z, a = Z[i], A[i]
        for j in range(Z.shape[1]):
            v = z[j] + b[j]
            z[j] = v
            a[j] = _tanh(v, alpha, zero)
        sums.add_row(a, sq)
    sums.end(sq)


@jit
def tanh_infer(Z, b, alpha):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    for i in range(Z.shape[0]):
        z = Z[i]
        for j in range(Z.shape[1]):
            z[j] = _tanh(z[j] + b[j], alpha, zero)


@jit
def tanh_backward(dA, Z, A, dZ, db, alpha, sq):
    zero, one, alpha = Z.dtype.type(0), Z.dtype.type(1), Z.dtype.type(alpha)
    db[:] = zero
    sums.start(sq)
    for i in range(Z.shape[0]):
        g, z, a, d = dA[i], Z[i], A[i], dZ[i]
        for j in range(Z.shape[1]):
            d[j] = _tanh_grad(g[j], z[j], a[j], alpha, zero, one)
        sums.sum_block(dZ, i, db, sq)
    sums.end(sq)


# --- softplus: f(z) = max(z, 0) + log(1 + e^-|z|);  dA f'(z) = g sigmoid(z)
@inline
def _softplus(z, alpha, zero):  # the form on the right never overflows
    z = np.float64(z)
    return max(z, 0.0) + vmath.log1p_unit(vmath.exp(-abs(z)))


@inline
def _softplus_grad(g, z, a, alpha, zero, one):
    return g * _sigmoid(z, alpha, zero)


@jit
def softplus_forward(Z, b, A, alpha, sq):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    sums.start(sq)
    for i in range(Z.shape[0]):
        z, a = Z[i], A[i]
        for j in range(Z.shape[1]):
            v = z[j] + b[j]
            z[j] = v
            a[j] = _softplus(v, alpha, zero)
        sums.add_row(a, sq)
    sums.end(sq)


@jit
def softplus_infer(Z, b, alpha):
    zero, alpha = Z.dtype.type(0), Z.dtype.type(alpha)
    for i in range(Z.shape[0]):
        z = Z[i]
        for j in range(Z.shape[1]):
            z[j] = _softplus(z[j] + b[j], alpha, zero)


@jit
def softplus_backward(dA, Z, A, dZ, db, alpha, sq):
    zero, one, alpha = Z.dtype.type(0), Z.dtype.type(1), Z.dtype.type(alpha)
    db[:] = zero
    sums.start(sq)
    for i in range(Z.shape[0]):
        g, z, a, d = dA[i], Z[i], A[i], dZ[i]
        for j in range(Z.shape[1]):
            d[j] = _softplus_grad(g[j], z[j], a[j], alpha, zero, one)
        sums.sum_block(dZ, i, db, sq)
    sums.end(sq)


#: name -> (forward, infer, backward) for every activation with kernels (softmax has none: its
#: row sums and maxima are serial in a kernel, slower than NumPy's reductions).
KERNELS = {
    name: (globals()[f"{name}_forward"], globals()[f"{name}_infer"], globals()[f"{name}_backward"])
    for name in ("relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus")
}
#: The activations whose forward kernels beat NumPy's passes (measured on float32 batches of 32 to
#: 1,024 rows of 256: ReLU and leaky ReLU 1.2-2x, ELU 1.5x, sigmoid 2x, GELU 7-13x); for tanh and
#: softplus NumPy's own vectorised float32 tanh, exp and log1p, two passes, beat the float64
#: evaluation in one (2-4x), so those keep NumPy's forward and use the kernels backward.
FORWARD = frozenset({"identity", "relu", "leaky_relu", "elu", "gelu", "sigmoid"})
