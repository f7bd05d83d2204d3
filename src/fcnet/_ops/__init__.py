"""The array-operations seam (:class:`Ops`) and its CPU implementation (:class:`NumpyOps`)."""

from fcnet._ops.base import Ops
from fcnet._ops.numpy_ops import NumpyOps, default_ops

__all__ = ["NumpyOps", "Ops", "default_ops"]
