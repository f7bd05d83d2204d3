"""The engine on a fake device (tests/fake_device.py): the same numbers as on the CPU, no host
array mixed in, and, after the first step, no host read and no allocation in a training step."""

from __future__ import annotations

import numpy as np
import pytest
from fake_device import COUNTS, FakeDeviceArray, FakeDeviceOps
from test_contract import LAYERS, N_IN, M, _input, _out_width

import fcnet
from fcnet import losses, optimizers
from fcnet._ops import NumpyOps
from fcnet.train import Trainer

FAKE = FakeDeviceOps()


def to_host(a):
    return FAKE.to_host(a) if isinstance(a, FakeDeviceArray) else np.asarray(a)


def test_the_fake_device_refuses_host_arrays_and_counts_reads():
    a = FAKE.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match="host array"):
        a + np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="host array"):
        a[...] = np.ones((2, 3), np.float32)
    reads = COUNTS.host_reads
    float(a.sum())
    assert COUNTS.host_reads == reads + 1


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_computes_on_the_device_as_on_the_cpu(name):
    cpu = LAYERS[name](np.float64)
    device = LAYERS[name](np.float64).to(FAKE)
    X = _input(np.float64, seed=7)
    A_cpu = cpu.forward(X, training=True)
    A_dev = device.forward(FAKE.asarray(X), training=True)
    assert isinstance(A_dev, FakeDeviceArray) and A_dev.shape == (M, _out_width(cpu, N_IN))
    np.testing.assert_allclose(to_host(A_dev), A_cpu, rtol=1e-12, atol=1e-12)
    dA = np.random.default_rng(8).normal(size=A_cpu.shape)
    dX_cpu = cpu.backward(dA)
    dX_dev = device.backward(FAKE.asarray(dA))
    np.testing.assert_allclose(to_host(dX_dev), dX_cpu, rtol=1e-12, atol=1e-12)
    for key, grad in cpu.grads().items():
        assert isinstance(device.grads()[key], FakeDeviceArray)
        np.testing.assert_allclose(to_host(device.grads()[key]), grad, rtol=1e-12, atol=1e-12)


def test_an_embedding_computes_on_the_device_as_on_the_cpu():
    def layer():
        return fcnet.Embedding(4, [1, 3], [5, 40], [3, 2], rng=0, dtype=np.float64)

    rng = np.random.default_rng(11)
    X = rng.normal(size=(30, 4))
    X[:, 1] = rng.integers(0, 5, 30)
    X[:, 3] = rng.integers(0, 40, 30)  # more rows than twice the batch: the add.at route
    cpu, device = layer(), layer().to(FAKE)
    np.testing.assert_array_equal(to_host(device.forward(FAKE.asarray(X))), cpu.forward(X))
    dA = rng.normal(size=(30, cpu.n_out))
    np.testing.assert_allclose(to_host(device.backward(FAKE.asarray(dA))), cpu.backward(dA))
    for key, grad in cpu.grads().items():
        np.testing.assert_allclose(to_host(device.grads()[key]), grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_every_loss_computes_on_the_device_as_on_the_cpu(name):
    rng = np.random.default_rng(9)
    Y_hat = rng.normal(size=(M, 3))
    if name in ("cross_entropy", "softmax_cross_entropy"):
        Y = rng.integers(0, 3, M)
    elif name in ("binary_cross_entropy", "bce"):
        Y = rng.integers(0, 2, (M, 3)).astype(np.float64)
    else:
        Y = rng.normal(size=(M, 3))
    cpu, device = losses.get_loss(name), losses.get_loss(name).to(FAKE)
    Y = cpu.prepare_targets(Y, 3, np.dtype(np.float64))
    expected = cpu.forward(Y_hat, Y)
    value = device.value(FAKE.asarray(Y_hat), FAKE.asarray(Y))
    assert isinstance(value, FakeDeviceArray)  # not read back
    assert to_host(value)[0] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(to_host(device.backward()), cpu.backward(), rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda: optimizers.Adam(0.01, weight_decay=0.01),
        lambda: optimizers.AdamW(0.01),
        lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    ],
)
def test_every_optimizer_steps_on_the_device_as_on_the_cpu(make):
    rng = np.random.default_rng(10)
    p = rng.normal(size=(5, 4))
    grads = [rng.normal(size=(5, 4)) for _ in range(3)]
    cpu, device = make(), make()
    device.ops = FAKE
    p_cpu, p_dev = {"w": p.copy()}, {"w": FAKE.asarray(p)}
    for g in grads:
        cpu.step(p_cpu, {"w": g})
        device.step(p_dev, {"w": FAKE.asarray(g)})
    assert isinstance(p_dev["w"], FakeDeviceArray)
    np.testing.assert_allclose(to_host(p_dev["w"]), p_cpu["w"], rtol=1e-12)


def _model(layers_kind: str, dtype=np.float32):
    if layers_kind == "dense":
        layers = [fcnet.Dense(8, 16, "relu", rng=0, dtype=dtype), fcnet.Dense(16, 3, rng=1)]
    else:
        layers = [
            fcnet.Dense(8, 16, "gelu", rng=0, dtype=dtype),
            fcnet.BatchNorm(16, dtype=dtype),
            fcnet.Dropout(0.2, rng=3, dtype=dtype),
            fcnet.Dense(16, 3, "identity", rng=1, dtype=dtype),
        ]
    return fcnet.Sequential(layers)


