"""Hostile files: fcnet.load and fit(resume=True) never unpickle, execute, crash, hang or allocate
what a header claims; every bad file is a ValueError (or TypeError) naming the file.

Random bytes and mutations of valid files (bit flips, truncations, header edits) are fed to both.
The data loaders (fcnet.data) are fuzzed by their own tests.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import struct
import tempfile
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fcnet
from fcnet import io
from fcnet.optimizers import Adam

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MEMORY_LIMIT = 32 * 2**20  # far above what these small files need, far below a claimed tensor

# --- valid files to start from ----------------------------------------------------------------


def build_model() -> fcnet.Sequential:
    return fcnet.Sequential(
        [
            fcnet.Dense(4, 6, activation="leaky_relu", rng=0, l2=0.01),
            fcnet.Dropout(0.2),
            fcnet.Dense(6, 3, rng=1),
        ]
    )


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4)).astype(np.float32)
    return X, np.arange(30) % 3


def training_options():
    return dict(
        optimizer=Adam(lr=0.01),
        batch_size=8,
        validation_split=0.2,
        metrics=["accuracy"],
        schedule=fcnet.schedules.ReduceOnPlateau(patience=1),
        callbacks=[fcnet.callbacks.EarlyStopping(patience=3)],
        rng=0,
    )


class InterruptingAdam(Adam):
    """Adam that sends this process SIGINT during its 5th step: a mid-epoch checkpoint."""

    def step(self, params, grads, lr_scale=None):
        super().step(params, grads, lr_scale)
        if self.t == 5:
            signal.raise_signal(signal.SIGINT)


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


@pytest.fixture(scope="module")
def model_bytes(folder):
    model = build_model()
    model.task = "classification"
    model.classes = np.array(["ant", "bee", "cat"])
    return fcnet.save(model, folder / "model.safetensors").read_bytes()


@pytest.fixture(scope="module")
def checkpoint_bytes(folder):
    X, y = data()
    path = folder / "epoch.ckpt"
    build_model().fit(X, y, epochs=2, checkpoint=path, **training_options())
    return path.read_bytes()


@pytest.fixture(scope="module")
def mid_epoch_bytes(folder):
    X, y = data()
    path = folder / "mid.ckpt"
    options = {**training_options(), "optimizer": InterruptingAdam(lr=0.01)}
    history = build_model().fit(X, y, epochs=3, checkpoint=path, **options)
    assert history.interrupted and history.epoch == [0]  # 3 steps per epoch: stopped in epoch 1
    return path.read_bytes()


# --- the oracles ------------------------------------------------------------------------------


def check_load(path: Path) -> None:
    """fcnet.load gives a finite model or a ValueError/TypeError naming the file, within bounds."""
    tracemalloc.start()
    try:
        model = fcnet.load(path)
    except (ValueError, TypeError) as exc:
        assert path.name in str(exc), str(exc)
    else:
        assert all(np.isfinite(p).all() for p in model.params().values())
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, peak


def check_resume(path: Path) -> None:
    """fit(resume=True) resumes, or raises ValueError/TypeError naming the file, model untouched.

    A mutation may also leave a valid file with extreme but finite weights; training on it may
    then stop with TrainingDiverged, which is the documented outcome, not a crash.
    """
    X, y = data()
    model = build_model()
    fresh = {k: v.copy() for k, v in model.params().items()}
    tracemalloc.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(X, y, epochs=2, checkpoint=path, resume=True, **training_options())
        # the one warning fit gives: a mutated epoch count that leaves nothing to train
        assert all("nothing more was trained" in str(w.message) for w in caught), caught
    except (ValueError, TypeError) as exc:
        assert path.name in str(exc), str(exc)
        for key, value in model.params().items():
            np.testing.assert_array_equal(value, fresh[key])
    except fcnet.TrainingDiverged:
        assert all(np.isfinite(p).all() for p in model.params().values())
    else:
        assert all(np.isfinite(p).all() for p in model.params().values())
        assert isinstance(history, fcnet.History)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, peak


def write(folder: Path, name: str, raw: bytes) -> Path:
    path = folder / name
    path.write_bytes(raw)
    return path


def split(raw: bytes) -> tuple[dict, bytes]:
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def join(header: dict | bytes, body: bytes) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def flip_bits(raw: bytes, positions: list[int]) -> bytes:
    data = bytearray(raw)
    for bit in positions:
        data[(bit // 8) % len(data)] ^= 1 << (bit % 8)
    return bytes(data)


# --- strategies -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, 1, 2**31, 2**40, 2**63, 2**64, -1])
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["F32", "F64", "I64", "U8", "BF16", "F16", "bool"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def header_edits(draw, raw: bytes) -> bytes:
    """Replace one field of the header (a tensor's dtype, shape or offsets, or a metadata
    value, or a key inside the JSON held by a metadata value) with an arbitrary JSON value."""
    header, body = split(raw)
    key = draw(st.sampled_from(sorted(header)))
    if key == "__metadata__":
        meta = dict(header[key])
        field = draw(st.sampled_from(sorted(meta)))
        try:
            inner = json.loads(meta[field])
        except ValueError:
            inner = None
        if isinstance(inner, dict) and inner and draw(st.booleans()):
            sub = draw(st.sampled_from(sorted(inner)))
            inner[sub] = draw(json_values)
            meta[field] = json.dumps(inner)
        else:
            meta[field] = draw(st.text(max_size=20) | json_values.map(json.dumps))
        header[key] = meta
    else:
        entry = dict(header[key])
        entry[draw(st.sampled_from(["dtype", "shape", "data_offsets"]))] = draw(json_values)
        header[key] = entry
    return join(header, body)


@st.composite
def mutations(draw, raw: bytes) -> bytes:
    kind = draw(st.sampled_from(["flip", "truncate", "header", "splice"]))
    if kind == "flip":
        return flip_bits(
            raw, draw(st.lists(st.integers(0, 8 * len(raw) - 1), min_size=1, max_size=6))
        )
    if kind == "truncate":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if kind == "header":
        return draw(header_edits(raw))
    n = struct.unpack("<Q", raw[:8])[0]
    start = draw(st.integers(8, 8 + n - 1))
    patch = draw(st.binary(min_size=1, max_size=16))
    return raw[:start] + patch + raw[start + len(patch) :]


# --- fuzz: fcnet.load --------------------------------------------------------------------------


@FUZZ
@given(raw=st.binary(max_size=512))
def test_load_random_bytes(folder, raw):
    check_load(write(folder, "random.safetensors", raw))


@FUZZ
@given(body=st.binary(max_size=512))
def test_load_random_header_of_the_right_length(folder, body):
    check_load(write(folder, "random_header.safetensors", join(body, b"")))


@FUZZ
@given(st.data())
def test_load_mutated_model_files(folder, model_bytes, data):
    check_load(write(folder, "mutated.safetensors", data.draw(mutations(model_bytes))))


# --- fuzz: fit(resume=True) ---------------------------------------------------------------------


@FUZZ
@given(st.data())
def test_resume_from_mutated_checkpoints(folder, checkpoint_bytes, data):
    check_resume(write(folder, "mutated.ckpt", data.draw(mutations(checkpoint_bytes))))


@FUZZ
@given(st.data())
def test_resume_from_mutated_mid_epoch_checkpoints(folder, mid_epoch_bytes, data):
    check_resume(write(folder, "mutated_mid.ckpt", data.draw(mutations(mid_epoch_bytes))))


@settings(max_examples=50, deadline=None, derandomize=True)
@given(raw=st.binary(max_size=256))
def test_resume_from_random_bytes(folder, raw):
    check_resume(write(folder, "random.ckpt", raw))


def test_the_valid_files_work(folder, model_bytes, checkpoint_bytes, mid_epoch_bytes):
    assert fcnet.load(write(folder, "valid.safetensors", model_bytes)).classes.tolist() == [
        "ant",
        "bee",
        "cat",
    ]
    X, y = data()
    for raw in (checkpoint_bytes, mid_epoch_bytes):
        history = build_model().fit(
            X,
            y,
            epochs=3,
            checkpoint=write(folder, "valid.ckpt", raw),
            resume=True,
            **training_options(),
        )
        assert history.epoch == [0, 1, 2]


# --- hand-made hostile files ------------------------------------------------------------------


def tensor_file(shape, offsets, dtype="F32", body=b"\0" * 16) -> bytes:
    header = {
        "__metadata__": {"format": "fcnet"},
        "0.W": {"dtype": dtype, "shape": shape, "data_offsets": offsets},
    }
    return join(header, body)


@pytest.mark.parametrize(
    ("shape", "offsets", "message"),
    [
        ([2**20, 2**20], [0, 2**42], "outside the 16 bytes of data"),  # 2**40 elements
        ([2**39, 2**25], [0, 0], "needs 73786976294838206464 bytes"),  # 2**64 wraps to 0 in int64
        ([2**30, 2**30, 16], [0, 0], "needs"),
        ([2**40], [0, 16], "malformed shape"),
        ([-1], [0, 16], "malformed shape"),
        ([2, 2], [16, 0], "outside"),
        ([2, 2], [0, 2**64], "outside"),
    ],
)
def test_a_header_claiming_a_huge_tensor_is_refused_before_allocation(
    folder, shape, offsets, message
):
    path = write(folder, "huge.safetensors", tensor_file(shape, offsets))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=message) as info:
            fcnet.load(path)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert "huge.safetensors" in str(info.value)
    assert peak < 2**20


def test_an_architecture_larger_than_its_weights_is_refused_before_allocation(folder, model_bytes):
    header, body = split(model_bytes)
    config = json.loads(header["__metadata__"]["architecture"])
    config["layers"][0]["config"].update(n_in=10**6, n_out=10**6)  # 4 TB of float32 if built
    header["__metadata__"]["architecture"] = json.dumps(config)
    path = write(folder, "big_arch.safetensors", join(header, body))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"big_arch.safetensors': layer 0 declares"):
            fcnet.load(path)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 2**20


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),  # deeper than the JSON parser recurses
        (b'{"a": ' + b"1" * 5000 + b"}", "not JSON"),  # beyond Python's int digit limit
        (b'{"0.W": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}', "dtype"),
        (b'{"0.W": 5}', "not a tensor description"),
        (b'{"__metadata__": {"format": 1}}', "metadata must map strings to strings"),
        (b"\xff\xfe{}", "not JSON"),
        (b"[]", "not a JSON object"),
    ],
)
def test_malformed_headers(folder, header, message):
    path = write(folder, "header.safetensors", join(header, b"\0" * 4))
    with pytest.raises(ValueError, match=message) as info:
        fcnet.load(path)
    assert "header.safetensors" in str(info.value)


def test_a_deeply_nested_architecture_is_refused(folder, model_bytes):
    header, body = split(model_bytes)
    header["__metadata__"]["architecture"] = "[" * 100_000 + "]" * 100_000
    path = write(folder, "deep.safetensors", join(header, body))
    with pytest.raises(ValueError, match="deep.safetensors': the architecture metadata"):
        fcnet.load(path)


def test_integer_weights_are_refused(folder):
    model = build_model()
    tensors = {k: np.ones(v.shape, dtype=np.int64) for k, v in model.params().items()}
    metadata = {"format": "fcnet", "architecture": json.dumps(model.get_config())}
    path = io.write_tensors(folder / "ints.safetensors", tensors, metadata)
    with pytest.raises(ValueError, match=r"tensor '0.W' has dtype int64, expected a float dtype"):
        fcnet.load(path)


class Evil:
    """Unpickling this creates a marker file: proof that something was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_a_pickle_is_never_executed(folder, protocol):
    marker = folder / f"executed-{protocol}"
    payload = pickle.dumps(Evil(marker), protocol=protocol)
    for name, raw in [("evil.pkl", payload), ("evil.safetensors", join(payload, payload))]:
        path = write(folder, name, raw)
        with pytest.raises(ValueError):
            fcnet.load(path)
        X, y = data()
        with pytest.raises(ValueError):
            build_model().fit(X, y, epochs=1, checkpoint=path, resume=True, rng=0)
    assert not marker.exists()


