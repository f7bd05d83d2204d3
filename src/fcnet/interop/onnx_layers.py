"""The ONNX exporters of fcnet's layers, activations and scalers, and the registry that holds them.

The registry
------------
:data:`EXPORTERS` maps a class to the function that writes its ONNX nodes::

    exporter(obj, graph, X) -> str

``obj`` is the layer (or activation, or preprocessing object), ``X`` the name of its input
tensor in the graph, and the return value the name of its output tensor. The function adds what
it needs through ``graph`` (a :class:`fcnet.interop.onnx_export.Graph`), which imports nothing
into the exporter's module:

* ``graph.constant(hint, array, dtype=None) -> name``: an initializer (cast to ``graph.dtype``,
  the model's float dtype, unless ``dtype`` says otherwise);
* ``graph.node(op_type, inputs, hint=None, **attributes) -> name``: one node of the default
  ONNX domain with one output;
* ``graph.require_opset(version, feature)``: refuse an opset below ``version``;
* ``graph.unsupported(reason) -> ValueError``: the error to raise, naming the layer being
  exported (index and class);
* ``graph.set_input(elem_type, width)``: change the graph's input (an ONNX ``TensorProto``
  element type such as ``onnx.TensorProto.INT64``, and the number of columns), for a
  preprocessing step or first layer that takes something other than the model's float features;
* ``graph.add_input(name, elem_type, shape, doc="") -> name``: an input of its own (the
  TabularEncoder's raw columns); declared inputs replace ``input``;
* ``graph.node_outputs(op_type, inputs, hints, **attributes) -> names``: a node with several
  outputs (``""`` as a hint leaves an optional one out);
* ``graph.dtype``, ``graph.opset``, ``graph.scope`` (the prefix of the names it creates,
  ``layers.<i>`` or ``preprocessing``) and ``graph.who`` (``layer <i> (<class>)``).

Register a class with the decorator::

    from fcnet.interop import register_exporter

    @register_exporter(Scale)                              # a layer of one's own: A = c X
    def _scale(layer, graph, X):
        c = graph.constant("c", np.array(layer.c))          # cast to the model's dtype
        return graph.node("Mul", [X, c])

Exporters are found by the object's exact class, never a base class: a subclass of ``Dense``
that overrides ``forward`` computes something else, so it is refused until its own exporter is
registered (``register_exporter(MyDense)(EXPORTERS[Dense])`` when the math is the same). A class
not in the registry may instead define a method ``export_onnx(graph, X) -> str``.

Layers and preprocessing share the one registry: the model's ``preprocessing`` is exported
first, by the exporter of its class, then each layer in order. The exporters of
:class:`fcnet.Embedding` and :class:`fcnet.preprocessing.TabularEncoder` live in
:mod:`fcnet.interop.onnx_tabular`, which registers them here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fcnet import activations as act
from fcnet.layers import BatchNorm, Dense, Dropout, LayerNorm
from fcnet.preprocessing import MinMaxScaler, StandardScaler

Exporter = Callable[[Any, Any, str], str]

#: class -> exporter; see the module docstring
EXPORTERS: dict[type, Exporter] = {}


def register_exporter(cls: type) -> Callable[[Exporter], Exporter]:
    """Decorator: make ``exporter(obj, graph, X) -> str`` the ONNX exporter of ``cls``.

    Parameters
    ----------
    cls : type
        The exact class (a layer, an activation or a preprocessing class); subclasses are not
        covered.

    Returns
    -------
    callable
        The decorator, which registers and returns the exporter unchanged.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_exporter: expected a class, got {type(cls).__name__}.")

    def register(exporter: Exporter) -> Exporter:
        if not callable(exporter):
            raise TypeError(
                f"register_exporter: expected a function, got {type(exporter).__name__}."
            )
        EXPORTERS[cls] = exporter
        return exporter

    return register


def export_object(obj: Any, graph: Any, X: str) -> str:
    """Write ``obj``'s nodes through its registered exporter (or its ``export_onnx``)."""
    exporter = EXPORTERS.get(type(obj))
    if exporter is not None:
        return exporter(obj, graph, X)
    method = getattr(obj, "export_onnx", None)
    if callable(method):
        return method(graph, X)
    raise TypeError(
        f"to_onnx: {graph.who} has no ONNX exporter; register one with "
        "fcnet.interop.register_exporter (see fcnet.interop.onnx_layers)."
    )


# --- layers --------------------------------------------------------------------------------------
@register_exporter(Dense)
def _dense(layer: Dense, graph: Any, X: str) -> str:
    """Z = X W + b as one Gemm, then the activation's nodes."""
    W = graph.constant("W", layer.W)
    b = graph.constant("b", layer.b)
    Z = graph.node("Gemm", [X, W, b], "Z")
    activation = layer.activation
    if type(activation) not in EXPORTERS:
        raise TypeError(
            f"to_onnx: {graph.who} has activation {type(activation).__name__}, which has no "
            "ONNX exporter; register one with fcnet.interop.register_exporter."
        )
    return EXPORTERS[type(activation)](activation, graph, Z)


@register_exporter(Dropout)
def _dropout(layer: Dropout, graph: Any, X: str) -> str:
    """The identity at inference: no node."""
    return X


@register_exporter(BatchNorm)
def _batch_norm(layer: BatchNorm, graph: Any, X: str) -> str:
    """A = gamma (X - running_mean) / sqrt(running_var + eps) + beta, ONNX's BatchNormalization
    in inference mode (its epsilon is a float32 attribute)."""
    return graph.node(
        "BatchNormalization",
        [
            X,
            graph.constant("gamma", layer.gamma),
            graph.constant("beta", layer.beta),
            graph.constant("running_mean", layer.running_mean),
            graph.constant("running_var", layer.running_var),
        ],
        epsilon=float(layer.eps),
    )


