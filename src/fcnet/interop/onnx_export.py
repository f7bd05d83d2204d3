"""Export a :class:`fcnet.Sequential` to ONNX, for deployment with onnxruntime and the like.

The graph
---------
One input, ``input`` (batch, n_in), in the model's float dtype, with a dynamic batch dimension.
The model's ``preprocessing`` (a fitted scaler) comes first, computed in float64 as
:meth:`~fcnet.Sequential.predict` computes it, then each layer in order; the layers' nodes come
from the exporter registry of :mod:`fcnet.interop.onnx_layers` (which documents how to register
a new layer).

A model trained on a table as it comes (its ``preprocessing`` a fitted
:class:`~fcnet.preprocessing.TabularEncoder`) takes the raw columns instead: one input per
column the encoder uses, named by the column, shape (batch,), float64 for numeric and boolean
columns (NaN where missing) and strings for categorical ones; the graph imputes, scales,
one-hots and writes the codes its :class:`~fcnet.Embedding` reads, as the encoder does (what it
expects of the text, and the cases it cannot reproduce: :mod:`fcnet.interop.onnx_tabular`;
:func:`~fcnet.interop.onnx_inputs` makes the inputs from a DataFrame). Outputs:

* ``output`` (batch, n_out): the raw network output, :meth:`~fcnet.Sequential.predict_output`;
* for a classifier (``model.task == "classification"``): ``probabilities`` (batch, k), the
  softmax of the output, and ``label`` (batch,), its argmax (first maximum on ties);
* for ``model.task == "binary"``: ``probabilities``, the sigmoid of the output, as (batch, 2)
  ``[1 - p, p]`` for one output and (batch, k) for k outputs, and ``label``, 1 where the
  output is > 0: (batch,) for one output (where ``predict`` without classes gives (m, 1)),
  (batch, k) otherwise;
* ``label`` is int64, or, when ``model.classes`` is set, those labels (a string tensor for
  string classes, int64, double or bool for the others) through a Gather on a constant array.

No ZipMap and no ``ai.onnx.ml`` operator: only the default domain.

Versions
--------
The default, opset 17 with IR version 8, loads in every onnxruntime since 1.13 and passes
``onnx.checker.check_model(model, full_check=True)``. Every operator used exists from opset 13,
except LayerNormalization (17), so a model without LayerNorm may be exported at opset 13 to 16;
a higher opset (up to the installed onnx's) is written with the lowest IR version that allows
it, which older runtimes may refuse (onnxruntime 1.31 reads up to IR 13, opset 26).

onnxruntime's CPU build lacks float64 LeakyRelu, Elu, Softplus and Erf: float64 models get
LeakyReLU and ELU as their formulas from Max, Mul, Exp and Where (softplus is always written as
its overflow-free formula), and GELU (which needs Erf) is refused in float64.

The bytes are deterministic (same model, same opset: same file); ``metadata_props`` holds the
fcnet version (``fcnet_version``) and the architecture JSON (``architecture``, the
:meth:`~fcnet.Sequential.get_config` that :func:`fcnet.save` stores; absent when a layer of
one's own has no ``get_config``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import numpy as np

from fcnet.interop import onnx_tabular  # noqa: F401  (registers Embedding, TabularEncoder)
from fcnet.interop.onnx_layers import export_object
from fcnet.io import atomic_write

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('fcnet.to_onnx needs the onnx package: pip install "fcnet[onnx]"') from exc

DEFAULT_OPSET = 17
MIN_OPSET = 13
INPUT, OUTPUT, LABEL, PROBABILITIES = "input", "output", "label", "probabilities"


class Graph:
    """The graph being built, as the exporters of :mod:`fcnet.interop.onnx_layers` see it.

    Parameters
    ----------
    dtype : numpy dtype
        The model's float dtype (float32 or float64); constants are cast to it by default.
    opset : int
        The opset of the default domain being written.
    """

    def __init__(self, dtype: Any, opset: int) -> None:
        self.dtype = np.dtype(dtype)
        self.opset = int(opset)
        self.scope = "model"
        self.who = "the model"
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.input_type = helper.np_dtype_to_tensor_dtype(self.dtype)
        self.input_width: int | None = None
        self.inputs: list[Any] = []  # inputs of their own (add_input), which replace ``input``
        self._used: set[str] = {INPUT, OUTPUT, LABEL, PROBABILITIES}
        self._opset_needs: list[tuple[int, str]] = []

    def enter(self, scope: str, who: str) -> None:
        """Name what follows ``scope/...`` and refer to it as ``who`` in errors."""
        self.scope, self.who = scope, who

    def fresh(self, hint: str) -> str:
        """A tensor or node name not used yet: ``scope/hint``, numbered when taken."""
        base = f"{self.scope}/{hint}"
        name, k = base, 1
        while name in self._used:
            name, k = f"{base}_{k}", k + 1
        self._used.add(name)
        return name

    def constant(self, hint: str, value: Any, dtype: Any = None) -> str:
        """Add ``value`` as an initializer (cast to ``dtype``, default the graph's)."""
        if isinstance(value, np.ndarray) and value.dtype.kind in "USO":
            array = np.asarray(value.astype(str), dtype=object)
        else:
            array = np.ascontiguousarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(
        self, op_type: str, inputs: Sequence[str], hint: str | None = None, **attributes: Any
    ) -> str:
        """Add one node of the default domain; return the name of its (single) output."""
        return self.node_outputs(op_type, inputs, [hint or op_type], **attributes)[0]

    def node_outputs(
        self, op_type: str, inputs: Sequence[str], hints: Sequence[str], **attributes: Any
    ) -> list[str]:
        """Add one node with several outputs, one per hint (``""`` leaves an optional output
        out); return their names (``""`` for those left out)."""
        outputs = [self.fresh(hint) if hint else "" for hint in hints]
        self.nodes.append(
            helper.make_node(
                op_type, list(inputs), outputs, name=self.fresh(f"{op_type}_node"), **attributes
            )
        )
        return outputs

    def require_opset(self, version: int, feature: str) -> None:
        """Refuse to go on when the opset being written is below ``version``."""
        if self.opset < version:
            raise self.unsupported(f"{feature} needs opset >= {version}, got opset {self.opset}")

    def unsupported(self, reason: str) -> ValueError:
        """The error an exporter raises: ``to_onnx: <who> cannot be exported: <reason>.``"""
        return ValueError(f"to_onnx: {self.who} cannot be exported: {reason}.")

    def set_input(self, elem_type: int, width: int | None) -> None:
        """Make the graph's input ``(batch, width)`` of ONNX element type ``elem_type``."""
        self.input_type, self.input_width = int(elem_type), width

    def add_input(self, name: str, elem_type: int, shape: Sequence[Any], doc: str = "") -> str:
        """Declare a graph input named ``name`` (ONNX element type ``elem_type``, ``shape`` such
        as ``["batch"]``, ``doc`` its doc string); once one is declared, the declared inputs
        replace ``input``. Call it before adding nodes, so that no tensor takes the name."""
        if not isinstance(name, str) or not name:
            raise self.unsupported(f"an ONNX input needs a non-empty name, got {name!r}")
        if name in (OUTPUT, LABEL, PROBABILITIES) or name in self._used - {INPUT}:
            raise self.unsupported(
                f"the input {name!r} would take the name of one of the graph's outputs or "
                "tensors (output, probabilities, label); rename that column"
            )
        self._used.add(name)
        self.inputs.append(
            helper.make_tensor_value_info(name, int(elem_type), list(shape), doc_string=doc)
        )
        return name

    def rename_output(self, name: str, new: str) -> str:
        """Make the tensor ``name`` (a node's output) be called ``new``; add an Identity when
        ``name`` is the graph's input or an initializer."""
        for node in reversed(self.nodes):
            if name in node.output:
                node.output[list(node.output).index(name)] = new
                for other in self.nodes:
                    for k, value in enumerate(other.input):
                        if value == name:
                            other.input[k] = new
                self._used.add(new)
                return new
        self.nodes.append(helper.make_node("Identity", [name], [new], name=f"{new}/Identity"))
        self._used.add(new)
        return new


def to_onnx(model: Any, path: str | os.PathLike | None = None, *, opset: int = 17) -> Any:
    """The ONNX model of ``model``: its preprocessing, its layers and its classifier head.

    See the module docstring for the graph's inputs and outputs and for the versions. The input
    is ``input`` (batch, n_in), or, for a model whose preprocessing is a TabularEncoder, one
    input per raw column (see :mod:`fcnet.interop.onnx_tabular`), Embedding layers included.

    Parameters
    ----------
    model : fcnet.Sequential
    path : str or Path, optional
        Where to write the model (atomically: a crash leaves the old file or the new one).
    opset : int, default 17
        The opset of the default ONNX domain; the IR version is the lowest that allows it
        (7 for opsets 13 and 14, 8 for 15 to 18, 10 for 21).

    Returns
    -------
    onnx.ModelProto
        A model that passes ``onnx.checker.check_model(model, full_check=True)``.

    Raises
    ------
    TypeError
        When a layer (or its activation, or the preprocessing) has no exporter: the message
        names its index and class.
    ValueError
        When a layer cannot be exported as it is (GELU in float64, an unfitted scaler or
        encoder, a column named like an output, an opset too low for it), or ``opset`` is out
        of range.
    """
    from fcnet.network import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"to_onnx: expected an fcnet.Sequential, got {type(model).__name__}.")
    highest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int | np.integer):
        raise TypeError(f"to_onnx: expected opset to be an integer, got {opset!r}.")
    if not MIN_OPSET <= opset <= highest:
        raise ValueError(
            f"to_onnx: expected opset in [{MIN_OPSET}, {highest}] (the installed onnx's "
            f"highest), got {opset}."
        )
    dtype = np.dtype(model.dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"to_onnx: expected a float32 or float64 model, got {dtype.name}.")
    graph = Graph(dtype, int(opset))
    graph.input_width = model.n_in
    name = INPUT
    scaler = model.preprocessing
    if scaler is not None:
        graph.enter("preprocessing", f"the preprocessing ({type(scaler).__name__})")
        width = getattr(scaler, "n_features", None)
        graph.input_width = int(width) if width is not None else graph.input_width
        name = export_object(scaler, graph, name)
    for i, layer in enumerate(model.layers):
        graph.enter(f"layers.{i}", f"layer {i} ({type(layer).__name__})")
        name = export_object(layer, graph, name)
    graph.enter("head", "the classifier head")
    name = graph.rename_output(name, OUTPUT)
    outputs = [_tensor(OUTPUT, graph.dtype, model.n_out)]
    outputs += _classifier_head(model, graph, name)
    props = {"fcnet_version": _fcnet_version()}
    try:
        props["architecture"] = json.dumps(model.get_config())
    except TypeError:  # a layer of one's own without get_config (exported by its own exporter)
        pass
    onnx_model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "fcnet",
            graph.inputs or [_value_info(INPUT, graph.input_type, graph.input_width)],
            outputs,
            initializer=graph.initializers,
            doc_string=repr(model),
        ),
        opset_imports=[helper.make_opsetid("", int(opset))],
        ir_version=helper.find_min_ir_version_for([helper.make_opsetid("", int(opset))]),
        producer_name="fcnet",
        producer_version=_fcnet_version(),
    )
    helper.set_model_props(onnx_model, props)
    onnx.checker.check_model(onnx_model, full_check=True)
    if path is not None:
        atomic_write(Path(path), onnx_model.SerializeToString())
    return onnx_model


