"""The array module in use and the default floating-point dtype.

fcnet computes with NumPy. The default dtype is float32 (fast, half the memory); float64 is
used on request (``dtype=`` on constructors, or :func:`set_dtype`) and always by the gradient
checker.

BLAS threads: ``fit`` picks how many threads the matrix products use from the size of one
step's largest product (:func:`blas_threads_for`) and restores the previous limits when it
returns; :func:`set_num_threads` overrides the choice for ``fit`` and ``predict``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

xp = np

_SUPPORTED = (np.dtype(np.float32), np.dtype(np.float64))
_default_dtype = np.dtype(np.float32)


def get_dtype() -> np.dtype:
    """Return the default floating-point dtype for new parameters (float32 unless changed)."""
    return _default_dtype


def set_dtype(dtype: Any) -> None:
    """Set the default floating-point dtype: ``"float32"`` or ``"float64"``.

    Parameters
    ----------
    dtype : str or numpy dtype
        ``float32`` or ``float64``.
    """
    global _default_dtype
    _default_dtype = resolve_dtype(dtype)


def resolve_dtype(dtype: Any = None) -> np.dtype:
    """Turn ``None`` (the default dtype) or a dtype-like into a supported float dtype."""
    if dtype is None:
        return _default_dtype
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype: expected 'float32' or 'float64', got {dtype!r}.") from exc
    if resolved not in _SUPPORTED:
        raise ValueError(f"dtype: expected 'float32' or 'float64', got {resolved.name!r}.")
    return resolved


# --- BLAS threads ----------------------------------------------------------------------------
# Measured on 2 cores (benchmarks/mlp.py, OpenBLAS): a threaded product pays only when it is
# large. Below about 4M multiply-adds (batch 32 through a 256 x 256 layer: 2.1M) the second
# thread lost up to half the throughput: each product is too short to split, and the BLAS worker
# then spins between products, slowing the single-threaded element-wise passes and weight
# updates of the main thread. From 784 x 256 at batch 32 (6.4M) upward the second thread won.
THREADED_PRODUCT_MIN = 1 << 22

_num_threads: int | None = None
_blas_controller: Any = None


def set_num_threads(n: int | None) -> None:
    """Set the number of BLAS threads ``fit`` and ``predict`` use; None restores the automatic
    choice (one thread for small products, the BLAS default otherwise).

    The limit applies only while fcnet computes; the previous limits are restored afterwards.

    Parameters
    ----------
    n : int >= 1 or None
    """
    global _num_threads
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise TypeError(f"set_num_threads: expected a positive integer or None, got {n!r}.")
        if n < 1:
            raise ValueError(f"set_num_threads: expected a positive integer or None, got {n!r}.")
        n = int(n)
    _num_threads = n


def get_num_threads() -> int | None:
    """The number set by :func:`set_num_threads`, or None for the automatic choice."""
    return _num_threads


def blas_threads_for(largest_product: int) -> int | None:
    """BLAS threads for a step whose largest matrix product has ``largest_product``
    multiply-adds: the user's setting, else 1 below :data:`THREADED_PRODUCT_MIN`, else None
    (the BLAS default, normally one thread per core)."""
    if _num_threads is not None:
        return _num_threads
    return 1 if largest_product < THREADED_PRODUCT_MIN else None


@contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit the BLAS to ``n`` threads inside the block (None: leave it alone), then restore."""
    controller = _controller() if n is not None else None
    if controller is None:
        yield
        return
    with controller.limit(limits=n, user_api="blas"):
        yield


def _controller() -> Any:
    global _blas_controller
    if _blas_controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # a core dependency, but fcnet still computes without it
            _blas_controller = False
        else:
            _blas_controller = ThreadpoolController()
    return _blas_controller or None
