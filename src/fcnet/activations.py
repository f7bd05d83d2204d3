"""Activation functions: each states f and f' and implements them side by side.

Every activation is a parameterless layer (``forward`` / ``backward``) and also the ``f`` inside
:class:`fcnet.Dense`, through two methods that write into a given array:

* ``apply(Z, out)``: ``A = f(Z)``
* ``apply_backward(dA, Z, A, out)``: ``dZ = dA * f'(Z)`` (``A`` is passed because several
  derivatives are cheapest in terms of the output, e.g. sigmoid's ``A (1 - A)``).

Shapes: Z, A, dA, dZ are all (m, n).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._buffers import Buffers
from fcnet._ops import default_ops
from fcnet._validation import check_choice, check_number


class Activation:
    """A parameterless layer ``A = f(X)``; subclasses define ``apply`` and ``apply_backward``."""

    name = "activation"

    def __init__(self) -> None:
        self.X: np.ndarray | None = None
        self.A: np.ndarray | None = None
        self.ops = default_ops()  # where the arrays live and are computed
        self._buffers = Buffers(self.ops)

    # --- the math (subclasses) -------------------------------------------------------------
    def apply(self, Z: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write ``f(Z)`` into ``out`` and return it."""
        raise NotImplementedError

    def apply_backward(
        self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray
    ) -> np.ndarray:
        """Write ``dA * f'(Z)`` into ``out`` and return it."""
        raise NotImplementedError

    def _scratch(self, name: str, like: np.ndarray, dtype: Any = None) -> np.ndarray:
        rows, cols = like.shape
        return self._buffers.get(name, rows, cols, like.dtype if dtype is None else dtype)

    def _zeros(self, like: np.ndarray) -> np.ndarray:
        return self._buffers.zeros(like.shape[0], like.shape[1], like.dtype)

    # --- the layer protocol ----------------------------------------------------------------
    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """A = f(X); X (m, n) -> A (m, n). A is a buffer reused by the next call."""
        A = self.apply(X, self._scratch("A", X))
        self.X, self.A = X, A
        return A

    def backward(self, dA: np.ndarray) -> np.ndarray:
        """dX = dA * f'(X); dA (m, n) -> dX (m, n)."""
        if self.X is None or self.A is None:
            raise RuntimeError(f"{type(self).__name__}: call forward before backward.")
        return self.apply_backward(dA, self.X, self.A, self._scratch("dX", dA))

    def to(self, ops: Any) -> Activation:
        """Compute with ``ops``'s arrays from now on (scratch and caches are dropped)."""
        self.ops = ops
        self._buffers = Buffers(ops)
        self.X = self.A = None
        return self

    def params(self) -> dict[str, np.ndarray]:
        """No parameters."""
        return {}

    def grads(self) -> dict[str, np.ndarray]:
        """No gradients."""
        return {}

    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments, with the class name under ``"name"``."""
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class Identity(Activation):
    """f(z) = z;  f'(z) = 1. Returns its input (and dA) without copying."""

    name = "identity"

    def apply(self, Z: np.ndarray, out: np.ndarray) -> np.ndarray:
        return Z

    def apply_backward(
        self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray
    ) -> np.ndarray:
        return dA


class ReLU(Activation):
    """f(z) = max(z, 0);  f'(z) = 1 if z > 0 else 0 (0 at the kink, as PyTorch)."""

    name = "relu"

    def apply(self, Z: np.ndarray, out: np.ndarray) -> np.ndarray:
        xp = self.ops.xp
        return xp.maximum(Z, self._zeros(Z), out=out)

    def apply_backward(
        self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray
    ) -> np.ndarray:
        xp = self.ops.xp
        xp.greater(Z, 0, out=out)  # f'(Z) as 1.0 / 0.0 in the float dtype
        return xp.multiply(out, dA, out=out)


