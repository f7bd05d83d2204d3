"""Batch normalization, :class:`BatchNorm` (see :mod:`fcnet.layers.normalization`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._buffers import Buffers
from fcnet._ops import layer_ops
from fcnet._validation import check_number, check_positive_int
from fcnet.backend import resolve_dtype
from fcnet.layers.base import as_input, move_to, register_layer


def _filled(ops: Any, n: int, value: float, dtype: np.dtype) -> Any:
    """An (n,) array of ``value`` made by ``ops``."""
    array = ops.empty(n, dtype)
    array[...] = value
    return array


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
    device : "cpu", "gpu" or an Ops, optional
        Where the layer's arrays live and compute; default: the process's
        (:func:`fcnet.set_device`). ``model.to(device)`` moves a whole model.

    Notes
    -----
    Training needs at least 2 rows per batch (the unbiased variance divides by m - 1).
    In data-parallel training ``fit`` sets :attr:`shard` for each step: mu and var are then
    those of the whole batch, over every process (their sums reduced), and so are the sums
    dbeta and dgamma in dX; the gradients themselves stay this process's sums, which the
    training step adds up over the processes with all the others.
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
        device: Any = None,
    ) -> None:
        self.n = check_positive_int("BatchNorm", "n", n)
        self.n_in = self.n_out = self.n
        self.momentum = check_number("BatchNorm", "momentum", momentum, low=0.0, high=1.0)
        self.eps = check_number("BatchNorm", "eps", eps, low=0.0, low_open=True)
        self.trainable, self.lr_mult = _common_options("BatchNorm", trainable, lr_mult)
        self.dtype = resolve_dtype(dtype)
        self.ops = layer_ops(device)
        self.gamma = _filled(self.ops, self.n, 1, self.dtype)
        self.beta = _filled(self.ops, self.n, 0, self.dtype)
        self.dgamma = _filled(self.ops, self.n, 0, self.dtype)
        self.dbeta = _filled(self.ops, self.n, 0, self.dtype)
        self.running_mean = _filled(self.ops, self.n, 0, self.dtype)
        self.running_var = _filled(self.ops, self.n, 1, self.dtype)
        self.mu = _filled(
            self.ops, self.n, 0, self.dtype
        )  # of the last forward (running in inference)
        self.var = _filled(self.ops, self.n, 1, self.dtype)
        self.inv_std = _filled(self.ops, self.n, 1, self.dtype)
        self.X: np.ndarray | None = None
        self.Xhat: np.ndarray | None = None
        self.A: np.ndarray | None = None
        self.training = False  # the mode of the last forward, which backward differentiates
        self._buffers = Buffers(self.ops)
        #: this process's rows of the batch (a fcnet.distributed.BatchShard) during a
        #: data-parallel training step, else None
        self.shard: Any = None
        if device is not None:  # what the layer holds besides its arrays moves too
            self.to(self.ops)

    def reset_parameters(self, rng: Any = None) -> None:
        """gamma = 1, beta = 0, running_mean = 0, running_var = 1."""
        self.gamma[...] = 1
        self.beta[...] = 0
        self.running_mean[...] = 0
        self.running_var[...] = 1

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """A = gamma * (X - mu) / sqrt(var + eps) + beta; X (m, n) -> A (m, n)."""
        xp = self.ops.xp
        X = as_input("BatchNorm", X, self.n, self.dtype, self.ops)
        m, n = X.shape
        Xhat = self._buffers.get("Xhat", m, n, self.dtype)
        A = self._buffers.get("A", m, n, self.dtype)
        if training:
            shard = self.shard
            rows = m if shard is None else shard.rows  # the rows of the whole batch
            if rows < self.min_training_rows:
                raise ValueError(
                    f"BatchNorm: expected at least {self.min_training_rows} rows in training "
                    f"mode, got {rows}; "
                    "use a larger batch_size."
                )
            ones = self._buffers.ones(m, self.dtype)
            xp.matmul(ones, X, out=self.mu)
            if shard is not None:
                shard.allreduce(self.mu)  # sum over every process's rows
            self.mu *= 1.0 / rows
            xp.subtract(X, self.mu, out=Xhat)
            xp.multiply(Xhat, Xhat, out=A)  # A holds (X - mu)^2 until the last line
            xp.matmul(ones, A, out=self.var)
            if shard is not None:
                shard.allreduce(self.var)
            self.var *= 1.0 / rows
            self.running_mean *= 1.0 - self.momentum
            term = self._buffers.get("term", 1, n, self.dtype)[0]
            self.running_mean += xp.multiply(self.mu, self.momentum, out=term)
            self.running_var *= 1.0 - self.momentum
            self.running_var += xp.multiply(self.var, self.momentum * rows / (rows - 1), out=term)
        else:
            self.mu[...] = self.running_mean
            self.var[...] = self.running_var
            xp.subtract(X, self.mu, out=Xhat)
        xp.add(self.var, self.eps, out=self.inv_std)
        xp.sqrt(self.inv_std, out=self.inv_std)
        xp.reciprocal(self.inv_std, out=self.inv_std)
        Xhat *= self.inv_std
        xp.multiply(Xhat, self.gamma, out=A)
        A += self.beta
        self.X, self.Xhat, self.A, self.training = X, Xhat, A, bool(training)
        return A

    def infer(self, X: np.ndarray) -> np.ndarray:
        """A = gamma * (X - running_mean) / sqrt(running_var + eps) + beta, the same numbers as
        ``forward(X, training=False)`` but keeping no caches and writing no attribute (only
        scratch buffers), so that copies with their own buffers can run in parallel. Returns a
        buffer the next call overwrites."""
        xp = self.ops.xp
        X = as_input("BatchNorm", X, self.n, self.dtype, self.ops)
        m, n = X.shape
        inv_std = self._buffers.get("inv_std", 1, n, self.dtype)[0]
        xp.add(self.running_var, self.eps, out=inv_std)
        xp.sqrt(inv_std, out=inv_std)
        xp.reciprocal(inv_std, out=inv_std)
        A = self._buffers.get("A", m, n, self.dtype)  # Xhat first, in the same operations
        xp.subtract(X, self.running_mean, out=A)
        A *= inv_std
        A *= self.gamma
        A += self.beta
        return A

    def backward(self, dA: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """Fill dgamma, dbeta from dA (m, n); return dX (m, n), or None if not ``need_dX``."""
        xp = self.ops.xp
        if self.X is None or self.Xhat is None:
            raise RuntimeError("BatchNorm: call forward before backward.")
        Xhat = self.Xhat
        m, n = Xhat.shape
        if dA.shape != (m, n):
            raise ValueError(f"BatchNorm: expected dA of shape ({m}, {n}), got {dA.shape}.")
        ones = self._buffers.ones(m, self.dtype)
        dX = self._buffers.get("dX", m, n, self.dtype)
        xp.matmul(ones, dA, out=self.dbeta)
        xp.multiply(dA, Xhat, out=dX)
        xp.matmul(ones, dX, out=self.dgamma)
        if not need_dX:
            return None
        scale = xp.multiply(
            self.gamma, self.inv_std, out=self._buffers.get("scale", 1, n, self.dtype)[0]
        )
        if not self.training:
            return xp.multiply(dA, scale, out=dX)
        dbeta, dgamma, rows = self.dbeta, self.dgamma, m
        if self.shard is not None:  # the sums over the whole batch, every process's rows
            sums = self._buffers.get("sums", 2, n, self.dtype)
            sums[0], sums[1] = dbeta, dgamma
            self.shard.allreduce(sums)
            dbeta, dgamma, rows = sums[0], sums[1], self.shard.rows
        # dX = (gamma inv_std) (dA - (dbeta + Xhat dgamma) / m)
        term = self._buffers.get("term", 1, n, self.dtype)[0]
        xp.multiply(Xhat, xp.multiply(dgamma, 1.0 / rows, out=term), out=dX)
        dX += xp.multiply(dbeta, 1.0 / rows, out=term)
        xp.subtract(dA, dX, out=dX)
        dX *= scale
        return dX

    def params(self) -> dict[str, np.ndarray]:
        """``{"gamma": gamma, "beta": beta}``, the live arrays."""
        return {"gamma": self.gamma, "beta": self.beta}

    def grads(self) -> dict[str, np.ndarray]:
        """``{"gamma": dgamma, "beta": dbeta}``, filled by the last ``backward``."""
        return {"gamma": self.dgamma, "beta": self.dbeta}

    def to(self, ops: Any) -> BatchNorm:
        """Move the parameters, gradients and statistics to ``ops``'s arrays; returns self."""
        names = ("gamma", "beta", "dgamma", "dbeta", "running_mean", "running_var")
        return move_to(self, ops, (*names, "mu", "var", "inv_std"))

    def bind_grads(self, views: dict[str, Any]) -> None:
        """Keep the gradients in ``views`` from now on (see :meth:`fcnet.Dense.bind_grads`)."""
        self.dgamma, self.dbeta = views["gamma"], views["beta"]

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
