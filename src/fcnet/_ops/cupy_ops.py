"""The GPU's operations: CuPy arrays in device memory, products through cuBLAS.

CuPy is imported when a ``CupyOps`` is made (``fcnet.set_device("gpu")``, ``model.to("gpu")``),
never by ``import fcnet``. What the engine must not do on a GPU, this class does not do either:
read a value back per step (``host_checks`` is False: the divergence guard keeps its verdict on
the device, read once per epoch), pass a 0-d float64 array into a float32 kernel (Python floats
are passed instead), let ``cupy.matmul`` allocate behind ``out=`` (it does when ``out`` is not
C-contiguous: such products go through a scratch array and a copy instead), or trust ``take`` to
check its indices (it wraps them; the rows gathered are checked on the host before they move).

Passes written as one CUDA kernel each (``cupy.ElementwiseKernel``, compiled at first use):
``y <- y + alpha x`` and the sum of squares of a flat buffer. The other element-wise work runs
as CuPy ufuncs with ``out=``, the same formulas as on the CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._ops.base import Ops

INSTALL_HINT = 'pip install "fcnet[gpu]"'


def _cupy() -> Any:
    """The cupy module, or RuntimeError naming what is missing."""
    try:
        import cupy
    except ImportError as exc:
        raise RuntimeError(
            f"fcnet: device 'gpu' needs CuPy, which is not installed ({exc}); {INSTALL_HINT} "
            "(CuPy for CUDA 13; use cupy-cuda12x for a CUDA 12 driver)."
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        raise RuntimeError(
            f"fcnet: device 'gpu': CuPy found no usable CUDA driver ({exc})."
        ) from exc
    if count < 1:
        raise RuntimeError("fcnet: device 'gpu': CuPy is installed but sees no NVIDIA GPU.")
    return cupy


class CupyOps(Ops):
    """Operations on CuPy arrays on the current CUDA device (see the module docstring)."""

    name = "gpu"
    host_checks = False

    def __init__(self) -> None:
        cp = _cupy()
        self.xp = cp
        self._cp = cp
        self._axpy = cp.ElementwiseKernel("T x, T alpha", "T y", "y += alpha * x", "fcnet_axpy")
        self._sumsq = cp.ReductionKernel(
            "T x", "float64 y", "(double)x * (double)x", "a + b", "y = a", "0", "fcnet_sumsq"
        )

    def empty(self, shape: Any, dtype: Any) -> Any:
        return self._cp.empty(shape, dtype=dtype)

    def zeros(self, shape: Any, dtype: Any) -> Any:
        return self._cp.zeros(shape, dtype=dtype)

    def is_array(self, a: Any) -> bool:
        return isinstance(a, self._cp.ndarray)

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        return self._cp.asarray(a, dtype=dtype)

    def to_host(self, a: Any) -> np.ndarray:
        return self._cp.asnumpy(a) if isinstance(a, self._cp.ndarray) else np.asarray(a)

    def item(self, a: Any) -> float:
        return float(self.to_host(a).reshape(-1)[0])

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
        if out.flags.c_contiguous:  # cupy.matmul(out=) would allocate behind a strided out
            from cupy import cublas

            ta, tb = "T" if trans_a else "N", "T" if trans_b else "N"
            return cublas.gemm(ta, tb, A, B, out=out, alpha=alpha, beta=beta)
        return super().gemm(A, B, out, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)

    def axpy(self, alpha: float, x: Any, y: Any, scratch: Any) -> None:
        self._axpy(x, y.dtype.type(alpha), y)

    def sum_of_squares(self, a: Any, out: Any) -> Any:
        return self._sumsq(a, out=out.reshape(()))

    def take_rows(self, X: Any, rows: Any, out: Any) -> Any:
        return self._cp.take(X, rows, axis=0, out=out)

    def normal_cdf(self, Z: Any, out: Any) -> Any:
        from cupyx.scipy import special

        special.ndtr(Z, out=out)
        return out

    def normal_pdf(self, Z: Any, out: Any) -> Any:
        cp = self._cp
        cp.multiply(Z, Z, out=out)
        out *= -0.5
        cp.exp(out, out=out)
        out *= 1.0 / np.sqrt(2.0 * np.pi)
        return out

    def uniform(self, rng: np.random.Generator, out: Any) -> Any:
        # drawn on the host from the layer's seeded generator (whose state checkpoints keep),
        # copied into the device buffer in place
        out.set(rng.random(out.shape, dtype=out.dtype.type))
        return out
