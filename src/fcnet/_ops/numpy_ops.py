"""The CPU's operations: NumPy, with the BLAS routines NumPy does not expose (``fcnet._blas``),
the BLAS thread policy of ``fit`` and the helper threads of ``predict`` (``fcnet.backend``), and
the compiled fused passes where Numba is installed (:mod:`fcnet._ops.fused`).

Those are used from here alone: the layers, losses and optimizers ask their ``ops``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from fcnet import _blas, backend
from fcnet._buffers import Buffers
from fcnet._ops.fused import FusedOps


class NumpyOps(FusedOps):
    """Operations on NumPy arrays in host memory (see :mod:`fcnet._ops.base`).

    Parameters
    ----------
    kernels : bool, default True
        Run the fused passes with the compiled kernels where they are installed; False: with
        NumPy alone (the reference route, the same numbers up to rounding).
    """

    name = "cpu"
    xp = np
    host_checks = True

    def __init__(self, kernels: bool = True) -> None:
        super().__init__(kernels)
        self._buffers = Buffers(self)  # the vectors of ones that sum_rows multiplies by

    def empty(self, shape: int | tuple[int, ...], dtype: Any) -> np.ndarray:
        return np.empty(shape, dtype=dtype)

    def zeros(self, shape: int | tuple[int, ...], dtype: Any) -> np.ndarray:
        return np.zeros(shape, dtype=dtype)

    def is_array(self, a: Any) -> bool:
        return isinstance(a, np.ndarray)

    def asarray(self, a: Any, dtype: Any = None) -> np.ndarray:
        return np.asarray(a, dtype=dtype)

    def to_host(self, a: Any) -> np.ndarray:
        return np.asarray(a)

    def item(self, a: Any) -> float:
        return float(a)

    def gemm(
        self,
        A: np.ndarray,
        B: np.ndarray,
        out: np.ndarray,
        *,
        alpha: float = 1.0,
        beta: float = 0.0,
        trans_a: bool = False,
        trans_b: bool = False,
    ) -> np.ndarray:
        if self._compiled_gemm(A, B, out, trans_a, trans_b, alpha, beta):
            return out
        if alpha == 1.0 and beta == 0.0:
            return np.matmul(A.T if trans_a else A, B.T if trans_b else B, out=out)
        return super().gemm(A, B, out, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)

    def has_fused_gemm(self, dtype: Any) -> bool:
        return _blas.available("gemm", dtype)

    def fused_gemm(
        self,
        alpha: float,
        A: np.ndarray,
        B: np.ndarray,
        beta: float,
        C: np.ndarray,
        *,
        trans_a: bool = False,
    ) -> bool:
        if self._compiled_gemm(A, B, C, trans_a, False, alpha, beta):
            return True
        # a small C: NumPy's passes cost less than the foreign call
        return C.size >= _blas.MIN_SIZE and _blas.gemm(alpha, A, B, beta, C, trans_a=trans_a)

    def sum_rows(self, A: np.ndarray, out: np.ndarray) -> np.ndarray:
        # ones @ A sums over the batch faster than A.sum(0)
        return np.matmul(self._buffers.ones(A.shape[0], A.dtype), A, out=out)

    def take_rows(
        self, X: np.ndarray, rows: np.ndarray, out: np.ndarray, squares: Any = None
    ) -> np.ndarray:
        if squares is not None and self._compiled_take_rows(X, rows, out, squares):
            return out
        # mode="clip" skips a bounds pass: the rows are valid
        X.take(rows, axis=0, out=out, mode="clip")
        if squares is not None:
            self.squares_into(out, squares)
        return out

    def axpy(self, alpha: float, x: np.ndarray, y: np.ndarray, scratch: np.ndarray) -> None:
        _blas.axpy(alpha, x, y, scratch)

    def sum_of_squares(self, a: np.ndarray, out: Any = None) -> float:
        """sum_i a_i^2 as a float, read in place when ``a`` is contiguous or a transposed
        contiguous array (``np.vdot``, the BLAS dot; any other layout is copied)."""
        if not a.flags.c_contiguous and a.T.flags.c_contiguous:
            a = a.T
        return float(np.vdot(a, a))

    def uniform(self, rng: np.random.Generator, out: np.ndarray) -> np.ndarray:
        rng.random(out=out, dtype=out.dtype.type)
        return out

    @contextmanager
    def threads_for_training(self, largest_product: int) -> Iterator[None]:
        with backend.blas_threads(backend.blas_threads_for(largest_product)):
            yield

    # --- inference in threads (predict) ----------------------------------------------------
    def inference_threads(self, n_blocks: int) -> int:
        """Threads to compute ``n_blocks`` blocks of rows in: 1 while the BLAS's workers may
        still spin (``backend.blas_idle``), else up to one per BLAS thread."""
        if n_blocks > 1 and backend.blas_idle():
            return min(backend.worker_threads(), n_blocks - 1)
        return 1

    def blas_threads(self, n: int | None) -> Any:
        """The context limiting the BLAS to ``n`` threads (None: as it is)."""
        return backend.blas_threads(n)

    def run_concurrently(self, jobs: list[Any]) -> None:
        """Run the jobs at once, the first in this thread (``backend.run_concurrently``)."""
        backend.run_concurrently(jobs)

    def __repr__(self) -> str:
        return "NumpyOps()" if self.kernels else "NumpyOps(kernels=False)"


_CPU = NumpyOps()


def cpu_ops() -> NumpyOps:
    """The process's CPU operations object, shared by every model on the CPU."""
    return _CPU