class LeakyReLU(Activation):
    """f(z) = z if z > 0 else alpha z;  f'(z) = 1 if z > 0 else alpha.

    Parameters
    ----------
    alpha : float in [0, 1)
        Slope for z <= 0 (default 0.01).
    """

    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = check_number("LeakyReLU", "alpha", alpha, low=0.0, high=1.0, high_open=True)

    def apply(self, Z: np.ndarray, out: np.ndarray) -> np.ndarray:
        xp = self.ops.xp
        xp.multiply(Z, self.alpha, out=out)
        return xp.maximum(Z, out, out=out)  # max(z, alpha z) for 0 <= alpha < 1

    def apply_backward(
        self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray
    ) -> np.ndarray:
        xp = self.ops.xp
        xp.greater(Z, 0, out=out)
        out *= 1.0 - self.alpha
        out += self.alpha  # 1 where z > 0, alpha elsewhere
        return xp.multiply(out, dA, out=out)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "alpha": self.alpha}


class ELU(Activation):
    """f(z) = z if z > 0 else alpha (e^z - 1);  f'(z) = 1 if z > 0 else f(z) + alpha.

    Parameters
    ----------
    alpha : float > 0
        Saturation value for z -> -inf is -alpha (default 1.0).
    """

    name = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = check_number("ELU", "alpha", alpha, low=0.0, low_open=True)

    def apply(self, Z: np.ndarray, out: np.ndarray) -> np.ndarray:
        xp = self.ops.xp
        xp.minimum(Z, 0, out=out)  # e^z only where it is needed, never overflowing
        xp.expm1(out, out=out)
        out *= self.alpha
        positive = xp.greater(Z, 0, out=self._scratch("mask", Z, np.bool_))
        xp.copyto(out, Z, where=positive)
        return out

    def apply_backward(
        self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray
    ) -> np.ndarray:
        xp = self.ops.xp
        xp.add(A, self.alpha, out=out)  # f + alpha = alpha e^z for z <= 0
        xp.copyto(out, 1, where=xp.greater(Z, 0, out=self._scratch("mask", Z, np.bool_)))
        return xp.multiply(out, dA, out=out)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "alpha": self.alpha}


class GELU(Activation):
    """f(z) = z Phi(z);  f'(z) = Phi(z) + z phi(z), the exact (erf) form, as PyTorch's default.

    Phi is the standard normal CDF, (1 + erf(z / sqrt 2)) / 2, and phi its density,
    exp(-z^2 / 2) / sqrt(2 pi).
    """

    name = "gelu"

    def apply(self, Z: np.ndarray, out: np.ndarray) -> np.ndarray:
        xp = self.ops.xp
        self.ops.normal_cdf(Z, out)
        return xp.multiply(out, Z, out=out)

    def apply_backward(
        self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray
    ) -> np.ndarray:
        xp = self.ops.xp
        density = self.ops.normal_pdf(Z, self._scratch("pdf", Z))
        xp.multiply(density, Z, out=density)  # z phi(z)
        self.ops.normal_cdf(Z, out)
        out += density
        return xp.multiply(out, dA, out=out)


class Sigmoid(Activation):
    """f(z) = 1 / (1 + e^-z);  f'(z) = f(z) (1 - f(z)).

    Computed as t = e^-|z| / (1 + e^-|z|), then f = 1 - t for z >= 0 and f = t otherwise: e^x
    never overflows and small outputs keep their relative precision.
    """

    name = "sigmoid"

    def apply(self, Z: np.ndarray, out: np.ndarray) -> np.ndarray:
        return _stable_sigmoid(Z, out, self._scratch("t", Z), self._scratch("mask", Z, np.bool_))

    def apply_backward(
        self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray
    ) -> np.ndarray:
        xp = self.ops.xp
        xp.subtract(1, A, out=out)
        out *= A
        return xp.multiply(out, dA, out=out)


class Tanh(Activation):
    """f(z) = tanh z;  f'(z) = 1 - f(z)^2."""

    name = "tanh"

    def apply(self, Z: np.ndarray, out: np.ndarray) -> np.ndarray:
        xp = self.ops.xp
        return xp.tanh(Z, out=out)

    def apply_backward(
        self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray
    ) -> np.ndarray:
        xp = self.ops.xp
        xp.multiply(A, A, out=out)
        xp.subtract(1, out, out=out)
        return xp.multiply(out, dA, out=out)


