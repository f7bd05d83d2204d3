"""Layers: :class:`Dense`, :class:`Dropout`, :class:`BatchNorm`, :class:`LayerNorm`,
:class:`Embedding`.

The layer protocol is described in :mod:`fcnet.layers.base`.
"""

from fcnet.layers.base import LAYERS, as_input, register_layer, supports_skipping_dX
from fcnet.layers.dense import Dense
from fcnet.layers.dropout import Dropout
from fcnet.layers.embedding import Embedding
from fcnet.layers.normalization import BatchNorm, LayerNorm

__all__ = [
    "LAYERS",
    "BatchNorm",
    "Dense",
    "Dropout",
    "Embedding",
    "LayerNorm",
    "as_input",
    "register_layer",
    "supports_skipping_dX",
]
