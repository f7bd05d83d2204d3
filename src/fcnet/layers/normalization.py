"""Normalization layers: :class:`BatchNorm` (over the batch) and :class:`LayerNorm` (over features).

Both compute ``Xhat = (X - mu) / sqrt(var + eps)`` and ``A = gamma * Xhat + beta``; they differ in
the axis the statistics ``mu`` and ``var`` (biased: divided by the count) are taken over.

The backward of both follows from ``Xhat`` depending on every entry it was normalized with. With
``k`` entries per statistic (``k = m`` for BatchNorm, ``k = n`` for LayerNorm) and
``dXhat = dA * gamma``::

    dX = (1/k) * inv_std * (k dXhat - sum dXhat - Xhat * sum(dXhat * Xhat))

with the sums over the same axis as the statistics. Derivation: ``dXhat_i/dX_j =
inv_std (delta_ij - 1/k - Xhat_i Xhat_j / k)`` over the ``k`` entries sharing a mu and var, since
``dmu/dX_j = 1/k`` and ``dinv_std/dX_j = -inv_std^3 (X_j - mu) / k = -inv_std^2 Xhat_j / k``.
Summing ``dXhat_i`` times that over ``i`` gives the line above.
"""

from fcnet.layers.batchnorm import BatchNorm
from fcnet.layers.layernorm import LayerNorm

__all__ = ["BatchNorm", "LayerNorm"]
