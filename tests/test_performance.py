"""The performance design, checked without timing anything: no allocation in the training step,
float32 end to end, no copy of the training data, thread limits restored, benchmark smoke run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import fcnet
from fcnet import optimizers
from fcnet._inference import _INFERENCE_ROWS
from fcnet._inputs import prepare_inputs
from fcnet._validation import as_float_matrix, first_nonfinite
from fcnet.train import Trainer as _Trainer

ROOT = Path(__file__).resolve().parents[1]

OPTIMIZERS = [
    lambda: optimizers.SGD(0.01),
    lambda: optimizers.SGD(0.01, momentum=0.9, nesterov=True, weight_decay=1e-4),
    lambda: optimizers.SGD(0.01, momentum=0.9, dampening=0.1),
    lambda: optimizers.Adam(1e-3, weight_decay=1e-4),
    lambda: optimizers.AdamW(1e-3),
    lambda: optimizers.RMSprop(1e-3, momentum=0.9, centered=True, weight_decay=1e-4),
    lambda: optimizers.RMSprop(1e-3),
]


def _model(n_in=256, hidden=256, n_out=8, activation="relu", dtype=None):
    return fcnet.Sequential(
        [
            fcnet.Dense(n_in, hidden, activation, rng=0, dtype=dtype),
            fcnet.Dense(hidden, hidden, "tanh", rng=1, dtype=dtype),
            fcnet.Dense(hidden, n_out, rng=2, dtype=dtype),
        ]
    )


def _data(m=512, n_in=256, n_out=8, dtype=np.float32):
    rng = np.random.default_rng(0)
    return rng.standard_normal((m, n_in)).astype(dtype), rng.integers(0, n_out, m)


@pytest.fixture
def captured_step(monkeypatch):
    """Run fit and keep the trainer and the arguments of its last step."""
    seen: dict = {}
    original = _Trainer._step

    def spy(self, *args):
        result = original(self, *args)
        seen["trainer"], seen["args"] = self, args
        seen.setdefault("after_step", []).append(_state_arrays(self))
        return result

    monkeypatch.setattr(_Trainer, "_step", spy)
    seen["step"] = original
    return seen


def _replay_step(captured_step, times: int) -> tuple[int, int]:
    """Run the last training step ``fit`` took again, ``times`` times under tracemalloc; return
    the bytes still held at the end and the peak, both above the start.

    The real step, without the fixture's bookkeeping, runs once first: fit released its caches
    when it returned, and this fills the buffers again.
    """
    trainer, args, step = captured_step["trainer"], captured_step["args"], captured_step["step"]
    step(trainer, *args)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(times):
            step(trainer, *args)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return current - start, peak - start


def _state_arrays(trainer) -> list[tuple[str, np.ndarray]]:
    """Every array a training step computes with: buffers, caches, parameters, optimizer."""
    arrays = []
    for i, layer in enumerate(trainer.model.layers):
        for owner in (layer, getattr(layer, "activation", None)):
            buffers = getattr(owner, "_buffers", None)
            if buffers is not None:
                arrays += [(f"{i}:{k}", a) for k, a in buffers._arrays.items()]
        for name in ("X", "Z", "A", "W", "b", "dW", "db"):
            value = getattr(layer, name, None)
            if isinstance(value, np.ndarray):
                arrays.append((f"{i}.{name}", value))
    arrays += [(f"loss:{k}", a) for k, a in trainer.loss._buffers._arrays.items()]
    opt = trainer.optimizer
    for kind in (opt.state, opt._scratch):
        arrays += [(f"opt:{k}/{n}", a) for k, slots in kind.items() for n, a in slots.items()]
    return arrays


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
@pytest.mark.parametrize("penalty", [{}, {"l1": 1e-4, "l2": 1e-3}])
def test_training_step_allocates_nothing_after_the_first(captured_step, make_optimizer, penalty):
    # batch 256 x width 256 in float32: any array of the batch's shape would be 256 KB
    X, y = _data()
    model = _model()
    for layer in model.layers:  # l1 sign(W) + 2 l2 W, a W-sized term, in dW
        for key, value in penalty.items():
            setattr(layer, key, value)
    model.fit(X, y, loss="cross_entropy", optimizer=make_optimizer(), epochs=1, batch_size=256)
    kept, peak = _replay_step(captured_step, 100)
    assert kept < 16_000, "a training step keeps memory it allocated"
    # NumPy's ufunc iterator may use a 32 KB scratch buffer for a broadcast; no array of the
    # batch's size (256 KB) or a parameter's (256 KB) may appear
    assert peak < 100_000, f"a training step allocated {peak} bytes at once"


def test_fit_memory_does_not_grow_with_epochs():
    X, y = _data(m=2048)
    model = _model()
    model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=1, batch_size=200, rng=0)
    peaks = []
    for epochs in (1, 4):
        tracemalloc.start()
        try:
            model.fit(
                X, y, loss="cross_entropy", optimizer="adam", epochs=epochs, batch_size=200, rng=0
            )
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[1] - peaks[0] < 64_000


def test_float32_training_step_stays_float32(captured_step):
    X, y = _data(m=300)
    model = _model(activation="relu", dtype="float32")
    for opt in ("sgd", "adam", "rmsprop", optimizers.SGD(0.1, momentum=0.9, weight_decay=0.1)):
        model.fit(X, y, loss="cross_entropy", optimizer=opt, epochs=1, batch_size=128, rng=0)
    for arrays in captured_step["after_step"]:
        for name, array in arrays:
            if array.dtype.kind == "f":
                assert array.dtype == np.float32, f"{name} is {array.dtype}"
    loss = captured_step["trainer"].loss
    assert loss.backward().dtype == np.float32


def test_float64_model_trains_in_float64(captured_step):
    X, y = _data(m=64, dtype=np.float64)
    model = _model(dtype="float64")
    model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=1, batch_size=32, rng=0)
    for name, array in captured_step["after_step"][-1]:
        if array.dtype.kind == "f":
            assert array.dtype == np.float64, name


def test_float32_c_contiguous_data_is_never_copied():
    X, _ = _data(m=20_000, n_in=100)  # 8 MB
    model = _model(n_in=100)
    tracemalloc.start()
    try:
        checked = prepare_inputs(model, X, "fit")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert checked is X
    assert peak < X.nbytes // 20, "the finiteness check allocated O(data)"
    assert np.shares_memory(as_float_matrix("fit", "X", X, np.dtype(np.float32)), X)


def test_fit_peak_memory_is_far_below_the_data_size():
    X, y = _data(m=20_000, n_in=100)  # 8 MB
    model = _model(n_in=100, hidden=64)
    tracemalloc.start()
    try:
        model.fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=1, batch_size=64, rng=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes // 4


def test_finiteness_check_finds_the_first_bad_entry_without_a_full_mask():
    A = np.ones((5000, 30), dtype=np.float32)
    assert first_nonfinite(A) is None
    A[3210, 7] = np.inf
    A[4000, 2] = np.nan
    assert first_nonfinite(A) == (3210, 7)
    big = np.full((100, 4), 3e38, dtype=np.float32)  # finite, but its sum overflows
    assert first_nonfinite(big) is None
    assert first_nonfinite(np.array([1.0, 2.0, np.nan])) == (2,)
    assert first_nonfinite(np.arange(5)) is None
    with pytest.raises(ValueError, match="NaN at row 3210, column 7"):
        A[3210, 7] = np.nan
        as_float_matrix("fit", "X", A, np.dtype(np.float32))


def test_nonfinite_gradient_is_caught_before_the_update():
    class Exploding(fcnet.Dense):
        def backward(self, dA, need_dX=True):
            dX = super().backward(dA, need_dX)
            self.dW[-1, -1] = np.inf
            return dX

    X, y = _data(m=64, n_in=8, n_out=3)
    model = fcnet.Sequential([Exploding(8, 16, "relu", rng=0), fcnet.Dense(16, 3, rng=1)])
    before = {k: v.copy() for k, v in model.params().items()}
    with pytest.raises(fcnet.TrainingDiverged, match="gradient"):
        model.fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=1, batch_size=32)
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, before[key])


def _blas_threads() -> list[int]:
    """Threads of the BLAS libraries fcnet limits (those loaded with NumPy; a BLAS that another
    package, e.g. torch, loads later is not NumPy's and is left alone)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    managed = {lib.filepath for lib in fcnet.backend._controller().lib_controllers}
    return [
        i["num_threads"]
        for i in threadpoolctl.threadpool_info()
        if i["user_api"] == "blas" and i["filepath"] in managed
    ]


@pytest.fixture
def threads_in_steps(monkeypatch) -> list:
    """The BLAS thread counts seen inside each training step of ``fit``."""
    inside: list = []
    original = _Trainer._step

    def spy(self, *args):
        inside.append(_blas_threads())
        return original(self, *args)

    monkeypatch.setattr(_Trainer, "_step", spy)
    return inside


def test_fit_chooses_one_thread_for_small_products_and_restores_the_limits(threads_in_steps):
    before = _blas_threads()
    X, y = _data(m=64, n_in=16, n_out=3)
    model = _model(n_in=16, hidden=32, n_out=3)
    model.fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=1, batch_size=32)
    assert threads_in_steps and all(set(counts) == {1} for counts in threads_in_steps)
    assert _blas_threads() == before


