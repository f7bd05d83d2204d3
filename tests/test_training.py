"""fit / predict / evaluate end to end: XOR, the bundled digits, determinism, options."""

from __future__ import annotations

import numpy as np
import pytest

import fcnet
import fcnet.train.loop
from fcnet.data import load_digits


def mlp(sizes, activation="relu", seed=0, dtype=None):
    layers = [
        fcnet.Dense(
            a,
            b,
            activation=activation if i < len(sizes) - 2 else "identity",
            rng=seed + i,
            dtype=dtype,
        )
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))
    ]
    return fcnet.Sequential(layers)


def test_xor_is_learned():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    model = mlp([2, 8, 2], activation="tanh", seed=1)
    history = model.fit(
        X, y, loss="cross_entropy", optimizer="adam", lr=0.05, epochs=300, batch_size=4, rng=0
    )
    np.testing.assert_array_equal(model.predict(X), y)
    assert history.history["loss"][-1] < 0.05


def test_digits_reach_96_percent_with_64_128_10_relu_adam_in_30_epochs():
    X, y = load_digits()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    test, train = order[:360], order[360:]
    model = mlp([64, 128, 10], seed=0)
    model.fit(
        X[train],
        y[train],
        loss="cross_entropy",
        optimizer="adam",
        lr=1e-3,
        epochs=30,
        batch_size=32,
        rng=0,
    )
    accuracy = model.evaluate(X[test], y[test], metrics=["accuracy"])["accuracy"]
    assert accuracy >= 0.96


def test_same_seed_gives_bit_identical_parameters(blobs):
    X, y = blobs

    def run():
        model = mlp([4, 16, 3], seed=3)
        model.layers.insert(1, fcnet.Dropout(0.2))
        model.fit(X, y, epochs=4, batch_size=16, validation_split=0.2, rng=42)
        return model.params()

    a, b = run(), run()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_history_has_per_epoch_train_and_validation_values(blobs):
    X, y = blobs
    model = mlp([4, 16, 3])
    history = model.fit(
        X, y, epochs=5, batch_size=32, validation_split=0.2, metrics=["accuracy"], rng=0
    )
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert len(history.history[key]) == 5, key
    assert history.epoch == [0, 1, 2, 3, 4]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not history.interrupted


def test_last_partial_batch_is_used():
    """With 10 rows and batch 4 every row contributes: batches 4, 4, 2."""
    X = np.eye(10, dtype=np.float64)
    y = np.arange(10, dtype=np.float64)
    model = fcnet.Sequential([fcnet.Dense(10, 1, init="zeros", dtype="float64")])
    model.fit(
        X,
        y,
        loss="mse",
        optimizer=fcnet.optimizers.SGD(lr=1.0),
        epochs=1,
        batch_size=4,
        shuffle=False,
    )
    # batch 1 (rows 0-3): out 0, W_i = y_i / 4, b = 6 / 4 = 1.5
    # batch 2 (rows 4-7): out 1.5, W_i = (y_i - 1.5) / 4, b = 1.5 + 16 / 4 = 5.5
    # batch 3 (rows 8-9, the partial one): out 5.5, W_i = (y_i - 5.5) / 2, b = 5.5 + 3 = 8.5
    expected = [0, 0.25, 0.5, 0.75, 0.625, 0.875, 1.125, 1.375, 1.25, 1.75]
    np.testing.assert_allclose(model.layers[0].W[:, 0], expected, atol=1e-15)
    assert model.layers[0].b[0] == pytest.approx(8.5, abs=1e-15)


def test_stratified_validation_split_keeps_class_proportions():
    y = np.array([0] * 80 + [1] * 20)
    X = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    from fcnet.data import split_rows

    train, val = split_rows(len(y), 0.25, np.random.default_rng(0), labels=y)
    assert len(val) == 25
    assert np.sum(y[val] == 1) == 5 and np.sum(y[val] == 0) == 20
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == len(X)


def test_validation_data_is_used(blobs):
    X, y = blobs
    model = mlp([4, 8, 3])
    history = model.fit(X[:100], y[:100], validation_data=(X[100:], y[100:]), epochs=2, rng=0)
    assert len(history.history["val_loss"]) == 2


def test_predict_and_evaluate(blobs):
    X, y = blobs
    model = mlp([4, 16, 3])
    model.fit(X, y, epochs=30, batch_size=16, rng=0, lr=0.01)
    labels = model.predict(X)
    assert labels.shape == (150,) and labels.dtype.kind == "i"
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    result = model.evaluate(X, y, metrics=["accuracy", "f1"])
    assert set(result) == {"loss", "accuracy", "f1"}
    assert result["accuracy"] == pytest.approx(np.mean(labels == y))
    assert result["accuracy"] > 0.9