# --- hand-made hostile checkpoints ------------------------------------------------------------


def edited_checkpoint(folder: Path, raw: bytes, edit) -> Path:
    path = write(folder, "edited_src.ckpt", raw)
    tensors, metadata = io.read_tensors(path)
    before = metadata["training"]
    training = json.loads(before)
    edit(tensors, training, metadata)  # edits the tensors, the training state or the metadata
    if metadata["training"] == before:
        metadata["training"] = json.dumps(training)
    return io.write_tensors(folder / "edited.ckpt", tensors, metadata)


def _set(mapping, key, value):
    mapping[key] = value


CHECKPOINT_EDITS = {
    "negative_epochs_done": (
        lambda t, m, meta: _set(m, "epochs_done", -3),
        "expected epochs_done to be an integer >= 0, got -3",
    ),
    "train_rows_out_of_range": (
        lambda t, m, meta: _set(t, "train/train_idx", t["train/train_idx"] + 1000),
        r"expected its training rows to be distinct row numbers in \[0, 30\)",
    ),
    "train_rows_repeated": (
        lambda t, m, meta: _set(t, "train/train_idx", np.zeros_like(t["train/train_idx"])),
        "distinct row numbers",
    ),
    "optimizer_state_wrong_shape": (
        lambda t, m, meta: _set(t, "optimizer/0.W/m", np.zeros((2, 2), dtype=np.float32)),
        r"optimizer state '0.W/m' \(shape \(2, 2\), float32\) matches no parameter",
    ),
    "optimizer_state_for_no_parameter": (
        lambda t, m, meta: _set(t, "optimizer/9.W/m", np.zeros(3, dtype=np.float32)),
        "matches no parameter",
    ),
    "optimizer_state_nan": (
        lambda t, m, meta: _set(t, "optimizer/0.W/v", np.full_like(t["optimizer/0.W/v"], np.nan)),
        "optimizer state '0.W/v' contains NaN or inf",
    ),
    "optimizer_step_count": (
        lambda t, m, meta: _set(m["optimizer"], "t", "many"),
        "optimizer state has no step count",
    ),
    "weights_nan": (
        lambda t, m, meta: _set(t, "0.W", np.full_like(t["0.W"], np.nan)),
        "tensor '0.W' contains NaN or inf",
    ),
    "weights_missing": (lambda t, m, meta: t.pop("2.b"), r"tensors \['2.b'\] are missing"),
    "history_not_numbers": (
        lambda t, m, meta: _set(m["history"]["history"], "loss", ["x"]),
        "the saved history 'loss' is not a list of numbers",
    ),
    "history_not_an_object": (lambda t, m, meta: _set(m, "history", [1, 2]), "not a JSON object"),
    "rng_state_garbage": (
        lambda t, m, meta: _set(m["rng"], "fit", {"bit_generator": "MT19937"}),
        "checkpoint training state is malformed",
    ),
    "training_not_json": (
        lambda t, m, meta: _set(meta, "training", "{" * 10),
        "checkpoint training state is malformed",
    ),
    "training_deeply_nested": (
        lambda t, m, meta: _set(meta, "training", "[" * 100_000 + "]" * 100_000),
        "checkpoint training state is malformed",
    ),
    "training_not_an_object": (
        lambda t, m, meta: _set(meta, "training", "[1, 2]"),
        "checkpoint metadata is not a JSON object",
    ),
    "architecture_not_layers": (
        lambda t, m, meta: _set(meta, "architecture", '{"layers": 5}'),
        "checkpoint training state is malformed",
    ),
    "schedule_state": (
        lambda t, m, meta: _set(m, "schedule", {"best": 1.0}),
        "the saved schedule or callback state is malformed",
    ),
    "not_a_checkpoint": (lambda t, m, meta: _set(meta, "kind", "model"), "not an fcnet checkpoint"),
}


