"""The GPU's fused kernels, tested without a GPU: CupyOps on NumPy arrays with its CUDA source
compiled for the CPU (tests/cuda_emulator.py) against the NumPy reference, for every activation,
the losses it fuses, every optimizer and option, the gate, and whole fits. Skipped where no C++
compiler is installed; tests/test_gpu.py runs the real thing where a GPU is."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from cuda_emulator import COMPILER, EmulatedCupyOps
from optimizer_cases import OPTIMIZERS, assert_updates_agree

import fcnet
from fcnet import losses
from fcnet._ops import NumpyOps, cuda_source
from fcnet.activations import ACTIVATIONS
from fcnet.train.fit import Trainer

pytestmark = pytest.mark.skipif(COMPILER is None, reason="needs a C++ compiler (g++)")

NUMPY = NumpyOps(kernels=False)
TOL = {np.float32: dict(rtol=3e-6, atol=1e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}


@pytest.fixture(scope="module")
def gpu():
    return EmulatedCupyOps()


def _z(m, n, dtype, rng):
    """Pre-activations over a wide range, with zeros, large magnitudes, inf and NaN."""
    Z = rng.standard_normal((m, n)) * 3
    Z.flat[::7] *= 10
    Z.flat[3::11] = 0.0
    Z.flat[5] = np.inf
    Z.flat[6] = -np.inf
    Z.flat[8] = np.nan
    return Z.astype(dtype)


def test_the_kernels_cover_every_builtin_activation_but_softmax_and_the_identity():
    assert set(cuda_source.FORWARD) == set(cuda_source.BACKWARD)
    assert set(cuda_source.FORWARD) == set(ACTIVATIONS) - {"identity", "linear", "softmax"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(cuda_source.FORWARD))
def test_every_activation_forward_and_backward_agree_with_numpy(gpu, name, dtype):
    rng = np.random.default_rng(0)
    m, n = 23, 19
    b = rng.standard_normal(n).astype(dtype)
    dA = rng.standard_normal((m, n)).astype(dtype)
    dA.flat[9] = np.nan
    results = []
    for ops in (NUMPY, gpu):
        activation = ACTIVATIONS[name]().to(ops)
        Z = _z(m, n, dtype, np.random.default_rng(1))
        with np.errstate(all="ignore"):
            A = ops.bias_activation(Z, b, activation, np.empty_like(Z))
            dZ, db = np.empty_like(Z), np.empty(n, dtype)
            dZ = ops.activation_backward_colsum(dA, Z, A, activation, dZ, db)
            inplace = _z(m, n, dtype, np.random.default_rng(1))
            out = inplace if ops.fuses(activation) else np.empty_like(inplace)  # in place: fused
            out = ops.bias_activation(inplace, b, activation, out)
        results.append([Z.copy(), A.copy(), dZ.copy(), db.copy(), out.copy()])
    assert gpu.fuses(ACTIVATIONS[name]())
    eps = np.finfo(dtype).eps
    for reference, fused, what in zip(*results, ["Z + b", "f", "dZ", "db", "f in place"], strict=1):
        tol = dict(TOL[dtype])
        if what == "db":
            tol["atol"] = 50 * eps * np.nansum(np.abs(dA), 0).max()
        if what == "dZ":  # f' from f (sigmoid, tanh, elu) carries f's last bit, times dA
            tol["atol"] = 8 * eps * np.nanmax(np.abs(dA))
        if name == "gelu":  # erfc in the C library against fcnet's own: a few ulps
            tol["rtol"] = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(fused, reference, err_msg=f"{name} {what}", **tol)
        assert np.array_equal(np.isnan(fused), np.isnan(reference)), f"{name} {what}: NaN"


def test_a_users_subclass_keeps_its_own_code(gpu):
    class Doubled(ACTIVATIONS["relu"]):
        def apply(self, Z, out):
            return np.multiply(Z, 2.0, out=out)

    activation = Doubled().to(gpu)
    assert not gpu.fuses(activation)
    Z, b = np.ones((2, 3), np.float32), np.zeros(3, np.float32)
    np.testing.assert_array_equal(gpu.bias_activation(Z, b, activation, np.empty_like(Z)), 2.0)


def _targets(name, m, k, rng):
    if name == "cross_entropy":
        return rng.integers(0, k, m)
    if name == "cross_entropy_probabilities":
        return rng.dirichlet(np.ones(k), m)
    return rng.standard_normal((m, k))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["cross_entropy", "cross_entropy_probabilities", "mse"])
def test_the_fused_losses_and_their_gradients_agree_with_numpy(gpu, name, dtype, weighted):
    rng = np.random.default_rng(0)
    m, k = 300, 7  # 300 rows: three blocks of 128 threads, the last one partly past the rows
    Y_hat = (rng.standard_normal((m, k)) * 4).astype(dtype)
    Y_hat[0, 0] = 80.0  # a large logit: log-sum-exp keeps it finite
    Y = _targets(name, m, k, rng)
    if Y.dtype.kind == "f":
        Y = Y.astype(dtype)
    w = rng.uniform(0.5, 2.0, m) if weighted else None
    kind = "mse" if name == "mse" else "cross_entropy"
    results, calls = [], []
    for ops in (NUMPY, gpu):
        loss = losses.get_loss(kind).to(ops)
        if ops is gpu:
            method = "squared_error" if kind == "mse" else "softmax_cross_entropy"
            original = getattr(gpu, method)

            def spy(*args, original=original, **kwargs):
                calls.append(original(*args, **kwargs))
                return calls[-1]

            setattr(gpu, method, spy)
        try:
            value = loss.forward(Y_hat, Y, sample_weight=w)
        finally:
            vars(gpu).pop("squared_error", None)
            vars(gpu).pop("softmax_cross_entropy", None)
        results.append((value, loss.backward().copy()))
    assert calls == [True]  # the kernel ran, not the reference
    (value, dY), (fused_value, fused_dY) = results
    assert fused_value == pytest.approx(value, rel=TOL[dtype]["rtol"])
    np.testing.assert_allclose(fused_dY, dY, **TOL[dtype])


def test_labels_of_another_integer_type_take_the_reference_route(gpu):
    Z = np.zeros((4, 3), np.float32)
    dY, per_sample = np.empty_like(Z), np.empty(4, np.float32)
    assert not gpu.softmax_cross_entropy(Z, np.zeros(4, np.int32), dY, per_sample)
    assert gpu.softmax_cross_entropy(Z, np.zeros(4, np.int64), dY, per_sample)
    np.testing.assert_allclose(per_sample, np.log(3.0), rtol=1e-6)
    np.testing.assert_allclose(dY, [[-2 / 3, 1 / 3, 1 / 3]] * 4, rtol=1e-6)


@pytest.mark.parametrize("dtypes", ["float32", "float64", "mixed"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_update_agrees_with_numpy(gpu, name, dtypes):
    """Every parameter in one launch (one dtype: the table kernel), or one launch a parameter
    (mixed dtypes, or SGD's first step with momentum), with a learning rate scaled for one
    and a schedule (the table's learning rates are copied again)."""
    gpu.calls.clear()
    open_gate = np.ones(1, np.bool_)  # as a fit on a device sets it
    assert_updates_agree(name, dtypes, NUMPY, gpu, 13, gate=open_gate, schedule=True)
    tables = sum(n for kernel, n in gpu.calls.items() if kernel.endswith("_table_f" + dtypes[-2:]))
    first_alone = 1 if name in ("momentum", "nesterov") else 0  # v <- g, key by key
    assert tables == (0 if dtypes == "mixed" else 6 - first_alone)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_closed_gate_writes_nothing(gpu, name):
    rng = np.random.default_rng(0)
    opt = OPTIMIZERS[name]()
    opt.ops = gpu
    params = {"W": rng.standard_normal((5, 4)).astype(np.float32)}
    grads = {"W": rng.standard_normal((5, 4)).astype(np.float32)}
    opt.gate = np.ones(1, np.bool_)
    opt.step(params, grads)
    before = {k: v.copy() for k, v in params.items()}
    state = {k: v.copy() for k, v in opt.state_dict()[1].items()}
    opt.gate = np.zeros(1, np.bool_)
    grads["W"][0, 0] = np.nan
    opt.step(params, grads)
    np.testing.assert_array_equal(params["W"], before["W"])
    for key, value in opt.state_dict()[1].items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)


def _model(activation, dtype=np.float32):
    return fcnet.Sequential(
        [fcnet.Dense(8, 16, activation, rng=0, dtype=dtype), fcnet.Dense(16, 3, rng=1, dtype=dtype)]
    )


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("activation", ["relu", "gelu", "tanh"])
def test_a_fit_through_the_gpu_kernels_matches_the_cpu(gpu, activation, loss, optimizer):
    """What benchmarks/gpu_check.py checks on a GPU: the loss history of 2 epochs within 1e-4
    relative in float32."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 8)).astype(np.float32)
    y = rng.integers(0, 3, 200) if loss == "cross_entropy" else rng.normal(size=(200, 3))
    options = dict(loss=loss, optimizer=optimizer, epochs=2, batch_size=32, rng=0)
    cpu = _model(activation).to(NumpyOps(kernels=False))
    device = _model(activation).to(gpu)
    gpu.calls.clear()
    history_cpu, history_gpu = cpu.fit(X, y, **options), device.fit(X, y, **options)
    steps = 2 * 7  # 200 rows in batches of 32
    update = "fcnet_adam" if optimizer == "adam" else "fcnet_sgd_000"
    loss_kernel = "fcnet_squared_error" if loss == "mse" else "fcnet_softmax_ce_labels"
    assert gpu.calls[f"fcnet_forward_{activation}"] == steps  # the hidden layer's
    assert gpu.calls[f"fcnet_backward_{activation}"] == steps
    assert gpu.calls[update + "_table_f32"] == steps  # W and b of both layers in one launch
    assert gpu.calls[update] == 0  # not one a parameter
    assert gpu.calls[loss_kernel + "_f32"] == steps
    assert gpu.calls["fcnet_note_nonfinite"] == 2 * steps  # the loss, the gradients
    assert gpu.calls["fcnet_accumulate"] == steps  # the epoch's loss sum
    np.testing.assert_allclose(history_gpu.history["loss"], history_cpu.history["loss"], 1e-4)
    for key, value in cpu.params().items():
        np.testing.assert_allclose(device.params()[key], value, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(device.predict_output(X), cpu.predict_output(X), 1e-4, 1e-6)


def test_float64_gradients_match_the_cpu_to_1e_10(gpu):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 8))
    dA = rng.normal(size=(16, 3))
    grads = []
    for ops in (NUMPY, gpu):
        model = _model("gelu", np.float64).to(ops)
        model.forward(X, training=True)
        model.backward(dA)
        grads.append(model.grads())
    for key, value in grads[0].items():
        np.testing.assert_allclose(grads[1][key], value, rtol=1e-10, atol=1e-12, err_msg=key)


def test_a_diverging_step_writes_nothing_and_the_epoch_start_is_restored(gpu, monkeypatch):
    """No read back per step: the guard's flag gates every update after the first NaN, so the
    parameters never hold one; at the epoch's end the verdict is read and the start restored."""
    seen = []
    original = Trainer._step

    def spy(self, *args):
        result = original(self, *args)
        seen.append({k: v.copy() for k, v in self.model.params().items()})
        return result

    monkeypatch.setattr(Trainer, "_step", spy)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 8)).astype(np.float32)
    y = rng.normal(size=(64, 3)).astype(np.float32)
    model = _model("relu").to(gpu)
    start = {k: v.copy() for k, v in model.params().items()}
    with np.errstate(all="ignore"), pytest.raises(fcnet.TrainingDiverged) as raised:
        model.fit(X, y, loss="mse", optimizer="adam", lr=1e30, epochs=1, batch_size=16)
    failing = raised.value.batch
    assert failing >= 1  # the first step's update is finite (Adam's steps are about lr)
    assert len(seen) == 4  # every step ran: nothing was read back to stop it
    assert all(np.isfinite(v).all() for params in seen for v in params.values())
    assert any(not np.array_equal(seen[0][k], start[k]) for k in start)
    for params in seen[failing:]:  # from the failing step on, nothing was written
        for key, value in params.items():
            np.testing.assert_array_equal(value, seen[failing - 1][key])
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, start[key])


