"""Weight initializers: each returns W of shape (n_in, n_out) drawn from ``rng``.

| name             | distribution                                  |
|------------------|-----------------------------------------------|
| glorot_uniform   | U(-a, a),  a = sqrt(6 / (n_in + n_out))       |
| glorot_normal    | N(0, s^2), s = sqrt(2 / (n_in + n_out))       |
| he_uniform       | U(-a, a),  a = sqrt(6 / n_in)                 |
| he_normal        | N(0, s^2), s = sqrt(2 / n_in)                 |
| lecun_normal     | N(0, s^2), s = sqrt(1 / n_in)                 |
| uniform_fan_in   | U(-a, a),  a = 1 / sqrt(n_in)  (PyTorch's)   |
| zeros            | 0                                             |

``xavier_uniform`` and ``xavier_normal`` are other names for the glorot pair. Draws are made in
float64 and rounded to the requested dtype, so a float32 and a float64 model built with the same
seed hold the same numbers up to rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fcnet._random import as_generator
from fcnet._validation import check_choice
from fcnet.backend import resolve_dtype

Initializer = Callable[..., np.ndarray]


def _uniform(limit: float, n_in: int, n_out: int, rng: Any, dtype: Any) -> np.ndarray:
    draw = as_generator(rng).uniform(-limit, limit, size=(n_in, n_out))
    return draw.astype(resolve_dtype(dtype))


def _normal(std: float, n_in: int, n_out: int, rng: Any, dtype: Any) -> np.ndarray:
    draw = as_generator(rng).normal(0.0, std, size=(n_in, n_out))
    return draw.astype(resolve_dtype(dtype))


def glorot_uniform(n_in: int, n_out: int, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / (n_in + n_out)); shape (n_in, n_out)."""
    return _uniform(np.sqrt(6.0 / (n_in + n_out)), n_in, n_out, rng, dtype)


def glorot_normal(n_in: int, n_out: int, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """N(0, s^2) with s = sqrt(2 / (n_in + n_out)); shape (n_in, n_out)."""
    return _normal(np.sqrt(2.0 / (n_in + n_out)), n_in, n_out, rng, dtype)


def he_uniform(n_in: int, n_out: int, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / n_in); shape (n_in, n_out). Suits ReLU layers."""
    return _uniform(np.sqrt(6.0 / n_in), n_in, n_out, rng, dtype)


def he_normal(n_in: int, n_out: int, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """N(0, s^2) with s = sqrt(2 / n_in); shape (n_in, n_out). Suits ReLU layers."""
    return _normal(np.sqrt(2.0 / n_in), n_in, n_out, rng, dtype)


def lecun_normal(n_in: int, n_out: int, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """N(0, s^2) with s = sqrt(1 / n_in); shape (n_in, n_out)."""
    return _normal(np.sqrt(1.0 / n_in), n_in, n_out, rng, dtype)


def uniform_fan_in(n_in: int, n_out: int, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """U(-a, a) with a = 1 / sqrt(n_in); PyTorch's default for ``nn.Linear``."""
    return _uniform(1.0 / np.sqrt(n_in), n_in, n_out, rng, dtype)


def zeros(n_in: int, n_out: int, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """All zeros; shape (n_in, n_out). Draws nothing."""
    return np.zeros((n_in, n_out), dtype=resolve_dtype(dtype))


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "xavier_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
    "uniform_fan_in": uniform_fan_in,
    "zeros": zeros,
}


def get_initializer(init: str | Initializer) -> Initializer:
    """Return the initializer named ``init`` (or ``init`` itself when it is callable)."""
    if callable(init):
        return init
    return check_choice("initializers", "initializer", init, INITIALIZERS)
