"""save / load round trips and safe loading of bad files."""

from __future__ import annotations

import json
import os
import stat
import struct

import numpy as np
import pytest

import fcnet
from fcnet import io


def small_model(dtype=None):
    return fcnet.Sequential(
        [
            fcnet.Dense(4, 6, activation="leaky_relu", rng=0, dtype=dtype, l2=0.01),
            fcnet.Dropout(0.1),
            fcnet.Dense(6, 3, rng=1, dtype=dtype),
        ]
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_gives_identical_predictions(tmp_path, dtype):
    model = small_model(dtype)
    X = np.random.default_rng(0).normal(size=(10, 4))
    path = fcnet.save(model, tmp_path / "m.safetensors")
    loaded = fcnet.load(str(path))
    assert [repr(a) for a in loaded.layers] == [repr(b) for b in model.layers]
    np.testing.assert_array_equal(loaded.forward(X), model.forward(X))
    assert loaded.dtype == np.dtype(dtype)


def test_round_trip_keeps_task_and_classes(tmp_path):
    model = small_model()
    model.task = "classification"
    model.classes = np.array(["cat", "dog", "eel"])
    loaded = fcnet.load(fcnet.save(model, tmp_path / "m.safetensors"))
    assert loaded.task == "classification"
    assert list(loaded.classes) == ["cat", "dog", "eel"]
    X = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_file_is_plain_safetensors(tmp_path):
    path = fcnet.save(small_model(), tmp_path / "m.safetensors")
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    assert set(tensors) == {"0.W", "0.b", "2.W", "2.b"}
    header_len = struct.unpack("<Q", path.read_bytes()[:8])[0]
    header = json.loads(path.read_bytes()[8 : 8 + header_len])
    assert header["__metadata__"]["format"] == "fcnet"


def _write(path, data):
    path.write_bytes(data)
    return path


def _valid(tmp_path):
    return fcnet.save(small_model(), tmp_path / "ok.safetensors").read_bytes()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:5], "truncated"),
        (lambda b: b[: len(b) - 10], "outside"),
        (lambda b: struct.pack("<Q", 2**40) + b[8:], "exceeds the limit"),
        (lambda b: struct.pack("<Q", 10**6) + b[8:], "truncated"),
        (lambda b: b[:8] + b"\xff" * 10 + b[18:], "not a safetensors file"),
        (lambda b: b"", "truncated"),
    ],
)
def test_corrupted_files_raise_value_error_naming_the_file(tmp_path, mutate, message):
    bad = _write(tmp_path / "bad.safetensors", mutate(_valid(tmp_path)))
    with pytest.raises(ValueError, match=message) as info:
        fcnet.load(bad)
    assert "bad.safetensors" in str(info.value)


def test_wrong_dtype_tensor_is_rejected(tmp_path):
    raw = _valid(tmp_path)
    n = struct.unpack("<Q", raw[:8])[0]
    header = raw[8 : 8 + n].replace(b'"F32"', b'"BF16"', 1)
    bad = _write(
        tmp_path / "dtype.safetensors", struct.pack("<Q", len(header)) + header + raw[8 + n :]
    )
    with pytest.raises(ValueError, match="dtype 'BF16'"):
        fcnet.load(bad)


def test_foreign_safetensors_file_is_rejected(tmp_path):
    from safetensors.numpy import save_file

    save_file({"weight": np.zeros((2, 2), dtype=np.float32)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(ValueError, match="not an fcnet file"):
        fcnet.load(tmp_path / "foreign.safetensors")


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        fcnet.load(tmp_path / "nope.safetensors")


def test_pickle_is_never_used(tmp_path):
    import pickle

    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError):
        fcnet.load(evil)


def test_tensor_shape_not_matching_architecture(tmp_path):
    from safetensors.numpy import save

    model = small_model()
    tensors = {k: v for k, v in model.params().items()}
    tensors["0.W"] = np.zeros((5, 6), dtype=np.float32)
    meta = {
        "format": "fcnet",
        "format_version": "1",
        "architecture": json.dumps(model.get_config()),
    }
    bad = _write(tmp_path / "shape.safetensors", save(tensors, metadata=meta))
    with pytest.raises(ValueError, match=r"'0.W' has shape \(5, 6\)"):
        fcnet.load(bad)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_saved_files_get_the_usual_mode_and_keep_an_existing_ones(tmp_path):
    model = fcnet.Sequential([fcnet.Dense(3, 2, rng=0)])
    old_mask = os.umask(0o027)
    try:
        new = tmp_path / "new.safetensors"
        io.save(model, new)
        assert stat.S_IMODE(os.stat(new).st_mode) == 0o640  # 0o666 less the umask
        existing = tmp_path / "existing.safetensors"
        existing.write_bytes(b"")
        os.chmod(existing, 0o604)
        io.save(model, existing)
        assert stat.S_IMODE(os.stat(existing).st_mode) == 0o604
    finally:
        os.umask(old_mask)
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.skipif(os.name != "posix", reason="POSIX paths and symlinks")
def test_unreadable_paths_are_value_errors_naming_the_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(ValueError, match=r"x.safetensors': cannot be read \(not a directory\)"):
        fcnet.load(afile / "x.safetensors")
    loop = tmp_path / "loop.safetensors"
    loop.symlink_to(loop)
    with pytest.raises(ValueError, match=r"loop.safetensors': cannot be read \(too many levels"):
        fcnet.load(loop)
