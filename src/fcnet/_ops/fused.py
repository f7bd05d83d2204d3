"""The fused passes of the CPU: the methods of :class:`fcnet._ops.base.Ops` that run a
compiled kernel (:mod:`fcnet._ops.kernels`) where there is one, and otherwise the reference.

A kernel is used when it is installed (Numba, the ``fast`` extra), when the object it stands in
for is one of fcnet's own (an activation whose class is defined in :mod:`fcnet.activations`: a
user's subclass, which may override ``apply``, keeps its own code), and when the arrays are
C-contiguous and of one float dtype (others would make Numba compile a new variant at the
first call). ``FusedOps(kernels=False)`` never uses one: the NumPy route, for comparison.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fcnet._ops.base import Ops

_OWN_ACTIVATIONS = "fcnet.activations"
_SOFTMAX = -1  # the activation code of softmax, which has kernels of its own
_NONE = -2  # no kernel


def _kernels() -> Any:
    from fcnet._ops.kernels.loader import load

    return load()


def _flat_ready(*arrays: np.ndarray) -> bool:
    """Whether the arrays share the first one's float dtype and are all C-contiguous."""
    dtype = arrays[0].dtype
    if dtype.kind != "f":
        return False
    return all(a.dtype == dtype and a.flags.c_contiguous for a in arrays)


