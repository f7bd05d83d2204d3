"""The ONNX exporters of :class:`fcnet.Embedding` and of :class:`fcnet.preprocessing.TabularEncoder`
(a model trained on a table as it comes), and :func:`onnx_inputs`, the graph's inputs for a table.

The Embedding
-------------
``A = [X_P, E_0[c_0], ..., E_(k-1)[c_(k-1)]]``: a Gather of the pass-through columns P of X,
and for each code column j, ``Gather(E_i, Cast(X[:, j], int64), axis=0)``, joined by one Concat.
The codes must be integers within their table (the encoder writes only such codes); fcnet's
layer refuses others, the graph does not check them (onnxruntime's Gather fails on a code beyond
the table; ONNX reads a negative code as counted from the end).

The encoder: one input per raw column
-------------------------------------
A model whose ``preprocessing`` is a fitted TabularEncoder takes the table's raw columns instead
of ``input``: one graph input per column the encoder uses (not the dropped ones, nor those it
left out as empty), named by the column, in the training order, each of shape ``(batch,)``:

* **numeric** and **boolean** columns: float64 (``tensor(double)``), NaN where a value is
  missing; a boolean column as 1.0 (true) and 0.0 (false);
* **categorical** columns (one-hot or codes): strings (``tensor(string)``), the value's text
  as the encoder reads it: stripped of surrounding white space, a number as its text (``"3"``
  for 3 and 3.0, Python's ``repr`` for other floats: ``"2.5"``), a bool as ``"True"`` or
  ``"False"``. A missing value is ``""`` or an NA token in any letter case (``"nan"``,
  ``"NA"``, ``"null"``, ``"None"``, ``"?"``... the tokens of :mod:`fcnet.preprocessing.columns`).

The graph then computes what :meth:`TabularEncoder.transform <fcnet.preprocessing.TabularEncoder
.transform>` computes, in float64, in the order of ``feature_names_out()``, and casts the result
to the model's dtype as ``predict`` does: a missing number becomes the training median
(``Where(IsNaN(x), median, x)``), the indicator column ``name_missing`` is ``IsNaN(x)``, then
``(x - offset) / scale``, the same float64 operations as the encoder's, so the features are
the same bits. A categorical value is looked up among the kept categories with one ``Unique``
over ``[categories, NA tokens in every letter case, values]`` (the first occurrences come first,
so a value's index in the result says which category it is: string comparison without Equal,
which ONNX has for strings from opset 19 only); a missing value takes the ``<missing>``
category's slot when training kept one, and ``<other>`` otherwise; a rare or unseen category
takes ``<other>``. One-hot columns are ``Equal(slot, [0..k])``; code columns the slot itself.
Every operator exists from opset 13, so the default opset 17 (IR 8) serves.

What the graph cannot do as the encoder does, and so expects done by the caller: strip
white space around text (ONNX has no string trimming: ``" Good"`` is an unseen category in the
graph), write numbers and bools in a categorical column as their text, give booleans as
numbers, and give no infinite value (the encoder refuses one; the graph passes it on). It does
not count unseen categories or warn. :func:`onnx_inputs` prepares a DataFrame so, with the
encoder's own reading of every value.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from fcnet.interop.onnx_layers import EXPORTERS, register_exporter
from fcnet.layers.embedding import Embedding
from fcnet.preprocessing.columns import (
    MISSING_TOKENS,
    as_frame,
    booleans_of,
    factorize_text,
    listing,
    numbers_of,
)
from fcnet.preprocessing.tabular import TabularEncoder
from fcnet.preprocessing.tabular_specs import MISSING, check_finite

__all__ = ["EXPORTERS", "onnx_inputs", "register_exporter"]

# onnx.TensorProto element types (so this module needs no onnx)
_FLOAT, _DOUBLE, _INT64, _STRING = 1, 11, 7, 8
_LAST = np.iinfo(np.int64).max


# --- the Embedding -------------------------------------------------------------------------------
@register_exporter(Embedding)
def _embedding(layer: Embedding, graph: Any, X: str) -> str:
    """A = [X_P, E_0[c_0], ...]: Gather of the pass-through columns, one Gather per table."""
    pieces = []
    passing = [j for j in range(layer.n_in) if j not in set(layer.columns)]
    if passing:
        indices = graph.constant("pass_columns", np.array(passing), dtype=np.int64)
        pieces.append(graph.node("Gather", [X, indices], "X_P", axis=1))
    axis1 = graph.constant("axis1", [1], dtype=np.int64)
    for i, (j, E) in enumerate(zip(layer.columns, layer.tables.values(), strict=True)):
        where = graph.constant(f"column{i}", [j], dtype=np.int64)
        column = graph.node("Gather", [X, where], f"column{i}", axis=1)  # (batch, 1)
        column = graph.node("Squeeze", [column, axis1], f"column{i}")  # (batch,)
        codes = graph.node("Cast", [column], f"c{i}", to=_INT64)
        table = graph.constant(f"E{i}", layer.ops.to_host(E))  # (cardinality, dim)
        pieces.append(graph.node("Gather", [table, codes], f"A{i}", axis=0))
    return graph.node("Concat", pieces, "A", axis=1)


# --- the encoder ---------------------------------------------------------------------------------
def _missing_variants() -> list[str]:
    """Every ASCII letter case of every NA token: what ``text.lower() in MISSING_TOKENS``
    accepts (no other character lowercases to one of the tokens' letters)."""
    variants = set()
    for token in MISSING_TOKENS:
        cases = [sorted({ch, ch.upper()}) for ch in token]
        variants.update("".join(letters) for letters in itertools.product(*cases))
    return sorted(variants)


_KINDS = {
    "numeric": (_DOUBLE, "numeric: float64, NaN where missing"),
    "boolean": (_DOUBLE, "boolean: float64 1.0 (true) / 0.0 (false), NaN where missing"),
    "categorical": (
        _STRING,
        "categorical: the value's text, stripped; '' or an NA token (nan, NA, null...) "
        "where missing",
    ),
}


@register_exporter(TabularEncoder)
def _tabular_encoder(encoder: TabularEncoder, graph: Any, X: str) -> str:
    """The raw columns as inputs, then the encoder's transform; see the module docstring."""
    if not encoder.fitted:
        raise graph.unsupported("the TabularEncoder is not fitted")
    specs = [spec for spec in encoder.specs or () if spec["role"] != "empty"]
    for spec in specs:
        elem_type, doc = _KINDS[spec["role"]]
        graph.add_input(spec["name"], elem_type, ["batch"], doc)
    axis1 = graph.constant("axis1", [1], dtype=np.int64)
    pieces: list[str] = []
    for spec in specs:
        if spec["role"] == "categorical":
            pieces.append(_categories(spec, graph, axis1))
        else:
            pieces += _numbers(spec, graph, axis1)
    features = graph.node("Concat", pieces, "features", axis=1)  # (batch, n_features_out)
    if np.dtype(graph.dtype) != np.float64:  # as predict casts the encoder's float64 output
        features = graph.node("Cast", [features], "features_cast", to=_FLOAT)
    return features


def _numbers(spec: dict[str, Any], graph: Any, axis1: str) -> list[str]:
    """x' = (Where(IsNaN(x), median, x) - offset) / scale, and IsNaN(x) as 1.0 / 0.0 when the
    column had missing values in training; each (batch, 1) float64. ``x`` is the input named
    by the column."""
    x = name = spec["name"]
    missing = graph.node("IsNaN", [x], f"{name}/missing")
    median = graph.constant(f"{name}/median", np.array(spec["median"]), dtype=np.float64)
    value = graph.node("Where", [missing, median, x], f"{name}/imputed")
    if spec["offset"] != 0.0:  # x - 0 and x / 1 are x: the nodes would change nothing
        offset = graph.constant(f"{name}/offset", np.array(spec["offset"]), dtype=np.float64)
        value = graph.node("Sub", [value, offset], f"{name}/shifted")
    if spec["scale"] != 1.0:
        scale = graph.constant(f"{name}/scale", np.array(spec["scale"]), dtype=np.float64)
        value = graph.node("Div", [value, scale], f"{name}/scaled")
    columns = [graph.node("Unsqueeze", [value, axis1], f"{name}/column")]
    if spec["missing"]:
        flag = graph.node("Cast", [missing], f"{name}/flag", to=_DOUBLE)
        columns.append(graph.node("Unsqueeze", [flag, axis1], f"{name}/indicator"))
    return columns


def _categories(spec: dict[str, Any], graph: Any, axis1: str) -> str:
    """The slot of each value (kept category i -> i, missing -> the <missing> slot or <other>,
    anything else -> <other> = k): as codes (batch, 1) or one-hot (batch, k + 1), float64."""
    name, categories = spec["name"], spec["categories"]
    variants = _missing_variants()
    clash = sorted(set(categories) & set(variants))
    if clash:  # fit never keeps one; a config edited by hand could
        raise graph.unsupported(
            f"column {name!r} has the category {clash[0]!r}, which the encoder reads as a "
            "missing value"
        )
    k, n_table = len(categories), len(categories) + len(variants)
    table = graph.constant(f"{name}/table", np.array([*categories, *variants], dtype=object))
    joined = graph.node("Concat", [table, name], f"{name}/joined", axis=0)
    _, _, found, _ = graph.node_outputs(
        "Unique", [joined], ["uniques", "", f"{name}/found", ""], sorted=0
    )
    rows = graph.node(
        "Slice",
        [
            found,
            graph.constant(f"{name}/start", [n_table], dtype=np.int64),
            graph.constant(f"{name}/end", [_LAST], dtype=np.int64),
        ],
        f"{name}/index",
    )  # (batch,): i < k a category, k <= i < n_table missing, n_table or more unseen
    index = graph.node("Min", [rows, graph.constant(f"{name}/n_table", n_table, dtype=np.int64)])
    slot_of_missing = categories.index(MISSING) if MISSING in categories else k
    slots = np.array([*range(k), *[slot_of_missing] * len(variants), k], dtype=np.int64)
    slot = graph.node("Gather", [graph.constant(f"{name}/slots", slots, dtype=np.int64), index])
    slot = graph.node("Unsqueeze", [slot, axis1], f"{name}/slot")  # (batch, 1)
    if spec["encoding"] == "codes":
        return graph.node("Cast", [slot], f"{name}/codes", to=_DOUBLE)
    every = graph.constant(f"{name}/slot_numbers", np.arange(k + 1), dtype=np.int64)
    hot = graph.node("Equal", [slot, every], f"{name}/hot")  # (batch, k + 1)
    return graph.node("Cast", [hot], f"{name}/onehot", to=_DOUBLE)


# --- the inputs for a table ----------------------------------------------------------------------
def onnx_inputs(model: Any, X: Any) -> dict[str, np.ndarray]:
    """The inputs of the graph :func:`fcnet.to_onnx` writes for a model with a TabularEncoder,
    for the rows of the table X: each column the encoder uses, read as the encoder reads it.

    Parameters
    ----------
    model : fcnet.Sequential or TabularEncoder
        The model (its ``preprocessing`` a fitted TabularEncoder), or the encoder itself.
    X : pandas.DataFrame or 2-D array
        The rows, as :meth:`~fcnet.Sequential.predict` takes them (columns matched by name).

    Returns
    -------
    dict of str to numpy.ndarray
        ``{column: (m,) float64}`` for numeric and boolean columns (NaN where missing),
        ``{column: (m,) object array of str}`` for categorical ones (the stripped text, ``""``
        where missing): what ``onnxruntime.InferenceSession.run`` takes as its feed.
    """
    who = "onnx_inputs"
    encoder = model if isinstance(model, TabularEncoder) else getattr(model, "preprocessing", None)
    if not isinstance(encoder, TabularEncoder):
        raise TypeError(
            f"{who}: expected a model whose preprocessing is a TabularEncoder (or the encoder), "
            f"got {type(encoder if encoder is not None else model).__name__}."
        )
    if not encoder.fitted:
        raise RuntimeError(f"{who}: the TabularEncoder is not fitted; fit the model first.")
    specs = [spec for spec in encoder.specs or () if spec["role"] != "empty"]
    frame = as_frame(who, X, None if hasattr(X, "columns") else encoder.columns_in)
    absent = [spec["name"] for spec in specs if spec["name"] not in frame.columns]
    if absent:
        raise ValueError(f"{who}: X has no column {listing(absent)}.")
    inputs: dict[str, np.ndarray] = {}
    for spec in specs:
        name, series = spec["name"], frame[spec["name"]]
        if spec["role"] == "categorical":
            codes, texts = factorize_text(who, name, series)
            inputs[name] = np.array([*texts, ""], dtype=object)[codes]  # code -1: missing
        elif spec["role"] == "boolean":
            inputs[name] = booleans_of(who, name, series)
        else:
            values, bad, _ = numbers_of(who, name, series)
            if bad.any():
                row = int(np.argmax(bad))
                raise ValueError(
                    f"{who}: column {name!r} was numeric in training; got text "
                    f"{series.iloc[row]!r} at row {row}."
                )
            check_finite(who, name, values)  # as the encoder, which refuses inf
            inputs[name] = values
    return inputs
