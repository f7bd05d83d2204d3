"""Compiled kernels for the CPU (Numba, the ``fast`` extra), one pass each where NumPy makes
several: bias and activation, the activation's derivative with the column sums of the bias
gradient (``activations``), a Dense layer's pass with its products (``dense``, through the BLAS
called from compiled code, ``blas``), each loss with its gradient (``losses``), each optimizer's
update (``optimizers``); the elementary functions they use (``vmath``).

Nothing here is imported by ``import fcnet``: :class:`fcnet._ops.numpy_ops.NumpyOps` calls
:func:`fcnet._ops.kernels.loader.load` at its first fused pass, which imports Numba and these
modules; each kernel is compiled (or read from the disk cache) at its first call. Without Numba
the NumPy code of the layers, losses and optimizers runs instead: it is the reference these
kernels are tested against.
"""
