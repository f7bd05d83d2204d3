"""Keras 3 ``.keras`` files as fcnet models, read with h5py alone: :func:`from_keras`.

A ``.keras`` file is a zip archive holding ``config.json`` (the model's ``get_config``,
serialized) and ``model.weights.h5``. In the weights file each layer of a Sequential model has a
group ``layers/<name>/vars`` whose datasets ``0, 1, ...`` are its variables, trainable ones
first, in the order the layer created them; ``<name>`` is the snake-case class name, suffixed
``_1``, ``_2``, ... for the second, third, ... layer of the class (Keras's ``saving_lib``; the
``name`` in the config is not used).

Conventions converted:

* ``Dense``: ``kernel`` is ``(n_in, n_out)``, fcnet's ``W``; no bias gives b = 0.
* ``BatchNormalization``: Keras keeps ``moving = momentum moving + (1 - momentum) batch``, so
  fcnet's momentum is ``1 - momentum``; ``epsilon`` is fcnet's ``eps`` (Keras's default, 1e-3,
  is kept); without ``scale`` / ``center``, gamma = 1 / beta = 0. (In training Keras updates the
  moving variance with the biased batch variance, fcnet with the unbiased one; inference is
  the same.)
* ``LayerNormalization``: ``epsilon`` as is (Keras's default 1e-3); ``rms_scaling`` refused.
* Leaky slopes: Keras's ``LeakyReLU`` layer (default slope 0.3), the ``leaky_relu`` activation
  (0.2) and ``ReLU(negative_slope=s)`` become fcnet's ``LeakyReLU(alpha=s)``; a slope outside
  [0, 1), ``max_value`` or ``threshold`` is refused.
* Keras's ``gelu`` activation is the tanh approximation by default, which fcnet does not have:
  refused. ``elu`` (alpha 1), ``relu``, ``sigmoid``, ``tanh``, ``softplus``, ``softmax``,
  ``linear`` map one to one.

Models other than ``Sequential`` (Functional, subclassed) and other layers are refused by name.
The model's ``task`` is not set: what a Keras model is trained for is not in its architecture.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from typing import Any

import numpy as np

from fcnet import activations as act
from fcnet.layers import BatchNorm, Dense, Dropout, LayerNorm

_ACTIVATIONS = {
    "linear": act.Identity,
    "relu": act.ReLU,
    "sigmoid": act.Sigmoid,
    "tanh": act.Tanh,
    "softplus": act.Softplus,
    "softmax": act.Softmax,
    "elu": act.ELU,  # keras.activations.elu's alpha is 1.0, fcnet's default
}
_KERAS_LEAKY_DEFAULT = 0.2  # keras.activations.leaky_relu's negative_slope


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:
        raise ImportError(
            'fcnet.from_keras needs the h5py package: pip install "fcnet[keras]"'
        ) from exc
    return h5py


def from_keras(path: str | os.PathLike) -> Any:
    """An fcnet ``Sequential`` from a Keras 3 ``.keras`` file (no TensorFlow, no Keras needed).

    See the module docstring for the layers read and the conventions converted.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    fcnet.Sequential
        float32 or float64, as the file's weights.

    Raises
    ------
    ValueError
        When the file is not a readable ``.keras`` archive, or a layer's options have no fcnet
        equal (the message names the layer).
    TypeError
        For a model other than Sequential, or a layer class fcnet does not have.
    """
    h5py = _h5py()
    name = f"'{os.fspath(path)}'"
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            weights = archive.read("model.weights.h5")
    except FileNotFoundError:
        raise ValueError(f"from_keras: {name}: no such file.") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ValueError(
            f"from_keras: {name} is not a Keras 3 .keras archive (a zip with config.json and "
            f"model.weights.h5): {exc}."
        ) from None
    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        kind = config.get("class_name") if isinstance(config, dict) else type(config).__name__
        raise TypeError(f"from_keras: {name} holds a {kind} model; expected a Sequential one.")
    entries = [
        entry
        for entry in config.get("config", {}).get("layers", [])
        if entry.get("class_name") != "InputLayer"
    ]
    with h5py.File(io.BytesIO(weights), "r") as store:
        variables = _variables(store, entries)
    floats = {v.dtype for arrays in variables for v in arrays}
    if not floats <= {np.dtype(np.float32), np.dtype(np.float64)} or len(floats) > 1:
        kinds = ", ".join(sorted(d.name for d in floats))
        raise ValueError(f"from_keras: {name}: expected float32 or float64 weights, got {kinds}.")
    dtype = floats.pop() if floats else None
    from fcnet.network import Sequential

    layers: list[Any] = []
    for i, (entry, arrays) in enumerate(zip(entries, variables, strict=True)):
        who = f"from_keras: layer {i} ({entry.get('class_name')} {entry['config'].get('name')!r})"
        _check_policy(entry["config"].get("dtype"), who)
        layer = _layer(entry["class_name"], entry["config"], arrays, dtype, who)
        if layer is None:
            continue
        previous = layers[-1] if layers else None
        if (
            isinstance(layer, act.Activation)
            and type(previous) is Dense
            and type(previous.activation) is act.Identity
        ):
            previous.activation = layer  # Dense then Activation: one fcnet Dense
        else:
            layers.append(layer)
    if not layers:
        raise ValueError(f"from_keras: {name} has no layers.")
    return Sequential(layers)


def _variables(store: Any, entries: list[dict[str, Any]]) -> list[list[np.ndarray]]:
    """Each layer's variables, from ``layers/<snake-case class name>[_k]/vars/<i>``."""
    used: dict[str, int] = {}
    result = []
    for entry in entries:
        base = _snake_case(entry.get("class_name", ""))
        used[base] = used.get(base, -1) + 1
        key = base if used[base] == 0 else f"{base}_{used[base]}"
        group = store.get(f"layers/{key}/vars")
        arrays: list[np.ndarray] = []
        if group is not None:
            arrays = [np.asarray(group[str(k)]) for k in range(len(group))]
        result.append(arrays)
    return result