@pytest.mark.parametrize("edit", list(CHECKPOINT_EDITS))
def test_a_corrupted_checkpoint_is_refused_before_any_change(folder, checkpoint_bytes, edit):
    change, message = CHECKPOINT_EDITS[edit]
    path = edited_checkpoint(folder, checkpoint_bytes, change)
    X, y = data()
    model, options = build_model(), training_options()
    fresh = {k: v.copy() for k, v in model.params().items()}
    with pytest.raises(ValueError, match=message) as info:
        model.fit(X, y, epochs=3, checkpoint=path, resume=True, **options)
    assert "edited.ckpt" in str(info.value)
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, fresh[key])
    assert options["optimizer"].t == 0 and not options["optimizer"].state


MID_EPOCH_EDITS = {
    "order_not_a_permutation": (
        lambda t, m, meta: _set(t, "progress/order", np.zeros_like(t["progress/order"])),
        "row order is not a permutation",
    ),
    "step_beyond_the_epoch": (
        lambda t, m, meta: _set(m["progress"], "step", 99),
        r"expected the interrupted epoch's step in \[0, 3\), got 99",
    ),
    "loss_sum_nan": (
        lambda t, m, meta: _set(m["progress"], "loss_sum", float("nan")),
        "loss sums are not finite",
    ),
    "collected_wrong_shape": (
        lambda t, m, meta: _set(t, "progress/collected", np.zeros((2, 3), dtype=np.float32)),
        r"has no outputs of shape \(24, 3\) for the metrics",
    ),
}


