"""BatchNorm and LayerNorm: equal to PyTorch (float64, 1e-10), gradient checks, save/load, fit."""

from __future__ import annotations

import numpy as np
import pytest

import fcnet
from fcnet.activations import ReLU
from fcnet.gradcheck import check_gradients

torch = pytest.importorskip("torch")

M, N = 8, 5
TOL = dict(rtol=1e-10, atol=1e-10)


def _batch(rng, m=M, n=N):
    # Features with their own offsets and scales, so normalizing does something.
    return rng.normal(size=(m, n)) * rng.uniform(0.5, 3.0, size=n) + rng.normal(size=n) * 2


def _pair(kind, rng):
    if kind == "BatchNorm":
        ours = fcnet.BatchNorm(N, momentum=0.2, eps=1e-3, dtype="float64")
        theirs = torch.nn.BatchNorm1d(N, momentum=0.2, eps=1e-3, dtype=torch.float64)
    else:
        ours = fcnet.LayerNorm(N, eps=1e-3, dtype="float64")
        theirs = torch.nn.LayerNorm(N, eps=1e-3, dtype=torch.float64)
    ours.gamma[...] = rng.normal(size=N)
    ours.beta[...] = rng.normal(size=N)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.gamma))
        theirs.bias.copy_(torch.from_numpy(ours.beta))
    return ours, theirs


def _step(ours, theirs, X, G, training):
    theirs.train(training)
    Xt = torch.tensor(X, requires_grad=True)
    theirs.zero_grad()
    out_t = theirs(Xt)
    (out_t * torch.from_numpy(G)).sum().backward()
    out = ours.forward(X, training=training).copy()
    dX = ours.backward(G).copy()
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(dX, Xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(ours.dgamma, theirs.weight.grad.numpy(), **TOL)
    np.testing.assert_allclose(ours.dbeta, theirs.bias.grad.numpy(), **TOL)


@pytest.mark.parametrize("kind", ["BatchNorm", "LayerNorm"])
def test_equal_to_torch_over_training_steps_then_in_eval_mode(kind):
    rng = np.random.default_rng(0)
    ours, theirs = _pair(kind, rng)
    lr = 0.1
    for _ in range(4):
        X, G = _batch(rng), rng.normal(size=(M, N))
        _step(ours, theirs, X, G, training=True)
        if kind == "BatchNorm":
            np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), **TOL)
            np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), **TOL)
        # the same SGD step on both, so gamma and beta move
        ours.gamma -= lr * ours.dgamma
        ours.beta -= lr * ours.dbeta
        with torch.no_grad():
            theirs.weight -= lr * theirs.weight.grad
            theirs.bias -= lr * theirs.bias.grad
    for m in (M, 1):  # inference works on a single row too
        _step(ours, theirs, _batch(rng, m=m), rng.normal(size=(m, N)), training=False)
    if kind == "BatchNorm":
        assert not np.allclose(ours.running_mean, 0) and not np.allclose(ours.running_var, 1)


