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
