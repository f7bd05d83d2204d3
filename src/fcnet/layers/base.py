"""The layer protocol, the registry of layer classes :func:`fcnet.load` rebuilds, and the input
check every built-in layer makes.

A layer is any object with

* ``forward(X, training=False) -> A``
* ``backward(dA) -> dX`` (gradients of its parameters are written to its attributes)
* ``params()`` and ``grads()``: dicts of live arrays with the same keys.

Optional: ``get_config()`` (for saving), ``penalty()`` (a regularization term added to the
loss), ``trainable`` and ``lr_mult`` (read by ``fit``), ``infer(X) -> A`` (a forward for
inference that keeps no caches; ``predict`` uses it when the class that defines ``forward``
defines it too), ``rng`` (a layer that draws random numbers in training keeps its
``numpy.random.Generator`` there; when it is None, ``fit`` gives it one derived from its own
``rng``, and checkpoints carry its state). ``backward`` overwrites gradients; it never
accumulates.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from fcnet._buffers import Buffers
from fcnet.activations import ACTIVATIONS

LAYERS: dict[str, type] = {}


def register_layer(cls: type) -> type:
    """Class decorator: make a layer class known to :func:`fcnet.load` by its class name.

    The class needs ``get_config()`` returning its constructor arguments (JSON values) and a
    constructor accepting them as keywords.
    """
    LAYERS[cls.__name__] = cls
    return cls


def as_input(who: str, X: Any, n_in: int, dtype: np.dtype, ops: Any = None) -> Any:
    """The layer's input as a 2-D array of ``dtype`` with ``n_in`` columns (cheap checks only),
    of ``ops``'s kind (NumPy when None)."""
    if ops is None:
        if not isinstance(X, np.ndarray) or X.dtype != dtype:
            X = np.asarray(X, dtype=dtype)
    elif not ops.is_array(X) or X.dtype != dtype:
        X = ops.asarray(X, dtype)
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"{who}: expected X of shape (m, {n_in}), got {X.shape}.")
    return X


def move_to(layer: Any, ops: Any, names: tuple[str, ...]) -> Any:
    """Move the arrays ``names`` of a built-in layer (and its activation) to ``ops``: each is
    read to the host and made an array of ``ops``'s kind; caches and scratch are dropped."""
    old = layer.ops
    for name in names:
        value = getattr(layer, name)
        if value is not None:
            setattr(layer, name, ops.asarray(old.to_host(value)).copy())
    layer.ops = ops
    layer._buffers = Buffers(ops)
    for cache in ("X", "Z", "A", "dZ", "mask"):
        if hasattr(layer, cache):
            setattr(layer, cache, None)
    activation = getattr(layer, "activation", None)
    if activation is not None and hasattr(activation, "to"):
        activation.to(ops)
    return layer


_SKIP_DX_SUPPORT: dict[type, bool] = {}


def supports_skipping_dX(layer: Any) -> bool:
    """Whether ``layer.backward`` takes ``need_dX`` (so the first layer can skip dX)."""
    cls = type(layer)
    if cls not in _SKIP_DX_SUPPORT:
        try:
            _SKIP_DX_SUPPORT[cls] = "need_dX" in inspect.signature(cls.backward).parameters
        except (TypeError, ValueError):
            _SKIP_DX_SUPPORT[cls] = False
    return _SKIP_DX_SUPPORT[cls]


for _activation in ACTIVATIONS.values():  # activations are parameterless layers too
    LAYERS[_activation.__name__] = _activation
