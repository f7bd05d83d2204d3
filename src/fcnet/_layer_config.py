"""Layers rebuilt from their configuration, and the checks of a stack's widths and class labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fcnet.activations import Activation, activation_from_config
from fcnet.layers import LAYERS


def _checked_classes(classes: Any, model: Any) -> np.ndarray:
    """A configuration's class labels, checked against the model's outputs."""
    if (
        not isinstance(classes, list)
        or len(classes) < 2
        or not all(isinstance(c, str | int | float) for c in classes)
    ):
        raise ValueError(
            f"Sequential: expected classes as a list of at least 2 labels (strings or numbers), "
            f"got {classes!r}."
        )
    n_out = model.n_out
    expected = 2 if model.task == "binary" and n_out == 1 else n_out
    if expected is not None and len(classes) != expected:
        raise ValueError(
            f"Sequential: a model with {n_out} output{'s' if n_out != 1 else ''} "
            f"({model.task or 'no task'}) needs {expected} class labels, but the configuration "
            f"lists {len(classes)}."
        )
    return np.asarray(classes)


def layer_from_config(entry: dict[str, Any], dtype: Any = None) -> Any:
    """Build one layer from ``{"type": class name, "config": {...}}``."""
    if not isinstance(entry, dict) or "type" not in entry:
        raise ValueError(f"Sequential: a layer entry needs a 'type', got {entry!r}.")
    kind = entry["type"]
    config = dict(entry.get("config", {}))
    if kind not in LAYERS:
        valid = ", ".join(sorted(LAYERS))
        raise ValueError(f"Sequential: unknown layer type {kind!r}; expected one of {valid}.")
    cls = LAYERS[kind]
    if issubclass(cls, Activation):
        return activation_from_config(config)
    if hasattr(cls, "from_config"):
        return cls.from_config(config, dtype=dtype)
    return cls(**config)


def _check_widths(layers: Sequence[Any]) -> None:
    width = None
    for i, layer in enumerate(layers):
        n_in = getattr(layer, "n_in", None)
        if width is not None and n_in is not None and n_in != width:
            raise ValueError(
                f"Sequential: layer {i} ({type(layer).__name__}) expects n_in={n_in}, "
                f"but the layer before it outputs {width}."
            )
        width = getattr(layer, "n_out", width)
