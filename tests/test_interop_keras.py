"""fcnet.interop.from_keras on .keras files that Keras 3 itself wrote, against Keras's own
outputs.

``tests/data/keras_mlp.keras`` and ``keras_mlp_float64.keras`` were written by Keras 3.15.1
(torch backend), with Keras's outputs on 256 rows beside them in ``keras_mlp.npz``, by running
this file: ``KERAS_BACKEND=torch python tests/test_interop_keras.py``. The tests on them need
h5py alone, so they run without Keras (whose import takes seconds). Where Keras is installed,
the same models are also built, saved and compared afresh, and the refusals tried on real
files.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fcnet.interop import from_keras

pytest.importorskip("h5py")

DATA = Path(__file__).parent / "data"
ROWS, WIDTH = 256, 6
LAYER_KINDS = [
    "Dense",
    "BatchNorm",
    "LeakyReLU",
    "Dense",
    "Dense",
    "LayerNorm",
    "BatchNorm",
    "ELU",
    "Dense",
    "LeakyReLU",
    "Dense",
    "Dropout",
    "Dense",
    "Dense",
]


# --- the models (used to write tests/data, and again where Keras is installed) -----------------
def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")  # no TensorFlow needed
    os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="keras-home-"))
    if os.environ["KERAS_BACKEND"] == "torch":
        pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    if keras.config.backend() == "tensorflow":
        pytest.skip("Keras runs on TensorFlow here")
    return keras


def every_layer_model(keras):
    """A Sequential with every layer and option from_keras reads, random weights."""
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((WIDTH,)),
            layers.Dense(16, activation="relu"),
            layers.BatchNormalization(momentum=0.9, epsilon=1e-2),
            layers.LeakyReLU(negative_slope=0.25),
            layers.Dense(12, activation="leaky_relu"),
            layers.Dense(12, use_bias=False),
            layers.Activation("tanh"),
            layers.LayerNormalization(epsilon=1e-4),
            layers.BatchNormalization(center=False),
            layers.ELU(alpha=0.7),
            layers.Dense(10, activation="softplus"),
            layers.ReLU(negative_slope=0.1),
            layers.Dense(10, activation="elu"),
            layers.Dropout(0.3),
            layers.Dense(8, activation="sigmoid"),
            layers.Dense(4, activation="softmax"),
        ]
    )
    return _randomize(model)


def float64_model(keras):
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((WIDTH,), dtype="float64"),
            layers.Dense(8, activation="tanh", dtype="float64"),
            layers.BatchNormalization(dtype="float64"),
            layers.Dense(3, dtype="float64"),
        ]
    )
    return _randomize(model)


def _randomize(model, seed=0):
    """Random weights everywhere, moving variances positive, so no convention hides."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        new = [rng.normal(scale=0.5, size=w.shape).astype(w.dtype) for w in weights]
        if type(layer).__name__ == "BatchNormalization":
            new[-1] = rng.uniform(0.2, 3.0, size=weights[-1].shape).astype(weights[-1].dtype)
        if new:
            layer.set_weights(new)
    return model


def _inputs(dtype="float32"):
    return np.random.default_rng(1).normal(scale=2.0, size=(ROWS, WIDTH)).astype(dtype)


def _predict(keras, model, X):
    """Keras's output for X in one call (``predict`` runs batches of 32: slow)."""
    return keras.ops.convert_to_numpy(model(X, training=False))


