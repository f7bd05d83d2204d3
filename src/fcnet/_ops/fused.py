"""The fused passes of the CPU: the methods of :class:`fcnet._ops.base.Ops` that run a
compiled kernel (:mod:`fcnet._ops.kernels`) where there is one, and otherwise the reference:
the matrix product (the BLAS called from compiled code), bias and activation, the activation's
derivative with the bias gradient, a Dense layer's whole pass with its products, the losses.
The optimizers' updates are in :mod:`fcnet._ops.kernel_ops`.

A kernel is used when it is installed (Numba, the ``fast`` extra), when the object it stands in
for is one of fcnet's own (an activation whose class is defined in :mod:`fcnet.activations`: a
user's subclass, which may override ``apply``, keeps its own code), when it is faster than
NumPy's passes for that activation (see ``FORWARD`` in :mod:`fcnet._ops.kernels.activations`),
and when the arrays it is given share one float dtype and the inputs that come from outside the
layer are C-contiguous (others would make Numba compile a new variant at the first call).
``FusedOps(kernels=False)`` never uses one: the NumPy route, for comparison.

These methods run several times a training step, so they check little and look up less: the
kernels are resolved once per object and the activation's kernel code once per class (a few
hundred nanoseconds a call, against microseconds for a chain of NumPy calls).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._ops.base import FLOATS, OWN_ACTIVATIONS
from fcnet._ops.kernel_ops import KernelOps

#: What a kernel takes for ``sq`` when no sum of squares is asked of it (always this one array:
#: one compiled variant)
_NO_SQUARES = np.empty(0, np.float64)


def _writable_like(out: Any, like: Any) -> bool:
    """Whether ``out`` can take a product shaped like ``like``: same dtype and shape,
    C-contiguous (the BLAS writes it as such)."""
    return out.dtype is like.dtype and out.shape == like.shape and out.flags.c_contiguous


def _takes_squares(squares: Any, n: int) -> bool:
    """Whether a kernel can take ``squares`` for an array of n columns: None (not asked), or
    a C-contiguous float64 NumPy array of shape (n + 1,)."""
    return squares is None or (
        type(squares) is np.ndarray
        and squares.dtype == np.float64
        and squares.shape == (n + 1,)
        and squares.flags.c_contiguous
    )


class FusedOps(KernelOps):
    """The fused passes of :class:`~fcnet._ops.numpy_ops.NumpyOps` (see the module docstring).

    Parameters
    ----------
    kernels : bool, default True
        Use the compiled kernels when they are installed; False: always the NumPy reference.
    """

    # --- products ---------------------------------------------------------------------------
    def _compiled_gemm(
        self, A: Any, B: Any, C: Any, trans_a: bool, trans_b: bool, alpha: float, beta: float
    ) -> bool:
        """``C <- alpha op(A) op(B) + beta C`` through the compiled BLAS call, when there is one
        and it can take these arrays (C-contiguous, one dtype, shapes that agree, no empty
        dimension); False: not done, C unchanged."""
        cache = self._cache
        K = cache.K if cache.K is not None else self._load()
        if not K or K.gemm is None:
            return False
        dtype = C.dtype
        if A.dtype is not dtype or B.dtype is not dtype or dtype.kind != "f":
            return False
        if A.ndim != 2 or B.ndim != 2 or C.ndim != 2:
            return False
        M, K_a = A.shape[::-1] if trans_a else A.shape
        K_b, N = B.shape[::-1] if trans_b else B.shape
        if K_a != K_b or C.shape != (M, N) or not (M and N and K_a):
            return False
        if not (A.flags.c_contiguous and B.flags.c_contiguous and C.flags.c_contiguous):
            return False
        K.gemm(A, B, C, float(alpha), float(beta), trans_a, trans_b)
        return True

    # --- activations ------------------------------------------------------------------------
    def _kernels_for(self, kind: type, activation: Any) -> None:
        """Fill the tables for the activation class ``kind``."""
        forward = backward = dense = None
        K = self._load()
        if K is not None and kind.__module__ == OWN_ACTIVATIONS:
            name = getattr(activation, "name", None)
            kernels = K.activations
            if name == "identity":
                forward, backward = (None, kernels.identity_infer), K.sums.column_sums
            elif name in kernels.KERNELS:
                forward_kernel, infer, backward = kernels.KERNELS[name]
                if name in kernels.FORWARD:
                    forward = (forward_kernel, infer)
            if backward is not None and K.dense is not None:
                dense_forward, dense_infer, dense_backward = K.dense.KERNELS[name]
                if forward is None:  # NumPy's forward is faster: the product alone is compiled
                    dense_forward = dense_infer = None
                dense = (dense_forward, dense_infer, dense_backward)
        cache = self._cache
        cache.forward[kind], cache.backward[kind], cache.dense[kind] = forward, backward, dense

    def fuses(self, activation: Any) -> bool:
        kind = type(activation)
        if kind not in self._cache.forward:
            self._kernels_for(kind, activation)
        return self._cache.forward[kind] is not None

    def bias_activation(self, Z: Any, b: Any, activation: Any, out: Any) -> Any:
        kind, cache = type(activation), self._cache
        if kind not in cache.forward:
            self._kernels_for(kind, activation)
        kernels = cache.forward[kind]
        if kernels is None or b.dtype is not Z.dtype or out.dtype is not Z.dtype:
            return super().bias_activation(Z, b, activation, out)
        forward, infer = kernels
        if forward is None or out is Z:  # the identity, or inference
            infer(Z, b, getattr(activation, "alpha", 0.0))
            return Z
        forward(Z, b, out, getattr(activation, "alpha", 0.0), _NO_SQUARES)
        return out

    def activation_backward_colsum(
        self, dA: Any, Z: Any, A: Any, activation: Any, out: Any, db: Any
    ) -> Any:
        kind, cache = type(activation), self._cache
        if kind not in cache.backward:
            self._kernels_for(kind, activation)
        backward = cache.backward[kind]
        dtype = Z.dtype
        if (
            backward is None
            or dA.dtype is not dtype
            or A.dtype is not dtype
            or db.dtype is not dtype
            or not dA.flags.c_contiguous
        ):
            return super().activation_backward_colsum(dA, Z, A, activation, out, db)
        if backward is cache.K.sums.column_sums:  # the identity: dZ is dA
            backward(dA, db, _NO_SQUARES)
            return dA
        backward(dA, Z, A, out, db, getattr(activation, "alpha", 0.0), _NO_SQUARES)
        return out

    def _dense_kernels(self, activation: Any, X: Any, W: Any, Z: Any) -> Any:
        """The activation's Dense-layer kernels when they can take X (m, n_in), W (n_in, n_out)
        and the layer's buffer Z (m, n_out), else None."""
        kind, cache = type(activation), self._cache
        if kind not in cache.dense:
            self._kernels_for(kind, activation)
        kernels = cache.dense[kind]
        if kernels is None or X.dtype is not W.dtype or Z.dtype is not W.dtype:
            return None
        m, n_in = X.shape
        if not (m and n_in and W.shape == (n_in, Z.shape[1]) and Z.shape[0] == m):
            return None
        if not (X.flags.c_contiguous and W.flags.c_contiguous):
            return None
        return kernels

    def dense_forward(
        self, X: Any, W: Any, b: Any, activation: Any, Z: Any, A: Any, squares: Any = None
    ) -> Any:
        kernels = self._dense_kernels(activation, X, W, Z)
        if (
            kernels is None
            or kernels[0] is None
            or b.dtype is not Z.dtype
            or not _takes_squares(squares, Z.shape[1])
        ):
            return super().dense_forward(X, W, b, activation, Z, A, squares)
        alpha = getattr(activation, "alpha", 0.0)
        if A is Z and squares is None:
            kernels[1](X, W, b, Z, alpha)
        else:  # training (the identity's A is Z)
            kernels[0](X, W, b, Z, A, alpha, _NO_SQUARES if squares is None else squares)
        return Z if activation.name == "identity" else A

    def dense_backward(
        self,
        dA: Any,
        X: Any,
        W: Any,
        Z: Any,
        A: Any,
        activation: Any,
        dZ: Any,
        db: Any,
        dW: Any = None,
        dX: Any = None,
        squares: Any = None,
    ) -> Any:
        kernels = self._dense_kernels(activation, X, W, Z)
        dtype = Z.dtype
        if (
            kernels is None
            or dA.dtype is not dtype
            or db.dtype is not dtype
            or dA.shape != Z.shape
            or not dA.flags.c_contiguous
            or (dW is not None and not _writable_like(dW, W))
            or (dX is not None and not _writable_like(dX, X))
            or not _takes_squares(squares, Z.shape[1])
        ):
            return super().dense_backward(dA, X, W, Z, A, activation, dZ, db, dW, dX, squares)
        alpha = getattr(activation, "alpha", 0.0)
        need_dW, need_dX = dW is not None, dX is not None
        # an output not asked for: any array of its type stands in (it is not written)
        dW, dX = (dW if need_dW else W), (dX if need_dX else X)
        sq = _NO_SQUARES if squares is None else squares
        kernels[2](dA, X, W, Z, A, dZ, db, dW, dX, alpha, need_dW, need_dX, sq)
        return dA if activation.name == "identity" else dZ

    # --- the gather of a batch ------------------------------------------------------------------
    def _compiled_take_rows(self, X: Any, rows: Any, out: Any, squares: Any) -> bool:
        """``out <- X[rows]`` with the sum of squares into ``squares`` in one compiled pass
        (:func:`fcnet._ops.kernels.sums.take_rows`), when the kernels are installed and can
        take these arrays; False: not done."""
        K = self._load()
        if K is None or type(X) is not np.ndarray or X.ndim != 2 or X.dtype not in FLOATS:
            return False
        if out.dtype is not X.dtype or out.shape != (len(rows), X.shape[1]):
            return False
        if not (X.flags.c_contiguous and out.flags.c_contiguous):
            return False
        if rows.dtype != np.int64 or rows.ndim != 1 or not _takes_squares(squares, X.shape[1]):
            return False
        K.sums.take_rows(X, rows, out, squares)
        return True

    # --- losses -------------------------------------------------------------------------------
    def _loss_kernels(self, Z: Any, Y: Any, dY: Any) -> Any:
        """The loss kernels when they can take these arrays, else None."""
        K = self._load()
        if (
            K is None
            or dY.dtype is not Z.dtype
            or not (Z.flags.c_contiguous and Y.flags.c_contiguous)
        ):
            return None
        return K.losses

    def softmax_cross_entropy(
        self, Z: Any, Y: Any, dY: Any, per_sample: Any, buffers: Any = None
    ) -> bool:
        kernels = self._loss_kernels(Z, Y, dY)
        if kernels is None or buffers is None:
            return False
        m, k = Z.shape
        scratch = buffers.get("fused_scratch", k + 3, max(m, k), Z.dtype)
        if Y.ndim == 1 and Y.dtype.kind in "iu":
            kernels.softmax_cross_entropy_labels(Z, Y, dY, per_sample, scratch)
        elif Y.dtype is Z.dtype and Y.shape == Z.shape:
            kernels.softmax_cross_entropy_probabilities(Z, Y, dY, per_sample, scratch)
        else:
            return False
        return True

    def _elementwise_loss(self, name: str, Y_hat: Any, Y: Any, dY: Any, buffers: Any) -> Any:
        """(kernel, scratch) for the loss ``name`` when it can take these arrays, else None."""
        kernels = self._loss_kernels(Y_hat, Y, dY)
        if kernels is None or buffers is None or Y.dtype is not Y_hat.dtype:
            return None
        if Y.shape != Y_hat.shape:
            return None
        scratch = buffers.get("fused_scratch", 1, Y_hat.shape[1], Y_hat.dtype)
        return getattr(kernels, name), scratch

    def binary_cross_entropy(
        self, Z: Any, Y: Any, dY: Any, per_sample: Any, buffers: Any = None
    ) -> bool:
        found = self._elementwise_loss("binary_cross_entropy", Z, Y, dY, buffers)
        return found is not None and found[0](Z, Y, dY, per_sample, found[1]) is None

    def squared_error(
        self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any, buffers: Any = None
    ) -> bool:
        found = self._elementwise_loss("squared_error", Y_hat, Y, dY, buffers)
        return found is not None and found[0](Y_hat, Y, dY, per_sample, found[1]) is None

    def absolute_error(
        self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any, buffers: Any = None
    ) -> bool:
        found = self._elementwise_loss("absolute_error", Y_hat, Y, dY, buffers)
        return found is not None and found[0](Y_hat, Y, dY, per_sample, found[1]) is None

    def huber(
        self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any, delta: float, buffers: Any = None
    ) -> bool:
        found = self._elementwise_loss("huber", Y_hat, Y, dY, buffers)
        if found is None:
            return False
        found[0](Y_hat, Y, dY, per_sample, found[1], float(delta))
        return True
