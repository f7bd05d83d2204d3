"""The training toolkit in ``fit``: clipping, l1/l2, AdamW, class and sample weights, callbacks,
schedules, per-layer learning rates and frozen layers, against PyTorch and scikit-learn."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

import fcnet
from fcnet.callbacks import CSVLogger, EarlyStopping, LambdaCallback
from fcnet.optimizers import SGD, Adam, AdamW

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = dict(rtol=1e-10, atol=1e-12)


def _mlp(sizes=(4, 8, 3), seed=0, dtype="float64", **first_layer):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        options = first_layer if i == 0 else {}
        activation = "tanh" if i < len(sizes) - 2 else "identity"
        layers.append(
            fcnet.Dense(a, b, activation=activation, rng=seed + i, dtype=dtype, **options)
        )
    for layer in layers:
        layer.b[...] = np.random.default_rng(seed + 50).normal(scale=0.1, size=layer.b.shape)
    return fcnet.Sequential(layers)


def _copy_params(model):
    return {k: v.copy() for k, v in model.params().items()}


def _torch_params(model):
    """Leaf tensors (W^T, b) per Dense layer, with the model's current values."""
    return [
        (
            torch.tensor(layer.W.T.copy(), requires_grad=True),
            torch.tensor(layer.b.copy(), requires_grad=True),
        )
        for layer in model.layers
    ]


def _torch_forward(weights, X):
    A = torch.from_numpy(X)
    for i, (W, b) in enumerate(weights):
        A = F.linear(A, W, b)
        if i < len(weights) - 1:
            A = torch.tanh(A)
    return A


def _assert_params_equal_torch(model, weights):
    for layer, (W, b) in zip(model.layers, weights, strict=True):
        np.testing.assert_allclose(layer.W, W.detach().numpy().T, **TOL)
        np.testing.assert_allclose(layer.b, b.detach().numpy(), **TOL)


def _classes(m=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, 4)), rng.integers(0, 3, size=m)


# --- clip_norm ---------------------------------------------------------------------------------
@pytest.mark.parametrize("clip_norm", [0.05, 1e6])
def test_clip_norm_equals_torch_clip_grad_norm(clip_norm):
    X, y = _classes(20)
    model = _mlp()
    weights = _torch_params(model)
    flat = [t for pair in weights for t in pair]
    opt = torch.optim.SGD(flat, lr=0.5)
    norms = []
    for _ in range(3):  # full-batch steps, so both see the same gradients
        opt.zero_grad()
        F.cross_entropy(_torch_forward(weights, X), torch.from_numpy(y)).backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(flat, clip_norm)))
        opt.step()
    model.fit(
        X,
        y,
        loss="cross_entropy",
        optimizer=SGD(lr=0.5),
        epochs=3,
        batch_size=20,
        shuffle=False,
        clip_norm=clip_norm,
    )
    assert (min(norms) > clip_norm) == (clip_norm < 1)  # clipping was active (or not) each step
    _assert_params_equal_torch(model, weights)


# --- l1 / l2 ------------------------------------------------------------------------------------
def test_l1_l2_penalty_is_in_the_reported_loss_and_gradients_are_consistent():
    X, y = _classes(16, seed=1)
    model = _mlp(l1=0.01, l2=0.05)
    penalty = model.penalty()
    W = model.layers[0].W
    assert penalty == pytest.approx(0.01 * np.abs(W).sum() + 0.05 * (W**2).sum(), rel=1e-12)
    data_loss = model.evaluate(X, y, loss="cross_entropy")["loss"]
    history = model.fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=1, batch_size=16)
    # one full batch: the loss recorded is the one before the step, data term plus penalty
    assert history.history["loss"][0] == pytest.approx(data_loss + penalty, rel=1e-12)
    assert penalty > 0.01 * data_loss
    report = fcnet.check_gradients(_mlp(l1=0.01, l2=0.05), "cross_entropy", X, y)
    assert report.ok, str(report)


# --- AdamW ---------------------------------------------------------------------------------------
def test_adamw_decoupled_weight_decay_equals_torch():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(24, 4)), rng.normal(size=(24, 3))
    model = _mlp()
    weights = _torch_params(model)
    flat = [t for pair in weights for t in pair]
    opt = torch.optim.AdamW(flat, lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.3)
    for _ in range(3):
        for start in range(0, 24, 8):
            opt.zero_grad()
            out = _torch_forward(weights, X[start : start + 8])
            (0.5 * ((out - torch.from_numpy(Y[start : start + 8])) ** 2).sum() / 8).backward()
            opt.step()
    model.fit(
        X,
        Y,
        loss="mse",
        optimizer=AdamW(lr=0.01, betas=(0.9, 0.99), weight_decay=0.3),
        epochs=3,
        batch_size=8,
        shuffle=False,
    )
    _assert_params_equal_torch(model, weights)


