"""Normalization layers; they live in :mod:`fcnet.layers.normalization`."""

from fcnet.layers.normalization import BatchNorm, LayerNorm

__all__ = ["BatchNorm", "LayerNorm"]
