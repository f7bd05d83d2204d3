"""fcnet models to and from PyTorch: :func:`to_torch` and :func:`from_torch`.

The module each layer becomes is listed in :mod:`fcnet.interop.state_dict`. The conventions
agree: ``Linear.weight`` is ``W^T``; BatchNorm's ``momentum`` is the weight of the batch in the
running averages in both, and both keep the unbiased variance; ``eps`` is added to the variance
in BatchNorm and LayerNorm alike. A module whose computation fcnet has no equal for is refused by
name rather than approximated: ``GELU(approximate="tanh")``, ``Softplus`` with ``beta`` other
than 1 (or ``threshold`` other than 20), ``BatchNorm1d`` with ``momentum=None`` (a cumulative
average) or without running statistics, ``Softmax`` over another axis, and every other class
(``Conv1d``, ``SiLU``, a module of one's own, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet import activations as act
from fcnet.interop.state_dict import from_state_dict, module_specs, to_state_dict
from fcnet.layers import BatchNorm, Dense, Dropout, LayerNorm


def _torch(who: str) -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError(f"fcnet.{who} needs PyTorch: pip install torch") from exc
    return torch


def to_torch(model: Any) -> Any:
    """The equivalent ``torch.nn.Sequential``, in eval mode, with copies of the weights.

    ``to_torch(model)(X)`` equals ``model.predict_output(X)`` to float32 rounding (float64
    models give a float64 module). The model's preprocessing is not part of the module: apply
    ``model.preprocessing.transform`` first.

    Parameters
    ----------
    model : fcnet.Sequential

    Returns
    -------
    torch.nn.Sequential
        Its ``state_dict`` has the keys of :func:`fcnet.interop.to_state_dict`.

    Raises
    ------
    TypeError
        For a layer with no PyTorch equivalent (a class of one's own), naming index and class.
    """
    torch = _torch("to_torch")
    nn = torch.nn
    specs = module_specs(model)
    module = nn.Sequential(*(getattr(nn, name)(**options) for name, options, _ in specs))
    dtype = torch.float64 if np.dtype(model.dtype) == np.float64 else torch.float32
    module.to(dtype)
    state = {k: torch.from_numpy(v) for k, v in to_state_dict(model).items()}
    module.load_state_dict(state, strict=True)
    return module.eval()


def from_torch(module_or_state_dict: Any, *, architecture: Any = None) -> Any:
    """An fcnet ``Sequential`` from a PyTorch module or state dict.

    A ``torch.nn.Sequential`` (nested ones are flattened) is read module by module: a
    ``Linear`` becomes a Dense (``W = weight^T``; no bias gives b = 0) and the activation module
    right after it becomes that Dense's activation; other modules become the layers listed in
    :mod:`fcnet.interop.state_dict`. So ``from_torch(to_torch(model))`` has the same parameters
    and running statistics, bit for bit, though a Dense followed by a standalone activation
    layer comes back as one Dense.

    With ``architecture`` (``model.get_config()``, its JSON, or a model), the fcnet model is
    built from it, preprocessing, task and classes included, and filled from the state dict
    (the module's, when given a module), which must have exactly the keys and shapes of
    :func:`fcnet.interop.to_state_dict` for it. A state dict holds no activations, so it
    needs ``architecture``; a state dict of NumPy arrays needs no torch.

    Parameters
    ----------
    module_or_state_dict : torch.nn.Module or dict
    architecture : Sequential, dict or str, optional

    Returns
    -------
    fcnet.Sequential

    Raises
    ------
    TypeError
        For a module class fcnet has no equal for, naming its position and class.
    ValueError
        For a supported class with options fcnet cannot follow (GELU's tanh form, ...), or a
        state dict that does not match the architecture.
    """
    source = module_or_state_dict
    if isinstance(source, dict):
        if architecture is None:
            raise ValueError(
                "from_torch: a state dict holds no activations; pass architecture= (the "
                "model's get_config()) or the torch module itself."
            )
        return from_state_dict(source, architecture)
    torch = _torch("from_torch")
    if not isinstance(source, torch.nn.Module):
        raise TypeError(
            f"from_torch: expected a torch.nn.Module or a state dict, got {type(source).__name__}."
        )
    if architecture is not None:
        return from_state_dict(source.state_dict(), architecture)
    return _from_modules(_flatten(source, "", torch.nn), torch.nn)


def _flatten(module: Any, path: str, nn: Any) -> list[tuple[str, Any]]:
    if type(module) is nn.Sequential:
        items: list[tuple[str, Any]] = []
        for name, child in module.named_children():
            items += _flatten(child, f"{path}.{name}" if path else name, nn)
        return items
    return [(path or "0", module)]


def _from_modules(modules: list[tuple[str, Any]], nn: Any) -> Any:
    from fcnet.network import Sequential

    dtypes = {
        p.dtype
        for _, m in modules
        for p in [*m.parameters(), *m.buffers()]
        if p.is_floating_point()
    }
    names = {str(d).removeprefix("torch.") for d in dtypes}
    if not names <= {"float32", "float64"} or len(names) > 1:
        raise TypeError(
            f"from_torch: expected float32 or float64 parameters of one dtype, got "
            f"{', '.join(sorted(names))}; convert the module with .float() or .double() first."
        )
    dtype = names.pop() if names else None
    layers: list[Any] = []
    for path, module in modules:
        who = f"from_torch: module {path} ({module!r})"
        kind = type(module)
        if kind is nn.Linear:
            layers.append(_dense(module, dtype))
        elif kind is nn.Identity:
            continue
        elif kind is nn.Dropout:
            layers.append(Dropout(module.p, dtype=dtype))
        elif kind is nn.BatchNorm1d:
            layers.append(_batch_norm(module, dtype, who))
        elif kind is nn.LayerNorm:
            layers.append(_layer_norm(module, dtype, who))
        else:
            activation = _activation(module, nn, who)
            previous = layers[-1] if layers else None
            if type(previous) is Dense and type(previous.activation) is act.Identity:
                previous.activation = activation
            else:
                layers.append(activation)
    if not layers:
        raise ValueError("from_torch: the module has no layers fcnet can hold.")
    return Sequential(layers)


def _numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _dense(module: Any, dtype: Any) -> Dense:
    layer = Dense(module.in_features, module.out_features, rng=0, dtype=dtype)
    layer.W[...] = _numpy(module.weight).T
    layer.b[...] = 0 if module.bias is None else _numpy(module.bias)
    return layer


def _batch_norm(module: Any, dtype: Any, who: str) -> BatchNorm:
    if not module.track_running_stats or module.running_mean is None:
        raise ValueError(f"{who} keeps no running statistics; fcnet's BatchNorm needs them.")
    if module.momentum is None:
        raise ValueError(
            f"{who} has momentum=None (a cumulative average), which fcnet's BatchNorm does not "
            "keep; set the module's momentum to a number first."
        )
    layer = BatchNorm(module.num_features, momentum=module.momentum, eps=module.eps, dtype=dtype)
    if module.affine:
        layer.gamma[...] = _numpy(module.weight)
        layer.beta[...] = _numpy(module.bias)
    layer.running_mean[...] = _numpy(module.running_mean)
    layer.running_var[...] = _numpy(module.running_var)
    return layer


def _layer_norm(module: Any, dtype: Any, who: str) -> LayerNorm:
    if len(module.normalized_shape) != 1:
        raise ValueError(
            f"{who} normalizes over {len(module.normalized_shape)} axes; fcnet's LayerNorm "
            "normalizes the features of each row (one axis)."
        )
    layer = LayerNorm(module.normalized_shape[0], eps=module.eps, dtype=dtype)
    if module.weight is not None:
        layer.gamma[...] = _numpy(module.weight)
    if module.bias is not None:
        layer.beta[...] = _numpy(module.bias)
    return layer


def _activation(module: Any, nn: Any, who: str) -> Any:
    """fcnet's activation for an activation module, or an error saying why there is none."""
    kind = type(module)
    if kind in (nn.ReLU, nn.Sigmoid, nn.Tanh):
        return {nn.ReLU: act.ReLU, nn.Sigmoid: act.Sigmoid, nn.Tanh: act.Tanh}[kind]()
    if kind is nn.LeakyReLU:
        if not 0.0 <= module.negative_slope < 1.0:
            raise ValueError(f"{who}: fcnet's LeakyReLU needs a slope in [0, 1).")
        return act.LeakyReLU(module.negative_slope)
    if kind is nn.ELU:
        if not module.alpha > 0:
            raise ValueError(f"{who}: fcnet's ELU needs alpha > 0.")
        return act.ELU(module.alpha)
    if kind is nn.GELU:
        if module.approximate != "none":
            raise ValueError(
                f"{who}: fcnet's GELU is the exact (erf) form, not "
                f"approximate={module.approximate!r}."
            )
        return act.GELU()
    if kind is nn.Softplus:
        if module.beta != 1 or module.threshold != 20:
            raise ValueError(
                f"{who}: fcnet's Softplus is log(1 + e^z), torch's with beta=1 and threshold=20."
            )
        return act.Softplus()
    if kind is nn.Softmax:
        if module.dim not in (1, -1):
            raise ValueError(f"{who}: fcnet's Softmax is over the features (dim=1 or -1).")
        return act.Softmax()
    raise TypeError(
        f"{who} has no fcnet equivalent; expected Linear, ReLU, LeakyReLU, ELU, GELU, Sigmoid, "
        "Tanh, Softplus, Softmax, Identity, Dropout, BatchNorm1d or LayerNorm."
    )