# --- class and sample weights --------------------------------------------------------------------
def _fit_params(X, y, seed=0, **options):
    model = _mlp(seed=seed)
    model.fit(
        X,
        y,
        loss="cross_entropy",
        optimizer="adam",
        lr=0.01,
        epochs=2,
        batch_size=7,
        rng=3,
        **options,
    )
    return model.params()


def _assert_same_params(a, b, exact=False):
    assert a.keys() == b.keys()
    for key in a:
        if exact:
            np.testing.assert_array_equal(a[key], b[key])
        else:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-10, atol=1e-13)


def test_balanced_class_weight_equals_sklearn():
    from sklearn.utils.class_weight import compute_class_weight

    from fcnet.train.targets import class_weights as _class_weights

    y = np.array([0] * 13 + [1] * 4 + [2] * 7)
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y)
    np.testing.assert_allclose(
        _class_weights("balanced", y, "classification"), expected[y], rtol=1e-15
    )
    X = np.random.default_rng(4).normal(size=(len(y), 4))
    _assert_same_params(
        _fit_params(X, y, class_weight="balanced"), _fit_params(X, y, sample_weight=expected[y])
    )


def test_dict_class_weight_and_combination_with_sample_weight():
    y = np.array([0] * 10 + [1] * 6 + [2] * 8)
    X = np.random.default_rng(5).normal(size=(len(y), 4))
    table = np.array([1.0, 3.0, 1.0])  # class 2 missing from the dict: weight 1
    _assert_same_params(
        _fit_params(X, y, class_weight={0: 1.0, 1: 3.0}), _fit_params(X, y, sample_weight=table[y])
    )
    s = np.random.default_rng(6).uniform(0.2, 2.0, size=len(y))
    balanced = len(y) / (3 * np.bincount(y))
    _assert_same_params(
        _fit_params(X, y, class_weight="balanced", sample_weight=s),
        _fit_params(X, y, sample_weight=s * balanced[y]),
    )


def test_balanced_class_weight_raises_minority_recall():
    rng = np.random.default_rng(7)
    n_major, n_minor = 1000, 50  # 1:20, overlapping Gaussians
    X = np.vstack(
        [rng.normal(0.0, 1.0, size=(n_major, 2)), rng.normal(1.2, 1.0, size=(n_minor, 2))]
    )
    y = np.r_[np.zeros(n_major, dtype=np.int64), np.ones(n_minor, dtype=np.int64)]

    def minority_recall(class_weight):
        model = fcnet.Sequential([fcnet.Dense(2, 8, "relu", rng=0), fcnet.Dense(8, 2, rng=1)])
        model.fit(
            X,
            y,
            optimizer="adam",
            lr=0.01,
            epochs=15,
            batch_size=64,
            class_weight=class_weight,
            rng=0,
        )
        return float(np.mean(model.predict(X)[y == 1] == 1))

    plain, balanced = minority_recall(None), minority_recall("balanced")
    assert balanced > plain + 0.3, (plain, balanced)


def test_sample_weight_two_everywhere_is_the_same_as_no_weights():
    X, y = _classes(21, seed=8)
    _assert_same_params(
        _fit_params(X, y), _fit_params(X, y, sample_weight=np.full(21, 2.0)), exact=True
    )


def test_zero_weight_rows_are_the_same_as_leaving_them_out():
    X, y = _classes(24, seed=9)
    w = np.zeros(24)
    w[1::2] = 1.0

    def run(X, y, **options):
        model = _mlp()
        history = model.fit(
            X,
            y,
            loss="cross_entropy",
            optimizer=SGD(lr=0.3),
            epochs=4,
            batch_size=len(X),
            shuffle=False,
            **options,
        )
        return model.params(), history.history["loss"]

    weighted, weighted_loss = run(X, y, sample_weight=w)
    half, half_loss = run(X[1::2], y[1::2])
    _assert_same_params(weighted, half)
    np.testing.assert_allclose(weighted_loss, half_loss, rtol=1e-12)


