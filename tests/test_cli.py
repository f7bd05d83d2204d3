"""The ``fcnet`` command: every subcommand, its errors and exit codes, on tiny files."""

from __future__ import annotations

import csv
import gzip
import struct
import subprocess
import sys

import numpy as np
import pytest

import fcnet
from fcnet.cli import main

SUBCOMMANDS = ["train", "evaluate", "predict", "gradcheck", "explain"]


def run(*args: str) -> subprocess.CompletedProcess:
    """The command in a fresh interpreter, as a user runs it (stdout and stderr not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "fcnet.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- version, help ------------------------------------------------------------------------------
def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"fcnet {fcnet.__version__}"


@pytest.mark.parametrize("command", [None, *SUBCOMMANDS])
def test_help_of_every_command(command, capsys):
    argv = ["--help"] if command is None else [command, "--help"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "usage: fcnet" in out
    assert "example" in out


def test_usage_errors_are_one_line(capsys):
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["train", "--lr", "abc"]) == 2
    err = capsys.readouterr().err
    for line in err.strip().splitlines():
        assert line.startswith("fcnet: error: ")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--hidden", "0"], "--hidden"),
        (["--hidden", "64,x"], "--hidden"),
        (["--lr", "-1"], "--lr"),
        (["--epochs", "0"], "--epochs"),
        (["--batch-size", "0"], "--batch-size"),
        (["--activation", "swishy"], "unknown --activation 'swishy'"),
        (["--optimizer", "lbfgs"], "unknown --optimizer"),
        (["--loss", "hinge"], "unknown --loss"),
        (["--val", "1.5"], "--val"),
        (["--test", "-0.1"], "--test"),
        (["--val", "0.5", "--test", "0.5"], "no training data"),
        (["--dropout", "1"], "--dropout"),
        (["--resume"], "--checkpoint"),
    ],
)
def test_bad_train_flags(flags, message, capsys, tmp_path):
    code = main(["train", *flags, "--out", str(tmp_path / "m.safetensors")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("fcnet: error: ")
    assert message in err


# --- explain ------------------------------------------------------------------------------------


def test_explain_worked_example(capsys, worked_numbers):
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    for number in worked_numbers:
        assert number in out, number
    for step in ("Z = X W + b", "dW = X^T dZ", "db = sum of dZ", "dX = dZ W^T", "W <- W - lr dW"):
        assert step in out
    assert "central difference" in out


def test_explain_layers(capsys):
    assert main(["explain", "--layers", "2,3,2", "--lr", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "layer 0: Dense(n_in=2, n_out=3, activation='sigmoid')" in out
    assert "layer 1: Dense(n_in=3, n_out=2, activation='identity')" in out
    backward = out.split("Backward")[1]
    assert backward.index("layer 1:") < backward.index("layer 0:")
    assert "lr = 0.5" in out


def test_explain_custom_sample_and_target(capsys):
    assert main(["explain", "--layers", "3,2", "--sample", "1,2,3", "--target", "0.5,0.5"]) == 0
    assert "X = [1, 2, 3]" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--layers", "2"], "--layers"),
        (["--layers", "2,0,1"], "--layers"),
        (["--lr", "-1"], "--lr"),
        (["--sample", "a,b"], "--sample"),
        (["--model", "missing.safetensors"], "no such file"),
        (["--layers", "2,2", "--sample", "1,2,3"], "expected X of shape (m, 2)"),
    ],
)
def test_explain_errors(flags, message, capsys):
    assert main(["explain", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fcnet: error: ") and err.count("\n") == 1
    assert message in err


# --- gradcheck ----------------------------------------------------------------------------------
def test_gradcheck_default_network(capsys):
    assert main(["gradcheck", "--samples", "3", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "0.W" in out and "input X" in out
    assert "PASSED" in out


@pytest.mark.parametrize(
    ("flag", "canonical"),
    [("Softmax-Cross-Entropy", "cross_entropy"), ("BCE", "binary_cross_entropy"), ("mse", "mse")],
)
def test_gradcheck_takes_any_spelling_of_a_loss(flag, canonical, capsys):
    assert main(["gradcheck", "--loss", flag, "--samples", "3"]) == 0
    out = capsys.readouterr().out
    assert f"loss {canonical}," in out and "PASSED" in out


@fcnet.register_layer
class WrongGradientDense(fcnet.Dense):
    """A Dense whose backward reports twice the true dW: the checker must catch it."""

    def backward(self, dA, need_dX=True):
        dX = super().backward(dA, need_dX)
        self.dW *= 2.0
        return dX


def test_gradcheck_saved_models(tmp_path, capsys):
    good = fcnet.Sequential([fcnet.Dense(3, 4, activation="tanh", rng=0), fcnet.Dense(4, 2, rng=1)])
    fcnet.save(good, tmp_path / "good.safetensors")
    assert main(["gradcheck", str(tmp_path / "good.safetensors")]) == 0
    assert "PASSED" in capsys.readouterr().out

    bad = fcnet.Sequential([WrongGradientDense(3, 4, activation="tanh", rng=0)])
    fcnet.save(bad, tmp_path / "bad.safetensors")
    assert main(["gradcheck", str(tmp_path / "bad.safetensors")]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "FAILED" in out


def test_gradcheck_missing_model(tmp_path, capsys):
    assert main(["gradcheck", str(tmp_path / "nope.safetensors")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err


# --- data files ---------------------------------------------------------------------------------
SPECIES = np.array(["setosa", "versicolor", "virginica"])


def _blobs(m=90, seed=0):
    rng = np.random.default_rng(seed)
    codes = np.arange(m) % 3
    centers = np.array([[3.0, 0, 0, 0], [0, 3.0, 0, 0], [0, 0, 3.0, 0]])
    X = centers[codes] + 0.4 * rng.normal(size=(m, 4))
    return X.round(4), codes


def write_csv(path, X, labels, names=("a", "b", "c", "d"), target="species"):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*names, target])
        for row, label in zip(X, labels, strict=True):
            writer.writerow([*row.tolist(), label])
    return path


@pytest.fixture
def species_csv(tmp_path):
    X, codes = _blobs()
    return write_csv(tmp_path / "species.csv", X, SPECIES[codes])


def _read_predictions(path_or_text, from_text=False):
    lines = path_or_text.splitlines() if from_text else path_or_text.read_text().splitlines()
    rows = list(csv.reader(lines))
    return rows[0], rows[1:]


FAST = ["--epochs", "8", "--batch-size", "16", "--lr", "0.02", "--hidden", "8", "--seed", "0"]


def test_train_predict_evaluate_round_trip(species_csv, tmp_path, capsys):
    model_path = tmp_path / "model.safetensors"
    code = main(["train", str(species_csv), "--target", "species", *FAST, "--out", str(model_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "test accuracy: " in out
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert accuracy >= 0.9
    assert "validation" in out and "training" in out

    model = fcnet.load(model_path)
    assert model.classes.tolist() == SPECIES.tolist()
    assert model.preprocessing is not None

    predictions = tmp_path / "predictions.csv"
    assert main(["predict", str(model_path), str(species_csv), "--out", str(predictions)]) == 0
    header, rows = _read_predictions(predictions)
    assert header == ["prediction"]
    X, _ = _blobs()
    expected = model.predict(X.astype(np.float32))
    assert [r[0] for r in rows] == expected.tolist()

    assert main(["predict", str(model_path), str(species_csv), "--proba"]) == 0
    header, rows = _read_predictions(capsys.readouterr().out, from_text=True)
    assert header == ["prediction", *SPECIES.tolist()]
    probabilities = np.array([[float(v) for v in r[1:]] for r in rows])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(probabilities, model.predict_proba(X.astype(np.float32)), atol=1e-5)

    assert main(["evaluate", str(model_path), str(species_csv), "--target", "species"]) == 0
    out = capsys.readouterr().out
    assert "loss: " in out and "accuracy: " in out and "f1: " in out


def test_predict_a_file_without_labels(species_csv, tmp_path, capsys):
    model_path = tmp_path / "m.safetensors"
    assert main(["train", str(species_csv), *FAST, "--quiet", "--out", str(model_path)]) == 0
    X, _ = _blobs()
    features = tmp_path / "features.csv"
    with open(features, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "c", "d"])
        writer.writerows(X[:10].tolist())
    capsys.readouterr()
    assert main(["predict", str(model_path), str(features)]) == 0
    _, rows = _read_predictions(capsys.readouterr().out, from_text=True)
    model = fcnet.load(model_path)
    assert [r[0] for r in rows] == model.predict(X[:10].astype(np.float32)).tolist()


def test_predict_never_takes_npz_labels_for_a_missing_feature(species_csv, tmp_path, capsys):
    model_path = tmp_path / "m.safetensors"  # a model of 4 features
    assert main(["train", str(species_csv), *FAST, "--quiet", "--out", str(model_path)]) == 0
    X, codes = _blobs()
    data = tmp_path / "three.npz"
    np.savez(data, X=X[:10, :3].astype(np.float32), y=codes[:10])
    capsys.readouterr()
    assert main(["predict", str(model_path), str(data)]) == 2
    assert "has 3 feature columns, the model expects 4" in capsys.readouterr().err


def test_quiet_prints_only_the_final_line(species_csv, tmp_path, capsys):
    assert main(["train", str(species_csv), *FAST, "--quiet", "--out", str(tmp_path / "m")]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().startswith("test accuracy: ")
    assert len(captured.out.strip().splitlines()) == 1
    assert captured.err == ""


def test_non_terminal_output_has_no_escape_codes_and_one_line_per_epoch(species_csv, tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "curves.png"
    result = run(
        "train", str(species_csv), *FAST, "--out", str(tmp_path / "m"), "--plot", str(plot)
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x1b" not in result.stderr
    epoch_lines = [line for line in result.stderr.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 8
    assert "val_loss" in epoch_lines[0]
    assert "test accuracy: " in result.stdout
    for png in (plot, tmp_path / "curves_confusion.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_on_parquet(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    X, codes = _blobs()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["kind"] = SPECIES[codes]
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)
    model_path = tmp_path / "m.safetensors"
    assert main(["train", str(path), "--target", "kind", *FAST, "--out", str(model_path)]) == 0
    assert "test accuracy: " in capsys.readouterr().out
    assert main(["evaluate", str(model_path), str(path), "--target", "kind"]) == 0


def test_train_on_npz_and_regression(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.3
    path = tmp_path / "reg.npz"
    np.savez(path, X=X, y=y)
    model_path = tmp_path / "reg.safetensors"
    code = main(["train", str(path), *FAST, "--epochs", "30", "--out", str(model_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "regression" in out and "test rmse: " in out
    model = fcnet.load(model_path)
    assert model.task == "regression"
    assert main(["evaluate", str(model_path), str(path)]) == 0
    assert "r2: " in capsys.readouterr().out
    assert main(["predict", str(model_path), str(path)]) == 0
    header, rows = _read_predictions(capsys.readouterr().out, from_text=True)
    assert header == ["prediction"] and len(rows) == 120
    np.testing.assert_allclose(
        [float(r[0]) for r in rows], model.predict(X.astype(np.float32))[:, 0], rtol=1e-4
    )


def _write_idx(path, array, type_code):
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(array.dtype.newbyteorder(">")).tobytes())


def test_train_on_idx_gz(tmp_path, capsys):
    rng = np.random.default_rng(0)
    labels = np.arange(60) % 2
    images = rng.integers(0, 60, size=(60, 3, 3)).astype(np.uint8)
    images[labels == 1, 1, :] += 180  # a bright middle row marks class 1
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, 0x08)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels.astype(np.uint8), 0x08)
    model_path = tmp_path / "idx.safetensors"
    code = main(
        ["train", str(tmp_path / "train-images-idx3-ubyte.gz"), *FAST, "--out", str(model_path)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert float(out.split("test accuracy: ")[1].split()[0]) >= 0.9


# --- bad files ----------------------------------------------------------------------------------
def _bad_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,label\n1,2,x\n3,4\n5,6,y\n")
    good = tmp_path / "good.csv"
    good.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")
    unsupported = tmp_path / "data.xlsx"
    unsupported.write_text("not really")
    return [
        ([str(tmp_path / "missing.csv")], "missing.csv"),
        ([str(empty)], "empty.csv"),
        ([str(ragged)], "line 3"),
        ([str(good), "--target", "price"], "price"),
        ([str(unsupported)], "unsupported"),
    ]


def test_bad_data_files_exit_2_with_one_line(tmp_path, capsys):
    for args, message in _bad_files(tmp_path):
        code = main(["train", *args, "--out", str(tmp_path / "m.safetensors")])
        err = capsys.readouterr().err
        assert code == 2, args
        assert err.startswith("fcnet: error: ") and err.count("\n") == 1, err
        assert message in err, (message, err)
        assert "Traceback" not in err
    assert not (tmp_path / "m.safetensors").exists()


def test_bad_data_file_in_a_subprocess(tmp_path):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,label\n1,2,x\n3,4\n")
    result = run("train", str(ragged), "--out", str(tmp_path / "m"))
    assert result.returncode == 2
    assert result.stderr.startswith("fcnet: error: ")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_evaluate_and_predict_errors(species_csv, tmp_path, capsys):
    model_path = tmp_path / "m.safetensors"
    assert main(["train", str(species_csv), *FAST, "--quiet", "--out", str(model_path)]) == 0
    other = tmp_path / "other.csv"
    other.write_text("a,b,label\n1,2,setosa\n3,4,virginica\n")
    unknown = tmp_path / "unknown.csv"
    X, _ = _blobs(m=3)
    write_csv(unknown, X, ["setosa", "tulip", "setosa"])
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{oops")
    cases = [
        (["evaluate", str(model_path), str(other)], "expected X of shape (m, 4)"),
        (["evaluate", str(model_path), str(unknown)], "'tulip'"),
        (["predict", str(model_path), str(other)], "the model expects 4"),
        (["predict", str(garbage), str(species_csv)], "garbage.safetensors"),
        (["evaluate", str(tmp_path / "none.safetensors"), str(species_csv)], "no such file"),
    ]
    capsys.readouterr()
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("fcnet: error: ") and err.count("\n") == 1, err
        assert message in err, (message, err)


# --- interruption and divergence ----------------------------------------------------------------
def test_interrupted_training_exits_130(species_csv, tmp_path, capsys, monkeypatch):
    import fcnet.train

    def interrupted_fit(model, X, y, **kwargs):
        history = fcnet.History()
        history.append(0, {"loss": 1.0})
        history.interrupted = True
        return history

    monkeypatch.setattr(fcnet.train, "fit", interrupted_fit)
    checkpoint = tmp_path / "run.ckpt"
    argv = ["train", str(species_csv), *FAST, "--checkpoint", str(checkpoint)]
    assert main([*argv, "--out", str(tmp_path / "m")]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and str(checkpoint) in err and "--resume" in err
    assert not (tmp_path / "m").exists()


def test_diverging_training_exits_3(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    path = tmp_path / "reg.csv"
    write_csv(path, X.round(3), (100 * X[:, 0]).round(3), names=("a", "b", "c"), target="y")
    result = run(
        "train", str(path), "--optimizer", "sgd", "--lr", "1e30", "--epochs", "3",
        "--out", str(tmp_path / "m"),
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("fcnet: error: ")
    assert "diverged" in result.stderr
    assert "Traceback" not in result.stderr and "RuntimeWarning" not in result.stderr


def test_explain_a_saved_model(species_csv, tmp_path, capsys):
    model_path = tmp_path / "m.safetensors"
    assert main(["train", str(species_csv), *FAST, "--quiet", "--out", str(model_path)]) == 0
    capsys.readouterr()
    argv = ["explain", "--model", str(model_path), "--sample", "3,0,0.1,0", "--target", "setosa"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "StandardScaler" in out and "softmax(A)" in out
    assert "layer 1:" in out and "SGD step" in out
    assert main([*argv[:-1], "tulip"]) == 2
    assert "tulip" in capsys.readouterr().err
    assert main(argv[:5]) == 2
    assert "--target" in capsys.readouterr().err


def test_checkpoint_and_resume(species_csv, tmp_path, capsys):
    checkpoint = tmp_path / "run.ckpt"
    common = ["train", str(species_csv), *FAST, "--checkpoint", str(checkpoint)]
    assert main([*common, "--epochs", "3", "--out", str(tmp_path / "a")]) == 0
    assert checkpoint.exists()
    capsys.readouterr()
    assert main([*common, "--epochs", "5", "--resume", "--out", str(tmp_path / "b")]) == 0
    epochs = [line for line in capsys.readouterr().err.splitlines() if line.startswith("epoch")]
    assert [line.split()[1] for line in epochs] == ["4/5", "5/5"]
    # resuming a run that already has its epochs trains nothing, and says so
    assert main([*common, "--epochs", "5", "--resume", "--out", str(tmp_path / "c")]) == 0
    err = capsys.readouterr().err
    assert not [line for line in err.splitlines() if line.startswith("epoch")]
    assert (
        f"fcnet: warning: the checkpoint '{checkpoint}' already holds 5 epoch(s) and epochs=5: "
        "nothing more was trained"
    ) in err


def test_predict_writes_float_labels_and_probabilities_in_full(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    y = np.where(X[:, 0] > 0, 1234567.0, 7654321.0)
    data = tmp_path / "labels.npz"
    np.savez(data, X=X, y=y)
    model_path = tmp_path / "m.safetensors"
    assert main(["train", str(data), *FAST, "--quiet", "--out", str(model_path)]) == 0
    capsys.readouterr()
    assert main(["predict", str(model_path), str(data), "--proba"]) == 0
    header, rows = _read_predictions(capsys.readouterr().out, from_text=True)
    assert header == ["prediction", "1234567.0", "7654321.0"]
    assert {r[0] for r in rows} <= {"1234567.0", "7654321.0"}
    model = fcnet.load(model_path)
    expected = model.predict_proba(X.astype(np.float32))
    written = np.array([[np.float32(v) for v in r[1:]] for r in rows])
    np.testing.assert_array_equal(written, expected)  # read back to the same float32


def test_running_out_of_memory_exits_2_with_one_line(monkeypatch, capsys):
    def too_large(*args, **kwargs):
        raise MemoryError(
            "Unable to allocate 3.64 TiB for an array with shape\n(1000000000, 1000) "
            "and data type float32"
        )

    monkeypatch.setattr(fcnet.Sequential, "fit", too_large)
    assert main(["train", "--hidden", "8", "--epochs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "fcnet: error: out of memory: Unable to allocate 3.64 TiB for an array with shape "
        "(1000000000, 1000) and data type float32\n"
    )


def test_resume_with_another_seed_is_refused(species_csv, tmp_path, capsys):
    # another --seed draws other training rows: the checkpoint's rows would leak into the test set
    checkpoint = tmp_path / "run.ckpt"
    argv = ["train", str(species_csv), *FAST[:-2], "--quiet", "--checkpoint", str(checkpoint)]
    assert main([*argv, "--seed", "0", "--out", str(tmp_path / "a")]) == 0
    capsys.readouterr()
    assert main([*argv, "--seed", "5", "--resume", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "the checkpoint was written for other training data" in err
    assert not (tmp_path / "b").exists()
    assert main([*argv, "--seed", "0", "--resume", "--out", str(tmp_path / "c")]) == 0


def test_an_output_path_that_cannot_be_a_file_is_refused_before_training(
    species_csv, tmp_path, capsys, monkeypatch
):
    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(fcnet.Sequential, "fit", no_training)
    folder = tmp_path / "folder"
    folder.mkdir()
    afile = tmp_path / "afile"
    afile.write_text("")
    base = ["train", str(species_csv), *FAST, "--quiet"]
    cases = [
        (["--out", str(folder)], "--out '" + str(folder) + "' is a folder"),
        (["--out", str(afile / "m.safetensors")], f"'{afile}' is a file, so it cannot hold"),
        (["--checkpoint", str(folder)], "--checkpoint '" + str(folder) + "' is a folder"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err
    assert main(["predict", "no-model.safetensors", str(species_csv), "--out", str(folder)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_explain_a_binary_classifier_with_a_class_name_as_target(tmp_path, capsys):
    X, codes = _blobs()
    two = codes < 2
    data = write_csv(tmp_path / "two.csv", X[two], np.array(["no", "yes"])[codes[two]])
    model_path = tmp_path / "bin.safetensors"
    argv = ["train", str(data), *FAST, "--loss", "binary_cross_entropy", "--quiet"]
    assert main([*argv, "--out", str(model_path)]) == 0
    capsys.readouterr()
    explain = ["explain", "--model", str(model_path), "--sample", "3,0,0.1,0", "--target"]
    assert main([*explain, "yes"]) == 0
    by_name = capsys.readouterr().out
    assert main([*explain, "1"]) == 0  # the class's target value, as numbers
    assert capsys.readouterr().out == by_name
    assert main([*explain, "no"]) == 0
    assert capsys.readouterr().out != by_name


def test_predict_from_a_csv_holding_the_one_feature_of_a_one_input_model(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    train = tmp_path / "line.csv"
    train.write_text("x,y\n" + "".join(f"{float(a)!r},{float(2 * a + 1)!r}\n" for a in x))
    model_path = tmp_path / "line.safetensors"
    assert main(["train", str(train), *FAST, "--quiet", "--out", str(model_path)]) == 0
    features = tmp_path / "x.csv"
    features.write_text("x\n0.25\n-1.5\n")
    capsys.readouterr()
    assert main(["predict", str(model_path), str(features)]) == 0
    header, rows = _read_predictions(capsys.readouterr().out, from_text=True)
    model = fcnet.load(model_path)
    expected = model.predict(np.array([[0.25], [-1.5]], dtype=np.float32))[:, 0]
    assert header == ["prediction"]
    np.testing.assert_array_equal([np.float32(r[0]) for r in rows], expected)
    features.write_text("x\n0.25\nabc\n")  # a bad field is still reported
    assert main(["predict", str(model_path), str(features)]) == 2
    err = capsys.readouterr().err
    assert "has text in column 'x' ('abc', row 1)" in err and "numbers only" in err