@pytest.mark.parametrize("edit", list(MID_EPOCH_EDITS))
def test_a_corrupted_mid_epoch_checkpoint_is_refused(folder, mid_epoch_bytes, edit):
    change, message = MID_EPOCH_EDITS[edit]
    path = edited_checkpoint(folder, mid_epoch_bytes, change)
    X, y = data()
    with pytest.raises(ValueError, match=message):
        build_model().fit(X, y, epochs=3, checkpoint=path, resume=True, **training_options())


def test_no_temporary_file_is_read_as_the_checkpoint(folder, checkpoint_bytes):
    """A temporary left by a killed writer sits beside the checkpoint and is never read."""
    sub = folder / "leftovers"
    sub.mkdir(exist_ok=True)
    path = write(sub, "run.ckpt", checkpoint_bytes)
    write(sub, ".run.ckpt.abc123.tmp", checkpoint_bytes[: len(checkpoint_bytes) // 2])
    X, y = data()
    history = build_model().fit(X, y, epochs=3, checkpoint=path, resume=True, **training_options())
    assert history.epoch == [0, 1, 2]
    assert os.path.getsize(sub / ".run.ckpt.abc123.tmp") == len(checkpoint_bytes) // 2


@pytest.mark.parametrize(
    ("task", "classes", "message"),
    [
        (
            "classification",
            ["a", "b"],
            r"3 outputs \(classification\) needs 3 class labels.*lists 2",
        ),
        ("classification", {"x": 1}, "expected classes as a list of at least 2 labels"),
        ("classification", [["a"], "b", "c"], "expected classes as a list"),
        ("binary", ["no", "yes"], r"3 outputs \(binary\) needs 3 class labels"),
        ("ranking", None, "expected task 'classification', 'binary' or 'regression'"),
    ],
)
def test_class_labels_that_do_not_fit_the_outputs_are_refused(
    folder, model_bytes, task, classes, message
):
    header, body = split(model_bytes)
    config = json.loads(header["__metadata__"]["architecture"])
    assert config["layers"][-1]["config"]["n_out"] == 3
    config["task"] = task
    config["classes"] = classes
    header["__metadata__"]["architecture"] = json.dumps(config)
    path = write(folder, "classes.safetensors", join(header, body))
    with pytest.raises(ValueError, match=message) as info:
        fcnet.load(path)
    assert "classes.safetensors" in str(info.value)