def write_test_data(keras, folder):
    """Save both models and Keras's outputs on ``_inputs()`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {}
    for name, build, dtype in (
        ("keras_mlp", every_layer_model, "float32"),
        ("keras_mlp_float64", float64_model, "float64"),
    ):
        model = build(keras)
        model.save(folder / f"{name}.keras")
        outputs[name] = _predict(keras, model, _inputs(dtype))
    np.savez(folder / "keras_mlp.npz", X=_inputs(), **outputs)
    return outputs


def _check_every_layer_model(fc, X, expected):
    assert [type(layer).__name__ for layer in fc.layers] == LAYER_KINDS
    assert fc.layers[1].momentum == 0.1 and fc.layers[1].eps == 1e-2  # 1 - Keras's momentum
    assert fc.layers[2].alpha == 0.25
    assert fc.layers[3].activation.alpha == 0.2  # keras.activations.leaky_relu's default
    assert fc.layers[4].activation.name == "tanh" and fc.layers[5].eps == 1e-4
    assert fc.layers[6].eps == 1e-3 and fc.layers[7].alpha == 0.7  # Keras's default epsilon
    assert fc.layers[9].alpha == 0.1 and fc.layers[11].p == 0.3
    assert fc.dtype == np.float32
    np.testing.assert_allclose(fc.predict_output(X), expected, rtol=1e-5, atol=1e-6)


def _check_float64_model(fc, X, expected):
    assert fc.dtype == np.float64
    # Keras's matmul on a backend other than TensorFlow returns float32 even for float64
    # operands (its type promotion maps float64 to float32): Keras is float32-exact only
    np.testing.assert_allclose(fc.predict_output(X), expected, rtol=1e-5, atol=1e-6)


# --- on the files Keras wrote (h5py only) --------------------------------------------------------
def test_shipped_files_match_keras_outputs():
    saved = np.load(DATA / "keras_mlp.npz")
    X = saved["X"]
    _check_every_layer_model(from_keras(DATA / "keras_mlp.keras"), X, saved["keras_mlp"])
    fc = from_keras(str(DATA / "keras_mlp_float64.keras"))
    _check_float64_model(fc, X.astype(np.float64), saved["keras_mlp_float64"])


def _edited(tmp_path, edit):
    """A copy of the shipped archive with its config.json changed by ``edit(config)``."""
    with zipfile.ZipFile(DATA / "keras_mlp.keras") as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    edit(config["config"]["layers"])
    files["config.json"] = json.dumps(config).encode()
    path = tmp_path / "edited.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _set(index, **options):
    def edit(layers):
        layers[index]["config"].update(options)

    return edit


@pytest.mark.parametrize(
    ("edit", "error", "pattern"),
    [
        (_set(1, activation="gelu"), ValueError, r"layer 0 \(Dense 'dense'\).*tanh approximation"),
        (_set(1, activation="selu"), ValueError, "activation 'selu' has no fcnet equal"),
        (_set(3, negative_slope=1.5), ValueError, r"layer 2 \(LeakyReLU .*negative_slope=1.5"),
        (_set(11, max_value=6.0), ValueError, r"layer 10 \(ReLU .*max_value"),
        (_set(2, axis=0), ValueError, "axis=0"),
        (_set(1, dtype="mixed_float16"), ValueError, "dtype policy 'mixed_float16'"),
        (_set(7, rms_scaling=True), ValueError, "rms_scaling"),
    ],
)
def test_options_without_an_fcnet_equal_are_refused(tmp_path, edit, error, pattern):
    with pytest.raises(error, match=pattern):
        from_keras(_edited(tmp_path, edit))


def test_other_layers_and_models_are_refused(tmp_path):
    def rename(layers):
        layers[6]["class_name"] = "GaussianNoise"

    with pytest.raises(TypeError, match=r"layer 5 \(GaussianNoise .*no fcnet equivalent"):
        from_keras(_edited(tmp_path, rename))
    with zipfile.ZipFile(DATA / "keras_mlp.keras") as archive:
        config = json.loads(archive.read("config.json"))
    config["class_name"] = "Functional"
    path = tmp_path / "functional.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", b"")
    with pytest.raises(TypeError, match="holds a Functional model; expected a Sequential"):
        from_keras(path)


def test_files_that_are_not_keras_archives(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        from_keras(tmp_path / "missing.keras")
    (tmp_path / "text.keras").write_text("not a zip")
    with pytest.raises(ValueError, match="not a Keras 3 .keras archive"):
        from_keras(tmp_path / "text.keras")
    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    with pytest.raises(ValueError, match="model.weights.h5"):
        from_keras(tmp_path / "empty.keras")


# --- with Keras itself, where it is installed --------------------------------------------------
def test_fresh_files_from_keras(tmp_path):
    keras = _keras()
    outputs = write_test_data(keras, tmp_path)
    X = _inputs()
    _check_every_layer_model(from_keras(tmp_path / "keras_mlp.keras"), X, outputs["keras_mlp"])
    fc = from_keras(tmp_path / "keras_mlp_float64.keras")
    _check_float64_model(fc, X.astype(np.float64), outputs["keras_mlp_float64"])


def test_real_gelu_and_functional_files_are_refused(tmp_path):
    keras = _keras()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, activation="gelu")])
    model.save(tmp_path / "gelu.keras")
    with pytest.raises(ValueError, match="tanh approximation"):
        from_keras(tmp_path / "gelu.keras")
    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(tmp_path / "functional.keras")
    with pytest.raises(TypeError, match="Functional model"):
        from_keras(tmp_path / "functional.keras")


if __name__ == "__main__":
    write_test_data(_keras(), DATA)
    print(f"wrote {DATA}/keras_mlp.keras, keras_mlp_float64.keras and keras_mlp.npz")
