"""The array module in use and the default floating-point dtype.

fcnet computes with NumPy. The default dtype is float32 (fast, half the memory); float64 is
used on request (``dtype=`` on constructors, or :func:`set_dtype`) and always by the gradient
checker.
"""

from __future__ import annotations

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
