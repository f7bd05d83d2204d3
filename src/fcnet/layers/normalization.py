"""Normalization layers: :class:`BatchNorm` (over the batch) and :class:`LayerNorm` (over features).

Both compute ``Xhat = (X - mu) / sqrt(var + eps)`` and ``A = gamma * Xhat + beta``; they differ in
the axis the statistics ``mu`` and ``var`` (biased: divided by the count) are taken over.

The backward of both follows from ``Xhat`` depending on every entry it was normalized with. With
``k`` entries per statistic (``k = m`` for BatchNorm, ``k = n`` for LayerNorm) and
``dXhat = dA * gamma``::

    dX = (1/k) * inv_std * (k dXhat - sum dXhat - Xhat * sum(dXhat * Xhat))

with the sums over the same axis as the statistics. Derivation: ``dXhat_i/dX_j =
inv_std (delta_ij - 1/k - Xhat_i Xhat_j / k)`` over the ``k`` entries sharing a mu and var, since
``dmu/dX_j = 1/k`` and ``dinv_std/dX_j = -inv_std^3 (X_j - mu) / k = -inv_std^2 Xhat_j / k``.
Summing ``dXhat_i`` times that over ``i`` gives the line above.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._buffers import Buffers
from fcnet._validation import check_number, check_positive_int
from fcnet.backend import resolve_dtype
from fcnet.layers.base import as_input, register_layer


def _common_options(who: str, trainable: bool, lr_mult: float) -> tuple[bool, float]:
    return bool(trainable), check_number(who, "lr_mult", lr_mult, low=0.0)


@register_layer
class BatchNorm:
    """Batch normalization over the batch axis, as ``torch.nn.BatchNorm1d``.

    Training (``training=True``), with statistics per feature over the m rows of the batch::

        mu      = (1/m) sum_i X_i                         (n,)
        var     = (1/m) sum_i (X_i - mu)^2                (n,)  biased, used to normalize
        inv_std = 1 / sqrt(var + eps)
        Xhat    = (X - mu) * inv_std
        A       = gamma * Xhat + beta
        running_mean = (1 - momentum) running_mean + momentum mu
        running_var  = (1 - momentum) running_var  + momentum var * m / (m - 1)   (unbiased)

    Inference (``training=False``) uses the running statistics instead of mu and var, so the
    layer is a fixed affine map.

    Backward, given dA = dL/dA::

        dbeta  = sum_i dA_i
        dgamma = sum_i dA_i * Xhat_i
        dXhat  = dA * gamma
        dX     = (1/m) inv_std (m dXhat - sum_i dXhat_i - Xhat sum_i dXhat_i Xhat_i)
               = (gamma inv_std / m) (m dA - dbeta - Xhat dgamma)      (training)
        dX     = gamma inv_std dA                                       (inference)

    Shapes: X, Xhat, A, dA, dX (m, n); gamma, beta, mu, var, running statistics (n,).

    Parameters
    ----------
    n : int
        Number of features.
    momentum : float in [0, 1], default 0.1
        Weight of the batch statistics in the running averages (PyTorch's convention).
    eps : float > 0, default 1e-5
        Added to the variance before the square root.
    trainable : bool, default True
        When False, ``fit`` leaves gamma and beta unchanged (running statistics still update).
    lr_mult : float, default 1
        This layer's learning rate is ``lr * lr_mult``.
    dtype : "float32" or "float64", optional
        Default: :func:`fcnet.get_dtype`.

    Notes
    -----
    Training needs at least 2 rows per batch (the unbiased variance divides by m - 1).
    ``forward`` returns a buffer that the next ``forward`` overwrites.
    """

    #: a variance needs two rows; ``fit`` never hands this layer a 1-row batch
    min_training_rows = 2

    #: ``backward`` writes the gradients into the same arrays every step, so ``fit`` takes them
    #: once. Read from the class itself, not inherited: a subclass opts in by declaring it too.
    grads_in_place = True

    def __init__(
        self,
        n: int,
        momentum: float = 0.1,
        eps: float = 1e-5,
        *,
        trainable: bool = True,
        lr_mult: float = 1.0,
        dtype: Any = None,
    ) -> None:
        self.n = check_positive_int("BatchNorm", "n", n)
        self.n_in = self.n_out = self.n
        self.momentum = check_number("BatchNorm", "momentum", momentum, low=0.0, high=1.0)
        self.eps = check_number("BatchNorm", "eps", eps, low=0.0, low_open=True)
        self.trainable, self.lr_mult = _common_options("BatchNorm", trainable, lr_mult)
        self.dtype = resolve_dtype(dtype)
        self.gamma = np.ones(self.n, dtype=self.dtype)
        self.beta = np.zeros(self.n, dtype=self.dtype)
        self.dgamma = np.zeros_like(self.gamma)
        self.dbeta = np.zeros_like(self.beta)
        self.running_mean = np.zeros(self.n, dtype=self.dtype)
        self.running_var = np.ones(self.n, dtype=self.dtype)
        self.mu = np.zeros(self.n, dtype=self.dtype)  # of the last forward (running in inference)
        self.var = np.ones(self.n, dtype=self.dtype)
        self.inv_std = np.ones(self.n, dtype=self.dtype)
        self.X: np.ndarray | None = None
        self.Xhat: np.ndarray | None = None
        self.A: np.ndarray | None = None
        self.training = False  # the mode of the last forward, which backward differentiates
        self._buffers = Buffers()

    def reset_parameters(self, rng: Any = None) -> None:
        """gamma = 1, beta = 0, running_mean = 0, running_var = 1."""
        self.gamma[...] = 1
        self.beta[...] = 0
        self.running_mean[...] = 0
        self.running_var[...] = 1

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """A = gamma * (X - mu) / sqrt(var + eps) + beta; X (m, n) -> A (m, n)."""
        X = as_input("BatchNorm", X, self.n, self.dtype)
        m, n = X.shape
        Xhat = self._buffers.get("Xhat", m, n, self.dtype)
        A = self._buffers.get("A", m, n, self.dtype)
        if training:
            if m < self.min_training_rows:
                raise ValueError(
                    f"BatchNorm: expected at least {self.min_training_rows} rows in training "
                    f"mode, got {m}; "
                    "use a larger batch_size."
                )
            ones = self._buffers.ones(m, self.dtype)
            np.matmul(ones, X, out=self.mu)
            self.mu *= 1.0 / m
            np.subtract(X, self.mu, out=Xhat)
            np.multiply(Xhat, Xhat, out=A)  # A holds (X - mu)^2 until the last line
            np.matmul(ones, A, out=self.var)
            self.var *= 1.0 / m
            self.running_mean *= 1.0 - self.momentum
            self.running_mean += self.momentum * self.mu
            self.running_var *= 1.0 - self.momentum
            self.running_var += (self.momentum * m / (m - 1)) * self.var
        else:
            self.mu[...] = self.running_mean
            self.var[...] = self.running_var
            np.subtract(X, self.mu, out=Xhat)
        np.add(self.var, self.eps, out=self.inv_std)
        np.sqrt(self.inv_std, out=self.inv_std)
        np.reciprocal(self.inv_std, out=self.inv_std)
        Xhat *= self.inv_std
        np.multiply(Xhat, self.gamma, out=A)
        A += self.beta
        self.X, self.Xhat, self.A, self.training = X, Xhat, A, bool(training)
        return A

    def infer(self, X: np.ndarray) -> np.ndarray:
        """A = gamma * (X - running_mean) / sqrt(running_var + eps) + beta, the same numbers as
        ``forward(X, training=False)`` but keeping no caches and writing no attribute (only
        scratch buffers), so that copies with their own buffers can run in parallel. Returns a
        buffer the next call overwrites."""
        X = as_input("BatchNorm", X, self.n, self.dtype)
        m, n = X.shape
        inv_std = self._buffers.get("inv_std", 1, n, self.dtype)[0]
        np.add(self.running_var, self.eps, out=inv_std)
        np.sqrt(inv_std, out=inv_std)
        np.reciprocal(inv_std, out=inv_std)
        A = self._buffers.get("A", m, n, self.dtype)  # Xhat first, in the same operations
        np.subtract(X, self.running_mean, out=A)
        A *= inv_std
        A *= self.gamma
        A += self.beta
        return A

    def backward(self, dA: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """Fill dgamma, dbeta from dA (m, n); return dX (m, n), or None if not ``need_dX``."""
        if self.X is None or self.Xhat is None:
            raise RuntimeError("BatchNorm: call forward before backward.")
        Xhat = self.Xhat
        m, n = Xhat.shape
        if dA.shape != (m, n):
            raise ValueError(f"BatchNorm: expected dA of shape ({m}, {n}), got {dA.shape}.")
        ones = self._buffers.ones(m, self.dtype)
        dX = self._buffers.get("dX", m, n, self.dtype)
        np.matmul(ones, dA, out=self.dbeta)
        np.multiply(dA, Xhat, out=dX)
        np.matmul(ones, dX, out=self.dgamma)
        if not need_dX:
            return None
        scale = self.gamma * self.inv_std  # (n,)
        if not self.training:
            return np.multiply(dA, scale, out=dX)
        # dX = (gamma inv_std) (dA - (dbeta + Xhat dgamma) / m)
        np.multiply(Xhat, self.dgamma * (1.0 / m), out=dX)
        dX += self.dbeta * (1.0 / m)
        np.subtract(dA, dX, out=dX)
        dX *= scale
        return dX

    def params(self) -> dict[str, np.ndarray]:
        """``{"gamma": gamma, "beta": beta}``, the live arrays."""
        return {"gamma": self.gamma, "beta": self.beta}

    def grads(self) -> dict[str, np.ndarray]:
        """``{"gamma": dgamma, "beta": dbeta}``, filled by the last ``backward``."""
        return {"gamma": self.dgamma, "beta": self.dbeta}

    def state(self) -> dict[str, np.ndarray]:
        """Persistent non-trainable arrays (saved and loaded by :mod:`fcnet.io`), live."""
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as JSON values."""
        config: dict[str, Any] = {"n": self.n, "momentum": self.momentum, "eps": self.eps}
        for key, default in (("trainable", True), ("lr_mult", 1.0)):
            if getattr(self, key) != default:
                config[key] = getattr(self, key)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = None) -> BatchNorm:
        """Rebuild from :meth:`get_config` (statistics at their initial values)."""
        return cls(**config, dtype=dtype)

    def __repr__(self) -> str:
        text = f"BatchNorm(n={self.n}, momentum={self.momentum!r}, eps={self.eps!r}"
        for key, default in (("trainable", True), ("lr_mult", 1.0)):
            if getattr(self, key) != default:
                text += f", {key}={getattr(self, key)!r}"
        return text + ")"


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
    ) -> None:
        self.n = check_positive_int("LayerNorm", "n", n)
        self.n_in = self.n_out = self.n
        self.eps = check_number("LayerNorm", "eps", eps, low=0.0, low_open=True)
        self.trainable, self.lr_mult = _common_options("LayerNorm", trainable, lr_mult)
        self.dtype = resolve_dtype(dtype)
        self.gamma = np.ones(self.n, dtype=self.dtype)
        self.beta = np.zeros(self.n, dtype=self.dtype)
        self.dgamma = np.zeros_like(self.gamma)
        self.dbeta = np.zeros_like(self.beta)
        self.X: np.ndarray | None = None
        self.Xhat: np.ndarray | None = None
        self.inv_std: np.ndarray | None = None
        self.A: np.ndarray | None = None
        self._buffers = Buffers()

    def reset_parameters(self, rng: Any = None) -> None:
        """gamma = 1, beta = 0."""
        self.gamma[...] = 1
        self.beta[...] = 0

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """A = gamma * (X - mu) / sqrt(var + eps) + beta, per row; X (m, n) -> A (m, n)."""
        X = as_input("LayerNorm", X, self.n, self.dtype)
        m, n = X.shape
        buffers = self._buffers
        ones = buffers.ones(n, self.dtype)
        mu = buffers.get("mu", m, 1, self.dtype)
        inv_std = buffers.get("inv_std", m, 1, self.dtype)
        Xhat = buffers.get("Xhat", m, n, self.dtype)
        A = buffers.get("A", m, n, self.dtype)
        np.matmul(X, ones, out=mu[:, 0])
        mu *= 1.0 / n
        np.subtract(X, mu, out=Xhat)
        np.multiply(Xhat, Xhat, out=A)  # A holds (X - mu)^2 until the last lines
        np.matmul(A, ones, out=inv_std[:, 0])  # n var, then inv_std in place
        inv_std *= 1.0 / n
        inv_std += self.eps
        np.sqrt(inv_std, out=inv_std)
        np.reciprocal(inv_std, out=inv_std)
        Xhat *= inv_std
        np.multiply(Xhat, self.gamma, out=A)
        A += self.beta
        self.X, self.Xhat, self.inv_std, self.A = X, Xhat, inv_std, A
        return A

    def backward(self, dA: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """Fill dgamma, dbeta from dA (m, n); return dX (m, n), or None if not ``need_dX``."""
        if self.X is None or self.Xhat is None or self.inv_std is None:
            raise RuntimeError("LayerNorm: call forward before backward.")
        Xhat = self.Xhat
        m, n = Xhat.shape
        if dA.shape != (m, n):
            raise ValueError(f"LayerNorm: expected dA of shape ({m}, {n}), got {dA.shape}.")
        buffers = self._buffers
        dX = buffers.get("dX", m, n, self.dtype)
        np.matmul(buffers.ones(m, self.dtype), dA, out=self.dbeta)
        np.multiply(dA, Xhat, out=dX)
        np.matmul(buffers.ones(m, self.dtype), dX, out=self.dgamma)
        if not need_dX:
            return None
        ones = buffers.ones(n, self.dtype)
        dXhat = buffers.get("dXhat", m, n, self.dtype)
        sum_dXhat = buffers.get("sum_dXhat", m, 1, self.dtype)
        sum_dXhat_Xhat = buffers.get("sum_dXhat_Xhat", m, 1, self.dtype)
        np.multiply(dA, self.gamma, out=dXhat)
        np.matmul(dXhat, ones, out=sum_dXhat[:, 0])
        np.multiply(dXhat, Xhat, out=dX)
        np.matmul(dX, ones, out=sum_dXhat_Xhat[:, 0])
        # dX = inv_std (dXhat - (sum dXhat + Xhat sum(dXhat Xhat)) / n)
        np.multiply(Xhat, sum_dXhat_Xhat, out=dX)
        dX += sum_dXhat
        dX *= 1.0 / n
        np.subtract(dXhat, dX, out=dX)
        dX *= self.inv_std
        return dX

    def params(self) -> dict[str, np.ndarray]:
        """``{"gamma": gamma, "beta": beta}``, the live arrays."""
        return {"gamma": self.gamma, "beta": self.beta}

    def grads(self) -> dict[str, np.ndarray]:
        """``{"gamma": dgamma, "beta": dbeta}``, filled by the last ``backward``."""
        return {"gamma": self.dgamma, "beta": self.dbeta}

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
