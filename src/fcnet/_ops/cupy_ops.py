"""The GPU's operations: CuPy arrays in device memory, products through cuBLAS.

CuPy is imported when a ``CupyOps`` is made (``fcnet.set_device("gpu")``, ``model.to("gpu")``),
never by ``import fcnet``. What the engine must not do on a GPU, this class does not do either:
read a value back per step (``host_checks`` is False: the divergence guard keeps its verdict on
the device, read once per epoch), pass a 0-d float64 array into a float32 kernel (Python floats
are passed instead), let ``cupy.matmul`` allocate behind ``out=`` (it does when ``out`` is not
C-contiguous: such products go through a scratch array and a copy instead), or trust ``take`` to
check its indices (it wraps them; the rows gathered are checked on the host before they move).

Passes written as one CUDA kernel each, compiled at first use from the source text of
:mod:`fcnet._ops.cuda_source` (the same formulas as the NumPy reference, and tested against it
on the CPU): a Dense layer's bias and activation (``Z <- Z + b``, ``A <- f(Z)``), the
activation's backward pass (``dZ <- dA * f'(Z)``, then ``db`` as a column sum), the softmax
cross-entropy and the squared error with their gradients (one thread a row), each optimizer's
update (SGD, Adam, AdamW, RMSprop, each option) of every parameter in one launch from a table of
their addresses (:mod:`fcnet._ops.cupy_tables`; one launch a parameter where they do not share
a dtype), the divergence guard's flags and loss sum, Dropout's uniform draws, ``y <- y + alpha
x``, and the sum of squares of a flat buffer. Every update reads the divergence guard's
device-side flag (``gate``) and writes nothing once a value of the epoch was NaN or inf. The
products go through cuBLAS with alpha and beta. The rest (a user's own activation or loss,
Softmax as a layer, BatchNorm, LayerNorm, Dropout's mask product) runs as CuPy ufuncs with
``out=``, the NumPy reference's code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._ops import cuda_source
from fcnet._ops.base import FLOATS, OWN_ACTIVATIONS, Ops
from fcnet._ops.cupy_tables import CupyTables
from fcnet._ops.tables import Tables
from fcnet._ops.update_scalars import adam_named, rmsprop_named, sgd_named

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


class CupyOps(CupyTables, Ops):
    """Operations on CuPy arrays on the current CUDA device (see the module docstring)."""

    name = "gpu"
    host_checks = False

    def __init__(self) -> None:
        cp = _cupy()
        self.xp = cp
        self._cp = cp
        self._sumsq = cp.ReductionKernel(
            "T x", "float64 y", "(double)x * (double)x", "a + b", "y = a", "0", "fcnet_sumsq"
        )
        self._open = cp.ones(1, dtype=cp.bool_)  # the gate when none is given
        self._kernels: dict[str, Any] = {}  # by kernel name
        self._tables = Tables()  # the optimizers' tables (see CupyTables)
        self._rows: Any = None  # the RawModule of the row kernels, compiled at first use

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
        self._kernel(cuda_source.axpy())(x, y.dtype.type(alpha), y)

    def sum_of_squares(self, a: Any, out: Any) -> Any:
        return self._sumsq(a, out=out.reshape(()))

    def take_rows(self, X: Any, rows: Any, out: Any, squares: Any = None) -> Any:
        self._cp.take(X, rows, axis=0, out=out)
        if squares is not None:
            self.squares_into(out, squares)
        return out

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
        """U[0, 1) into ``out``, drawn on the device from one 64-bit key that ``rng`` gives (see
        :func:`fcnet._ops.cuda_source.uniform`): no array crosses from the host."""
        if out.dtype not in FLOATS or not out.flags.c_contiguous:
            out[...] = self.asarray(rng.random(out.shape, dtype=out.dtype.type))
            return out
        key = np.uint64(rng.integers(0, 1 << 64, dtype=np.uint64))
        self._kernel(cuda_source.uniform())(key, out)
        return out

    # --- fused passes -----------------------------------------------------------------------
    def _kernel(self, spec: cuda_source.Elementwise) -> Any:
        """The ElementwiseKernel of ``spec``, made once (CuPy compiles it at its first call)."""
        kernel = self._kernels.get(spec.name)
        if kernel is None:
            kernel = self._cp.ElementwiseKernel(
                spec.in_params, spec.out_params, spec.body, spec.name
            )
            self._kernels[spec.name] = kernel
        return kernel

    @staticmethod
    def _activation(activation: Any) -> str | None:
        """The kernel name of one of fcnet's own activations (not a subclass), else None."""
        if type(activation).__module__ != OWN_ACTIVATIONS:
            return None
        name = getattr(activation, "name", None)
        return name if name in cuda_source.FORWARD else None

    def fuses(self, activation: Any) -> bool:
        return self._activation(activation) is not None

    def bias_activation(self, Z: Any, b: Any, activation: Any, out: Any) -> Any:
        name = self._activation(activation)
        if name is None or b.dtype != Z.dtype or out.dtype != Z.dtype:
            return super().bias_activation(Z, b, activation, out)
        alpha = Z.dtype.type(getattr(activation, "alpha", 0.0))
        if out is Z:  # inference: f written over Z
            self._kernel(cuda_source.bias_activation(name, in_place=True))(b, alpha, Z)
            return Z
        self._kernel(cuda_source.bias_activation(name, in_place=False))(b, alpha, Z, out)
        return out

    def activation_backward_colsum(
        self, dA: Any, Z: Any, A: Any, activation: Any, out: Any, db: Any
    ) -> Any:
        name = self._activation(activation)
        if name is None or not _same_dtype(dA, Z, A, out):
            return super().activation_backward_colsum(dA, Z, A, activation, out, db)
        alpha = Z.dtype.type(getattr(activation, "alpha", 0.0))
        self._kernel(cuda_source.activation_backward(name))(dA, Z, A, alpha, out)
        self._cp.sum(out, axis=0, out=db)
        return out

    def _row_kernel(self, name: str, Y_hat: Any, Y: Any, dY: Any, per_sample: Any) -> bool:
        """Run the row kernel ``name`` (thread i on row i) on C-contiguous float arrays."""
        if Y_hat.dtype not in FLOATS or Y_hat.ndim != 2 or not len(Y_hat):
            return False
        if not _same_dtype(Y_hat, dY, per_sample) or dY.shape != Y_hat.shape:
            return False
        if not all(a.flags.c_contiguous for a in (Y_hat, Y, dY, per_sample)):
            return False
        m, k = Y_hat.shape
        threads = 128
        kernel = self._row_function(name + cuda_source.suffix(Y_hat.dtype))
        blocks = ((m + threads - 1) // threads,)
        kernel(blocks, (threads,), (Y_hat, Y, dY, per_sample, np.int64(m), np.int64(k)))
        return True

    def _row_function(self, name: str) -> Any:
        """The ``__global__`` function ``name`` of the row kernels' module, compiled once."""
        if self._rows is None:
            self._rows = self._cp.RawModule(code=cuda_source.ROW_MODULE, options=("-std=c++14",))
        return self._rows.get_function(name)

    def softmax_cross_entropy(
        self, Z: Any, Y: Any, dY: Any, per_sample: Any, buffers: Any = None
    ) -> bool:
        if Y.ndim == 1 and Y.dtype == np.int64 and len(Y) == len(Z):
            return self._row_kernel("fcnet_softmax_ce_labels", Z, Y, dY, per_sample)
        if Y.shape == Z.shape and Y.dtype == Z.dtype:
            return self._row_kernel("fcnet_softmax_ce_probabilities", Z, Y, dY, per_sample)
        return False

    def squared_error(
        self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any, buffers: Any = None
    ) -> bool:
        if Y.shape != Y_hat.shape or Y.dtype != Y_hat.dtype:
            return False
        return self._row_kernel("fcnet_squared_error", Y_hat, Y, dY, per_sample)

    def note_nonfinite(
        self, value: Any, step: int, bad: Any, first: Any, gate: Any, scratch: Any
    ) -> None:
        if value.dtype not in FLOATS:
            return super().note_nonfinite(value, step, bad, first, gate, scratch)
        self._kernel(cuda_source.note_nonfinite())(value, np.int64(step), bad, first, gate)
        return None

    def accumulate(self, total: Any, value: Any, weight: float, scratch: Any) -> None:
        if value.dtype not in FLOATS:
            return super().accumulate(total, value, weight, scratch)
        self._kernel(cuda_source.accumulate())(value, np.float64(weight), total)
        return None

    # --- the optimizers' updates, one kernel a parameter, gated ------------------------------
    def _gate(self, p: Any, arrays: tuple[Any, ...], gate: Any) -> Any:
        """The gate to pass (``gate``, or an open one), or None when the arrays do not suit."""
        if p.dtype not in FLOATS or not _same_dtype(p, *arrays):
            return None
        if any(a.shape != p.shape for a in arrays):
            return None
        return self._open_or(gate)

    def sgd_update(
        self,
        p: Any,
        g: Any,
        v: Any,
        *,
        lr: float,
        momentum: float,
        dampening: float,
        weight_decay: float,
        nesterov: bool,
        first: bool,
        gate: Any = None,
    ) -> bool:
        state = (v,) if momentum else ()
        ok = self._gate(p, (g, *state), gate)
        if ok is None:
            return False
        spec = cuda_source.sgd(momentum=bool(momentum), nesterov=bool(nesterov), first=first)
        named = sgd_named(lr, momentum, dampening, weight_decay)
        self._kernel(spec)(g, *spec.scalar_values(named, p.dtype), ok, p, *state)
        return True

    def adam_update(
        self,
        p: Any,
        g: Any,
        m: Any,
        v: Any,
        *,
        lr: float,
        betas: tuple[float, float],
        eps: float,
        weight_decay: float,
        decoupled: bool,
        t: int,
        gate: Any = None,
    ) -> bool:
        ok = self._gate(p, (g, m, v), gate)
        if ok is None:
            return False
        spec = cuda_source.adam()
        named = adam_named(lr, betas, eps, weight_decay, decoupled, t)
        self._kernel(spec)(g, *spec.scalar_values(named, p.dtype), ok, p, m, v)
        return True

    def rmsprop_update(
        self,
        p: Any,
        g: Any,
        v: Any,
        g_avg: Any,
        buf: Any,
        *,
        lr: float,
        alpha: float,
        eps: float,
        weight_decay: float,
        momentum: float,
        centered: bool,
        gate: Any = None,
    ) -> bool:
        state = (v, *((g_avg,) if centered else ()), *((buf,) if momentum else ()))
        ok = self._gate(p, (g, *state), gate)
        if ok is None:
            return False
        spec = cuda_source.rmsprop(centered=bool(centered), momentum=bool(momentum))
        named = rmsprop_named(lr, alpha, eps, weight_decay, momentum)
        self._kernel(spec)(g, *spec.scalar_values(named, p.dtype), ok, p, *state)
        return True


def _same_dtype(first: Any, *others: Any) -> bool:
    return all(a.dtype == first.dtype for a in others)
