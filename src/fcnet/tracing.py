"""A step-by-step trace of backpropagation with numbers: forward, loss, backward, one SGD step.

For each layer in turn (Dense layers in the notation of ``docs/math.md``)::

    forward     Z = X W + b,  A = f(Z)
    loss        L(A_last, Y)                  dY = dL/dA_last
    backward    dZ = dA * f'(Z),  dW = X^T dZ,  db = sum of dZ over the batch,  dX = dZ W^T
    SGD step    W <- W - lr dW,  b <- b - lr db

Beside every gradient the trace prints its central-difference estimate
``(L(p + eps) - L(p - eps)) / (2 eps)``, so the reader sees backprop agree with the definition
of a derivative. Everything runs on a float64 copy of the model; the model passed in is left
untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fcnet._probabilities import sigmoid, softmax_rows
from fcnet._validation import check_number
from fcnet.activations import Activation
from fcnet.explain_format import (
    _as_samples,
    _assign,
    _format,
    _indent_after,
    _loss_expansion,
    _n,
    _output_width,
    _plus,
    _rule,
    _shown_indices,
    _small,
    _sum_of_products,
    _targets,
)
from fcnet.gradcheck import numerical_gradient, to_float64
from fcnet.losses import get_loss

__all__ = ["explain"]


_DERIVATIVES = {
    "identity": "1",
    "relu": "1 if Z > 0 else 0",
    "leaky_relu": "1 if Z > 0 else alpha",
    "elu": "1 if Z > 0 else A + alpha",
    "gelu": "Phi(Z) + Z phi(Z)",
    "sigmoid": "A (1 - A)",
    "tanh": "1 - A^2",
    "softplus": "sigmoid(Z)",
}

_LOSS_FORMULAS = {
    # name: (L for one sample, L for m samples, dY)
    "mse": (
        "L = 1/2 sum_j (A_j - Y_j)^2",
        "L = 1/m sum_i 1/2 sum_j (A_ij - Y_ij)^2",
        "dY = dL/dA = (A - Y) / m",
    ),
    "mae": (
        "L = sum_j |A_j - Y_j|",
        "L = 1/m sum_i sum_j |A_ij - Y_ij|",
        "dY = dL/dA = sign(A - Y) / m",
    ),
    "huber": (
        "L = sum_j huber(A_j - Y_j)",
        "L = 1/m sum_i sum_j huber(A_ij - Y_ij)",
        "dY = dL/dA = clip(A - Y, -delta, delta) / m",
    ),
    "cross_entropy": (
        "L = -sum_j Y_j log softmax(A)_j",
        "L = -1/m sum_i sum_j Y_ij log softmax(A_i)_j",
        "dY = dL/dA = (softmax(A) - Y) / m",
    ),
    "binary_cross_entropy": (
        "L = sum_j max(A_j, 0) - A_j Y_j + log(1 + e^-|A_j|)",
        "L = 1/m sum_i sum_j max(A_ij, 0) - A_ij Y_ij + log(1 + e^-|A_ij|)",
        "dY = dL/dA = (sigmoid(A) - Y) / m",
    ),
}


def explain(
    model: Any,
    X: Any,
    y: Any,
    loss: Any = "mse",
    lr: float = 0.1,
    eps: float = 1e-6,
) -> str:
    """Trace one forward pass, backward pass and SGD step of ``model`` on (X, y), with numbers.

    Parameters
    ----------
    model : Sequential
        Left untouched: the trace runs on a float64 copy.
    X : array-like (m, n_in), or (n_in,) for one sample
        Raw features; the model's scaler (``model.preprocessing``) is applied first, if any.
    y : array-like
        Targets: values (m, n_out) (or (n_out,) for one sample) for a regression loss; class
        labels (m,) for ``cross_entropy``.
    loss : str or Loss, default "mse"
    lr : float, default 0.1
        Learning rate of the SGD step ``W <- W - lr dW``.
    eps : float, default 1e-6
        Step of the central differences printed beside each gradient.

    Returns
    -------
    str
        The trace, ready to print.
    """
    lr = check_number("explain", "lr", lr, low=0.0)
    eps = check_number("explain", "eps", eps, low=0.0, low_open=True)
    clone = to_float64(model)
    layers = list(getattr(clone, "layers", [clone]))
    loss_fn = get_loss(loss)
    loss_name = getattr(loss_fn, "name", type(loss_fn).__name__)

    raw = _as_samples(X)
    scaler = getattr(clone, "preprocessing", None)
    X0 = raw if scaler is None else np.asarray(scaler.transform(raw), dtype=np.float64)
    n_in = getattr(clone, "n_in", None)
    if n_in is not None and X0.shape[1] != n_in:
        raise ValueError(f"explain: expected X of shape (m, {n_in}), got {X0.shape}.")
    m = X0.shape[0]
    Y = _targets(clone, loss_fn, y, m, _output_width(clone, layers, X0))
    regularized = bool(hasattr(clone, "penalty") and clone.penalty())

    def loss_from(start: int, inp: np.ndarray) -> float:
        """L (with the l1/l2 penalty, if any) as a function of the input of layer ``start``."""
        A = inp
        for layer in layers[start:]:
            A = layer.forward(A, training=False)
        value = float(loss_fn.forward(A, Y))
        return value + float(clone.penalty()) if regularized else value

    out = [
        "One forward pass, one backward pass and one SGD step, with numbers.",
        f"{len(layers)} layer(s), loss {type(loss_fn).__name__}, m = {m} sample(s), "
        f"lr = {_n(lr)}; computed in float64 on a copy of the model.",
        "",
    ]
    if scaler is not None:
        out.append(_assign("X (raw)", raw, batch=True))
        out.append(f"X = the raw X scaled by the model's {type(scaler).__name__}")
        out.append(_assign("X", X0, batch=True, indent=2, eq=True))
    else:
        out.append(_assign("X", X0, batch=True) + f"   (m = {m}, n_in = {X0.shape[1]})")
    out.append(_assign("Y", Y, batch=True) + "   (target)")

    # --- forward -----------------------------------------------------------------------------
    out += ["", _rule("Forward: each layer maps its input X to its output A")]
    inputs: list[np.ndarray] = []
    records: list[dict[str, np.ndarray]] = []
    A = X0
    for i, layer in enumerate(layers):
        inputs.append(A.copy())
        out.append(f"layer {i}: {layer!r}")
        if i > 0:
            out.append(f"  X = A of layer {i - 1}")
        A = np.array(layer.forward(A, training=False), dtype=np.float64)
        record = {"A": A.copy()}
        if _is_dense(layer):
            record["Z"] = np.array(layer.Z, dtype=np.float64)
            out += _dense_forward(layer, inputs[i], record["Z"], A)
        else:
            for name, value in layer.params().items():
                out.append(_assign(name, value, indent=2))
            if isinstance(layer, Activation):
                out.append(f"  A = f(X), f = {layer.name}")
            else:
                out.append("  A = layer.forward(X)")
            out.append(_assign("A", A, batch=True, indent=4, eq=True))
        records.append(record)
    Y_hat = A

    # --- loss --------------------------------------------------------------------------------
    value = float(loss_fn.forward(Y_hat, Y))
    dY = np.array(loss_fn.backward(), dtype=np.float64)
    out += ["", _rule(f"Loss ({type(loss_fn).__name__}); A is the output of the last layer")]
    one, many, dY_formula = _LOSS_FORMULAS.get(
        loss_name, ("L = loss(A, Y)", "L = loss(A, Y)", "dY = dL/dA")
    )
    out.append("  " + (one if m == 1 else many))
    if loss_name == "cross_entropy":
        probabilities = softmax_rows(Y_hat)
        out.append(_assign("softmax(A)", probabilities, batch=True, indent=2) + "   (P)")
    elif loss_name == "binary_cross_entropy":
        out.append(_assign("sigmoid(A)", sigmoid(Y_hat), batch=True, indent=2))
    expansion = _loss_expansion(loss_name, Y_hat, Y)
    if expansion:
        out.append("    = " + expansion)
    out.append(f"    = {_n(value)}")
    if regularized:
        penalty = float(clone.penalty())
        value += penalty
        out.append(f"  + penalty l1/l2 of the layers {_n(penalty)}:  L = {_n(value)}")

    # --- backward ----------------------------------------------------------------------------
    # The whole backward pass runs first: the central differences below run forward passes,
    # which overwrite the layers' caches.
    steps: list[dict[str, Any]] = [{} for _ in layers]
    dA = dY
    for i in range(len(layers) - 1, -1, -1):
        layer, step = layers[i], steps[i]
        if _is_dense(layer):
            Z, A = records[i]["Z"], records[i]["A"]
            step["dZ"] = np.array(
                layer.activation.apply_backward(dA, Z, A, np.empty_like(dA)), dtype=np.float64
            )
        step["dX"] = np.array(layer.backward(dA), dtype=np.float64)
        step["grads"] = {k: np.array(v, dtype=np.float64) for k, v in layer.grads().items()}
        dA = step["dX"]

    out += [
        "",
        _rule("Backward: each layer maps dA = dL/dA to its gradients and dX = dL/dX"),
        "(beside each gradient, its central-difference estimate "
        f"(L(p + eps) - L(p - eps)) / (2 eps), eps = {eps:g})",
        "",
        f"  {dY_formula}   (m = {m})",
        _assign("dY", dY, batch=True, indent=5, eq=True),
    ]
    probe_Y_hat = Y_hat.copy()
    penalty_now = float(clone.penalty()) if regularized else 0.0
    out += _estimate_lines(
        dY, probe_Y_hat, lambda: float(loss_fn.forward(probe_Y_hat, Y)) + penalty_now, eps
    )

    def whole() -> float:
        return loss_from(0, X0)

    for i in range(len(layers) - 1, -1, -1):
        layer, step = layers[i], steps[i]
        out.append(f"layer {i}: {type(layer).__name__}")
        out.append("  dA = dY" if i == len(layers) - 1 else f"  dA = dX of layer {i + 1}")
        if _is_dense(layer):
            probe_Z = records[i]["Z"].copy()
            activation = layer.activation

            def from_Z(i: int = i, probe: np.ndarray = probe_Z, f: Any = activation) -> float:
                return loss_from(i + 1, f.apply(probe, np.empty_like(probe)))

            out += _dense_backward(layer, inputs[i], records[i], step, probe_Z, from_Z, eps, m)
            out += _dense_parameter_lines(layer, step, whole, eps, m)
            out.append("  dX = dZ W^T")
            W = np.asarray(layer.W, dtype=np.float64)
            dZ = step["dZ"]
            if _small(dZ, W.T):
                terms = [
                    _sum_of_products([(dZ[0, j], W[k, j]) for j in range(W.shape[1])])
                    for k in range(W.shape[0])
                ]
                out.append("     = [" + ", ".join(terms) + "]")
        else:
            params = layer.params()
            for name, grad in step["grads"].items():
                out.append(f"  d{name} = dL/d{name}")
                out.append(_assign(f"d{name}", grad, indent=5, eq=True))
                out += _estimate_lines(grad, params[name], whole, eps)
            if isinstance(layer, Activation):
                out.append(f"  dX = dA * f'(X), f = {layer.name}")
            else:
                out.append("  dX = layer.backward(dA)")
        out.append(_assign("dX", step["dX"], batch=True, indent=5, eq=True))
        probe = inputs[i].copy()
        out += _estimate_lines(step["dX"], probe, lambda i=i, p=probe: loss_from(i, p), eps)

    # --- SGD step ----------------------------------------------------------------------------
    out += ["", _rule(f"SGD step: p <- p - lr dp for every parameter p, lr = {_n(lr)}")]
    for i, layer in enumerate(layers):
        params = layer.params()
        if not params:
            continue
        out.append(f"layer {i}: {type(layer).__name__}")
        for name, param in params.items():
            param -= lr * steps[i]["grads"][name]
            out.append(f"  {name} <- {name} - lr d{name}")
            out.append(_assign(name, param, indent=5, eq=True))
    after = whole()
    out += ["", f"L before the step = {_n(value)}, after = {_n(after)}"]
    if hasattr(clone, "release_caches"):
        clone.release_caches()
    return "\n".join(out)


# --- the Dense layer, step by step ----------------------------------------------------------
def _is_dense(layer: Any) -> bool:
    return (
        isinstance(getattr(layer, "W", None), np.ndarray)
        and isinstance(getattr(layer, "b", None), np.ndarray)
        and isinstance(getattr(layer, "activation", None), Activation)
        and set(layer.params()) == {"W", "b"}
    )


def _dense_forward(layer: Any, X: np.ndarray, Z: np.ndarray, A: np.ndarray) -> list[str]:
    W, b = np.asarray(layer.W, dtype=np.float64), np.asarray(layer.b, dtype=np.float64)
    lines = [_assign("W", W, indent=2), _assign("b", b, indent=2), "  Z = X W + b"]
    if _small(X, W):
        terms = [
            _sum_of_products([(X[0, k], W[k, j]) for k in range(W.shape[0])]) + _plus(b[j])
            for j in range(W.shape[1])
        ]
        lines.append("    = [" + ", ".join(terms) + "]")
    lines.append(_assign("Z", Z, batch=True, indent=4, eq=True))
    name = layer.activation.name
    if name == "identity":
        lines.append("  A = f(Z) = Z   (f = identity)")
        lines.append(_assign("A", A, batch=True, indent=4, eq=True))
    else:
        lines.append(f"  A = f(Z), f = {name}")
        lines.append(_assign("A", A, batch=True, indent=4, eq=True))
    return lines


def _dense_backward(
    layer: Any,
    X: np.ndarray,
    record: dict[str, np.ndarray],
    step: dict[str, Any],
    probe_Z: np.ndarray,
    from_Z: Callable[[], float],
    eps: float,
    m: int,
) -> list[str]:
    """The lines for dZ (with f'(Z) when f is not the identity)."""
    name = layer.activation.name
    dZ = step["dZ"]
    if name == "identity":
        return [
            "  dZ = dA * f'(Z) = dA   (identity: f'(Z) = 1)",
            _assign("dZ", dZ, batch=True, indent=5, eq=True),
        ]
    lines = []
    derivative = _DERIVATIVES.get(name)
    if derivative is not None:
        Z, A = record["Z"], record["A"]
        slope = layer.activation.apply_backward(np.ones_like(Z), Z, A, np.empty_like(Z))
        lines.append(f"  f'(Z) = {derivative}   (f = {name})")
        lines.append(_assign("f'(Z)", slope, batch=True, indent=5, eq=True))
    lines.append("  dZ = dA * f'(Z)")
    lines.append(_assign("dZ", dZ, batch=True, indent=5, eq=True))
    lines += _estimate_lines(dZ, probe_Z, from_Z, eps)
    return lines


def _dense_parameter_lines(
    layer: Any, step: dict[str, Any], whole: Callable[[], float], eps: float, m: int
) -> list[str]:
    grads = step["grads"]
    lines = ["  dW = X^T dZ" + ("   (the product sums over the m rows)" if m > 1 else "")]
    lines.append(_assign("dW", grads["W"], indent=5, eq=True))
    lines += _estimate_lines(grads["W"], layer.W, whole, eps)
    lines.append("  db = sum of dZ over the batch (rows)")
    lines.append(_assign("db", grads["b"], indent=5, eq=True))
    lines += _estimate_lines(grads["b"], layer.b, whole, eps)
    return lines


# --- central differences ---------------------------------------------------------------------
def _estimate_lines(
    analytic: np.ndarray, target: np.ndarray, f: Callable[[], float], eps: float
) -> list[str]:
    """Central differences of ``f`` over the shown entries of ``target`` (changed, restored)."""
    indices = _shown_indices(target.shape)
    numeric = numerical_gradient(f, target, eps, indices)
    base = abs(f())
    # Below this, a difference quotient is round-off (see fcnet.gradcheck).
    floor = 10 * np.finfo(np.float64).eps * max(base, 1.0) / eps
    estimate = np.zeros(target.shape)
    worst = 0.0
    for index in indices:
        value = numeric[index]
        estimate[index] = 0.0 if abs(value) < floor else value
        worst = max(worst, abs(float(np.reshape(analytic, target.shape)[index]) - value))
    text = _format(estimate.reshape(analytic.shape), batch=analytic.ndim == 2 and target.ndim == 2)
    label = "     central difference: "
    return [_indent_after(label, text) + f"   (max |difference| {worst:.1e})"]