class FusedOps(Ops):
    """The fused passes of :class:`~fcnet._ops.numpy_ops.NumpyOps` (see the module docstring).

    Parameters
    ----------
    kernels : bool, default True
        Use the compiled kernels when they are installed; False: always the NumPy reference.
    """

    def __init__(self, kernels: bool = True) -> None:
        self.kernels = bool(kernels)
        self._codes: dict[type, int] = {}  # activation class -> kernel code

    def _loaded(self) -> Any:
        return _kernels() if self.kernels else None

    # --- activations ------------------------------------------------------------------------
    def _code(self, activation: Any) -> int:
        kind = type(activation)
        code = self._codes.get(kind)
        if code is None:
            code = _NONE
            K = self._loaded()
            if K is not None and kind.__module__ == _OWN_ACTIVATIONS:
                name = getattr(activation, "name", None)
                code = _SOFTMAX if name == "softmax" else K.activations.CODES.get(name, _NONE)
            self._codes[kind] = code
        return code

    def fuses(self, activation: Any) -> bool:
        return self._code(activation) != _NONE

    def bias_activation(self, Z: Any, b: Any, activation: Any, out: Any) -> Any:
        code = self._code(activation)
        if code == _NONE or not _flat_ready(Z, b, out):
            return super().bias_activation(Z, b, activation, out)
        kernels = _kernels().activations
        if code == _SOFTMAX:
            kernels.bias_softmax(Z, b, out)
            return out
        alpha = float(getattr(activation, "alpha", 0.0))
        if code == kernels.IDENTITY or out is Z:
            kernels.bias_activation_inplace(code, Z, b, alpha)
            return Z
        kernels.bias_activation(code, Z, b, out, alpha)
        return out

    def activation_backward_colsum(
        self, dA: Any, Z: Any, A: Any, activation: Any, out: Any, db: Any
    ) -> Any:
        code = self._code(activation)
        if code == _NONE or not _flat_ready(Z, dA, A, out, db):
            return super().activation_backward_colsum(dA, Z, A, activation, out, db)
        kernels = _kernels().activations
        if code == kernels.IDENTITY:
            kernels.column_sums(dA, db)
            return dA
        if code == _SOFTMAX:
            kernels.softmax_backward(dA, A, out, db)
            return out
        kernels.activation_backward(code, dA, Z, A, out, db, float(getattr(activation, "alpha", 0)))
        return out

    # --- losses -------------------------------------------------------------------------------
    def _loss_kernels(self, Z: Any, Y: Any, dY: Any, per_sample: Any) -> Any:
        """The loss kernels when they can take these arrays, else None."""
        K = self._loaded()
        if K is None or not _flat_ready(Z, dY, per_sample) or not Y.flags.c_contiguous:
            return None
        return K.losses

    def softmax_cross_entropy(self, Z: Any, Y: Any, dY: Any, per_sample: Any) -> bool:
        kernels = self._loss_kernels(Z, Y, dY, per_sample)
        if kernels is None:
            return False
        if Y.ndim == 1:
            if Y.dtype.kind not in "iu":
                return False
            kernels.softmax_cross_entropy_labels(Z, Y, dY, per_sample)
        elif Y.dtype == Z.dtype:
            kernels.softmax_cross_entropy_probabilities(Z, Y, dY, per_sample)
        else:
            return False
        return True

    def _regression(self, name: str, Y_hat: Any, Y: Any, dY: Any, per_sample: Any) -> Any:
        kernels = self._loss_kernels(Y_hat, Y, dY, per_sample)
        if kernels is None or Y.dtype != Y_hat.dtype or Y.shape != Y_hat.shape:
            return None
        return getattr(kernels, name)

    def binary_cross_entropy(self, Z: Any, Y: Any, dY: Any, per_sample: Any) -> bool:
        kernel = self._regression("binary_cross_entropy", Z, Y, dY, per_sample)
        return kernel is not None and kernel(Z, Y, dY, per_sample) is None

    def squared_error(self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any) -> bool:
        kernel = self._regression("squared_error", Y_hat, Y, dY, per_sample)
        return kernel is not None and kernel(Y_hat, Y, dY, per_sample) is None

    def absolute_error(self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any) -> bool:
        kernel = self._regression("absolute_error", Y_hat, Y, dY, per_sample)
        return kernel is not None and kernel(Y_hat, Y, dY, per_sample) is None

    def huber(self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any, delta: float) -> bool:
        kernel = self._regression("huber", Y_hat, Y, dY, per_sample)
        return kernel is not None and kernel(Y_hat, Y, dY, per_sample, float(delta)) is None

    # --- optimizers ---------------------------------------------------------------------------
    def _update_kernels(self, *arrays: Any) -> Any:
        K = self._loaded()
        if K is None or not _flat_ready(*arrays) or not arrays[0].flags.writeable:
            return None
        return K.optimizers

    def sgd_update(self, p: Any, g: Any, v: Any, **hyper: Any) -> bool:
        kernels = self._update_kernels(p, g, v)
        if kernels is None:
            return False
        T = p.dtype.type
        kernels.sgd(
            p,
            g,
            v,
            T(hyper["lr"]),
            T(hyper["momentum"]),
            T(1.0 - hyper["dampening"]),  # rounded once, as NumPy rounds the reference's
            T(hyper["weight_decay"]),
            bool(hyper["nesterov"]),
            bool(hyper["first"]),
        )
        return True

    def adam_update(self, p: Any, g: Any, m: Any, v: Any, **hyper: Any) -> bool:
        kernels = self._update_kernels(p, g, m, v)
        if kernels is None:
            return False
        T = p.dtype.type
        lr, (b1, b2), t, wd = hyper["lr"], hyper["betas"], hyper["t"], hyper["weight_decay"]
        decoupled = hyper["decoupled"]
        kernels.adam(
            p,
            g,
            m,
            v,
            T(-(lr / (1.0 - b1**t))),
            T(b1),
            T(1.0 - b1),
            T(b2),
            T(1.0 - b2),
            T(hyper["eps"]),
            T(math.sqrt(1.0 - b2**t)),
            T(0.0 if decoupled else wd),
            T(1.0 - lr * wd if decoupled else 1.0),
        )
        return True

    def rmsprop_update(self, p: Any, g: Any, v: Any, g_avg: Any, buf: Any, **hyper: Any) -> bool:
        kernels = self._update_kernels(p, g, v, g_avg, buf)
        if kernels is None:
            return False
        T = p.dtype.type
        kernels.rmsprop(
            p,
            g,
            v,
            g_avg,
            buf,
            T(hyper["lr"]),
            T(hyper["alpha"]),
            T(1.0 - hyper["alpha"]),
            T(hyper["eps"]),
            T(hyper["weight_decay"]),
            T(hyper["momentum"]),
            bool(hyper["centered"]),
        )
        return True
