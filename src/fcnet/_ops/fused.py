"""The fused passes of the CPU: the methods of :class:`fcnet._ops.base.Ops` that run a
compiled kernel (:mod:`fcnet._ops.kernels`) where there is one, and otherwise the reference.

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

import math
from typing import Any

from fcnet._ops.base import Ops

_OWN_ACTIVATIONS = "fcnet.activations"


class _Lookups:
    """What a FusedOps looked up once: the kernel modules (None: not yet; False: none) and, per
    activation class, its (forward, infer) kernels or None, and its backward kernel or None.
    Slots, not a ``__dict__``: code that walks a model's attributes (the float64 copy of the
    gradient checker) does not wander into Numba's objects."""

    __slots__ = ("K", "forward", "backward")

    def __init__(self) -> None:
        self.K: Any = None
        self.forward: dict[type, Any] = {}
        self.backward: dict[type, Any] = {}


class FusedOps(Ops):
    """The fused passes of :class:`~fcnet._ops.numpy_ops.NumpyOps` (see the module docstring).

    Parameters
    ----------
    kernels : bool, default True
        Use the compiled kernels when they are installed; False: always the NumPy reference.
    """

    def __init__(self, kernels: bool = True) -> None:
        self.kernels = bool(kernels)
        self._cache = _Lookups()

    def _load(self) -> Any:
        cache = self._cache
        if cache.K is None:
            K = None
            if self.kernels:
                from fcnet._ops.kernels.loader import load

                K = load()
            cache.K = K or False
        return cache.K or None

    def __getstate__(self) -> dict[str, Any]:  # the kernels are looked up again after a load
        return {**vars(self), "_cache": _Lookups()}

    # --- activations ------------------------------------------------------------------------
    def _kernels_for(self, kind: type, activation: Any) -> None:
        """Fill the two tables for the activation class ``kind``."""
        forward = backward = None
        K = self._load()
        if K is not None and kind.__module__ == _OWN_ACTIVATIONS:
            name = getattr(activation, "name", None)
            kernels = K.activations
            if name == "identity":
                forward, backward = (None, kernels.identity_infer), kernels.column_sums
            elif name in kernels.KERNELS:
                forward_kernel, infer, backward = kernels.KERNELS[name]
                if name in kernels.FORWARD:
                    forward = (forward_kernel, infer)
        self._cache.forward[kind], self._cache.backward[kind] = forward, backward

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
        forward(Z, b, out, getattr(activation, "alpha", 0.0))
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
        if backward is cache.K.activations.column_sums:  # the identity: dZ is dA
            backward(dA, db)
            return dA
        backward(dA, Z, A, out, db, getattr(activation, "alpha", 0.0))
        return out

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

    def softmax_cross_entropy(self, Z: Any, Y: Any, dY: Any, per_sample: Any) -> bool:
        kernels = self._loss_kernels(Z, Y, dY)
        if kernels is None:
            return False
        if Y.ndim == 1 and Y.dtype.kind in "iu":
            kernels.softmax_cross_entropy_labels(Z, Y, dY, per_sample)
        elif Y.dtype is Z.dtype and Y.shape == Z.shape:
            kernels.softmax_cross_entropy_probabilities(Z, Y, dY, per_sample)
        else:
            return False
        return True

    def _elementwise_loss(self, name: str, Y_hat: Any, Y: Any, dY: Any) -> Any:
        kernels = self._loss_kernels(Y_hat, Y, dY)
        if kernels is None or Y.dtype is not Y_hat.dtype or Y.shape != Y_hat.shape:
            return None
        return getattr(kernels, name)

    def binary_cross_entropy(self, Z: Any, Y: Any, dY: Any, per_sample: Any) -> bool:
        kernel = self._elementwise_loss("binary_cross_entropy", Z, Y, dY)
        return kernel is not None and kernel(Z, Y, dY, per_sample) is None

    def squared_error(self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any) -> bool:
        kernel = self._elementwise_loss("squared_error", Y_hat, Y, dY)
        return kernel is not None and kernel(Y_hat, Y, dY, per_sample) is None

    def absolute_error(self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any) -> bool:
        kernel = self._elementwise_loss("absolute_error", Y_hat, Y, dY)
        return kernel is not None and kernel(Y_hat, Y, dY, per_sample) is None

    def huber(self, Y_hat: Any, Y: Any, dY: Any, per_sample: Any, delta: float) -> bool:
        kernel = self._elementwise_loss("huber", Y_hat, Y, dY)
        return kernel is not None and kernel(Y_hat, Y, dY, per_sample, float(delta)) is None

    # --- optimizers ---------------------------------------------------------------------------
    def _update_kernels(self, p: Any, g: Any) -> Any:
        """The update kernels when they can take ``p`` and ``g`` (the state arrays are the
        optimizer's own, made like ``p``), else None."""
        K = self._cache.K if self._cache.K is not None else self._load()
        if not K or g.dtype is not p.dtype or not g.flags.c_contiguous:
            return None
        if not (p.flags.c_contiguous and p.flags.writeable):
            return None
        return K.optimizers

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
    ) -> bool:
        kernels = self._update_kernels(p, g)
        if kernels is None:
            return False
        keep = 1.0 - dampening
        kernels.sgd(p, g, v, lr, momentum, keep, weight_decay, nesterov, first)
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
    ) -> bool:
        kernels = self._update_kernels(p, g)
        if kernels is None:
            return False
        b1, b2 = betas
        step = -(lr / (1.0 - b1**t))
        sqrt_bias2 = math.sqrt(1.0 - b2**t)
        decay, l2 = (1.0 - lr * weight_decay, 0.0) if decoupled else (1.0, weight_decay)
        kernels.adam(p, g, m, v, step, b1, 1.0 - b1, b2, 1.0 - b2, eps, sqrt_bias2, l2, decay)
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
    ) -> bool:
        kernels = self._update_kernels(p, g)
        if kernels is None:
            return False
        keep = 1.0 - alpha
        kernels.rmsprop(p, g, v, g_avg, buf, lr, alpha, keep, eps, weight_decay, momentum, centered)
        return True
