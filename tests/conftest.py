"""Shared test setup: floating-point errors fail loudly, and a few tiny data sets."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _raise_on_fp_errors():
    # Overflow, 0/0 and log(0) in library code are bugs; underflow to 0 is expected (e^-1000).
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        yield


@pytest.fixture
def blobs():
    """Three separable Gaussian blobs in 4-D: X float32 (150, 4), y int64 (150,)."""
    rng = np.random.default_rng(7)
    centers = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], dtype=np.float64)
    y = np.repeat(np.arange(3), 50)
    X = centers[y] + 0.5 * rng.normal(size=(150, 4))
    return X.astype(np.float32), y


@pytest.fixture
def worked_numbers():
    """Every number of the worked example (docs/math.md): forward, loss, gradients, SGD step."""
    forward_and_loss = "0.49 0.62 0.18365"
    gradients = "0.048 -0.037 0.24 -0.185 -0.002 0.009"
    sgd_step = "0.1452 0.2037 0.226 0.3185"
    return f"{forward_and_loss} {gradients} {sgd_step}".split()


class _LinearProbe:
    """L = sum(G * Y_hat): the simplest loss whose gradient is known exactly (dL/dY_hat = G)."""

    def __init__(self, G):
        self.G = G

    def forward(self, Y_hat, Y, sample_weight=None):
        return float(np.sum(self.G * Y_hat))

    def backward(self):
        return self.G


@pytest.fixture
def linear_probe():
    """The class of a loss L = sum(G * Y_hat), for gradient checks of a single layer."""
    return _LinearProbe