@pytest.mark.parametrize(
    "make_optimizer",
    [lambda: SGD(lr=0.3), lambda: SGD(lr=0.3, momentum=0.9), lambda: Adam(lr=0.01)],
)
def test_a_mini_batch_with_only_zero_weights_contributes_nothing(make_optimizer):
    X, y = _classes(24, seed=10)
    w = np.r_[np.zeros(12), np.ones(12)]  # with batch_size 6 the first two batches weigh 0

    def run(X, y, **options):
        model = _mlp()
        history = model.fit(
            X,
            y,
            loss="cross_entropy",
            optimizer=make_optimizer(),
            epochs=2,
            batch_size=6,
            shuffle=False,
            **options,
        )
        return model.params(), history.history["loss"]

    weighted, weighted_loss = run(X, y, sample_weight=w)
    half, half_loss = run(X[12:], y[12:])
    _assert_same_params(weighted, half)
    np.testing.assert_allclose(weighted_loss, half_loss, rtol=1e-12)


# --- callbacks ----------------------------------------------------------------------------------
def _overfitting_problem():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(30, 4))
    y = X[:, 0] + rng.normal(scale=1.0, size=30)  # mostly noise: validation loss turns up
    Xv = rng.normal(size=(200, 4))
    yv = Xv[:, 0] + rng.normal(scale=1.0, size=200)
    return X, y[:, None], Xv, yv[:, None]


def test_early_stopping_restores_exactly_the_best_epoch():
    X, Y, Xv, Yv = _overfitting_problem()
    model = _mlp((4, 64, 1), seed=1)
    recorded = []
    early = EarlyStopping(monitor="val_loss", patience=3)
    history = model.fit(
        X,
        Y,
        loss="mse",
        optimizer="adam",
        lr=0.03,
        epochs=200,
        batch_size=10,
        validation_data=(Xv, Yv),
        rng=0,
        callbacks=[LambdaCallback(lambda epoch, logs, m: recorded.append(_copy_params(m))), early],
    )
    val = history.history["val_loss"]
    assert history.stopped_early and len(val) < 200
    best = int(np.argmin(val))
    assert early.best_epoch == best and len(val) == best + 1 + 3 + 1
    assert early.stopped_epoch == len(val) - 1
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, recorded[best][key])
    assert not np.array_equal(model.params()["0.W"], recorded[-1]["0.W"])


class _Params:
    def __init__(self):
        self.value = np.zeros(1)

    def params(self):
        return {"p": self.value}


def _drive(callback, values, key="val_loss"):
    """Feed a sequence of monitored values; return the epoch at which it asked to stop."""
    model = _Params()
    for epoch, value in enumerate(values):
        model.value[0] = epoch
        if callback.on_epoch_end(epoch, {key: value}, model):
            callback.on_train_end(model)
            return epoch, model.value[0]
    callback.on_train_end(model)
    return None, model.value[0]


def test_early_stopping_patience_min_delta_and_mode():
    # patience 2: stops on the 3rd epoch in a row without improvement
    assert _drive(EarlyStopping(patience=2), [3, 2, 2.5, 2.1, 2.2, 1]) == (4, 1)
    assert _drive(EarlyStopping(patience=0), [3, 2, 2.5]) == (2, 1)
    # min_delta: 1.95 is not an improvement on 2 by more than 0.1
    assert _drive(EarlyStopping(patience=1, min_delta=0.1), [2, 1.95, 1.92]) == (2, 0)
    assert _drive(EarlyStopping(patience=1), [2, 1.95, 1.92]) == (None, 2)
    # mode max (explicit and auto for accuracy)
    assert _drive(
        EarlyStopping(monitor="acc", mode="max", patience=1), [0.5, 0.7, 0.6, 0.65], key="acc"
    ) == (3, 1)
    auto = EarlyStopping(monitor="val_accuracy")
    assert auto.mode == "max" and EarlyStopping(monitor="val_loss").mode == "min"
    # restore_best=False keeps the last parameters
    assert _drive(EarlyStopping(patience=0, restore_best=False), [1, 2]) == (1, 1)


def test_early_stopping_missing_monitor_lists_the_keys():
    X, y = _classes(12)
    with pytest.raises(
        ValueError, match=r"'val_loss' is not in the history; available: \['loss', 'lr'\]"
    ):
        _mlp().fit(X, y, epochs=2, callbacks=[EarlyStopping(monitor="val_loss")])


def test_csv_logger_writes_header_and_one_row_per_epoch(tmp_path):
    X, y = _classes(30, seed=12)
    path = tmp_path / "logs" / "run.csv"
    history = _mlp().fit(
        X,
        y,
        epochs=4,
        batch_size=8,
        validation_split=0.2,
        metrics=["accuracy"],
        rng=0,
        callbacks=[CSVLogger(path)],
    )
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header == ["epoch", *history.history]
    assert {"loss", "val_loss", "accuracy", "val_accuracy", "lr"} <= set(header)
    assert [int(r[0]) for r in body] == [0, 1, 2, 3]
    for column, key in enumerate(header[1:], start=1):
        assert [float(r[column]) for r in body] == history.history[key]


