"""``fcnet train`` on data read by groups of rows: a Parquet file (--stream, or too large for the
memory there is) and memory-mapped .npy arrays."""

from __future__ import annotations

import numpy as np
import pytest

import fcnet
from fcnet.cli import main, stream

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

FAST = ["--epochs", "5", "--lr", "0.02", "--hidden", "8", "--batch-size", "16"]


@pytest.fixture
def blobs3():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    X = np.eye(3, 5)[y] * 3 + rng.normal(size=(600, 5))
    return X.astype(np.float32), y


def write_parquet(path, X, y, group_rows=40):
    columns = {f"x{j}": X[:, j] for j in range(X.shape[1])}
    columns["kind"] = np.array(["ant", "bee", "cat"])[y]
    pq.write_table(pa.table(columns), path, row_group_size=group_rows)
    return path


def test_a_parquet_file_is_streamed_by_row_groups(tmp_path, capsys, blobs3):
    X, y = blobs3
    path = write_parquet(tmp_path / "d.parquet", X, y)
    out = tmp_path / "m.safetensors"
    assert (
        main(["train", str(path), "--target", "kind", "--stream", "on", *FAST, "--out", str(out)])
        == 0
    )
    text = capsys.readouterr().out
    assert "streamed in 15 groups of rows: 400 training, 80 validation, 120 test" in text
    model = fcnet.load(out)
    assert list(model.classes) == ["ant", "bee", "cat"]
    assert model.preprocessing is not None  # the scaler, fitted in one pass
    accuracy = float(text.rsplit("test accuracy: ", 1)[1].split()[0])
    assert accuracy > 0.8
    assert main(["evaluate", str(out), str(path), "--target", "kind"]) == 0


def test_the_scaler_fitted_in_one_pass_is_the_one_fitted_in_memory(blobs3):
    from fcnet.distributed import SingleProcess, simulate
    from fcnet.preprocessing import StandardScaler
    from fcnet.sources import ArraySource

    X, y = blobs3
    source = ArraySource(X, y, group_rows=64)
    want = StandardScaler().fit(X)
    for kind in ("standard", "minmax"):
        got = stream.fit_scaler(kind, source, SingleProcess())
        if kind == "standard":
            np.testing.assert_allclose(got.mean, want.mean, rtol=1e-12)
            np.testing.assert_allclose(got.scale, want.scale, rtol=1e-12)
        else:
            np.testing.assert_array_equal(got.data_min, X.min(axis=0))
    two = simulate(2, lambda comm: stream.fit_scaler("standard", source, comm).get_config())
    assert two[0] == two[1]
    np.testing.assert_allclose(two[0]["mean"], want.mean, rtol=1e-12)


def test_a_parquet_file_too_large_for_memory_is_streamed_by_itself(
    tmp_path, capsys, blobs3, monkeypatch
):
    X, y = blobs3
    path = write_parquet(tmp_path / "d.parquet", X, y)
    common = [str(path), "--target", "kind", *FAST, "--out", str(tmp_path / "m")]
    assert main(["train", *common]) == 0
    assert "streamed" not in capsys.readouterr().out  # 600 rows fit
    monkeypatch.setattr(stream, "available_memory", lambda: 100_000.0)
    assert main(["train", *common]) == 0
    assert "streamed in 15 groups" in capsys.readouterr().out
    assert main(["train", *common, "--stream", "off"]) == 0
    assert "streamed" not in capsys.readouterr().out


def test_npy_arrays_are_memory_mapped(tmp_path, capsys, blobs3):
    X, y = blobs3
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "Xy.npy", np.column_stack([y, X]).astype(np.float32))
    out = str(tmp_path / "m.safetensors")
    assert (
        main(
            [
                "train",
                str(tmp_path / "X.npy"),
                "--target",
                str(tmp_path / "y.npy"),
                *FAST,
                "--out",
                out,
            ]
        )
        == 0
    )
    first = capsys.readouterr().out
    assert "600 samples, 5 features" in first
    assert main(["train", str(tmp_path / "Xy.npy"), "--target", "0", *FAST, "--out", out]) == 0
    second = capsys.readouterr().out
    assert "600 samples, 5 features" in second
    assert first.rsplit("test accuracy", 1)[1] == second.rsplit("test accuracy", 1)[1]


@pytest.mark.parametrize(
    ("files", "flags", "message"),
    [
        ("one group", ["--stream", "on"], "has 1 row group, and streamed, --val and --test"),
        ("csv", ["--stream", "on"], "--stream on needs a .parquet or .npy"),
        ("npy", ["--target", "nope.npy"], "no such file"),
        ("npy", ["--target", "label"], "a column index or a LABELS.npy"),
        ("3-D npy", [], "expected (rows, columns)"),
    ],
)
def test_streaming_refusals_are_usage_errors(tmp_path, capsys, blobs3, files, flags, message):
    X, y = blobs3
    paths = {
        "one group": write_parquet(tmp_path / "d.parquet", X, y, group_rows=600),
        "csv": tmp_path / "d.csv",
        "npy": tmp_path / "X.npy",
        "3-D npy": tmp_path / "X3.npy",
    }
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "X3.npy", X.reshape(600, 5, 1))
    args = ["train", str(paths[files]), *flags, *FAST, "--out", str(tmp_path / "m")]
    if "--target" not in flags and files == "one group":
        args += ["--target", "kind"]
    assert main(args) == 2
    assert message in capsys.readouterr().err