class Softplus(Activation):
    """f(z) = log(1 + e^z) = max(z, 0) + log(1 + e^-|z|);  f'(z) = sigmoid(z).

    The right-hand form never overflows.
    """

    name = "softplus"

    def apply(self, Z: np.ndarray, out: np.ndarray) -> np.ndarray:
        xp = self.ops.xp
        xp.abs(Z, out=out)
        xp.negative(out, out=out)
        xp.exp(out, out=out)
        xp.log1p(out, out=out)
        out += xp.maximum(Z, 0, out=self._scratch("t", Z))
        return out

    def apply_backward(
        self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray
    ) -> np.ndarray:
        xp = self.ops.xp
        _stable_sigmoid(Z, out, self._scratch("t", Z), self._scratch("mask", Z, np.bool_))
        return xp.multiply(out, dA, out=out)


class Softmax(Activation):
    """f(z)_j = e^(z_j - max z) / sum_k e^(z_k - max z), along each row.

    Backward is the Jacobian-vector product, O(m n) rather than an (n, n) Jacobian per row::

        dZ = A * (dA - sum_j(dA * A))        (the sum is per row, broadcast over j)

    For classification use :class:`fcnet.losses.SoftmaxCrossEntropy` on logits instead: fused,
    the gradient is simply (P - Y) / m and log-sum-exp keeps it finite.
    """

    name = "softmax"

    def apply(self, Z: np.ndarray, out: np.ndarray) -> np.ndarray:
        xp = self.ops.xp
        row_max = self._scratch("row", Z[:, :1])
        xp.max(Z, axis=1, keepdims=True, out=row_max)
        xp.subtract(Z, row_max, out=out)
        xp.exp(out, out=out)
        xp.sum(out, axis=1, keepdims=True, out=row_max)
        return xp.divide(out, row_max, out=out)

    def apply_backward(
        self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray
    ) -> np.ndarray:
        xp = self.ops.xp
        row_dot = self._scratch("row", A[:, :1])
        xp.multiply(dA, A, out=out)
        xp.sum(out, axis=1, keepdims=True, out=row_dot)
        xp.subtract(dA, row_dot, out=out)
        return xp.multiply(out, A, out=out)


def _stable_sigmoid(
    Z: np.ndarray, out: np.ndarray, scratch: np.ndarray, nonneg: np.ndarray
) -> np.ndarray:
    np.abs(Z, out=scratch)
    np.negative(scratch, out=scratch)
    np.exp(scratch, out=scratch)  # e = e^-|z| in (0, 1]
    np.add(scratch, 1, out=out)
    np.divide(scratch, out, out=out)  # t = e / (1 + e) = sigmoid(-|z|)
    np.greater_equal(Z, 0, out=nonneg)
    np.subtract(1, out, out=out, where=nonneg)
    return out


# Activations whose ``apply(Z, out=Z)`` is exact in place (each output entry depends only on
# entries already read): inference applies them to Z without a second buffer. Exact types only,
# since a subclass may override ``apply``.
IN_PLACE_ACTIVATIONS: frozenset[type[Activation]] = frozenset({Identity, ReLU, Tanh, Softmax})

ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls
    for cls in (Identity, ReLU, LeakyReLU, ELU, GELU, Sigmoid, Tanh, Softplus, Softmax)
}
ACTIVATIONS["linear"] = Identity


def get_activation(activation: str | Activation | None) -> Activation:
    """Return a new activation for a name (``"relu"``, ...), or the given object itself."""
    if activation is None:
        return Identity()
    if isinstance(activation, Activation):
        return activation
    return check_choice("activations", "activation", activation, ACTIVATIONS)()


def activation_from_config(config: dict[str, Any]) -> Activation:
    """Rebuild an activation from :meth:`Activation.get_config`."""
    args = {k: v for k, v in config.items() if k != "name"}
    return check_choice("activations", "activation", config["name"], ACTIVATIONS)(**args)
