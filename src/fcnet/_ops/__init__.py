"""The array-operations seam (:class:`Ops`), its CPU implementation (:class:`NumpyOps`) and the
choice of device (:func:`get_ops`, :func:`set_device`)."""

from __future__ import annotations

from typing import Any

from fcnet._ops.base import Ops
from fcnet._ops.numpy_ops import NumpyOps, cpu_ops

__all__ = ["NumpyOps", "Ops", "default_ops", "get_ops", "layer_ops", "set_device"]

_default: Ops = cpu_ops()
_gpu: Ops | None = None


def get_ops(device: Any) -> Ops:
    """The operations object for ``device``: ``"cpu"``, ``"gpu"`` (or ``"cuda"``), or an
    :class:`Ops` itself.

    Raises
    ------
    RuntimeError
        For ``"gpu"`` when CuPy or a GPU is missing (never a silent fall back to the CPU).
    """
    global _gpu
    if isinstance(device, Ops):
        return device
    if device == "cpu":
        return cpu_ops()
    if device in ("gpu", "cuda"):
        if _gpu is None:
            from fcnet._ops.cupy_ops import CupyOps

            _gpu = CupyOps()
        return _gpu
    raise ValueError(f"device: expected 'cpu', 'gpu' or an Ops object, got {device!r}.")


def set_device(device: Any) -> None:
    """Make ``device`` (see :func:`get_ops`) the process default for layers built from now on."""
    global _default
    _default = get_ops(device)


def default_ops() -> Ops:
    """The operations object new layers compute with (the CPU's unless :func:`set_device`)."""
    return _default


def layer_ops(device: Any) -> Ops:
    """The operations object of a new layer: ``device``'s (see :func:`get_ops`), or the process
    default (:func:`default_ops`) when ``device`` is None."""
    return default_ops() if device is None else get_ops(device)