def test_regression_fits_a_line():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 2))
    y = 3 * X[:, 0] - 2 * X[:, 1] + 0.5
    model = fcnet.Sequential([fcnet.Dense(2, 1, dtype="float64", rng=0)])
    model.fit(X, y, loss="mse", optimizer="sgd", lr=0.5, epochs=100, batch_size=50, rng=0)
    np.testing.assert_allclose(model.layers[0].W[:, 0], [3, -2], atol=1e-3)
    assert model.predict(X).shape == (200, 1)


def test_loss_is_inferred_from_targets(blobs):
    X, y = blobs
    model = mlp([4, 8, 3])
    model.fit(X, y, epochs=1, rng=0)
    assert model.task == "classification"
    model = mlp([4, 8, 1])
    model.fit(X, (y == 1).astype(int), epochs=1, rng=0)
    assert model.task == "binary"
    assert set(np.unique(model.predict(X)[:, 0])) <= {0, 1}


def test_fit_float64_data_on_float32_model_keeps_float32(blobs):
    X, y = blobs
    model = mlp([4, 8, 3])
    model.fit(X.astype(np.float64), y, epochs=1, rng=0)
    assert all(p.dtype == np.float32 for p in model.params().values())


def test_frozen_layer_and_lr_multiplier(blobs):
    X, y = blobs
    model = mlp([4, 8, 3])
    model.layers[0].trainable = False
    frozen = model.layers[0].W.copy()
    model.fit(X, y, epochs=2, rng=0)
    np.testing.assert_array_equal(model.layers[0].W, frozen)
    assert not np.array_equal(model.layers[1].W, mlp([4, 8, 3]).layers[1].W)


def test_summary_lists_layers_and_counts():
    text = mlp([64, 128, 10]).summary()
    assert "Dense(n_in=64, n_out=128, activation='relu')" in text
    assert "8,320" in text and "1,290" in text and "total parameters: 9,610" in text


def test_string_labels_become_classes(blobs):
    X, y = blobs
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = mlp([4, 16, 3])
    model.fit(X, names, epochs=20, batch_size=16, lr=0.01, rng=0)
    assert list(model.classes) == ["setosa", "versicolor", "virginica"]
    predicted = model.predict(X)
    assert predicted.dtype.kind == "U" and np.mean(predicted == names) > 0.9
    assert model.evaluate(X, names)["accuracy"] == pytest.approx(np.mean(predicted == names))
    with pytest.raises(
        ValueError, match="label 'daisy' at row 1 is not one of the model's classes"
    ):
        model.evaluate(X[:2], ["setosa", "daisy"])


def test_binary_probabilities_stay_finite_for_huge_logits():
    model = fcnet.Sequential([fcnet.Dense(1, 1, init="zeros")])
    model.task = "binary"
    model.layers[0].W[...] = 1000.0
    proba = model.predict_proba(np.array([[-1.0], [0.0], [1.0]], dtype=np.float32))
    np.testing.assert_allclose(proba[:, 0], [0.0, 0.5, 1.0])


def test_evaluate_names_a_nan_in_a_later_block_with_its_row(blobs):
    X, y = blobs
    model = mlp([4, 8, 3])
    X = np.repeat(X, 20, axis=0)  # 3,000 rows: several prediction blocks
    X[2500, 1] = np.nan
    with pytest.raises(ValueError, match=r"^evaluate: X contains NaN at row 2500, column 1"):
        model.evaluate(X, np.repeat(y, 20))


def test_only_layers_that_declare_in_place_gradients_are_taken_once():
    from fcnet.train.grads import GradBuffer

    class Reassigning(fcnet.Dense):  # a subclass may assign new gradient arrays
        pass

    model = fcnet.Sequential(
        [fcnet.Dense(3, 4, rng=0), fcnet.BatchNorm(4), fcnet.LayerNorm(4), Reassigning(4, 2)]
    )
    copied = GradBuffer(model)._copied
    assert [layer for layer, _ in copied] == [model.layers[3]]


def test_evaluate_scores_a_regressor_with_mse_even_on_0_1_targets():
    # 0/1 targets look like binary labels; a model fit for regression is still a regressor
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float64)
    model = fcnet.Sequential([fcnet.Dense(2, 1, rng=0)])
    model.fit(X, y, loss="mse", epochs=2, batch_size=16, rng=0)
    assert model.task == "regression"
    residual = model.predict_output(X)[:, 0].astype(np.float64) - y
    scores = model.evaluate(X, y)
    assert set(scores) == {"loss"}  # no accuracy for a regressor
    assert scores["loss"] == pytest.approx(0.5 * np.mean(residual**2), rel=1e-5)


