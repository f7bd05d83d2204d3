"""fcnet.interop.to_onnx: the exported graph, run by onnxruntime and by ONNX's reference
evaluator, against the model's own predict_output / predict_proba / predict on thousands of rows.

Tolerance: rtol=1e-5 and atol=1e-6 * max(1, max|output|), float32 and float64.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import fcnet
from fcnet import activations as act

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402

from fcnet.interop import EXPORTERS, register_exporter, to_onnx  # noqa: E402

ACTIVATIONS = ["identity", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus"]
ROWS = 3000


def _session(onnx_model):
    return ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])


def _run_both(onnx_model, X):
    """{output name: array} from onnxruntime and from the reference evaluator."""
    names = [o.name for o in onnx_model.graph.output]
    from_ort = dict(zip(names, _session(onnx_model).run(names, {"input": X}), strict=True))
    with np.errstate(all="ignore"):  # the reference's Sigmoid computes both branches
        reference = ReferenceEvaluator(onnx_model).run(names, {"input": X})
    return from_ort, dict(zip(names, reference, strict=True))


def _close(actual, expected):
    atol = 1e-6 * max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=atol)


def _stats(model, rng):
    for layer in model.layers:
        if isinstance(layer, fcnet.BatchNorm):
            layer.running_mean[...] = rng.normal(size=layer.n)
            layer.running_var[...] = rng.uniform(0.3, 3.0, size=layer.n)
        if isinstance(layer, fcnet.BatchNorm | fcnet.LayerNorm):
            layer.gamma[...] = rng.uniform(0.5, 1.5, size=layer.n)
            layer.beta[...] = rng.normal(scale=0.3, size=layer.n)
        if isinstance(layer, fcnet.Dense):
            layer.b[...] = rng.normal(scale=0.3, size=layer.n_out)
    return model


def _network(activation, dtype, n_out=3):
    layers = [
        fcnet.Dense(6, 16, activation=activation, rng=0, dtype=dtype),
        fcnet.BatchNorm(16, eps=1e-3, dtype=dtype),
        fcnet.Dropout(0.3, dtype=dtype),
        fcnet.Dense(16, 12, activation=activation, rng=1, dtype=dtype),
        fcnet.LayerNorm(12, dtype=dtype),
        fcnet.Dense(12, n_out, rng=2, dtype=dtype),
    ]
    return _stats(fcnet.Sequential(layers), np.random.default_rng(3))


def _inputs(dtype, rows=ROWS, width=6, scale=3.0):
    return (np.random.default_rng(4).normal(size=(rows, width)) * scale).astype(dtype)


CASES = [(a, "float32") for a in [*ACTIVATIONS, "softmax"]]
CASES += [(a, "float64") for a in [*ACTIVATIONS, "softmax"] if a != "gelu"]


@pytest.mark.parametrize(("activation", "dtype"), CASES)
def test_every_activation_in_dense_matches_predict_output(activation, dtype):
    model = _network(activation, dtype)
    X = _inputs(dtype)
    expected = model.predict_output(X)
    from_ort, reference = _run_both(to_onnx(model), X)
    for outputs in (from_ort, reference):
        assert outputs["output"].dtype == np.dtype(dtype)
        _close(outputs["output"], expected)


def test_standalone_activation_layers_and_large_inputs():
    layers = [fcnet.Dense(6, 10, rng=0)]
    layers += [
        act.LeakyReLU(0.2),
        act.ELU(0.5),
        act.Softplus(),
        act.GELU(),
        act.Tanh(),
        act.ReLU(),
        act.Identity(),
        act.Sigmoid(),
    ]
    layers += [fcnet.Dense(10, 4, rng=1), act.Softmax()]
    model = _stats(fcnet.Sequential(layers), np.random.default_rng(0))
    X = _inputs("float32", scale=60.0)  # e^z of the naive softplus and sigmoid would overflow
    from_ort, reference = _run_both(to_onnx(model), X)
    expected = model.predict_output(X)
    for outputs in (from_ort, reference):
        assert np.isfinite(outputs["output"]).all()
        _close(outputs["output"], expected)


@pytest.mark.parametrize("scaler", ["standard", "minmax"])
def test_classifier_with_scaler_and_string_classes(scaler):
    rng = np.random.default_rng(0)
    X = rng.normal(loc=50.0, scale=[1.0, 10.0, 0.1, 5.0], size=(ROWS, 4))
    y = np.array(["cat", "dog", "emu"])[(X[:, 0] > 50).astype(int) + (X[:, 1] > 55)]
    model = fcnet.Sequential([fcnet.Dense(4, 16, "tanh", rng=0), fcnet.Dense(16, 3, rng=1)])
    model.preprocessing = fcnet.preprocessing.make_scaler(scaler).fit(X)
    model.fit(X, y, epochs=2, batch_size=256, rng=0, verbose=0)
    assert model.task == "classification" and list(model.classes) == ["cat", "dog", "emu"]
    X32 = X.astype(np.float32)
    from_ort, reference = _run_both(to_onnx(model), X32)
    for outputs in (from_ort, reference):
        _close(outputs["output"], model.predict_output(X32))
        _close(outputs["probabilities"], model.predict_proba(X32))
        labels = outputs["label"]
        assert labels.shape == (ROWS,)
        assert [str(v) for v in labels] == [str(v) for v in model.predict(X32)]


def test_classifier_labels_without_classes_are_int64_and_numeric_classes_map():
    model = _network("relu", "float32", n_out=4)
    model.task = "classification"
    X = _inputs("float32")
    outputs = _session(to_onnx(model)).run(["label"], {"input": X})[0]
    assert outputs.dtype == np.int64
    np.testing.assert_array_equal(outputs, model.predict(X))
    for classes in ([10, 20, 30, 40], [0.5, 1.5, 2.5, 3.5]):
        model.classes = np.array(classes)
        from_ort, reference = _run_both(to_onnx(model), X)
        for outputs in (from_ort, reference):
            assert outputs["label"].dtype == model.classes.dtype
            np.testing.assert_array_equal(outputs["label"], model.predict(X))


@pytest.mark.parametrize("classes", [None, [3, 7], ["no", "yes"], [False, True]])
def test_binary_one_output(classes):
    model = _network("elu", "float32", n_out=1)
    model.task = "binary"
    model.classes = None if classes is None else np.array(classes)
    X = _inputs("float32")
    from_ort, reference = _run_both(to_onnx(model), X)
    p = model.predict_proba(X)  # (m, 1): the probability of the second class
    expected_labels = model.predict(X).reshape(-1)
    for outputs in (from_ort, reference):
        _close(outputs["output"], model.predict_output(X))
        assert outputs["probabilities"].shape == (ROWS, 2)
        _close(outputs["probabilities"][:, 1:], p)
        _close(outputs["probabilities"][:, :1], 1.0 - p)
        assert outputs["label"].shape == (ROWS,)
        assert [str(v) for v in outputs["label"]] == [str(v) for v in expected_labels]
    assert len({str(v) for v in expected_labels}) == 2  # both classes occur


def test_binary_several_outputs_and_regression():
    model = _network("sigmoid", "float64", n_out=3)
    model.task = "binary"
    X = _inputs("float64")
    from_ort, reference = _run_both(to_onnx(model), X)
    for outputs in (from_ort, reference):
        _close(outputs["probabilities"], model.predict_proba(X))
        np.testing.assert_array_equal(outputs["label"], model.predict(X))
    model.task = "regression"
    onnx_model = to_onnx(model)
    assert [o.name for o in onnx_model.graph.output] == ["output"]
    _close(_session(onnx_model).run(None, {"input": X})[0], model.predict(X))


def test_model_file_versions_metadata_determinism_and_dynamic_batch(tmp_path):
    model = _network("gelu", "float32")
    model.task = "classification"
    path = tmp_path / "sub" / "model.onnx"
    onnx_model = to_onnx(model, path)
    assert path.read_bytes() == onnx_model.SerializeToString()
    assert to_onnx(model).SerializeToString() == path.read_bytes()  # deterministic bytes
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.onnx"]  # no temporary left
    onnx.checker.check_model(onnx.load(path), full_check=True)
    assert onnx_model.ir_version == 8
    assert [(o.domain, o.version) for o in onnx_model.opset_import] == [("", 17)]
    assert all(node.domain == "" for node in onnx_model.graph.node)
    assert "ZipMap" not in {node.op_type for node in onnx_model.graph.node}
    props = {p.key: p.value for p in onnx_model.metadata_props}
    assert props["fcnet_version"] == fcnet.__version__
    assert json.loads(props["architecture"]) == model.get_config()
    batch = onnx_model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "batch"
    session = _session(onnx_model)
    for rows in (1, 7, ROWS):
        X = _inputs("float32", rows=rows)
        _close(session.run(["output"], {"input": X})[0], model.predict_output(X))


def test_higher_opset_sets_its_ir_version_and_runs():
    model = _network("relu", "float32")
    onnx_model = to_onnx(model, opset=21)
    assert onnx_model.ir_version == 10 and onnx_model.opset_import[0].version == 21
    X = _inputs("float32")
    _close(_session(onnx_model).run(None, {"input": X})[0], model.predict_output(X))


def test_refusals_name_the_layer():
    class Doubler:
        def forward(self, X, training=False):
            return 2 * X

        def backward(self, dA):
            return 2 * dA

        def params(self):
            return {}

        def grads(self):
            return {}

    class MyDense(fcnet.Dense):
        pass

    class MyActivation(act.Activation):
        def apply(self, Z, out):
            return np.multiply(Z, 3, out=out)

    with pytest.raises(TypeError, match=r"layer 1 \(Doubler\) has no ONNX exporter"):
        to_onnx(fcnet.Sequential([fcnet.Dense(2, 2, rng=0), Doubler()]))
    with pytest.raises(TypeError, match=r"layer 0 \(MyDense\) has no ONNX exporter"):
        to_onnx(fcnet.Sequential([MyDense(2, 2, rng=0)]))
    with pytest.raises(TypeError, match=r"layer 0 \(Dense\) has activation MyActivation"):
        to_onnx(fcnet.Sequential([fcnet.Dense(2, 2, activation=MyActivation(), rng=0)]))
    gelu64 = fcnet.Sequential([fcnet.Dense(2, 2, rng=0, dtype="float64"), act.GELU()])
    with pytest.raises(ValueError, match=r"layer 1 \(GELU\) cannot be exported: .*float32"):
        to_onnx(gelu64)
    with pytest.raises(ValueError, match=r"layer 1 \(LayerNorm\) .*opset >= 17, got opset 16"):
        to_onnx(fcnet.Sequential([fcnet.Dense(2, 2, rng=0), fcnet.LayerNorm(2)]), opset=16)
    with pytest.raises(ValueError, match=r"expected opset in \[13, "):
        to_onnx(fcnet.Sequential([fcnet.Dense(2, 2, rng=0)]), opset=9)
    with pytest.raises(TypeError, match="expected an fcnet.Sequential"):
        to_onnx([fcnet.Dense(2, 2, rng=0)])
    unfitted = fcnet.Sequential([fcnet.Dense(2, 2, rng=0)])
    unfitted.preprocessing = fcnet.preprocessing.StandardScaler()
    with pytest.raises(ValueError, match=r"preprocessing \(StandardScaler\).*not fitted"):
        to_onnx(unfitted)


def test_opset_below_17_without_layer_norm():
    model = fcnet.Sequential([fcnet.Dense(6, 5, "softplus", rng=0), fcnet.Dense(5, 2, rng=1)])
    onnx_model = to_onnx(model, opset=13)
    assert onnx_model.ir_version == 7
    X = _inputs("float32")
    _close(_session(onnx_model).run(None, {"input": X})[0], model.predict_output(X))


def test_register_exporter_for_a_new_layer():
    class Scale:
        """A = c X (a layer of one's own)."""

        def __init__(self, c):
            self.c = c

        def forward(self, X, training=False):
            return self.c * X

        def backward(self, dA):
            return self.c * dA

        def params(self):
            return {}

        def grads(self):
            return {}

    @register_exporter(Scale)
    def _scale(layer, graph, X):
        return graph.node("Mul", [X, graph.constant("c", np.array(layer.c))])

    try:
        model = fcnet.Sequential([fcnet.Dense(6, 3, rng=0), Scale(2.5)])
        X = _inputs("float32")
        _close(_session(to_onnx(model)).run(None, {"input": X})[0], model.predict_output(X))
    finally:
        del EXPORTERS[Scale]


def test_top_level_wrapper_and_lazy_import():
    model = fcnet.Sequential([fcnet.Dense(3, 2, rng=0)])
    assert fcnet.to_onnx(model).SerializeToString() == to_onnx(model).SerializeToString()
    code = (
        "import sys, fcnet; print(sorted({'onnx', 'torch', 'h5py', 'sklearn'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
