"""The array-operations seam: every array the engine allocates or computes goes through one
``Ops`` object per model, so that the same layers, losses, optimizers and training step run on
the CPU (:class:`~fcnet._ops.numpy_ops.NumpyOps`), on a GPU, or on the test suite's fake device.

An ``Ops`` gives:

* ``xp``: the array module of its arrays, for the element-wise math (``xp.maximum(Z, 0, out=A)``);
* allocation: :meth:`empty`, :meth:`zeros`, :meth:`arange`, and moving data:
  :meth:`asarray` (host to device), :meth:`to_host` and :meth:`item` (device to host: the
  reads a GPU pays a synchronisation for, which the training step avoids);
* the products, with PyTorch's and the BLAS's scalars: ``C <- alpha op(A) op(B) + beta C``
  (:meth:`gemm`), column sums (:meth:`sum_rows`, the ``db`` of a batch), the row gather of a
  batch (:meth:`take_rows`), ``y <- y + alpha x`` (:meth:`axpy`), the sum of squares of a flat
  buffer (:meth:`sum_of_squares`) and uniform draws (:meth:`uniform`);
* fused passes, each one pass over the arrays where a subclass has a compiled kernel for it:
  :meth:`bias_activation` (``A = f(Z + b)``), :meth:`activation_backward_colsum`
  (``dZ = dA * f'(Z)`` with ``db``), a Dense layer's whole pass with its products
  (:meth:`dense_forward`, :meth:`dense_backward`; with the sum of squares of what they write
  where asked, :meth:`squares_into`), the losses with their gradients
  (:meth:`softmax_cross_entropy`, ...), the optimizers' updates (:meth:`adam_update`, ...,
  in :mod:`fcnet._ops.update_ops`). Here the first four compute with the activation's own
  ``xp`` code (and :meth:`gemm`), the others return False: the caller then runs its own
  ``xp`` code, the readable reference beside the equations, which is also what a user's own
  activation always gets;
* policy: ``host_checks`` says whether the step may read a value back every step (True on the
  CPU, where a read costs nothing; False on a device, where the divergence check then keeps
  device-side values read once per epoch), and :meth:`threads_for_training`, the context that
  sets the CPU's BLAS threads for a ``fit``.

This base class implements everything with ``xp`` alone; subclasses override what their
hardware does better.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from fcnet import _special
from fcnet._ops.guard_ops import GuardOps
from fcnet._ops.update_ops import UpdateOps

#: The module of fcnet's own activations, which the compiled passes know (a subclass elsewhere
#: keeps its own code).
OWN_ACTIVATIONS = "fcnet.activations"
#: The float dtypes the compiled passes take.
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class Ops(UpdateOps, GuardOps):
    """Array operations on one kind of array (see the module docstring)."""

    name = "ops"
    xp: Any = np
    #: The step may read a value back to the host once per step (see the module docstring).
    host_checks = True

    # --- allocation and transfers ----------------------------------------------------------
    def empty(self, shape: int | tuple[int, ...], dtype: Any) -> Any:
        """An uninitialised array of ``shape`` and ``dtype``."""
        return self.xp.empty(shape, dtype=dtype)

    def zeros(self, shape: int | tuple[int, ...], dtype: Any) -> Any:
        """An array of zeros."""
        return self.xp.zeros(shape, dtype=dtype)

    def arange(self, n: int, dtype: Any = np.intp) -> Any:
        """0, 1, ..., n - 1."""
        return self.xp.arange(n, dtype=dtype)

    def is_array(self, a: Any) -> bool:
        """Whether ``a`` is an array of this kind (computed with as it is)."""
        return isinstance(a, self.xp.ndarray)

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """``a`` as an array of this kind (no copy when it already is one, of ``dtype``)."""
        return self.xp.asarray(a, dtype=dtype)

    def to_host(self, a: Any) -> np.ndarray:
        """``a`` as a NumPy array in host memory (a read back from the device)."""
        return np.asarray(a)

    def item(self, a: Any) -> float:
        """The value of a one-element array, on the host."""
        return float(self.to_host(a).reshape(-1)[0])

    # --- products and reductions -------------------------------------------------------------
    def gemm(
        self,
        A: Any,
        B: Any,
        out: Any,
        *,
        alpha: float = 1.0,
        beta: float = 0.0,
        trans_a: bool = False,
        trans_b: bool = False,
    ) -> Any:
        """``out <- alpha op(A) op(B) + beta out``; op(M) is M, or M^T with ``trans_*``.

        Shapes: op(A) (M, K), op(B) (K, N), out (M, N). ``out`` must not overlap A or B.
        """
        xp = self.xp
        a = A.T if trans_a else A
        b = B.T if trans_b else B
        if alpha == 1.0 and beta == 0.0:
            return xp.matmul(a, b, out=out)
        product = xp.matmul(a, b)
        if beta == 0.0:
            return xp.multiply(product, alpha, out=out)
        out *= beta
        product *= alpha
        out += product
        return out

    def fused_gemm(
        self, alpha: float, A: Any, B: Any, beta: float, C: Any, *, trans_a: bool = False
    ) -> bool:
        """``C <- alpha op(A) B + beta C`` without a scratch product, where the hardware has a
        routine for it; returns whether it did (False: the caller takes another route)."""
        return False

    def has_fused_gemm(self, dtype: Any) -> bool:
        """Whether :meth:`fused_gemm` can write ``C <- alpha op(A) B + beta C`` for ``dtype``."""
        return False

    def sum_rows(self, A: Any, out: Any) -> Any:
        """The sum over the rows (the batch) of A (m, n), into ``out`` (n,)."""
        return self.xp.sum(A, axis=0, out=out)

    def take_rows(self, X: Any, rows: Any, out: Any, squares: Any = None) -> Any:
        """``X[rows]`` into ``out`` (len(rows), ...); ``rows`` are valid row numbers. With
        ``squares`` (see :meth:`squares_into`), the sum of squares of what was gathered too."""
        self.xp.take(X, rows, axis=0, out=out)
        if squares is not None:
            self.squares_into(out, squares)
        return out

    def squares_into(self, A: Any, squares: Any) -> None:
        """``squares[-1] <- sum_ij A_ij^2``, ``squares`` float64 (n + 1,) for A (m, n), whose
        other entries are scratch: the sum of squares a fused pass (:meth:`dense_forward`,
        :meth:`dense_backward`, :meth:`take_rows`) takes of the array it writes, for the bound
        of the fused SGD update (:mod:`fcnet.train.fused_sgd`). Here a dot product, a pass of
        its own; a compiled kernel adds the squares while it writes the rows."""
        squares[-1] = self.xp.vdot(A, A)

    def scatter_add_rows(self, rows: Any, dZ: Any, out: Any) -> Any:
        """``out = onehot(rows)^T dZ``: row r of ``out`` (k, d) is the sum of the rows of dZ
        (m, d) whose entry of ``rows`` (m,) is r (an Embedding's dE). One bincount per column
        when ``out`` has at most twice as many rows as the batch (a pass over the batch each),
        else one unbuffered ``add.at`` over the flattened table."""
        xp = self.xp
        k, d = out.shape
        if k <= 2 * len(rows):
            for j in range(d):
                out[:, j] = xp.bincount(rows, weights=dZ[:, j], minlength=k)
            return out
        out[...] = 0.0
        flat = rows[:, None] * d + xp.arange(d)
        xp.add.at(out.reshape(-1), flat.reshape(-1), dZ.reshape(-1))
        return out

    def axpy(self, alpha: float, x: Any, y: Any, scratch: Any) -> None:
        """``y <- y + alpha x`` in place; ``scratch`` (shaped like y) may be overwritten."""
        if alpha == 1.0:
            y += x
        else:
            y += self.xp.multiply(x, alpha, out=scratch)

    def sum_of_squares(self, a: Any, out: Any = None) -> Any:
        """sum_i a_i^2 of a flat array ``a``: into the one-element array ``out``, or as a float
        read back when ``out`` is None (where ``host_checks`` allows it)."""
        if out is None:
            return self.item(self.xp.dot(a, a))
        out[...] = self.xp.dot(a, a)
        return out

    def normal_cdf(self, Z: Any, out: Any) -> Any:
        """Phi(z) = (1 + erf(z / sqrt 2)) / 2 into ``out`` (GELU's f; see ``fcnet._special``)."""
        return _special.normal_cdf(Z, out=out)

    def normal_pdf(self, Z: Any, out: Any) -> Any:
        """phi(z) = e^(-z^2 / 2) / sqrt(2 pi) into ``out`` (GELU's f')."""
        return _special.normal_pdf(Z, out=out)

    def uniform(self, rng: np.random.Generator, out: Any) -> Any:
        """Fill ``out`` with draws from U[0, 1) taken from ``rng``."""
        out[...] = self.asarray(rng.random(out.shape, dtype=out.dtype.type))
        return out

    # --- fused passes (see the module docstring) ---------------------------------------------
    def fuses(self, activation: Any) -> bool:
        """Whether :meth:`bias_activation` has a kernel for ``activation`` (and so may write f
        over Z in place, whatever f is)."""
        return False

    def bias_activation(self, Z: Any, b: Any, activation: Any, out: Any) -> Any:
        """``Z <- Z + b`` and ``out <- f(Z)``; returns f(Z) (Z itself for the identity).

        ``out`` may be Z when f can be applied in place (inference), or where :meth:`fuses`.
        Shapes: Z, out (m, n); b (n,).
        """
        Z += b
        return activation.apply(Z, out)

    def activation_backward_colsum(
        self, dA: Any, Z: Any, A: Any, activation: Any, out: Any, db: Any
    ) -> Any:
        """``out <- dZ = dA * f'(Z)`` and ``db <- the sum of dZ over the rows``; returns dZ
        (dA itself for the identity). Shapes: dA, Z, A, out (m, n); db (n,)."""
        dZ = activation.apply_backward(dA, Z, A, out)
        self.sum_rows(dZ, out=db)
        return dZ

    def dense_forward(
        self, X: Any, W: Any, b: Any, activation: Any, Z: Any, A: Any, squares: Any = None
    ) -> Any:
        """A Dense layer's forward pass: ``Z <- X W + b``, ``A <- f(Z)``; returns f(Z) (Z itself
        for the identity, or where A is Z: inference, when ``fuses(activation)`` or f can be
        applied in place). Shapes: X (m, n_in), W (n_in, n_out), b (n_out,), Z, A (m, n_out).
        With ``squares`` (see :meth:`squares_into`), the sum of squares of f(Z) too."""
        self.gemm(X, W, out=Z)
        A = self.bias_activation(Z, b, activation, A)
        if squares is not None:
            self.squares_into(A, squares)
        return A

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
        """A Dense layer's backward pass: ``dZ <- dA * f'(Z)``, ``db <- the sum of dZ over the
        rows``, ``dW <- X^T dZ`` unless dW is None, ``dX <- dZ W^T`` unless dX is None; returns
        dZ (dA itself for the identity). With ``squares`` (see :meth:`squares_into`), the sum
        of squares of dZ too."""
        dZ = self.activation_backward_colsum(dA, Z, A, activation, dZ, db)
        if squares is not None:
            self.squares_into(dZ, squares)
        if dW is not None:
            self.gemm(X, dZ, out=dW, trans_a=True)
        if dX is not None:
            self.gemm(dZ, W, out=dX, trans_b=True)
        return dZ

    def softmax_cross_entropy(
        self, Z: Any, Y: Any, dY: Any, per_sample: Any, buffers: Any = None
    ) -> bool:
        """Per-sample cross-entropy of softmax(Z) into ``per_sample`` (m,) and ``P - Y`` into
        ``dY`` (m, k), for labels Y (m,) or probability rows Y (m, k); False: not done.
        ``buffers`` (the caller's :class:`~fcnet._buffers.Buffers`) keeps any scratch array a
        kernel needs, so that a step allocates nothing; without it, nothing is done."""
        return False

    def binary_cross_entropy(
        self, Z: Any, Y: Any, dY: Any, per_sample: Any, buffers: Any = None
    ) -> bool:
        """Per-sample binary cross-entropy of the logits Z (m, k) and ``sigmoid(Z) - Y`` into
        ``dY``; False: not done."""
        return False

    def squared_error(
        self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any, buffers: Any = None
    ) -> bool:
        """``1/2 sum_j (Y_hat - Y)^2`` per sample and ``Y_hat - Y`` into ``dY``; False: not done."""
        return False

    def absolute_error(
        self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any, buffers: Any = None
    ) -> bool:
        """``sum_j |Y_hat - Y|`` per sample and ``sign(Y_hat - Y)`` into ``dY``; False: not done."""
        return False

    def huber(
        self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any, delta: float, buffers: Any = None
    ) -> bool:
        """The Huber loss per sample and ``clip(Y_hat - Y, -delta, delta)`` into ``dY``; False:
        not done."""
        return False

    # --- policy ----------------------------------------------------------------------------
    @contextmanager
    def threads_for_training(self, largest_product: int) -> Iterator[None]:
        """The context a ``fit`` computes in (the CPU's BLAS threads); here, nothing."""
        yield

    def __deepcopy__(self, memo: dict) -> Ops:
        return self  # a copied model computes where its original does

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