def test_set_num_threads_overrides_the_choice_and_is_restored(threads_in_steps):
    before = _blas_threads()
    X, y = _data(m=64, n_in=16, n_out=3)
    try:
        fcnet.set_num_threads(2)
        assert fcnet.get_num_threads() == 2
        _model(n_in=16, hidden=32, n_out=3).fit(X, y, loss="cross_entropy", epochs=1)
    finally:
        fcnet.set_num_threads(None)
    assert fcnet.get_num_threads() is None
    assert threads_in_steps and all(set(counts) == {2} for counts in threads_in_steps)
    assert _blas_threads() == before
    with pytest.raises(ValueError, match="set_num_threads"):
        fcnet.set_num_threads(0)
    with pytest.raises(TypeError, match="set_num_threads"):
        fcnet.set_num_threads(1.5)


def test_predict_keeps_no_caches():
    X, _ = _data(m=100, n_in=16)
    model = _model(n_in=16, hidden=32)
    model.predict(X, batch_size=64)
    for layer in model.layers:
        assert layer.X is None and layer.Z is None and layer.A is None
        assert not layer._buffers._arrays


@pytest.mark.parametrize(
    "activation", ["relu", "identity", "tanh", "softmax", "sigmoid", "gelu", "leaky_relu", "elu"]
)
def test_inference_path_matches_forward(activation):
    # predict runs Dense.infer (f applied in place for some activations) in blocks of rows, with
    # a single-threaded BLAS; forward multiplies all of X with the BLAS's threads, which may sum
    # in another order: the same numbers up to float32 rounding
    X, _ = _data(m=2500, n_in=16)
    model = _model(n_in=16, hidden=32, activation=activation)
    expected = model.forward(X)
    for batch_size in (4096, 700):
        np.testing.assert_allclose(
            model.predict_output(X, batch_size=batch_size), expected, rtol=1e-5, atol=1e-6
        )
    np.testing.assert_array_equal(X, _data(m=2500, n_in=16)[0])  # the input is not written


