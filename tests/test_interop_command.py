"""The ``fcnet export`` command (fcnet.interop.command), through a parser of its own."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

import fcnet
from fcnet.interop import command

onnx = pytest.importorskip("onnx")


class _Parser(argparse.ArgumentParser):
    """As the fcnet command's: a usage error is one line and exit code 2."""

    def error(self, message):
        self.exit(2, f"fcnet: error: {message} (see '{self.prog} --help')\n")


def _main(argv):
    parser = _Parser(prog="fcnet")
    commands = parser.add_subparsers(dest="command", required=True)
    command.add_parser(commands)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code
    return args.func(args)


@pytest.fixture
def saved(tmp_path):
    model = fcnet.Sequential([fcnet.Dense(4, 8, "relu", rng=0), fcnet.Dense(8, 3, rng=1)])
    model.task, model.classes = "classification", np.array(["a", "b", "c"])
    path = tmp_path / "model.safetensors"
    fcnet.save(model, path)
    return model, path


def test_export_writes_a_model_that_runs(saved, tmp_path, capsys):
    model, path = saved
    out = tmp_path / "out" / "model.onnx"
    assert _main(["export", str(path), str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        f"{out}: ONNX opset 17, IR version 8; outputs output, probabilities, label\n"
    )
    assert captured.err == ""
    exported = onnx.load(out)
    assert exported.opset_import[0].version == 17
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    X = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    labels = session.run(["label"], {"input": X})[0]
    assert list(labels) == list(model.predict(X))
    assert _main(["export", str(path), str(out), "--opset", "18"]) == 0
    assert onnx.load(out).opset_import[0].version == 18


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{model}", "{tmp}/m.onnx", "--opset", "5"], "expected opset in [13, "),
        (["{tmp}/missing.safetensors", "{tmp}/m.onnx"], "missing.safetensors': no such file."),
        (["{model}", "{tmp}"], "is a folder; expected a file path."),
        (["{model}", "{model}/m.onnx"], "is a file, so it cannot hold 'm.onnx'."),
    ],
)
def test_errors_are_one_line_and_exit_2(saved, tmp_path, capsys, argv, message):
    _, path = saved
    argv = [a.format(model=path, tmp=tmp_path) for a in argv]
    assert _main(["export", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fcnet: error: ") and err.count("\n") == 1
    assert message in err


def test_a_layer_that_cannot_be_exported_and_a_bad_flag(tmp_path, capsys):
    model = fcnet.Sequential([fcnet.Dense(2, 2, "gelu", rng=0, dtype="float64")])
    fcnet.save(model, tmp_path / "gelu.safetensors")
    assert _main(["export", str(tmp_path / "gelu.safetensors"), str(tmp_path / "g.onnx")]) == 2
    err = capsys.readouterr().err
    assert "layer 0 (Dense) cannot be exported" in err and err.count("\n") == 1
    assert not (tmp_path / "g.onnx").exists()
    assert _main(["export", "m.safetensors", "m.onnx", "--opset", "seventeen"]) == 2
    assert "argument --opset: invalid int value: 'seventeen'" in capsys.readouterr().err