def _classifier_head(model: Any, graph: Graph, output: str) -> list[Any]:
    """``probabilities`` and ``label`` for a classifier; nothing for other tasks."""
    task, n_out = model.task, model.n_out
    if task not in ("classification", "binary"):
        return []
    if task == "classification":
        probabilities = graph.node("Softmax", [output], PROBABILITIES, axis=-1)
        label = graph.node("ArgMax", [output], "argmax", axis=1, keepdims=0, select_last_index=0)
        width, label_shape = n_out, ("batch",)
    else:
        if n_out == 1:
            p = graph.node("Sigmoid", [output])
            q = graph.node("Sigmoid", [graph.node("Neg", [output])])
            probabilities = graph.node("Concat", [q, p], PROBABILITIES, axis=1)
            flat = graph.node("Reshape", [output, graph.constant("flat", [-1], dtype=np.int64)])
            positive = graph.node("Greater", [flat, graph.constant("zero", 0.0)])
            width, label_shape = 2, ("batch",)
        else:
            probabilities = graph.node("Sigmoid", [output], PROBABILITIES)
            positive = graph.node("Greater", [output, graph.constant("zero", 0.0)])
            width, label_shape = n_out, ("batch", n_out)
        label = graph.node("Cast", [positive], "positive", to=TensorProto.INT64)
    probabilities = graph.rename_output(probabilities, PROBABILITIES)
    label_type = TensorProto.INT64
    classes = model.classes
    if classes is not None and not (task == "binary" and n_out > 1):
        classes = np.asarray(classes)
        if classes.dtype.kind in "USO":
            values, label_type = classes.astype(str), TensorProto.STRING
        elif classes.dtype.kind == "b":
            values, label_type = classes, TensorProto.BOOL
        elif classes.dtype.kind in "iu":
            values, label_type = classes.astype(np.int64), TensorProto.INT64
        else:
            values, label_type = classes.astype(np.float64), TensorProto.DOUBLE
        table = graph.constant("classes", values, dtype=values.dtype)
        label = graph.node("Gather", [table, label], axis=0)
    graph.rename_output(label, LABEL)
    return [
        _tensor(PROBABILITIES, graph.dtype, width),
        helper.make_tensor_value_info(LABEL, label_type, list(label_shape)),
    ]


def _value_info(name: str, elem_type: int, width: int | None) -> Any:
    return helper.make_tensor_value_info(name, elem_type, ["batch", width])


def _tensor(name: str, dtype: np.dtype, width: int | None) -> Any:
    return _value_info(name, helper.np_dtype_to_tensor_dtype(dtype), width)


def _fcnet_version() -> str:
    try:
        return _metadata.version("fcnet")
    except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"