@pytest.fixture
def per_step(monkeypatch):
    """(allocations, host reads) of every training step fit takes."""
    seen = []
    original = Trainer._step

    def spy(self, *args):
        before = COUNTS.snapshot()
        result = original(self, *args)
        after = COUNTS.snapshot()
        seen.append((after[0] - before[0], after[1] - before[1]))
        return result

    monkeypatch.setattr(Trainer, "_step", spy)
    return seen


@pytest.mark.parametrize(
    ("layers_kind", "optimizer", "loss", "clip"),
    [
        ("dense", "adam", "cross_entropy", None),
        ("dense", "sgd", "mse", None),
        ("mixed", "sgd", "cross_entropy", None),
        ("mixed", "rmsprop", "mse", None),
    ],
)
def test_fit_on_the_device_matches_the_cpu_with_no_reads_or_allocations_per_step(
    per_step, layers_kind, optimizer, loss, clip
):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 8)).astype(np.float32)
    y = rng.integers(0, 3, 200) if loss == "cross_entropy" else rng.normal(size=(200, 3))
    options = dict(loss=loss, optimizer=optimizer, epochs=2, batch_size=32, rng=0)
    cpu = _model(layers_kind).to(NumpyOps(kernels=False))  # the same NumPy code as the device
    history_cpu = cpu.fit(X, y, **options)
    per_step.clear()
    device = _model(layers_kind).to(FAKE)
    before = COUNTS.snapshot()
    history_device = device.fit(X, y, **options)
    total = np.subtract(COUNTS.snapshot(), before)
    np.testing.assert_allclose(history_device.history["loss"], history_cpu.history["loss"], 1e-5)
    for key, value in cpu.params().items():
        np.testing.assert_allclose(to_host(device.params()[key]), value, rtol=1e-4, atol=1e-6)
    assert len(per_step) == 2 * 7  # 200 rows in batches of 32
    assert per_step[0][1] == 0  # not even the first step reads back
    assert all(step == (0, 0) for step in per_step[1:]), per_step
    # per epoch: the verdict and the loss sum are read once each
    assert total[1] == 2 * 2, total
    np.testing.assert_allclose(
        device.predict_output(X), cpu.predict_output(X), rtol=1e-4, atol=1e-6
    )


def test_a_diverging_fit_on_the_device_names_the_batch_and_restores_the_epoch_start():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 8)).astype(np.float32)
    y = rng.normal(size=(64, 3)).astype(np.float32)
    y[40] = np.inf  # rejected up front: make the weights blow up instead
    y[40] = 0
    model = _model("dense").to(FAKE)
    start = {k: to_host(v).copy() for k, v in model.params().items()}
    with np.errstate(all="ignore"), pytest.raises(fcnet.TrainingDiverged, match="batch 0"):
        model.fit(X, 1e30 * y, loss="mse", optimizer="sgd", lr=1e10, epochs=1, batch_size=16)
    for key, value in model.params().items():
        np.testing.assert_array_equal(to_host(value), start[key])


def test_a_model_moved_to_the_device_saves_the_same_file(tmp_path):
    model = _model("mixed")
    fcnet.save(model, tmp_path / "cpu.safetensors")
    fcnet.save(_model("mixed").to(FAKE), tmp_path / "device.safetensors")
    assert (tmp_path / "cpu.safetensors").read_bytes() == (
        tmp_path / "device.safetensors"
    ).read_bytes()


def test_layers_on_two_devices_are_refused():
    model = fcnet.Sequential([fcnet.Dense(2, 3, rng=0).to(FAKE), fcnet.Dense(3, 1, rng=1)])
    with pytest.raises(RuntimeError, match="one device"):
        _ = model.ops


def test_a_layer_made_on_the_device_computes_there_and_matches_one_moved_there():
    made = [
        fcnet.Dense(8, 16, "relu", rng=0, device=FAKE),
        fcnet.BatchNorm(16, device=FAKE),
        fcnet.LayerNorm(16, device=FAKE),
        fcnet.Dropout(0.2, rng=3, device=FAKE),
        fcnet.Dense(16, 3, rng=1, device=FAKE),
    ]
    assert all(layer.ops is FAKE for layer in made)
    assert isinstance(made[0].W, FakeDeviceArray) and isinstance(
        made[1].running_var, FakeDeviceArray
    )
    moved = fcnet.Sequential(
        [
            fcnet.Dense(8, 16, "relu", rng=0),
            fcnet.BatchNorm(16),
            fcnet.LayerNorm(16),
            fcnet.Dropout(0.2, rng=3),
            fcnet.Dense(16, 3, rng=1),
        ]
    ).to(FAKE)
    X = np.random.default_rng(0).normal(size=(10, 8)).astype(np.float32)
    np.testing.assert_array_equal(fcnet.Sequential(made).predict_output(X), moved.predict_output(X))


def test_an_unknown_device_for_a_layer_is_refused_by_name():
    with pytest.raises(ValueError, match="expected 'cpu', 'gpu' or an Ops object, got 'tpu'"):
        fcnet.Dense(2, 3, device="tpu")
