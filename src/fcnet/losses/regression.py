"""Losses for regression: MSE, MAE and Huber (see :mod:`fcnet.losses`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._validation import check_number
from fcnet.losses.base import Loss


def _fused_buffers(loss: Loss, Y_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dY (m, k) and the per-sample losses (m,): the buffers a fused pass writes into."""
    return loss._buffer("dY", Y_hat), loss._buffers.get("per_sample", 1, len(Y_hat), Y_hat.dtype)[0]


class MSE(Loss):
    """Mean squared error: L = (1/m) sum_i 1/2 sum_j (Y_hat_ij - Y_ij)^2.

    dL/dY_hat = (Y_hat - Y) / m. The 1/2 makes the gradient the plain residual.
    """

    name = "mse"

    def _forward(self, Y_hat: np.ndarray, Y: np.ndarray) -> np.ndarray:
        dY, per_sample = _fused_buffers(self, Y_hat)
        if self.ops.squared_error(
            Y_hat, Y, dY, per_sample, self._buffers
        ):  # one pass, where compiled
            self._dY = dY
            return per_sample
        xp = self.ops.xp
        residual = xp.subtract(Y_hat, Y, out=self._buffer("dY", Y_hat))  # R = Y_hat - Y
        squares = xp.multiply(residual, residual, out=self._buffer("tmp", Y_hat))
        self._dY = residual  # dL_i/dY_hat = R
        per_sample = self._row_sums(squares)
        per_sample *= 0.5
        return per_sample


class MAE(Loss):
    """Mean absolute error: L = (1/m) sum_i sum_j |Y_hat_ij - Y_ij|.

    dL/dY_hat = sign(Y_hat - Y) / m (0 where the residual is exactly 0).
    """

    name = "mae"

    def _forward(self, Y_hat: np.ndarray, Y: np.ndarray) -> np.ndarray:
        dY, per_sample = _fused_buffers(self, Y_hat)
        if self.ops.absolute_error(
            Y_hat, Y, dY, per_sample, self._buffers
        ):  # one pass, where compiled
            self._dY = dY
            return per_sample
        xp = self.ops.xp
        residual = xp.subtract(Y_hat, Y, out=self._buffer("tmp", Y_hat))
        self._dY = xp.sign(residual, out=self._buffer("dY", Y_hat))
        return self._row_sums(xp.abs(residual, out=residual))


class Huber(Loss):
    """Huber loss: per output r^2 / 2 if |r| <= delta else delta (|r| - delta / 2), r = y_hat - y.

    Summed over outputs, mean over the batch. dL/dY_hat = clip(r, -delta, delta) / m.
    """

    name = "huber"

    def __init__(self, delta: float = 1.0) -> None:
        super().__init__()
        self.delta = check_number("Huber", "delta", delta, low=0.0, low_open=True)

    def _forward(self, Y_hat: np.ndarray, Y: np.ndarray) -> np.ndarray:
        dY, per_sample = _fused_buffers(self, Y_hat)
        if self.ops.huber(
            Y_hat, Y, dY, per_sample, self.delta, self._buffers
        ):  # one pass, where compiled
            self._dY = dY
            return per_sample
        xp = self.ops.xp
        d = self.delta
        residual = xp.subtract(Y_hat, Y, out=self._buffer("tmp", Y_hat))
        size = xp.abs(residual, out=self._buffer("size", Y_hat))
        # per entry: r^2 / 2 where |r| <= delta, else delta (|r| - delta / 2)
        per_entry = xp.subtract(size, 0.5 * d, out=self._buffer("per_entry", Y_hat))
        per_entry *= d
        quadratic = xp.multiply(residual, 0.5, out=self._buffer("quadratic", Y_hat))
        quadratic *= residual
        inside = xp.less_equal(size, d, out=self._buffer("inside", Y_hat, np.bool_))
        xp.copyto(per_entry, quadratic, where=inside)
        self._dY = xp.clip(residual, -d, d, out=self._buffer("dY", Y_hat))
        return self._row_sums(per_entry)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "delta": self.delta}
