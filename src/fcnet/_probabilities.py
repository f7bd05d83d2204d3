"""Probabilities from a network's raw outputs (host NumPy arrays)."""

from __future__ import annotations

import numpy as np


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), as (1 + tanh(z / 2)) / 2, which never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * Z))


def softmax_rows(Z: np.ndarray) -> np.ndarray:
    """Softmax of each row of logits Z (m, k), shifted by the row maximum (a new array)."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted
