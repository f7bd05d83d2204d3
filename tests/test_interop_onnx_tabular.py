"""fcnet.interop.to_onnx for models trained on tables as they come: the TabularEncoder's graph
(one input per raw column) and the Embedding, run by onnxruntime and by ONNX's reference
evaluator against the model's predict_output / predict_proba / predict on thousands of rows.

Tolerance: rtol=1e-5 and atol=1e-6 * max(1, max|output|); the encoder's features are compared
bit for bit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fcnet
from fcnet.preprocessing import TabularEncoder

pd = pytest.importorskip("pandas")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402

from fcnet.cli import main  # noqa: E402
from fcnet.interop import onnx_inputs, to_onnx  # noqa: E402
from fcnet.interop.onnx_tabular import _missing_variants  # noqa: E402
from fcnet.preprocessing.columns import MISSING_TOKENS  # noqa: E402

ROWS = 3000


def table(m: int, seed: int, unseen: bool = False) -> pd.DataFrame:
    """Numbers with gaps, a bool, two text columns (one with a rare category and gaps), a column
    of numbers read as categories, and one of 60 shops (codes for an Embedding)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=40.0, scale=12.0, size=m).round(3)
    x[rng.random(m) < 0.1] = np.nan
    z = rng.uniform(-1.0, 1.0, size=m)  # no gap in training; NaN at prediction is imputed
    colours = ["red", "green", "blue", "mauve"]
    colour = rng.choice(colours, size=m, p=[0.45, 0.3, 0.2485, 0.0015]).astype(object)
    colour[rng.random(m) < 0.06] = None
    size = rng.choice(["S", "M", "L", "XL"], size=m).astype(object)
    grade = rng.integers(1, 5, size=m)  # categorical by request: "1" .. "4"
    shop = np.array([f"shop{s:02d}" for s in rng.integers(0, 60, size=m)], dtype=object)
    frame = pd.DataFrame(
        {
            "x": x,
            "flag": rng.random(m) < 0.4,
            "colour": colour,
            "size": size,
            "grade": grade,
            "shop": shop,
            "z": z,
        }
    )
    if unseen:  # categories and gaps training never saw, and missing values written as text
        rows = rng.permutation(m)
        frame.loc[rows[:40], "colour"] = "purple"
        frame.loc[rows[40:80], "size"] = "XXS"
        frame.loc[rows[80:120], "shop"] = "shop99"
        frame.loc[rows[120:160], "grade"] = 9
        frame.loc[rows[160:200], "z"] = np.nan
        frame["size"] = frame["size"].where(rng.random(m) > 0.03, "NA")
    return frame


def target(frame: pd.DataFrame) -> np.ndarray:
    shop_effect = np.linspace(-1.0, 1.0, 100)[frame["shop"].str[4:].astype(int)]
    score = (frame["x"].fillna(40.0) - 40.0) / 12.0 + frame["flag"] + shop_effect
    score += np.where(frame["colour"] == "red", 0.8, -0.3) + 0.2 * frame["grade"]
    return np.digitize(score, [0.3, 1.2])  # 0, 1, 2


def _model(task: str, scale: str, dtype: str):
    train = table(ROWS, seed=0)
    y = target(train)
    encoder = TabularEncoder(categorical=["grade"], scale=scale, min_frequency=10, max_onehot=8)
    encoder.fit(train)
    assert encoder.code_columns == [encoder.feature_names_out().index("shop")]
    embedding = fcnet.Embedding.from_encoder(encoder, rng=0, dtype=dtype)
    n_out = {"classification": 3, "binary": 1, "regression": 1}[task]
    model = fcnet.Sequential(
        [
            embedding,
            fcnet.Dense(embedding.n_out, 16, "tanh", rng=1, dtype=dtype),
            fcnet.Dense(16, n_out, rng=2, dtype=dtype),
        ]
    )
    model.preprocessing = TabularEncoder(
        categorical=["grade"], scale=scale, min_frequency=10, max_onehot=8
    )
    labels = {
        "classification": np.array(["low", "mid", "high"])[y],
        "binary": (y > 0).astype(int),
        "regression": y.astype(dtype),
    }[task]
    model.fit(train, labels, epochs=3, batch_size=128, rng=0, verbose=0)
    assert model.task == task
    return model


def _run_both(onnx_model, feed):
    names = [o.name for o in onnx_model.graph.output]
    session = ort.InferenceSession(
        onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    from_ort = dict(zip(names, session.run(names, feed), strict=True))
    with np.errstate(all="ignore"):  # the reference's Sigmoid computes both branches
        reference = ReferenceEvaluator(onnx_model).run(names, feed)
    return from_ort, dict(zip(names, reference, strict=True))


def _close(actual, expected):
    atol = 1e-6 * max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=atol)


def _predict(method, frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the unseen categories, counted
        return method(frame)


@pytest.mark.parametrize(
    ("task", "scale", "dtype"),
    [
        ("classification", "standard", "float32"),
        ("binary", "minmax", "float64"),
        ("regression", "none", "float32"),
    ],
)
def test_a_model_trained_on_a_mixed_table_matches_predict(task, scale, dtype):
    model = _model(task, scale, dtype)
    new = table(ROWS, seed=1, unseen=True)
    onnx_model = to_onnx(model)
    onnx.checker.check_model(onnx_model, full_check=True)
    assert to_onnx(model).SerializeToString() == onnx_model.SerializeToString()  # deterministic
    assert onnx_model.ir_version == 8 and onnx_model.opset_import[0].version == 17
    inputs = {i.name: i for i in onnx_model.graph.input}
    assert list(inputs) == ["x", "flag", "colour", "size", "grade", "shop", "z"]
    kinds = {name: i.type.tensor_type.elem_type for name, i in inputs.items()}
    assert {n for n, k in kinds.items() if k == onnx.TensorProto.DOUBLE} == {"x", "flag", "z"}
    assert {n for n, k in kinds.items() if k == onnx.TensorProto.STRING} == {
        "colour",
        "size",
        "grade",
        "shop",
    }
    assert all(len(i.type.tensor_type.shape.dim) == 1 for i in inputs.values())
    from_ort, reference = _run_both(onnx_model, onnx_inputs(model, new))
    expected = _predict(model.predict_output, new)
    for outputs in (from_ort, reference):
        assert outputs["output"].dtype == np.dtype(dtype)
        _close(outputs["output"], expected)
        if task == "regression":
            assert set(outputs) == {"output"}
            continue
        probabilities = _predict(model.predict_proba, new)
        if task == "binary":
            _close(outputs["probabilities"][:, 1:], probabilities)
        else:
            _close(outputs["probabilities"], probabilities)
        labels = _predict(model.predict, new).reshape(-1)
        assert [str(v) for v in outputs["label"]] == [str(v) for v in labels]
        assert len(set(labels.tolist())) > 1


def _identity_model(encoder):
    """A float64 network that returns the encoder's features unchanged (W = I, b = 0)."""
    n = encoder.n_features_out
    dense = fcnet.Dense(n, n, rng=0, dtype="float64")
    dense.W[...] = np.eye(n)
    dense.b[...] = 0.0
    model = fcnet.Sequential([dense])
    model.preprocessing = encoder
    return model


@pytest.mark.parametrize(("scale", "opset"), [("standard", 17), ("minmax", 13), ("none", 21)])
def test_the_features_are_the_encoders_bit_for_bit(scale, opset):
    encoder = TabularEncoder(categorical=["grade"], scale=scale, min_frequency=10, max_onehot=8)
    encoder.fit(table(ROWS, seed=0))
    assert "colour=mauve" not in encoder.feature_names_out()  # rare: the <other> slot
    assert "z_missing" not in encoder.feature_names_out()
    new = table(ROWS, seed=1, unseen=True)
    onnx_model = to_onnx(_identity_model(encoder), opset=opset)
    assert onnx_model.opset_import[0].version == opset
    from_ort, reference = _run_both(onnx_model, onnx_inputs(encoder, new))
    expected = _predict(encoder.transform, new)
    for outputs in (from_ort, reference):
        np.testing.assert_array_equal(outputs["output"], expected)


def test_missing_text_in_any_case_numbers_as_text_and_the_missing_category():
    train = pd.DataFrame(
        {
            "colour": ["red", "blue", None, "red", "blue", "", "red", "NA"] * 10,
            "code": [1, 2, 3, 1, 2, 3, 1, 2.5] * 10,
            "n": [1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0, 8.0] * 10,
        }
    )
    encoder = TabularEncoder(categorical=["code"]).fit(train)
    names = encoder.feature_names_out()
    assert "colour=<missing>" in names and "code=2.5" in names and "code=3" in names
    model = _identity_model(encoder)
    onnx_model = to_onnx(model)
    tokens = _missing_variants()
    m = len(tokens) + 6
    raw = {  # written by hand: the graph itself recognises every NA token, in any case
        "colour": np.array([*tokens, "red", "blue", "<missing>", "Red", "teal", " red"], object),
        "code": np.array(["1", "2.5", "3", "7", "", "NaN", *["2"] * len(tokens)], object),
        "n": np.r_[np.nan, 2.0, -4.5, np.nan, 10.0, np.inf, np.ones(len(tokens))],
    }
    frame = pd.DataFrame(
        {
            "colour": raw["colour"],
            "code": [1, 2.5, 3.0, 7, None, np.nan, *[2] * len(tokens)],
            "n": raw["n"],
        }
    )
    from_ort, reference = _run_both(onnx_model, raw)
    expected = _predict(encoder.transform, frame.assign(n=frame["n"].replace(np.inf, 0.0)))
    for outputs in (from_ort, reference):
        got = outputs["output"]
        assert got.shape == (m, len(names))
        rows = np.r_[0:5, 6 : m - 1]  # all but the infinite n and the padded " red": exact
        np.testing.assert_array_equal(got[rows], expected[rows])
        assert got[5, names.index("n")] == np.inf  # passed on, where the encoder refuses it
        # " red": the graph compares text as given, so the surrounding space makes it unseen
        assert expected[-1, names.index("colour=red")] == 1.0
        assert got[-1, names.index("colour=<other>")] == 1.0
        assert got[-1, names.index("colour=red")] == 0.0


def test_missing_variants_are_exactly_the_case_insensitive_tokens():
    variants = _missing_variants()
    assert len(set(variants)) == len(variants) == 74
    assert {v.lower() for v in variants} == set(MISSING_TOKENS)
    letters = {ch for token in MISSING_TOKENS for ch in token}
    # no character outside ASCII lowercases to one of the tokens' characters
    assert not [c for c in map(chr, range(0x80, 0x110000)) if letters & set(c.lower())]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_an_embedding_alone(dtype):
    layer = fcnet.Embedding(6, [1, 4], [7, 30], [3, 5], rng=0, dtype=dtype)
    model = fcnet.Sequential([layer, fcnet.Dense(layer.n_out, 2, rng=1, dtype=dtype)])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, 6)).astype(dtype)
    X[:, 1] = rng.integers(0, 7, size=ROWS)
    X[:, 4] = rng.integers(0, 30, size=ROWS)
    for m in (model, fcnet.Sequential([layer])):
        from_ort, reference = _run_both(to_onnx(m), {"input": X})
        for outputs in (from_ort, reference):
            _close(outputs["output"], m.predict_output(X))
    codes_only = fcnet.Sequential([fcnet.Embedding(2, [1, 0], [4, 3], [2, 2], rng=2, dtype=dtype)])
    C = rng.integers(0, 3, size=(50, 2)).astype(dtype)
    from_ort, reference = _run_both(to_onnx(codes_only), {"input": C})
    for outputs in (from_ort, reference):
        np.testing.assert_array_equal(outputs["output"], codes_only.predict_output(C))


def test_train_on_a_csv_then_export_on_the_command_line(tmp_path, capsys):
    frame = table(600, seed=2)
    frame["y"] = np.array(["low", "mid", "high"])[target(frame)]
    csv = tmp_path / "table.csv"
    frame.to_csv(csv, index=False)
    model_path, out = tmp_path / "m.safetensors", tmp_path / "m.onnx"
    fast = ["--epochs", "3", "--hidden", "8", "--seed", "0", "--quiet"]
    assert main(["train", str(csv), "--target", "y", *fast, "--out", str(model_path)]) == 0
    assert main(["export", str(model_path), str(out)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed.endswith("inputs x, flag, colour, size, grade, shop, z (7)")
    model = fcnet.load(model_path)
    assert isinstance(model.layers[0], fcnet.Embedding)  # shop: 60 categories, codes
    rows = pd.read_csv(csv).drop(columns="y")  # as a deployment reads the file
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, onnx_inputs(model, rows))
    _close(got[0], _predict(model.predict_output, rows))
    assert list(got[2]) == list(_predict(model.predict, rows))


def test_refusals_and_onnx_inputs_errors():
    frame = table(200, seed=0)
    unfitted = fcnet.Sequential([fcnet.Dense(3, 2, rng=0)])
    unfitted.preprocessing = TabularEncoder()
    with pytest.raises(ValueError, match=r"preprocessing \(TabularEncoder\).*not fitted"):
        to_onnx(unfitted)
    clash = pd.DataFrame({"output": [1.0, 2.0, 3.0], "b": ["u", "v", "u"]})
    model = _identity_model(TabularEncoder().fit(clash))
    with pytest.raises(ValueError, match=r"input 'output' would take the name.*rename"):
        to_onnx(model)

    class MyEncoder(TabularEncoder):
        pass

    model.preprocessing = MyEncoder().fit(clash.rename(columns={"output": "a"}))
    with pytest.raises(TypeError, match=r"preprocessing \(MyEncoder\) has no ONNX exporter"):
        to_onnx(model)
    config = TabularEncoder().fit(clash.rename(columns={"output": "a"})).get_config()
    config["specs"][1]["categories"] = ["NA", "u", "v"]  # fit would read "NA" as missing
    model.preprocessing = TabularEncoder.from_config(config)
    with pytest.raises(ValueError, match=r"column 'b' has the category 'NA', which the encoder"):
        to_onnx(model)
    encoder = TabularEncoder().fit(frame)
    with pytest.raises(TypeError, match="onnx_inputs: expected a model whose preprocessing"):
        onnx_inputs(fcnet.Sequential([fcnet.Dense(3, 2, rng=0)]), frame)
    with pytest.raises(RuntimeError, match="onnx_inputs: the TabularEncoder is not fitted"):
        onnx_inputs(TabularEncoder(), frame)
    with pytest.raises(ValueError, match="onnx_inputs: X has no column 'shop'"):
        onnx_inputs(encoder, frame.drop(columns="shop"))
    with pytest.raises(ValueError, match="column 'x' was numeric in training; got text 'abc'"):
        onnx_inputs(encoder, frame.assign(x=["abc", *frame["x"][1:]]))
    with pytest.raises(ValueError, match="column 'z' row 3: expected a finite number, got inf"):
        onnx_inputs(encoder, frame.assign(z=np.where(np.arange(200) == 3, np.inf, frame["z"])))