def test_predict_reports_the_first_nonfinite_entry_of_a_later_block():
    X, _ = _data(m=5000, n_in=16)
    model = _model(n_in=16, hidden=32)
    X[4321, 5] = np.inf
    X[4900, 1] = np.nan
    with pytest.raises(ValueError, match=r"^predict: X contains inf at row 4321, column 5"):
        model.predict(X, batch_size=1000)
    for layer in model.layers:  # the buffers are released on the error too
        assert not layer._buffers._arrays


def test_predict_uses_a_subclass_forward():
    class Doubled(fcnet.Dense):
        def forward(self, X, training=False):
            return 2.0 * super().forward(X, training)

    X, _ = _data(m=64, n_in=8)
    model = fcnet.Sequential([Doubled(8, 4, rng=0)])
    np.testing.assert_allclose(model.predict_output(X), model.forward(X))


def test_benchmark_quick_run_writes_every_figure(tmp_path):
    path = tmp_path / "bench.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "mlp.py"),
            "--quick",
            "--no-sklearn",
            "--json",
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    result = json.loads(path.read_text())
    assert {"config", "train", "inference", "small_adam"} <= set(result)
    config = result["config"]
    assert config["peak_sgemm_flops"] > 0 and "cpu" in config
    assert config["blas"] and all("architecture" in blas for blas in config["blas"])
    jax = importlib.util.find_spec("jax") is not None
    assert (config["jax"] is not None) == jax
    rows = [*result["train"].values(), result["inference"], result["small_adam"]]
    assert set(result["train"]) == {"32", "128"}
    for row in rows:
        assert {
            "fcnet",
            "torch",
            "jax",
            "gemm_bound",
            "gemm_1thread",
            "gemm_default",
            "flop_floor",
            "vs_torch",
            "vs_jax",
            "vs_best",
            "gemm_fraction",
            "floor_fraction",
        } <= set(row)
        assert row["fcnet"] > 0 and row["gemm_bound"] > 0
        assert (row["jax"] is not None) == jax
        assert row["floor_fraction"] == pytest.approx(row["fcnet"] / row["flop_floor"])
        peers = [row[p] for p in ("torch", "jax") if row[p]]
        if peers:
            assert row["vs_best"] == pytest.approx(row["fcnet"] / max(peers))
    for row in result["train"].values():
        assert row["numpy"] > 0 and row["vs_numpy"] == pytest.approx(row["fcnet"] / row["numpy"])
    for row in rows:
        # every round's figures are kept, and the ratio of the medians lies within the range of
        # the ratios within a round
        assert all(len(rates) == 1 for rates in row["rounds"].values())
        for peer in ("torch", "jax", "numpy"):
            if row[peer]:
                low, high = row[f"vs_{peer}_range"]
                assert low * (1 - 1e-12) <= row[f"vs_{peer}"] <= high * (1 + 1e-12)
            else:
                assert row[f"vs_{peer}_range"] is None