# --- plain SGD: Dense layers update W straight from dZ ----------------------------------------
def mixed_model(dtype):
    return fcnet.Sequential(
        [
            fcnet.Dense(4, 16, "relu", l2=0.01, lr_mult=0.5, rng=0, dtype=dtype),
            fcnet.BatchNorm(16, dtype=dtype),
            fcnet.Dropout(0.2, dtype=dtype),
            fcnet.Dense(16, 8, "tanh", l1=0.01, rng=1, dtype=dtype),
            fcnet.Dense(8, 8, "relu", trainable=False, rng=2, dtype=dtype),
            fcnet.Dense(8, 3, rng=3, dtype=dtype),
        ]
    )


def _exact_squares(A):
    return float(np.sum(np.asarray(A, np.float64) ** 2))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_plain_sgd_reads_the_norms_its_passes_summed(monkeypatch, dtype):
    """The bound's ||X||^2 and ||dZ||^2 come from the passes that wrote X and dZ (the gather for
    the first layer, the Dense before for the last); only an X behind a Dropout is read again.
    Each is the array's own, and the weights are those of the bound reading every array."""
    from fcnet.optimizers import SGD
    from fcnet.train import fused_sgd

    if not fcnet._blas.available("gemm", np.dtype(dtype)):
        pytest.skip("NumPy's BLAS is not an OpenBLAS fcnet can call")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 4)).astype(dtype)
    y = rng.integers(0, 3, 100)
    real = fused_sgd._squares
    read, seen = [], []
    original = fused_sgd.DenseSGD._X_squares

    def spy(self, k, layer):
        value = original(self, k, layer)
        seen.append((self.positions[k], value, layer.X, layer.dZ_squares, layer.dZ))
        seen[-1] = seen[-1][:1] + tuple(
            v if not isinstance(v, np.ndarray) else _exact_squares(v) for v in seen[-1][1:]
        )
        return value

    monkeypatch.setattr(fused_sgd, "_squares", lambda a: read.append(a.shape) or real(a))
    monkeypatch.setattr(fused_sgd.DenseSGD, "_X_squares", spy)
    model = mixed_model(dtype)
    fit = dict(loss="cross_entropy", optimizer=SGD(0.1), epochs=2, batch_size=16, rng=0)
    model.fit(X, y, **fit)
    assert len(seen) == 3 * 14  # three layers, 7 steps an epoch
    rel = 1e-5 if dtype == "float32" else 1e-12
    for position, x_sq, x_exact, dz_sq, dz_exact in seen:
        assert x_sq == pytest.approx(x_exact, rel=rel), position
        assert dz_sq == pytest.approx(dz_exact, rel=rel), position
    # read again: every db (16, 8 and 3 wide), and layer 3's X behind the Dropout (16 rows, and
    # the last batch's 4), nothing else
    assert sorted(set(read)) == sorted({(16,), (8,), (3,), (16, 16), (4, 16)})
    for layer in model.layers[::3] + [model.layers[4]]:  # after fit, no pass sums squares
        A = layer.forward(np.ones((5, layer.n_in), dtype), training=True)
        layer.backward(np.ones_like(A), need_dX=False)
        assert layer.A_squares is None and layer.dZ_squares is None

    monkeypatch.setattr(fused_sgd.DenseSGD, "keep_squares", lambda self, batches=None: None)
    every_array_read = mixed_model(dtype)
    every_array_read.fit(X, y, **fit)
    reference = every_array_read.params().values()
    for ours, theirs in zip(model.params().values(), reference, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_plain_sgd_with_an_ops_subclass_of_the_older_signatures_reads_the_norms(monkeypatch):
    """A user's Ops whose take_rows and dense passes take no ``squares`` (written before they
    did): plain SGD trains through it, reading the norms, to the same weights."""
    from fcnet._ops import NumpyOps
    from fcnet.optimizers import SGD
    from fcnet.train import fused_sgd

    if not fcnet._blas.available("gemm", np.float64):
        pytest.skip("NumPy's BLAS is not an OpenBLAS fcnet can call")
    read = []
    real = fused_sgd._squares
    monkeypatch.setattr(fused_sgd, "_squares", lambda a: read.append(a.ndim) or real(a))

    class OlderOps(NumpyOps):
        def take_rows(self, X, rows, out):
            return super().take_rows(X, rows, out)

        def dense_forward(self, X, W, b, activation, Z, A):
            return super().dense_forward(X, W, b, activation, Z, A)

        def dense_backward(self, dA, X, W, Z, A, activation, dZ, db, dW=None, dX=None):
            return super().dense_backward(dA, X, W, Z, A, activation, dZ, db, dW, dX)

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((100, 4)), rng.integers(0, 3, 100)
    fit = dict(loss="cross_entropy", optimizer=SGD(0.1), epochs=2, batch_size=16, rng=0)
    models, matrices_read = [], []
    for ops in (OlderOps(), None):
        model = fcnet.Sequential(
            [
                fcnet.Dense(4, 16, "relu", rng=0, dtype="float64"),
                fcnet.Dense(16, 3, rng=1, dtype="float64"),
            ]
        )
        if ops is not None:
            model.to(ops)
        read.clear()
        model.fit(X, y, **fit)
        models.append(model)
        matrices_read.append(read.count(2))
    assert matrices_read == [4 * 14, 0]  # X and dZ of both layers, 7 steps an epoch; none
    for ours, theirs in zip(models[0].params().values(), models[1].params().values(), strict=1):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_plain_sgd_chooses_the_trainable_dense_layers_of_an_own_model():
    from fcnet.optimizers import SGD, Adam
    from fcnet.train.fused_sgd import fused_sgd_layers as _sgd_step_layers

    if not fcnet._blas.available("gemm", np.float64):
        pytest.skip("NumPy's BLAS is not an OpenBLAS fcnet can call")
    model = mixed_model("float64")
    assert sorted(_sgd_step_layers(model, SGD(0.1, weight_decay=0.1), None)) == [0, 3, 5]
    assert _sgd_step_layers(model, SGD(0.1, momentum=0.9), None) == {}  # needs dW for v
    assert _sgd_step_layers(model, Adam(0.1), None) == {}
    assert _sgd_step_layers(model, SGD(0.1), clip_norm=1.0) == {}  # needs every gradient

    class MySGD(SGD):  # may look at the gradients
        pass

    assert _sgd_step_layers(model, MySGD(0.1), None) == {}

    class MyDropout(fcnet.Dropout):  # a user's layer: it might change the arrays forward cached
        pass

    with_user_layer = fcnet.Sequential([fcnet.Dense(4, 4, rng=0), MyDropout(0.1)])
    assert _sgd_step_layers(with_user_layer, SGD(0.1), None) == {}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_plain_sgd_fit_matches_the_optimizer_route(blobs, monkeypatch, dtype):
    """lr_mult, l1, l2, weight decay, a frozen layer, BatchNorm (the optimizer's), Dropout,
    sample weights and a partial last batch: the same parameters up to rounding."""
    X, y = blobs
    weights = np.linspace(0.5, 2.0, len(y))
    fit = dict(loss="cross_entropy", epochs=3, batch_size=24, sample_weight=weights, rng=0)
    monkeypatch.setattr(fcnet._blas, "MIN_SIZE", 0)  # the small layers here take the BLAS too
    fused = mixed_model(dtype)
    fused.fit(X, y, optimizer=fcnet.optimizers.SGD(0.05, weight_decay=1e-3), **fit)
    monkeypatch.setattr(fcnet.train.loop, "fused_sgd_layers", lambda *args: {})
    reference = mixed_model(dtype)
    reference.fit(X, y, optimizer=fcnet.optimizers.SGD(0.05, weight_decay=1e-3), **fit)
    rtol = 1e-4 if dtype == "float32" else 1e-11
    for key, value in reference.params().items():
        np.testing.assert_allclose(fused.params()[key], value, rtol=rtol, atol=rtol, err_msg=key)
    assert not np.array_equal(fused.layers[0].W, mixed_model(dtype).layers[0].W)
    np.testing.assert_array_equal(fused.layers[4].W, mixed_model(dtype).layers[4].W)  # frozen
    if fcnet._blas.available("gemm", dtype):  # fit did not store dW of the layers it updated
        assert not fused.layers[0].dW.any() and reference.layers[0].dW.any()
        assert fused.layers[1].dgamma.any()  # BatchNorm's, for the optimizer


def test_plain_sgd_same_seed_gives_bit_identical_parameters(blobs):
    X, y = blobs
    runs = []
    for _ in range(2):
        model = mlp([4, 32, 16, 3])
        model.fit(X, y, optimizer="sgd", lr=0.1, epochs=3, batch_size=16, rng=5)
        runs.append(model.params())
    for key, value in runs[0].items():
        np.testing.assert_array_equal(value, runs[1][key])
