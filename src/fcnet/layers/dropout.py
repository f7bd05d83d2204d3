"""Inverted dropout, :class:`Dropout`."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._buffers import Buffers
from fcnet._ops import layer_ops
from fcnet._random import as_generator
from fcnet._validation import check_number
from fcnet.backend import resolve_dtype
from fcnet.layers.base import move_to, register_layer


@register_layer
class Dropout:
    """Inverted dropout: in training, A = X * M / (1 - p) with M_ij ~ Bernoulli(1 - p).

    Backward: dX = dA * M / (1 - p). In inference (``training=False``) it is the identity, so
    no rescaling is needed at prediction time.

    Parameters
    ----------
    p : float in [0, 1)
        Probability of zeroing each unit.
    rng : numpy.random.Generator or int, optional
        Source of the masks. When None, ``fit`` gives the layer a generator derived from its own
        ``rng`` so that a seeded run is reproducible.
    dtype : "float32" or "float64", optional
        Default: :func:`fcnet.get_dtype`.
    device : "cpu", "gpu" or an Ops, optional
        Where the layer's arrays live and compute; default: the process's
        (:func:`fcnet.set_device`). ``model.to(device)`` moves a whole model.

    Notes
    -----
    In data-parallel training (``fit(..., distributed=...)``) each process holds some rows of
    the batch; ``fit`` then sets :attr:`shard` for the step, and every process draws the mask
    of the whole batch from the same generator and keeps its own rows of it, so the masks are
    those of one process training on the whole batch.
    """

    def __init__(
        self, p: float = 0.5, *, rng: Any = None, dtype: Any = None, device: Any = None
    ) -> None:
        self.p = check_number("Dropout", "p", p, low=0.0, high=1.0, high_open=True)
        self.rng = None if rng is None else as_generator(rng, "Dropout")
        self.dtype = resolve_dtype(dtype)
        self.mask: np.ndarray | None = None  # M / (1 - p) of the last training forward
        self.ops = layer_ops(device)
        self._buffers = Buffers(self.ops)
        #: this process's rows of the batch (a fcnet.distributed.BatchShard) during a
        #: data-parallel training step, else None
        self.shard: Any = None
        if device is not None:  # what the layer holds besides its arrays moves too
            self.to(self.ops)

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """A = X * M / (1 - p) when training, else A = X. Shapes (m, n) -> (m, n)."""
        if not training or self.p == 0.0:
            self.mask = None
            return X
        if self.rng is None:
            self.rng = np.random.default_rng()
        m, n = X.shape
        xp = self.ops.xp
        shard = self.shard
        if shard is None:
            mask = self._buffers.get("mask", m, n, X.dtype)
            self.ops.uniform(self.rng, mask)  # U[0, 1)
        else:  # the whole batch's draws, of which this process's rows
            batch = self._buffers.get("mask", shard.rows, n, X.dtype)
            self.ops.uniform(self.rng, batch)
            mask = batch[shard.offset : shard.offset + m]
        xp.greater_equal(mask, self.p, out=mask)
        mask *= 1.0 / (1.0 - self.p)
        self.mask = mask
        return xp.multiply(X, mask, out=self._buffers.get("A", m, n, X.dtype))

    def backward(self, dA: np.ndarray) -> np.ndarray:
        """dX = dA * M / (1 - p) (or dA after an inference forward)."""
        if self.mask is None:
            return dA
        dX = self._buffers.get("dX", *dA.shape, dA.dtype)
        return self.ops.xp.multiply(dA, self.mask, out=dX)

    def to(self, ops: Any) -> Dropout:
        """Compute with ``ops``'s arrays from now on; returns self."""
        return move_to(self, ops, ())

    def params(self) -> dict[str, np.ndarray]:
        """No parameters."""
        return {}

    def grads(self) -> dict[str, np.ndarray]:
        """No gradients."""
        return {}

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as JSON values."""
        return {"p": self.p}

    def __repr__(self) -> str:
        return f"Dropout(p={self.p!r})"