@register_exporter(LayerNorm)
def _layer_norm(layer: LayerNorm, graph: Any, X: str) -> str:
    """Per row, A = gamma (X - mu) / sqrt(var + eps) + beta: LayerNormalization (opset 17)."""
    graph.require_opset(17, "LayerNorm (LayerNormalization)")
    return graph.node(
        "LayerNormalization",
        [X, graph.constant("gamma", layer.gamma), graph.constant("beta", layer.beta)],
        axis=-1,
        epsilon=float(layer.eps),
    )


# --- activations (inside Dense, or standalone layers) --------------------------------------------
def _float64(graph: Any) -> bool:
    return np.dtype(graph.dtype) == np.float64


@register_exporter(act.Identity)
def _identity(activation: Any, graph: Any, Z: str) -> str:
    return Z


@register_exporter(act.ReLU)
def _relu(activation: Any, graph: Any, Z: str) -> str:
    return graph.node("Relu", [Z])


@register_exporter(act.LeakyReLU)
def _leaky_relu(activation: act.LeakyReLU, graph: Any, Z: str) -> str:
    """LeakyRelu in float32; in float64 (which onnxruntime's CPU LeakyRelu lacks) the
    formula fcnet computes, max(z, alpha z) for 0 <= alpha < 1."""
    if not _float64(graph):
        return graph.node("LeakyRelu", [Z], alpha=float(activation.alpha))
    scaled = graph.node("Mul", [Z, graph.constant("alpha", np.array(activation.alpha))])
    return graph.node("Max", [Z, scaled])


@register_exporter(act.ELU)
def _elu(activation: act.ELU, graph: Any, Z: str) -> str:
    """Elu in float32; in float64, z if z > 0 else alpha (e^min(z, 0) - 1)."""
    if not _float64(graph):
        return graph.node("Elu", [Z], alpha=float(activation.alpha))
    zero = graph.constant("zero", np.array(0.0))
    one = graph.constant("one", np.array(1.0))
    negative = graph.node("Sub", [graph.node("Exp", [graph.node("Min", [Z, zero])]), one])
    scaled = graph.node("Mul", [negative, graph.constant("alpha", np.array(activation.alpha))])
    return graph.node("Where", [graph.node("Greater", [Z, zero]), Z, scaled])


@register_exporter(act.GELU)
def _gelu(activation: Any, graph: Any, Z: str) -> str:
    """The exact GELU, z (1 + erf(z / sqrt 2)) / 2 (opset 17 has Erf, not Gelu)."""
    if _float64(graph):
        raise graph.unsupported(
            "GELU needs Erf, which onnxruntime's CPU build has in float32 only; export a "
            "float32 model"
        )
    scaled = graph.node("Mul", [Z, graph.constant("inv_sqrt2", np.array(1.0 / np.sqrt(2.0)))])
    erf = graph.node("Erf", [scaled])
    one_plus = graph.node("Add", [erf, graph.constant("one", np.array(1.0))])
    half_z = graph.node("Mul", [Z, graph.constant("half", np.array(0.5))])
    return graph.node("Mul", [half_z, one_plus])


@register_exporter(act.Sigmoid)
def _sigmoid(activation: Any, graph: Any, Z: str) -> str:
    return graph.node("Sigmoid", [Z])


@register_exporter(act.Tanh)
def _tanh(activation: Any, graph: Any, Z: str) -> str:
    return graph.node("Tanh", [Z])


@register_exporter(act.Softplus)
def _softplus(activation: Any, graph: Any, Z: str) -> str:
    """max(z, 0) + log(1 + e^-|z|), fcnet's form, which never overflows (ONNX's Softplus,
    log(e^z + 1), may; and onnxruntime's CPU build has it in float32 only)."""
    decay = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [Z])])])
    log_term = graph.node("Log", [graph.node("Add", [decay, graph.constant("one", np.array(1.0))])])
    return graph.node("Add", [graph.node("Relu", [Z]), log_term])


@register_exporter(act.Softmax)
def _softmax(activation: Any, graph: Any, Z: str) -> str:
    return graph.node("Softmax", [Z], axis=-1)


# --- preprocessing -------------------------------------------------------------------------------
_FLOAT, _DOUBLE = 1, 11  # onnx.TensorProto.FLOAT, .DOUBLE (so this module needs no onnx)


def _affine_scaler(offset: np.ndarray, scale: np.ndarray, graph: Any, X: str) -> str:
    """(X - offset) / scale computed in float64, as fcnet's ``predict`` does, then cast back."""
    if not _float64(graph):
        X = graph.node("Cast", [X], to=_DOUBLE)
    shifted = graph.node("Sub", [X, graph.constant("offset", offset, dtype=np.float64)])
    scaled = graph.node("Div", [shifted, graph.constant("scale", scale, dtype=np.float64)])
    if not _float64(graph):
        scaled = graph.node("Cast", [scaled], to=_FLOAT)
    return scaled


@register_exporter(StandardScaler)
def _standard_scaler(scaler: StandardScaler, graph: Any, X: str) -> str:
    if scaler.n_features is None:
        raise graph.unsupported("the scaler is not fitted")
    return _affine_scaler(scaler.mean, scaler.scale, graph, X)


@register_exporter(MinMaxScaler)
def _min_max_scaler(scaler: MinMaxScaler, graph: Any, X: str) -> str:
    if scaler.n_features is None:
        raise graph.unsupported("the scaler is not fitted")
    return _affine_scaler(scaler.data_min, scaler.data_range, graph, X)