def test_batchnorm_running_var_is_unbiased_and_normalization_biased():
    layer = fcnet.BatchNorm(1, momentum=1.0, eps=1e-12, dtype="float64")
    A = layer.forward(np.array([[1.0], [3.0]]), training=True)
    # mu = 2, biased var = 1 (normalizes), unbiased var = 2 (running)
    np.testing.assert_allclose(A[:, 0], [-1.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(layer.running_mean, [2.0])
    np.testing.assert_allclose(layer.running_var, [2.0])
    np.testing.assert_allclose(layer.forward(np.array([[2.0 + 2**0.5]]))[:, 0], [1.0])


@pytest.mark.parametrize("kind", ["BatchNorm", "LayerNorm"])
def test_inference_mode_gradient_check(kind, linear_probe):
    rng = np.random.default_rng(1)
    norm = getattr(fcnet, kind)(N, dtype="float64")
    norm.gamma[...] = rng.normal(size=N)
    norm.beta[...] = rng.normal(size=N)
    for _ in range(3):  # move the running statistics away from (0, 1)
        norm.forward(_batch(rng), training=True)
    model = fcnet.Sequential([fcnet.Dense(3, N, activation="tanh", rng=2, dtype="float64"), norm])
    X = rng.normal(size=(6, 3))
    report = check_gradients(model, linear_probe(rng.normal(size=(6, N))), X, None, training=False)
    assert report.ok, str(report)
    assert report.max_rel_error < 1e-6


def test_gradient_check_inside_a_network_in_training_mode():
    rng = np.random.default_rng(3)
    model = fcnet.Sequential(
        [
            fcnet.Dense(3, 6, rng=4, dtype="float64"),
            fcnet.BatchNorm(6, dtype="float64"),
            fcnet.Dense(6, 6, activation="tanh", rng=5, dtype="float64"),
            fcnet.LayerNorm(6, dtype="float64"),
            fcnet.Dense(6, 2, rng=6, dtype="float64"),
        ]
    )
    X, y = rng.normal(size=(7, 3)), rng.integers(0, 2, size=7)
    report = check_gradients(model, "cross_entropy", X, y, training=True)
    assert report.ok, str(report)


def test_save_load_round_trip_keeps_running_statistics(tmp_path):
    rng = np.random.default_rng(4)
    model = fcnet.Sequential(
        [fcnet.Dense(N, N, rng=0), fcnet.BatchNorm(N, momentum=0.3), fcnet.LayerNorm(N)]
    )
    for _ in range(3):
        model.forward(_batch(rng).astype(np.float32), training=True)
    model.layers[1].gamma[...] = rng.normal(size=N)
    model.layers[2].beta[...] = rng.normal(size=N)
    path = fcnet.save(model, tmp_path / "bn.safetensors")
    loaded = fcnet.load(path)
    assert [repr(layer) for layer in loaded.layers] == [repr(layer) for layer in model.layers]
    for name in ("running_mean", "running_var"):
        np.testing.assert_array_equal(
            getattr(loaded.layers[1], name), getattr(model.layers[1], name)
        )
        assert getattr(loaded.layers[1], name).dtype == np.float32
    X = _batch(rng).astype(np.float32)
    np.testing.assert_array_equal(loaded.forward(X), model.forward(X))


def test_dense_batchnorm_relu_dense_trains_with_fit(blobs):
    X, y = blobs
    model = fcnet.Sequential(
        [fcnet.Dense(4, 16, rng=0), fcnet.BatchNorm(16), ReLU(), fcnet.Dense(16, 3, rng=1)]
    )
    history = model.fit(X, y, optimizer="adam", lr=0.01, epochs=15, batch_size=16, rng=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(X, y)["accuracy"] >= 0.95
    assert model.predict_output(X).dtype == np.float32
    assert not np.allclose(model.layers[1].running_mean, 0)


@pytest.mark.parametrize("kind", ["BatchNorm", "LayerNorm"])
def test_float32_stays_float32_and_buffers_are_reused(kind):
    layer = getattr(fcnet, kind)(N)
    X = _batch(np.random.default_rng(5)).astype(np.float32)
    A1 = layer.forward(X, training=True)
    dX1 = layer.backward(np.ones_like(A1))
    A2 = layer.forward(X[:5], training=True)  # a smaller last batch: views of the same buffers
    dX2 = layer.backward(np.ones_like(A2))
    assert A1.dtype == dX1.dtype == layer.dgamma.dtype == np.float32
    assert np.shares_memory(A1, A2) and np.shares_memory(dX1, dX2)
    if kind == "BatchNorm":
        assert layer.running_var.dtype == np.float32


def test_batchnorm_single_row_in_training_is_an_error():
    layer = fcnet.BatchNorm(4)
    with pytest.raises(ValueError, match=r"BatchNorm: expected at least 2 rows .* got 1"):
        layer.forward(np.ones((1, 4), dtype=np.float32), training=True)
    assert layer.forward(np.ones((1, 4), dtype=np.float32)).shape == (1, 4)


def test_repr_config_and_errors():
    bn = fcnet.BatchNorm(4)
    assert repr(bn) == "BatchNorm(n=4, momentum=0.1, eps=1e-05)"
    assert repr(fcnet.LayerNorm(4)) == "LayerNorm(n=4, eps=1e-05)"
    assert bn.n_in == bn.n_out == 4 and bn.trainable and bn.lr_mult == 1.0
    assert set(bn.params()) == set(bn.grads()) == {"gamma", "beta"}
    assert set(bn.state()) == {"running_mean", "running_var"}
    rebuilt = fcnet.BatchNorm.from_config(fcnet.BatchNorm(3, 0.3, 1e-3).get_config(), "float64")
    assert repr(rebuilt) == "BatchNorm(n=3, momentum=0.3, eps=0.001)"
    assert rebuilt.dtype == np.float64
    with pytest.raises(ValueError, match=r"BatchNorm: expected X of shape \(m, 4\), got \(2, 3\)"):
        bn.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="BatchNorm: expected momentum in"):
        fcnet.BatchNorm(4, momentum=1.5)
    with pytest.raises(ValueError, match="LayerNorm: expected eps in"):
        fcnet.LayerNorm(4, eps=0.0)
    with pytest.raises(RuntimeError, match="LayerNorm: call forward before backward"):
        fcnet.LayerNorm(4).backward(np.ones((2, 4)))


def test_fit_folds_a_one_row_last_batch_into_the_previous_one_for_batchnorm():
    """33 rows in batches of 16 would leave 1 row, which BatchNorm cannot normalise."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(33, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = fcnet.Sequential(
        [fcnet.Dense(4, 8, rng=0), fcnet.BatchNorm(8), ReLU(), fcnet.Dense(8, 2, rng=1)]
    )
    history = model.fit(X, y, epochs=2, batch_size=16, rng=0)
    assert len(history.history["loss"]) == 2
    from fcnet.train.batches import batch_bounds as _batch_bounds

    assert _batch_bounds(33, 16, 2) == [0, 16, 33]
    assert _batch_bounds(33, 16, 1) == [0, 16, 32, 33]
    assert _batch_bounds(1, 16, 2) == [0, 1]


def test_fit_with_batchnorm_and_a_single_training_row_is_refused_up_front():
    model = fcnet.Sequential([fcnet.Dense(2, 2, rng=0), fcnet.BatchNorm(2)])
    before = {k: v.copy() for k, v in model.params().items()}
    with pytest.raises(ValueError, match="needs at least 2 training rows per batch"):
        model.fit(np.ones((1, 2), dtype=np.float32), np.zeros((1, 2)), loss="mse", epochs=1)
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, before[key])
