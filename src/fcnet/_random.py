"""One way to turn an ``rng`` argument into a :class:`numpy.random.Generator`."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

RngLike = np.random.Generator | int | None


def as_generator(rng: Any, who: str = "rng") -> np.random.Generator:
    """Return ``rng`` as a Generator: a Generator is used as is, an int seeds a new one.

    ``None`` gives a generator seeded from the operating system (not reproducible).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{who}: expected rng to be a non-negative integer seed, got {rng}.")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{who}: expected rng to be a numpy.random.Generator, an int seed or None, "
        f"got {type(rng).__name__}."
    )