def test_benchmark_flops_per_sample_counts_every_product():
    bench = _benchmark_module()
    sizes = (5, 4, 3)
    # forward 5*4 + 4*3, dW the same, dX of the second layer only: 2 flops each
    assert bench.flops_per_sample(sizes, train=True) == 2 * (3 * (20 + 12) - 20)
    assert bench.flops_per_sample(sizes, train=False) == 2 * (20 + 12)


def test_benchmark_jax_contenders_train_and_predict():
    jax = pytest.importorskip("jax")
    bench = _benchmark_module()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 6)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    for optimizer in ("sgd", "adam"):
        samples, epoch = bench.jax_train(jax, X, y, (6, 8, 3), 16, optimizer)
        assert samples == 64
        epoch()
        epoch()
    samples, run = bench.jax_predict(jax, X, (6, 8, 3), 32)
    assert samples == 64
    run()


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("mlp_benchmark", ROOT / "benchmarks" / "mlp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("batch", [24, 10])
def test_benchmark_numpy_loop_takes_the_steps_fcnet_takes(batch):
    # the bare NumPy contender must train the same network the same way, or its speed says
    # nothing: from fcnet's initial weights, an epoch of it and of fit agree (their batches
    # hold the same rows in another order when the whole set is one batch; with batches of
    # 10 the shuffles differ, so only the loss's scale and its fall are compared)
    bench = _benchmark_module()
    rng = np.random.default_rng(3)
    X = rng.standard_normal((24, 12)).astype(np.float32)
    y = np.argmax(X @ rng.standard_normal((12, 4)), axis=1)  # a rule the network can learn
    sizes = (12, 16, 8, 4)
    samples, epoch = bench.numpy_train(X, y, sizes, batch, lr=0.1)
    assert samples == (24 // batch) * batch
    model = bench.fcnet_model(sizes)
    Ws, bs = epoch.params
    for layer, W, b in zip(model.layers, Ws, bs, strict=True):
        np.copyto(W, layer.W)
        np.copyto(b, layer.b)
    losses = [epoch() for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
    if batch == len(X):
        fresh = bench.fcnet_model(sizes)
        history = fresh.fit(
            X, y, loss="cross_entropy", optimizer=optimizers.SGD(0.1), epochs=30, batch_size=batch
        )
        np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-5)
        for layer, W, b in zip(fresh.layers, Ws, bs, strict=True):
            np.testing.assert_allclose(W, layer.W, rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(b, layer.b, rtol=1e-4, atol=1e-6)


def _count_scans(monkeypatch) -> list[tuple[int, ...]]:
    """Record the shape of every array given to the NaN/inf scan."""
    import fcnet._validation as validation

    shapes: list[tuple[int, ...]] = []
    original = validation.first_nonfinite

    def spy(A):
        shapes.append(A.shape)
        return original(A)

    monkeypatch.setattr(validation, "first_nonfinite", spy)
    return shapes


def test_data_that_needs_a_cast_is_scanned_once(monkeypatch):
    shapes = _count_scans(monkeypatch)
    X, _ = _data(m=300, n_in=16, dtype=np.float64)
    as_float_matrix("fit", "X", X, np.dtype(np.float32))
    assert shapes == [(300, 16)]


def test_predict_scans_a_copied_X_once_and_a_used_X_block_by_block(monkeypatch):
    model = _model(n_in=16, hidden=32)
    X, _ = _data(m=3000, n_in=16)
    shapes = _count_scans(monkeypatch)
    model.predict(np.asfortranarray(X), batch_size=1024)  # copied: scanned whole, once
    assert shapes == [(3000, 16)]
    shapes.clear()
    model.predict(X, batch_size=1024)  # used as is: each block just before it is used
    rows = min(1024, _INFERENCE_ROWS)
    full, last = divmod(3000, rows)
    # blocks shared between threads may be scanned in any order
    assert sorted(shapes) == sorted([(rows, 16)] * full + [(last, 16)] * (last > 0))


def test_validation_between_epochs_keeps_the_training_buffers(monkeypatch):
    seen = []
    original = _Trainer._step

    def spy(self, *args):
        result = original(self, *args)
        seen.append([id(a) for layer in self.model.layers for a in layer._buffers._arrays.values()])
        return result

    monkeypatch.setattr(_Trainer, "_step", spy)
    X, y = _data(m=256, n_in=16, n_out=3)
    model = _model(n_in=16, hidden=32, n_out=3)
    model.fit(X, y, epochs=3, batch_size=64, validation_split=0.25, rng=0)
    assert len(seen) == 9 and seen[0]
    assert all(ids == seen[0] for ids in seen)  # the same arrays in every step of every epoch


_ROWS = 16_384  # any (m,) float32 array is 64 KB, any (m, k) one 512 KB


@pytest.mark.parametrize(
    ("loss", "targets", "weighted"),
    [
        ("cross_entropy", "labels", False),
        ("cross_entropy", "labels", True),
        ("cross_entropy", "probabilities", False),
        ("mse", "values", False),
        ("mae", "values", True),
        ("huber", "values", False),
        ("binary_cross_entropy", "bits", False),
    ],
)
def test_every_loss_computes_a_step_without_allocating(captured_step, loss, targets, weighted):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((_ROWS, 16)).astype(np.float32)
    y = {
        "labels": rng.integers(0, 8, _ROWS),
        "probabilities": rng.dirichlet(np.ones(8), _ROWS),
        "values": rng.standard_normal((_ROWS, 8)),
        "bits": rng.integers(0, 2, (_ROWS, 8)).astype(np.float64),
    }[targets]
    weights = rng.uniform(0.5, 1.5, _ROWS) if weighted else None
    model = fcnet.Sequential([fcnet.Dense(16, 32, "relu", rng=0), fcnet.Dense(32, 8, rng=1)])
    model.fit(X, y, loss=loss, epochs=1, batch_size=_ROWS, sample_weight=weights)
    _, peak = _replay_step(captured_step, 3)
    # below the smallest array of the batch's size, above NumPy's 32 KB iterator scratch
    assert peak < 48_000, f"a {loss} step allocated {peak} bytes at once"


def _ceiling_module():
    spec = importlib.util.spec_from_file_location(
        "ceiling_benchmark", ROOT / "benchmarks" / "ceiling.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _learnable_data():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((60, 12)).astype(np.float32)
    y = np.argmax(X @ rng.standard_normal((12, 4)), axis=1)
    return X, y, (12, 16, 8, 4)


def _same_training_as_the_numpy_loop(make_contender, batch):
    """An epoch of the contender and of mlp.numpy_train, both from the same weights and the same
    shuffles, give the same loss and the same weights, epoch after epoch."""
    bench = _benchmark_module()
    X, y, sizes = _learnable_data()
    _, reference = bench.numpy_train(X, y, sizes, batch, lr=0.1)
    samples, contender = make_contender(X, y, sizes, batch)
    assert samples == (len(X) // batch) * batch
    for a, b in zip(reference.params, contender.params, strict=True):
        for p, q in zip(a, b, strict=True):
            np.testing.assert_array_equal(p, q)  # the same draws to start from
    reference_losses, losses = [], []
    for _ in range(10):
        reference_losses.append(reference())
        losses.append(contender())
    np.testing.assert_allclose(losses, reference_losses, rtol=1e-4)
    assert losses[-1] < 0.7 * losses[0]
    for a, b in zip(reference.params, contender.params, strict=True):
        for p, q in zip(a, b, strict=True):
            np.testing.assert_allclose(q, p, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize(("batch", "threads"), [(20, 2), (15, 3), (7, 2)])
def test_ceiling_rows_in_threads_takes_the_steps_of_the_numpy_loop(batch, threads):
    ceiling = _ceiling_module()

    def contender(X, y, sizes, batch):
        return ceiling.rows_in_threads_train(X, y, sizes, batch, lr=0.1, threads=threads)

    _same_training_as_the_numpy_loop(contender, batch)


class _FailsOnThirdGather:
    """Training data whose third gather fails: one thread's, in the second step, while the
    other thread goes on to wait for it at the barrier."""

    def __init__(self, X):
        self.X, self.calls, self.lock = X, 0, threading.Lock()

    def __len__(self):
        return len(self.X)

    def take(self, *args, **kwargs):
        with self.lock:
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("gather failed")
        return self.X.take(*args, **kwargs)


def test_ceiling_rows_in_threads_raises_instead_of_waiting_forever():
    # a thread that fails must free the others from the barrier, and the epoch raise its error
    ceiling = _ceiling_module()
    X, y, sizes = _learnable_data()
    _, epoch = ceiling.rows_in_threads_train(_FailsOnThirdGather(X), y, sizes, 20, threads=2)
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            epoch()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    runner = threading.Thread(target=attempt, daemon=True)
    runner.start()
    runner.join(timeout=60)
    assert len(outcome) == 1
    assert isinstance(outcome[0], RuntimeError) and str(outcome[0]) == "gather failed"


def test_ceiling_fused_loop_takes_the_steps_of_the_numpy_loop():
    pytest.importorskip("numba")
    ceiling = _ceiling_module()

    def contender(X, y, sizes, batch):
        return ceiling.fused_train(X, y, sizes, batch, lr=0.1)

    _same_training_as_the_numpy_loop(contender, 12)


def test_ceiling_quick_run_writes_every_figure(tmp_path):
    path = tmp_path / "ceiling.json"
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ceiling.py"), "--quick", "--json", str(path)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    result = json.loads(path.read_text())
    assert set(result["train"]) == {"32", "128"}
    fused = importlib.util.find_spec("numba") is not None
    for row in result["train"].values():
        for name in ("fcnet", "numpy", "numpy_rows", "gemm_1thread", "gemm_default"):
            assert row[name] > 0
        assert all(len(rates) == 1 for rates in row["rounds"].values())
        assert row["gemm_bound"] == max(row["gemm_1thread"], row["gemm_default"])
        assert row["fraction"]["numpy_rows"] == pytest.approx(row["numpy_rows"] / row["gemm_bound"])
        assert (row["fraction"]["fused"] is not None) == fused == ("fused" in row)