def _snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``: ``BatchNormalization`` -> ``batch_normalization``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _layer(
    kind: str, config: dict[str, Any], arrays: list[np.ndarray], dtype: Any, who: str
) -> Any:
    if kind == "Dense":
        kernel = arrays[0]
        layer = Dense(
            *kernel.shape, activation=_activation(config.get("activation"), who), rng=0, dtype=dtype
        )
        layer.W[...] = kernel
        layer.b[...] = arrays[1] if config.get("use_bias", True) else 0
        return layer
    if kind == "Activation":
        return _activation(config.get("activation"), who)
    if kind == "Dropout":
        return Dropout(float(config.get("rate", 0.0)), dtype=dtype)
    if kind == "LeakyReLU":
        return _leaky(config.get("negative_slope", 0.3), who)
    if kind == "ReLU":
        if config.get("max_value") is not None or config.get("threshold", 0.0) != 0.0:
            raise ValueError(f"{who}: max_value and threshold have no fcnet equal.")
        slope = config.get("negative_slope", 0.0)
        return act.ReLU() if slope == 0.0 else _leaky(slope, who)
    if kind == "ELU":
        return act.ELU(float(config.get("alpha", 1.0)))
    if kind == "Softmax":
        _check_last_axis(config.get("axis", -1), who)
        return act.Softmax()
    if kind == "BatchNormalization":
        return _batch_norm(config, arrays, dtype, who)
    if kind == "LayerNormalization":
        if config.get("rms_scaling"):
            raise ValueError(f"{who}: rms_scaling has no fcnet equal.")
        _check_last_axis(config.get("axis", -1), who)
        center, scale = config.get("center", True), config.get("scale", True)
        width = arrays[0].shape[0] if arrays else None
        if width is None:
            raise ValueError(f"{who}: without scale or center its width is not in the file.")
        layer = LayerNorm(width, eps=float(config.get("epsilon", 1e-3)), dtype=dtype)
        _affine(layer, arrays, scale, center)
        return layer
    raise TypeError(
        f"{who} has no fcnet equivalent; expected Dense, Activation, Dropout, ReLU, LeakyReLU, "
        "ELU, Softmax, BatchNormalization or LayerNormalization."
    )


def _batch_norm(config: dict[str, Any], arrays: list[np.ndarray], dtype: Any, who: str) -> Any:
    _check_last_axis(config.get("axis", -1), who)
    if config.get("renorm") or config.get("synchronized"):
        raise ValueError(f"{who}: renorm and synchronized have no fcnet equal.")
    center, scale = config.get("center", True), config.get("scale", True)
    n_affine = int(bool(center)) + int(bool(scale))
    if len(arrays) != n_affine + 2:
        raise ValueError(f"{who}: expected {n_affine + 2} variables, the file has {len(arrays)}.")
    # Keras weighs the old average; 15 digits make 1 - 0.99 the 0.01 it stands for
    momentum = float(f"{1.0 - float(config.get('momentum', 0.99)):.15g}")
    layer = BatchNorm(
        arrays[-1].shape[0], momentum=momentum, eps=float(config.get("epsilon", 1e-3)), dtype=dtype
    )
    _affine(layer, arrays, scale, center)
    layer.running_mean[...] = arrays[n_affine]
    layer.running_var[...] = arrays[n_affine + 1]
    return layer


def _affine(layer: Any, arrays: list[np.ndarray], scale: bool, center: bool) -> None:
    """gamma then beta, each only if the Keras layer has it (its variables come in that order)."""
    k = 0
    if scale:
        layer.gamma[...] = arrays[k]
        k += 1
    if center:
        layer.beta[...] = arrays[k]


def _check_policy(policy: Any, who: str) -> None:
    """Refuse a mixed-precision policy: its layers compute in float16 or bfloat16."""
    if isinstance(policy, dict):
        policy = policy.get("config", {}).get("name")
    if isinstance(policy, str) and policy not in ("float32", "float64"):
        raise ValueError(f"{who}: dtype policy {policy!r}; fcnet computes in float32 or float64.")


def _check_last_axis(axis: Any, who: str) -> None:
    if axis not in (-1, 1, [-1], [1]):
        raise ValueError(f"{who}: axis={axis!r}; fcnet normalizes the features (axis -1).")


def _leaky(slope: Any, who: str) -> Any:
    slope = float(slope)
    if not 0.0 <= slope < 1.0:
        raise ValueError(f"{who}: negative_slope={slope}; fcnet's LeakyReLU needs [0, 1).")
    return act.LeakyReLU(slope)


def _activation(spec: Any, who: str) -> Any:
    """fcnet's activation for a Keras activation (a name, or a serialized function)."""
    if isinstance(spec, dict):  # {"module": "keras.activations", "class_name": "function", ...}
        spec = spec.get("config") if spec.get("class_name") == "function" else spec
    if spec is None:
        return act.Identity()
    if spec == "leaky_relu":
        return act.LeakyReLU(_KERAS_LEAKY_DEFAULT)
    if spec == "gelu":
        raise ValueError(
            f"{who}: Keras's gelu is the tanh approximation; fcnet's GELU is the exact form."
        )
    if not isinstance(spec, str) or spec not in _ACTIVATIONS:
        raise ValueError(
            f"{who}: activation {spec!r} has no fcnet equal; expected one of "
            f"{', '.join(sorted([*_ACTIVATIONS, 'leaky_relu']))}."
        )
    return _ACTIVATIONS[spec]()
