"""Inverted dropout, :class:`Dropout`."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._buffers import Buffers
from fcnet._ops import default_ops
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
    """

    def __init__(self, p: float = 0.5, *, rng: Any = None, dtype: Any = None) -> None:
        self.p = check_number("Dropout", "p", p, low=0.0, high=1.0, high_open=True)
        self.rng = None if rng is None else as_generator(rng, "Dropout")
        self.dtype = resolve_dtype(dtype)
        self.mask: np.ndarray | None = None  # M / (1 - p) of the last training forward
        self.ops = default_ops()
        self._buffers = Buffers(self.ops)

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """A = X * M / (1 - p) when training, else A = X. Shapes (m, n) -> (m, n)."""
        if not training or self.p == 0.0:
            self.mask = None
            return X
        if self.rng is None:
            self.rng = np.random.default_rng()
        m, n = X.shape
        mask = self._buffers.get("mask", m, n, X.dtype)
        xp = self.ops.xp
        self.ops.uniform(self.rng, mask)  # U[0, 1)
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