def test_the_gpu_checks_parity_and_gate_pass_on_the_emulated_gpu(gpu, monkeypatch):
    """benchmarks/gpu_check.py's own code, with device "gpu" standing for the emulation: the
    script a lent GPU machine runs once is known to run, and what it checks holds here."""
    path = Path(__file__).parents[1] / "benchmarks" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    monkeypatch.setattr(fcnet._ops, "_gpu", gpu)
    assert fcnet.Dense(2, 3, device="gpu").ops is gpu
    figures = gpu_check.parity()
    assert len(figures["loss_rel_error"]) == 12
    assert max(figures["loss_rel_error"].values()) < 1e-4
    assert max(figures["float64_grad_abs_error"].values()) < 1e-10
    with np.errstate(all="ignore"):
        gate = gpu_check.gate()
    assert gate["diverged_at_batch"] is not None and gate["diverged_at_batch"] >= 1
    assert gate["all_steps_finite"] and gate["restored"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_devices_uniform_draws_follow_the_generator_and_are_uniform(gpu, dtype):
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    out = np.empty((400, 250), dtype)
    gpu.uniform(rng, out)
    twin.integers(0, 1 << 64, dtype=np.uint64)  # one key a call: the generator moved by one
    assert rng.bit_generator.state == twin.bit_generator.state
    assert out.min() >= 0.0 and out.max() < 1.0
    assert abs(out.mean() - 0.5) < 3e-3  # 100,000 draws: sd of the mean 0.0009
    assert abs(out.var() - 1 / 12) < 2e-3
    counts = np.histogram(out, bins=10, range=(0, 1))[0]
    assert counts.min() > 9_500 and counts.max() < 10_500  # each bin 10,000 +- 5 sd
    again = np.empty_like(out)
    gpu.uniform(np.random.default_rng(5), again)
    np.testing.assert_array_equal(again, out)  # the same seed, the same draws
    gpu.uniform(rng, again)
    assert np.mean(again == out) < 1e-3  # the next call, other draws
    assert abs(np.corrcoef(out.ravel()[:-1], out.ravel()[1:])[0, 1]) < 0.01


def _labels(m):
    rng = np.random.default_rng(0)
    return rng.normal(size=(m, 8)).astype(np.float32), rng.integers(0, 3, m)


def _with_dropout(ops, width, activation, p, seed):
    layers = [fcnet.Dense(8, width, activation, rng=0), fcnet.Dropout(p, rng=seed)]
    return fcnet.Sequential([*layers, fcnet.Dense(width, 3, rng=1)]).to(ops)


def test_dropout_on_the_device_drops_about_p_and_repeats_with_its_seed(gpu):
    X, y = _labels(256)
    first, second = (_with_dropout(gpu, 64, "relu", 0.3, 7) for _ in range(2))
    options = dict(loss="cross_entropy", optimizer="adam", epochs=2, batch_size=32, rng=0)
    h1, h2 = first.fit(X, y, **options), second.fit(X, y, **options)
    assert h1.history["loss"] == h2.history["loss"]
    for key, value in first.params().items():
        np.testing.assert_array_equal(value, second.params()[key])
    dropout = first.layers[1]
    kept = dropout.forward(np.ones((1000, 64), np.float32), training=True)
    assert abs(np.mean(kept == 0) - 0.3) < 0.01
    np.testing.assert_allclose(kept[kept != 0], 1 / 0.7, rtol=1e-6)
    assert gpu.calls["fcnet_uniform"] > 0


def test_a_checkpointed_run_on_the_device_resumes_to_its_uninterrupted_parameters(gpu, tmp_path):
    """Dropout's generator (the source of the device's keys) and Adam's moments are in the
    checkpoint: 2 epochs, then 2 more from the file, give the 4-epoch run bit for bit."""
    X, y = _labels(128)

    def model():
        return _with_dropout(gpu, 32, "tanh", 0.25, 4)

    options = dict(loss="cross_entropy", optimizer="adam", batch_size=32, rng=0)
    whole = model()
    whole.fit(X, y, epochs=4, **options)
    path = tmp_path / "run.ckpt"
    model().fit(X, y, epochs=2, checkpoint=path, **options)
    resumed = model()
    history = resumed.fit(X, y, epochs=4, checkpoint=path, resume=True, **options)
    assert history.epoch == [0, 1, 2, 3]
    for key, value in whole.params().items():
        np.testing.assert_array_equal(resumed.params()[key], value, err_msg=key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_guards_flags_and_loss_sum_agree_with_the_reference(gpu, dtype):
    results = []
    for ops in (NUMPY, gpu):
        bad, first, gate = np.zeros(1, np.bool_), np.zeros(1, np.int64), np.ones(1, np.bool_)
        total, scratch = np.zeros(1, np.float64), np.empty(1, np.float64)
        seen = []
        for step, value in enumerate([0.5, 2.0, np.inf, 1.0, np.nan, 3.0]):
            v = np.array([value], dtype)
            with np.errstate(invalid="ignore"):
                ops.note_nonfinite(v, step, bad, first, gate, np.empty(2, np.bool_))
                ops.accumulate(total, v, 0.25 * (step + 1), scratch)
            seen.append((bool(bad[0]), int(first[0]), bool(gate[0]), float(total[0])))
        results.append(seen)
    np.testing.assert_equal(results[1], results[0])  # NaN equal to NaN
    assert results[1][:3] == [
        (False, 0, True, 0.125),
        (False, 0, True, 1.125),
        (True, 2, False, np.inf),
    ]
    assert results[1][-1][:3] == (True, 2, False)  # the first failing step is kept


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_a_step_through_the_gpu_kernels_allocates_nothing_and_reads_nothing_back(
    gpu, monkeypatch, optimizer
):
    """After the first step, no array is made through the Ops and nothing is read back to the
    host (on a GPU both would cost a synchronisation or an allocation every step)."""
    counts = {"made": 0, "read": 0}
    for name, kind in (("empty", "made"), ("zeros", "made"), ("asarray", "made")):
        original = getattr(gpu, name)

        def counted(*args, original=original, kind=kind, **kwargs):
            counts[kind] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(gpu, name, counted)
    for name in ("to_host", "item"):
        original = getattr(gpu, name)

        def read(*args, original=original, **kwargs):
            counts["read"] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(gpu, name, read)
    per_step = []
    step = Trainer._step

    def spy(self, *args):
        before = dict(counts)
        result = step(self, *args)
        per_step.append((counts["made"] - before["made"], counts["read"] - before["read"]))
        return result

    monkeypatch.setattr(Trainer, "_step", spy)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 8)).astype(np.float32)
    y = rng.integers(0, 3, 160)
    layers = [fcnet.Dense(8, 16, "gelu", rng=0), fcnet.Dropout(0.2, rng=2)]
    model = fcnet.Sequential([*layers, fcnet.Dense(16, 3, rng=1)]).to(gpu)
    model.fit(X, y, loss="cross_entropy", optimizer=optimizer, epochs=2, batch_size=32, rng=0)
    assert len(per_step) == 10
    assert all(step == (0, 0) for step in per_step[1:]), per_step
    assert per_step[0][0] > 0  # the first step makes its buffers (the counting works)
    assert per_step[0][1] == 0  # not even the first step reads back


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_devices_axpy_agrees_with_the_reference(gpu, dtype):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(13, 7)).astype(dtype), rng.normal(size=(13, 7)).astype(dtype)
    expected = y.copy()
    NUMPY.axpy(-0.25, x, expected, np.empty_like(y))
    gpu.axpy(-0.25, x, y, None)
    np.testing.assert_allclose(y, expected, **TOL[dtype])
    assert gpu.calls["fcnet_axpy"] >= 1