def test_lambda_callback_returning_true_stops_training():
    X, y = _classes(12)
    seen = []
    history = _mlp().fit(
        X, y, epochs=10, callbacks=[LambdaCallback(lambda e, logs, m: seen.append(e) or e == 2)]
    )
    assert history.stopped_early and history.epoch == [0, 1, 2] and seen == [0, 1, 2]
    assert len(history.history["loss"]) == 3


# --- schedules ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "schedule",
    [
        fcnet.schedules.Step(step_size=2, gamma=0.5),
        fcnet.schedules.Cosine(total_epochs=7, warmup_epochs=2, min_lr=0.001),
    ],
    ids=["step", "cosine_warmup"],
)
def test_history_lr_follows_the_schedule(schedule):
    X, y = _classes(16, seed=15)
    history = _mlp().fit(X, y, optimizer="sgd", lr=0.2, epochs=7, batch_size=8, schedule=schedule)
    expected = [schedule.lr(e, 0.2) for e in range(7)]
    assert history.history["lr"] == expected
    assert len(set(expected)) > 2


def test_the_scheduled_lr_is_the_one_applied():
    X, y = _classes(16, seed=16)
    warm, plain = _mlp(), _mlp()
    # epoch 0 of a 1-epoch warm-up starts at base_lr / 2
    warm.fit(
        X,
        y,
        optimizer=SGD(lr=0.2),
        epochs=1,
        batch_size=16,
        shuffle=False,
        schedule=fcnet.schedules.Cosine(total_epochs=5, warmup_epochs=1),
    )
    plain.fit(X, y, optimizer=SGD(lr=0.1), epochs=1, batch_size=16, shuffle=False)
    _assert_same_params(warm.params(), plain.params(), exact=True)


def test_reduce_on_plateau_driven_by_val_loss_lowers_the_lr():
    X, Y, Xv, Yv = _overfitting_problem()
    schedule = fcnet.schedules.ReduceOnPlateau(monitor="val_loss", factor=0.5, patience=1)
    history = _mlp((4, 64, 1), seed=1).fit(
        X,
        Y,
        loss="mse",
        optimizer="adam",
        lr=0.03,
        epochs=12,
        batch_size=10,
        validation_data=(Xv, Yv),
        rng=0,
        schedule=schedule,
    )
    lrs, val = history.history["lr"], history.history["val_loss"]
    assert lrs[0] == 0.03 and lrs[-1] < 0.03
    assert all(b <= a for a, b in zip(lrs, lrs[1:], strict=False))
    # the first cut comes right after two epochs in a row without a new best val_loss
    first_cut = next(e for e in range(len(lrs)) if lrs[e] < 0.03)
    best_before = min(val[: first_cut - 2])
    assert min(val[first_cut - 2 : first_cut]) >= best_before * (1 - 1e-4)
    assert lrs[first_cut] == 0.015


# --- per-layer learning rate and frozen layers ---------------------------------------------------
def test_lr_mult_scales_that_layers_sgd_update():
    X, y = _classes(16, seed=13)
    plain, scaled = _mlp(), _mlp(lr_mult=0.1)
    before = _copy_params(plain)
    for model in (plain, scaled):
        model.fit(X, y, loss="cross_entropy", optimizer=SGD(lr=0.2), epochs=1, batch_size=16)
    for key in before:
        step_plain = plain.params()[key] - before[key]
        step_scaled = scaled.params()[key] - before[key]
        factor = 0.1 if key.startswith("0.") else 1.0
        assert np.abs(step_plain).max() > 1e-4
        np.testing.assert_allclose(step_scaled, factor * step_plain, rtol=1e-9, atol=1e-15)


def test_frozen_layer_keeps_bit_identical_parameters():
    X, y = _classes(16, seed=14)
    model = _mlp((4, 8, 8, 3))
    model.layers[1].trainable = False
    before = _copy_params(model)
    model.fit(X, y, optimizer="adam", lr=0.05, epochs=3, batch_size=4, rng=0, clip_norm=1.0)
    for key, value in model.params().items():
        if key.startswith("1."):
            np.testing.assert_array_equal(value, before[key])
        else:
            assert not np.array_equal(value, before[key])
    assert math.isfinite(model.evaluate(X, y)["loss"])
