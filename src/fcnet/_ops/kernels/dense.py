"""A Dense layer's pass in one compiled call: the product through the BLAS
(:func:`fcnet._ops.kernels.blas.gemm`) and the element-wise work of
:mod:`fcnet._ops.kernels.activations` beside it, for each activation ``<name>``:

* ``<name>_forward(X, W, b, Z, A, alpha, sq)``: Z <- X W + b, A <- f(Z);
* ``<name>_infer(X, W, b, Z, alpha)``: Z <- f(X W + b) (inference);
* ``<name>_backward(dA, X, W, Z, A, dZ, db, dW, dX, alpha, need_dW, need_dX, sq)``:
  dZ <- dA * f'(Z), db <- the column sums of dZ, and where asked dW <- X^T dZ, dX <- dZ W^T;

for the identity too (A is Z, dZ is dA). ``sq``: the sums of squares of A (forward) or dZ
(backward), or empty (see :mod:`fcnet._ops.kernels.squares`). One call where there were three
(forward) or five (backward): a training step of a small network is mostly the cost of its
calls. The numbers are those of the separate kernels and of ``np.matmul`` with the same BLAS.

Shapes: X (m, n_in), W (n_in, n_out), b and db (n_out,), Z, A, dA, dZ (m, n_out), dW (n_in,
n_out), dX (m, n_in); C-contiguous, one float dtype, no dimension 0 (the caller checks).
"""

from __future__ import annotations

from fcnet._ops.kernels import activations as act
from fcnet._ops.kernels import sums
from fcnet._ops.kernels.blas import gemm
from fcnet._ops.kernels.jit import jit


@jit
def _products(dZ, X, W, dW, dX, need_dW, need_dX):
    """dW <- X^T dZ and dX <- dZ W^T, each where asked."""
    if need_dW:
        gemm(X, dZ, dW, 1.0, 0.0, True, False)
    if need_dX:
        gemm(dZ, W, dX, 1.0, 0.0, False, True)


@jit
def identity_forward(X, W, b, Z, A, alpha, sq):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.identity_forward(Z, b, alpha, sq)


@jit
def identity_infer(X, W, b, Z, alpha):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.identity_infer(Z, b, alpha)


@jit
def identity_backward(dA, X, W, Z, A, dZ, db, dW, dX, alpha, need_dW, need_dX, sq):
    sums.column_sums(dA, db, sq)
    _products(dA, X, W, dW, dX, need_dW, need_dX)


@jit
def relu_forward(X, W, b, Z, A, alpha, sq):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.relu_forward(Z, b, A, alpha, sq)


@jit
def relu_infer(X, W, b, Z, alpha):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.relu_infer(Z, b, alpha)


@jit
def relu_backward(dA, X, W, Z, A, dZ, db, dW, dX, alpha, need_dW, need_dX, sq):
    act.relu_backward(dA, Z, A, dZ, db, alpha, sq)
    _products(dZ, X, W, dW, dX, need_dW, need_dX)


@jit
def leaky_relu_forward(X, W, b, Z, A, alpha, sq):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.leaky_relu_forward(Z, b, A, alpha, sq)


@jit
def leaky_relu_infer(X, W, b, Z, alpha):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.leaky_relu_infer(Z, b, alpha)


@jit
def leaky_relu_backward(dA, X, W, Z, A, dZ, db, dW, dX, alpha, need_dW, need_dX, sq):
    act.leaky_relu_backward(dA, Z, A, dZ, db, alpha, sq)
    _products(dZ, X, W, dW, dX, need_dW, need_dX)


@jit
def elu_forward(X, W, b, Z, A, alpha, sq):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.elu_forward(Z, b, A, alpha, sq)


@jit
def elu_infer(X, W, b, Z, alpha):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.elu_infer(Z, b, alpha)


@jit
def elu_backward(dA, X, W, Z, A, dZ, db, dW, dX, alpha, need_dW, need_dX, sq):
    act.elu_backward(dA, Z, A, dZ, db, alpha, sq)
    _products(dZ, X, W, dW, dX, need_dW, need_dX)


@jit
def gelu_forward(X, W, b, Z, A, alpha, sq):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.gelu_forward(Z, b, A, alpha, sq)


@jit
def gelu_infer(X, W, b, Z, alpha):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.gelu_infer(Z, b, alpha)


@jit
def gelu_backward(dA, X, W, Z, A, dZ, db, dW, dX, alpha, need_dW, need_dX, sq):
    act.gelu_backward(dA, Z, A, dZ, db, alpha, sq)
    _products(dZ, X, W, dW, dX, need_dW, need_dX)


@jit
def sigmoid_forward(X, W, b, Z, A, alpha, sq):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.sigmoid_forward(Z, b, A, alpha, sq)


@jit
def sigmoid_infer(X, W, b, Z, alpha):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.sigmoid_infer(Z, b, alpha)


@jit
def sigmoid_backward(dA, X, W, Z, A, dZ, db, dW, dX, alpha, need_dW, need_dX, sq):
    act.sigmoid_backward(dA, Z, A, dZ, db, alpha, sq)
    _products(dZ, X, W, dW, dX, need_dW, need_dX)


@jit
def tanh_forward(X, W, b, Z, A, alpha, sq):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.tanh_forward(Z, b, A, alpha, sq)


@jit
def tanh_infer(X, W, b, Z, alpha):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.tanh_infer(Z, b, alpha)


@jit
def tanh_backward(dA, X, W, Z, A, dZ, db, dW, dX, alpha, need_dW, need_dX, sq):
    act.tanh_backward(dA, Z, A, dZ, db, alpha, sq)
    _products(dZ, X, W, dW, dX, need_dW, need_dX)


@jit
def softplus_forward(X, W, b, Z, A, alpha, sq):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.softplus_forward(Z, b, A, alpha, sq)


@jit
def softplus_infer(X, W, b, Z, alpha):
    gemm(X, W, Z, 1.0, 0.0, False, False)
    act.softplus_infer(Z, b, alpha)


@jit
def softplus_backward(dA, X, W, Z, A, dZ, db, dW, dX, alpha, need_dW, need_dX, sq):
    act.softplus_backward(dA, Z, A, dZ, db, alpha, sq)
    _products(dZ, X, W, dW, dX, need_dW, need_dX)


#: name -> (forward, infer, backward), as ``activations.KERNELS`` (the identity included)
KERNELS = {
    name: (globals()[f"{name}_forward"], globals()[f"{name}_infer"], globals()[f"{name}_backward"])
    for name in ("identity", *act.KERNELS)
}
