"""fcnet layers as PyTorch modules, described without importing torch: the module each layer
becomes, and the ``state_dict`` of the ``torch.nn.Sequential`` they make, as NumPy arrays.

Each fcnet layer becomes one module, or two for a Dense with an activation:

==============================  ======================================================
fcnet                           torch.nn
==============================  ======================================================
``Dense(n_in, n_out, f)``       ``Linear(n_in, n_out)`` (``weight = W^T``), then f's module
``ReLU``, ``Sigmoid``, ``Tanh`` ``ReLU()``, ``Sigmoid()``, ``Tanh()``
``LeakyReLU(alpha)``            ``LeakyReLU(negative_slope=alpha)``
``ELU(alpha)``                  ``ELU(alpha=alpha)``
``GELU``                        ``GELU()`` (the exact, erf form)
``Softplus``                    ``Softplus()`` (beta 1, threshold 20)
``Softmax``                     ``Softmax(dim=-1)``
``Identity`` (standalone)       ``Identity()``
``Dropout(p)``                  ``Dropout(p)``
``BatchNorm(n, momentum, eps)`` ``BatchNorm1d(n, eps, momentum)``: the same conventions
                                (the batch's weight in the running averages is
                                ``momentum``; running_var is unbiased)
``LayerNorm(n, eps)``           ``LayerNorm(n, eps)``
==============================  ======================================================

An identity activation inside a Dense adds no module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet import activations as act
from fcnet.layers import BatchNorm, Dense, Dropout, LayerNorm

#: fcnet activation class -> (torch.nn class name, its keyword arguments from the activation)
ACTIVATION_MODULES: dict[type, tuple[str, Any]] = {
    act.Identity: ("Identity", lambda a: {}),
    act.ReLU: ("ReLU", lambda a: {}),
    act.LeakyReLU: ("LeakyReLU", lambda a: {"negative_slope": a.alpha}),
    act.ELU: ("ELU", lambda a: {"alpha": a.alpha}),
    act.GELU: ("GELU", lambda a: {}),
    act.Sigmoid: ("Sigmoid", lambda a: {}),
    act.Tanh: ("Tanh", lambda a: {}),
    act.Softplus: ("Softplus", lambda a: {}),
    act.Softmax: ("Softmax", lambda a: {"dim": -1}),
}


def module_specs(model: Any, who: str = "to_torch") -> list[tuple[str, dict[str, Any], Any]]:
    """The modules of the equivalent ``torch.nn.Sequential``, in order: (class name, keyword
    arguments, the fcnet layer they come from).

    Raises
    ------
    TypeError
        For a layer (or activation) that has no PyTorch equivalent, naming its index and class.
    """
    specs: list[tuple[str, dict[str, Any], Any]] = []
    for i, layer in enumerate(model.layers):
        kind = type(layer)
        if kind is Dense:
            specs.append(
                ("Linear", {"in_features": layer.n_in, "out_features": layer.n_out}, layer)
            )
            if type(layer.activation) is not act.Identity:
                specs.append(_activation_spec(layer.activation, i, layer, who))
        elif kind is Dropout:
            specs.append(("Dropout", {"p": layer.p}, layer))
        elif kind is BatchNorm:
            options = {"num_features": layer.n, "eps": layer.eps, "momentum": layer.momentum}
            specs.append(("BatchNorm1d", options, layer))
        elif kind is LayerNorm:
            specs.append(("LayerNorm", {"normalized_shape": layer.n, "eps": layer.eps}, layer))
        elif kind in ACTIVATION_MODULES:
            specs.append(_activation_spec(layer, i, layer, who))
        else:
            raise TypeError(
                f"{who}: layer {i} ({kind.__name__}) has no PyTorch equivalent; expected Dense, "
                "Dropout, BatchNorm, LayerNorm or one of fcnet's activations."
            )
    return specs


def _activation_spec(activation: Any, i: int, layer: Any, who: str) -> tuple[str, dict, Any]:
    entry = ACTIVATION_MODULES.get(type(activation))
    if entry is None:
        raise TypeError(
            f"{who}: layer {i} ({type(layer).__name__}) has activation "
            f"{type(activation).__name__}, which has no PyTorch equivalent."
        )
    name, options = entry
    return name, options(activation), activation


def to_state_dict(model: Any) -> dict[str, np.ndarray]:
    """The ``state_dict`` of ``to_torch(model)``, as NumPy arrays (copies), without torch.

    Keys are ``"<module index>.<name>"`` as ``torch.nn.Sequential`` names them; a Dense with an
    activation takes two indices (the Linear, then the activation), so the indices are not
    fcnet's layer indices. Layouts are PyTorch's: ``weight`` of a Linear is ``W^T``
    ``(n_out, n_in)``; a BatchNorm1d has ``weight`` (gamma), ``bias`` (beta), ``running_mean``,
    ``running_var`` and ``num_batches_tracked`` (int64, 0: fcnet does not count batches).

    Parameters
    ----------
    model : fcnet.Sequential

    Returns
    -------
    dict of str to numpy.ndarray
        Loads into ``to_torch(model)`` with ``strict=True`` once made tensors
        (``{k: torch.from_numpy(v) for k, v in ...}``).
    """
    state: dict[str, np.ndarray] = {}
    for index, (name, _, layer) in enumerate(module_specs(model, "to_state_dict")):
        if name == "Linear":
            state[f"{index}.weight"] = np.ascontiguousarray(layer.W.T)
            state[f"{index}.bias"] = layer.b.copy()
        elif name in ("BatchNorm1d", "LayerNorm"):
            state[f"{index}.weight"] = layer.gamma.copy()
            state[f"{index}.bias"] = layer.beta.copy()
            if name == "BatchNorm1d":
                state[f"{index}.running_mean"] = layer.running_mean.copy()
                state[f"{index}.running_var"] = layer.running_var.copy()
                state[f"{index}.num_batches_tracked"] = np.array(0, dtype=np.int64)
    return state


def architecture_config(architecture: Any, who: str) -> dict[str, Any]:
    """An architecture given as :meth:`Sequential.get_config`'s dict, its JSON text, or a
    Sequential whose configuration is taken."""
    import json

    if isinstance(architecture, str):
        try:
            architecture = json.loads(architecture)
        except ValueError as exc:
            raise ValueError(f"{who}: architecture is a string but not JSON ({exc}).") from None
    elif hasattr(architecture, "get_config") and hasattr(architecture, "layers"):
        architecture = architecture.get_config()
    if not isinstance(architecture, dict) or not isinstance(architecture.get("layers"), list):
        raise TypeError(
            f"{who}: expected architecture as a Sequential, its get_config() dict or that as "
            f"JSON, got {type(architecture).__name__}."
        )
    return architecture


def from_state_dict(state: dict[str, Any], architecture: Any, who: str = "from_torch") -> Any:
    """An fcnet model built from ``architecture`` and filled from a PyTorch-layout state dict.

    Parameters
    ----------
    state : dict of str to array
        NumPy arrays or tensors (anything ``numpy.asarray`` takes, tensors after
        ``detach().cpu()``), with the keys and layouts of :func:`to_state_dict`;
        ``num_batches_tracked`` entries may be absent.
    architecture : Sequential, dict or str
        See :func:`architecture_config`.

    Raises
    ------
    ValueError
        When keys are missing or unexpected, or a shape does not match.
    """
    from fcnet.network import Sequential

    config = architecture_config(architecture, who)
    arrays = {key: _as_numpy(value) for key, value in state.items()}
    floats = {a.dtype for a in arrays.values() if a.dtype.kind == "f"}
    if not floats <= {np.dtype(np.float32), np.dtype(np.float64)} or len(floats) > 1:
        names = ", ".join(sorted(d.name for d in floats))
        raise TypeError(f"{who}: expected float32 or float64 tensors of one dtype, got {names}.")
    model = Sequential.from_config(config, dtype=floats.pop() if floats else None)
    expected = to_state_dict(model)
    optional = {k for k in expected if k.endswith(".num_batches_tracked")}
    missing = sorted(set(expected) - set(arrays) - optional)
    unexpected = sorted(set(arrays) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{who}: the state dict does not match the architecture: missing {missing}, "
            f"unexpected {unexpected}."
        )
    for key, target in expected.items():
        if key in arrays and arrays[key].shape != target.shape:
            raise ValueError(
                f"{who}: {key!r} has shape {arrays[key].shape}, the architecture expects "
                f"{target.shape}."
            )
    for index, (name, _, layer) in enumerate(module_specs(model, who)):
        if name == "Linear":
            layer.W[...] = arrays[f"{index}.weight"].T
            layer.b[...] = arrays[f"{index}.bias"]
        elif name in ("BatchNorm1d", "LayerNorm"):
            layer.gamma[...] = arrays[f"{index}.weight"]
            layer.beta[...] = arrays[f"{index}.bias"]
            if name == "BatchNorm1d":
                layer.running_mean[...] = arrays[f"{index}.running_mean"]
                layer.running_var[...] = arrays[f"{index}.running_var"]
    return model


def _as_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, without importing torch here
        value = value.detach().cpu().numpy()
    return np.asarray(value)
