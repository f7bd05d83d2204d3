"""Layer normalization, :class:`LayerNorm` (see :mod:`fcnet.layers.normalization`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._buffers import Buffers
from fcnet._ops import layer_ops
from fcnet._validation import check_number, check_positive_int
from fcnet.backend import resolve_dtype
from fcnet.layers.base import as_input, move_to, register_layer
from fcnet.layers.batchnorm import _common_options, _filled


@register_layer
class LayerNorm:
    """Layer normalization over the features of each row, as ``torch.nn.LayerNorm(n)``.

    The same in training and inference; per row i, over its n features::

        mu_i      = (1/n) sum_j X_ij
        var_i     = (1/n) sum_j (X_ij - mu_i)^2          (biased)
        inv_std_i = 1 / sqrt(var_i + eps)
        Xhat      = (X - mu) * inv_std
        A         = gamma * Xhat + beta

    Backward, given dA = dL/dA::

        dbeta  = sum_i dA_i                      (over the batch)
        dgamma = sum_i dA_i * Xhat_i
        dXhat  = dA * gamma
        dX_i   = (1/n) inv_std_i (n dXhat_i - sum_j dXhat_ij - Xhat_i sum_j dXhat_ij Xhat_ij)

    Shapes: X, Xhat, A, dA, dX (m, n); gamma, beta (n,); mu, inv_std (m, 1).

    Parameters
    ----------
    n : int
        Number of features.
    eps : float > 0, default 1e-5
        Added to the variance before the square root.
    trainable : bool, default True
        When False, ``fit`` leaves gamma and beta unchanged.
    lr_mult : float, default 1
        This layer's learning rate is ``lr * lr_mult``.
    dtype : "float32" or "float64", optional
        Default: :func:`fcnet.get_dtype`.
    device : "cpu", "gpu" or an Ops, optional
        Where the layer's arrays live and compute; default: the process's
        (:func:`fcnet.set_device`). ``model.to(device)`` moves a whole model.
    """

    #: ``backward`` writes the gradients into the same arrays every step, so ``fit`` takes them
    #: once. Read from the class itself, not inherited: a subclass opts in by declaring it too.
    grads_in_place = True

    def __init__(
        self,
        n: int,
        eps: float = 1e-5,
        *,
        trainable: bool = True,
        lr_mult: float = 1.0,
        dtype: Any = None,
        device: Any = None,
    ) -> None:
        self.n = check_positive_int("LayerNorm", "n", n)
        self.n_in = self.n_out = self.n
        self.eps = check_number("LayerNorm", "eps", eps, low=0.0, low_open=True)
        self.trainable, self.lr_mult = _common_options("LayerNorm", trainable, lr_mult)
        self.dtype = resolve_dtype(dtype)
        self.ops = layer_ops(device)
        self.gamma = _filled(self.ops, self.n, 1, self.dtype)
        self.beta = _filled(self.ops, self.n, 0, self.dtype)
        self.dgamma = _filled(self.ops, self.n, 0, self.dtype)
        self.dbeta = _filled(self.ops, self.n, 0, self.dtype)
        self.X: np.ndarray | None = None
        self.Xhat: np.ndarray | None = None
        self.inv_std: np.ndarray | None = None
        self.A: np.ndarray | None = None
        self._buffers = Buffers(self.ops)
        if device is not None:  # what the layer holds besides its arrays moves too
            self.to(self.ops)

    def reset_parameters(self, rng: Any = None) -> None:
        """gamma = 1, beta = 0."""
        self.gamma[...] = 1
        self.beta[...] = 0

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """A = gamma * (X - mu) / sqrt(var + eps) + beta, per row; X (m, n) -> A (m, n)."""
        xp = self.ops.xp
        X = as_input("LayerNorm", X, self.n, self.dtype, self.ops)
        m, n = X.shape
        buffers = self._buffers
        ones = buffers.ones(n, self.dtype)
        mu = buffers.get("mu", m, 1, self.dtype)
        inv_std = buffers.get("inv_std", m, 1, self.dtype)
        Xhat = buffers.get("Xhat", m, n, self.dtype)
        A = buffers.get("A", m, n, self.dtype)
        xp.matmul(X, ones, out=mu[:, 0])
        mu *= 1.0 / n
        xp.subtract(X, mu, out=Xhat)
        xp.multiply(Xhat, Xhat, out=A)  # A holds (X - mu)^2 until the last lines
        xp.matmul(A, ones, out=inv_std[:, 0])  # n var, then inv_std in place
        inv_std *= 1.0 / n
        inv_std += self.eps
        xp.sqrt(inv_std, out=inv_std)
        xp.reciprocal(inv_std, out=inv_std)
        Xhat *= inv_std
        xp.multiply(Xhat, self.gamma, out=A)
        A += self.beta
        self.X, self.Xhat, self.inv_std, self.A = X, Xhat, inv_std, A
        return A

    def backward(self, dA: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """Fill dgamma, dbeta from dA (m, n); return dX (m, n), or None if not ``need_dX``."""
        xp = self.ops.xp
        if self.X is None or self.Xhat is None or self.inv_std is None:
            raise RuntimeError("LayerNorm: call forward before backward.")
        Xhat = self.Xhat
        m, n = Xhat.shape
        if dA.shape != (m, n):
            raise ValueError(f"LayerNorm: expected dA of shape ({m}, {n}), got {dA.shape}.")
        buffers = self._buffers
        dX = buffers.get("dX", m, n, self.dtype)
        xp.matmul(buffers.ones(m, self.dtype), dA, out=self.dbeta)
        xp.multiply(dA, Xhat, out=dX)
        xp.matmul(buffers.ones(m, self.dtype), dX, out=self.dgamma)
        if not need_dX:
            return None
        ones = buffers.ones(n, self.dtype)
        dXhat = buffers.get("dXhat", m, n, self.dtype)
        sum_dXhat = buffers.get("sum_dXhat", m, 1, self.dtype)
        sum_dXhat_Xhat = buffers.get("sum_dXhat_Xhat", m, 1, self.dtype)
        xp.multiply(dA, self.gamma, out=dXhat)
        xp.matmul(dXhat, ones, out=sum_dXhat[:, 0])
        xp.multiply(dXhat, Xhat, out=dX)
        xp.matmul(dX, ones, out=sum_dXhat_Xhat[:, 0])
        # dX = inv_std (dXhat - (sum dXhat + Xhat sum(dXhat Xhat)) / n)
        xp.multiply(Xhat, sum_dXhat_Xhat, out=dX)
        dX += sum_dXhat
        dX *= 1.0 / n
        xp.subtract(dXhat, dX, out=dX)
        dX *= self.inv_std
        return dX

    def params(self) -> dict[str, np.ndarray]:
        """``{"gamma": gamma, "beta": beta}``, the live arrays."""
        return {"gamma": self.gamma, "beta": self.beta}

    def grads(self) -> dict[str, np.ndarray]:
        """``{"gamma": dgamma, "beta": dbeta}``, filled by the last ``backward``."""
        return {"gamma": self.dgamma, "beta": self.dbeta}

    def to(self, ops: Any) -> LayerNorm:
        """Move the parameters and gradients to ``ops``'s arrays; returns self."""
        return move_to(self, ops, ("gamma", "beta", "dgamma", "dbeta"))

    def bind_grads(self, views: dict[str, Any]) -> None:
        """Keep the gradients in ``views`` from now on (see :meth:`fcnet.Dense.bind_grads`)."""
        self.dgamma, self.dbeta = views["gamma"], views["beta"]

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as JSON values."""
        config: dict[str, Any] = {"n": self.n, "eps": self.eps}
        for key, default in (("trainable", True), ("lr_mult", 1.0)):
            if getattr(self, key) != default:
                config[key] = getattr(self, key)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = None) -> LayerNorm:
        """Rebuild from :meth:`get_config`."""
        return cls(**config, dtype=dtype)

    def __repr__(self) -> str:
        text = f"LayerNorm(n={self.n}, eps={self.eps!r}"
        for key, default in (("trainable", True), ("lr_mult", 1.0)):
            if getattr(self, key) != default:
                text += f", {key}={getattr(self, key)!r}"
        return text + ")"
