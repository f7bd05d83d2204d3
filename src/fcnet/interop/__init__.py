"""Interoperability: export to ONNX for deployment, and weights to and from PyTorch, Keras and
scikit-learn.

======================  ============================================================  =========
function                what it does                                                  needs
======================  ============================================================  =========
``to_onnx``             an ONNX model (``onnx.ModelProto``) of the network, its       onnx
                        preprocessing and its classifier head, optionally written
``register_exporter``   teach ``to_onnx`` a layer or preprocessing class              nothing
``onnx_inputs``         the exported graph's inputs (one per raw column) for a        nothing
                        table, for a model with a ``TabularEncoder``
``to_torch``            an equivalent ``torch.nn.Sequential``                         torch
``to_state_dict``       that module's ``state_dict`` as NumPy arrays                  nothing
``from_torch``          an fcnet ``Sequential`` from a ``torch.nn.Sequential`` or a   torch
                        state dict (with its architecture)
``from_keras``          an fcnet ``Sequential`` from a Keras 3 ``.keras`` file,       h5py
                        read without TensorFlow or Keras
``from_sklearn``        an fcnet ``Sequential`` from scikit-learn's fitted            nothing
                        ``MLPClassifier`` / ``MLPRegressor``
======================  ============================================================  =========

Importing this package imports none of the optional packages: each function imports what it
needs when called, and a missing package is an ``ImportError`` that names the extra to install
(``pip install "fcnet[onnx]"``).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "to_onnx": "fcnet.interop.onnx_export",
    # onnx_layers holds the registry; onnx_tabular adds its exporters to it, so the registry
    # is complete whichever is imported first through this package
    "register_exporter": "fcnet.interop.onnx_tabular",
    "EXPORTERS": "fcnet.interop.onnx_tabular",
    "onnx_inputs": "fcnet.interop.onnx_tabular",
    "to_torch": "fcnet.interop.pytorch",
    "from_torch": "fcnet.interop.pytorch",
    "to_state_dict": "fcnet.interop.state_dict",
    "from_keras": "fcnet.interop.keras",
    "from_sklearn": "fcnet.interop.sklearn_import",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'fcnet.interop' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
