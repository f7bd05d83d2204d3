"""Bad input, divergence, checkpoints and resume: errors come first, and no work is lost.

Peers fail here: fed NaN inputs, PyTorch, Keras, skorch and tinygrad train silently to a nan
loss; tinygrad returns a loss of -0.0 for a label outside the classes. fcnet raises one clear
message (who: what was wrong, expected, received) before any parameter or optimizer state
changes; a diverging run stops with the last finite parameters; a resumed run is bit-identical
to an uninterrupted one.
"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import fcnet
from fcnet.optimizers import SGD, Adam

# --- a trained model whose state must survive every bad call ---------------------------------


@dataclass
class Ctx:
    model: fcnet.Sequential
    opt: Any
    X: np.ndarray
    y: np.ndarray


def make_ctx(kind: str) -> Ctx:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4)).astype(np.float32)
    n_out = 1 if kind == "binary" else 3
    model = fcnet.Sequential(
        [
            fcnet.Dense(4, 8, activation="relu", rng=0),
            fcnet.Dropout(0.2),
            fcnet.Dense(8, n_out, rng=1),
        ]
    )
    y = np.arange(40) % 2 if kind == "binary" else np.arange(40) % 3
    opt = Adam(lr=0.01)
    model.fit(X, y, optimizer=opt, epochs=1, batch_size=8, rng=0)  # the optimizer has state now
    if kind == "named":
        model.classes = np.array(["ant", "bee", "cat"])
    return Ctx(model, opt, X, y)


def snapshot(ctx: Ctx) -> dict[str, Any]:
    return {
        "params": {k: v.copy() for k, v in ctx.model.params().items()},
        "opt_state": {k: {s: a.copy() for s, a in v.items()} for k, v in ctx.opt.state.items()},
        "opt_t": ctx.opt.t,
        "opt_lr": ctx.opt.lr,
        "classes": None if ctx.model.classes is None else ctx.model.classes.copy(),
        "task": ctx.model.task,
    }


def assert_unchanged(ctx: Ctx, before: dict[str, Any]) -> None:
    after = snapshot(ctx)
    assert after["params"].keys() == before["params"].keys()
    for key, value in before["params"].items():
        np.testing.assert_array_equal(after["params"][key], value, err_msg=key)
    assert after["opt_state"].keys() == before["opt_state"].keys()
    for key, slots in before["opt_state"].items():
        assert after["opt_state"][key].keys() == slots.keys()
        for slot, value in slots.items():
            np.testing.assert_array_equal(after["opt_state"][key][slot], value)
    assert after["opt_t"] == before["opt_t"]
    assert after["opt_lr"] == before["opt_lr"]
    if before["classes"] is None:
        assert after["classes"] is None
    else:
        np.testing.assert_array_equal(after["classes"], before["classes"])
    assert after["task"] == before["task"]


def with_value(A: np.ndarray, index: tuple[int, ...], value: Any) -> np.ndarray:
    A = A.astype(np.result_type(A, type(value))).copy()
    A[index] = value
    return A


def fit(ctx: Ctx, X: Any = None, y: Any = None, **kwargs: Any) -> Any:
    kwargs.setdefault("optimizer", ctx.opt)
    kwargs.setdefault("epochs", 1)
    kwargs.setdefault("batch_size", 8)
    return ctx.model.fit(ctx.X if X is None else X, ctx.y if y is None else y, rng=0, **kwargs)


@dataclass
class Case:
    id: str
    call: Callable[[Ctx], Any]
    error: type[Exception]
    match: str
    kind: str = "classes"


def _y_float(ctx: Ctx) -> np.ndarray:
    return ctx.y.astype(np.float64)


CASES = [
    # non-finite values, with row and column
    Case(
        "nan_in_X",
        lambda c: fit(c, with_value(c.X, (5, 2), np.nan)),
        ValueError,
        r"^fit: X contains NaN at row 5, column 2; clean or impute it",
    ),
    Case(
        "inf_in_X",
        lambda c: fit(c, with_value(c.X, (7, 1), -np.inf)),
        ValueError,
        r"^fit: X contains inf at row 7, column 1",
    ),
    Case(
        "X_beyond_float32",
        lambda c: fit(c, with_value(c.X.astype(np.float64), (3, 0), 1e300)),
        ValueError,
        r"^fit: X holds 1e\+300 at row 3, column 0, beyond the range of float32",
    ),
    Case(
        "nan_in_labels",
        lambda c: fit(c, y=with_value(_y_float(c), (3,), np.nan)),
        ValueError,
        r"^fit: y contains NaN at row 3; clean or impute it",
    ),
    Case(
        "inf_in_targets",
        lambda c: fit(c, y=with_value(np.zeros((40, 3)), (4, 2), np.inf), loss="mse"),
        ValueError,
        r"^fit: y contains inf at row 4, column 2",
    ),
    Case(
        "nan_in_validation_X",
        lambda c: fit(c, validation_data=(with_value(c.X, (1, 0), np.nan), c.y)),
        ValueError,
        r"^fit \(validation_data\): X contains NaN at row 1, column 0",
    ),
    Case(
        "nan_at_predict",
        lambda c: c.model.predict(with_value(c.X, (2, 3), np.nan)),
        ValueError,
        r"^predict: X contains NaN at row 2, column 3",
    ),
    # shapes
    Case(
        "empty_data",
        lambda c: fit(c, c.X[:0], c.y[:0]),
        ValueError,
        r"^fit: X is empty \(0 rows\); expected at least one sample",
    ),
    Case(
        "X_1d",
        lambda c: fit(c, c.X[:, 0]),
        ValueError,
        r"^fit: expected X to be 2-D \(m, n_features\), got 1-D shape \(40,\)",
    ),
    Case(
        "X_3d",
        lambda c: fit(c, c.X.reshape(40, 2, 2)),
        ValueError,
        r"^fit: expected X to be 2-D \(m, n_features\), got 3-D shape \(40, 2, 2\)",
    ),
    Case(
        "row_counts_differ",
        lambda c: fit(c, y=c.y[:-1]),
        ValueError,
        r"^fit: y has 39 rows but X has 40\.",
    ),
    Case(
        "wrong_features_at_fit",
        lambda c: fit(c, c.X[:, :3]),
        ValueError,
        r"^fit: expected X of shape \(m, 4\), got \(40, 3\)",
    ),
    Case(
        "wrong_features_at_predict",
        lambda c: c.model.predict(np.ones((5, 5))),
        ValueError,
        r"^predict: expected X of shape \(m, 4\), got \(5, 5\)",
    ),
    Case(
        "wrong_features_at_evaluate",
        lambda c: c.model.evaluate(np.ones((5, 2)), c.y[:5]),
        ValueError,
        r"^evaluate: expected X of shape \(m, 4\), got \(5, 2\)",
    ),
    Case(
        "validation_rows_differ",
        lambda c: fit(c, validation_data=(c.X, c.y[:10])),
        ValueError,
        r"^fit: validation y has 10 rows but validation X has 40",
    ),
    # labels
    Case(
        "label_outside_classes",
        lambda c: fit(c, y=with_value(c.y, (12,), 7)),
        ValueError,
        r"^SoftmaxCrossEntropy: labels must be integers in \[0, 3\), got 7 at row 12",
    ),
    Case(
        "negative_label",
        lambda c: fit(c, y=with_value(c.y, (0,), -1)),
        ValueError,
        r"labels must be integers in \[0, 3\), got -1 at row 0",
    ),
    Case(
        "fractional_label",
        lambda c: fit(c, y=with_value(_y_float(c), (6,), 0.5)),
        ValueError,
        r"labels must be integers in \[0, 3\), got 0.5 at row 6",
    ),
    Case(
        "label_not_among_model_classes",
        lambda c: fit(c, y=np.array(["ant", "bee", "cow", "cat"] * 10)),
        ValueError,
        r"^fit: label 'cow' at row 2 is not one of the model's classes \['ant', 'bee', 'cat'\]",
        kind="named",
    ),
    Case(
        "validation_label_outside",
        lambda c: fit(c, validation_data=(c.X, c.y + 10)),
        ValueError,
        r"labels must be integers in \[0, 3\), got 10 at row 0",
    ),
    Case(
        "one_class_only",
        lambda c: fit(c, y=np.zeros(40, dtype=int)),
        ValueError,
        r"^fit: y holds one class only \(0\); a classifier needs at least two",
    ),
    Case(
        "one_class_only_binary",
        lambda c: fit(c, y=np.ones(40, dtype=int)),
        ValueError,
        r"^fit: y holds one class only \(1\); a binary classifier needs both 0 and 1",
        kind="binary",
    ),
    Case(
        "binary_target_outside_0_1",
        lambda c: fit(c, y=with_value(_y_float(c), (9,), 2.0), loss="binary_cross_entropy"),
        ValueError,
        r"^BinaryCrossEntropy: targets must lie in \[0, 1\], got 2.0 at row 9",
        kind="binary",
    ),
    Case(
        "string_labels_then_bad_weights",
        lambda c: fit(c, y=np.array(["a", "b"] * 20), sample_weight=-np.ones(40)),
        ValueError,
        r"^fit: sample_weight must be >= 0, got -1.0 at row 0",
        kind="binary",
    ),
    # dtypes
    Case(
        "object_X",
        lambda c: fit(c, c.X.astype(object)),
        TypeError,
        r"^fit: expected X to hold numbers, got dtype object",
    ),
    Case(
        "string_X",
        lambda c: fit(c, c.X.astype(str)),
        TypeError,
        r"^fit: expected X to hold numbers, got dtype <U",
    ),
    Case(
        "complex_X",
        lambda c: fit(c, c.X.astype(complex)),
        TypeError,
        r"^fit: expected X to hold real numbers, got dtype complex128",
    ),
    Case(
        "complex_labels",
        lambda c: fit(c, y=c.y.astype(complex)),
        TypeError,
        r"labels must be integers, got dtype complex128",
    ),
    Case(
        "ragged_X",
        lambda c: fit(c, [[1.0, 2.0, 3.0, 4.0], [1.0]], [0, 1]),
        ValueError,
        r"^fit: X could not be read as an array",
    ),
    # hyperparameters
    Case(
        "batch_size_zero",
        lambda c: fit(c, batch_size=0),
        ValueError,
        r"^fit: expected batch_size to be a positive integer, got 0\.",
    ),
    Case(
        "batch_size_negative",
        lambda c: fit(c, batch_size=-5),
        ValueError,
        r"^fit: expected batch_size to be a positive integer, got -5\.",
    ),
    Case(
        "epochs_zero",
        lambda c: fit(c, epochs=0),
        ValueError,
        r"^fit: expected epochs to be a positive integer, got 0\.",
    ),
    Case(
        "epochs_float",
        lambda c: fit(c, epochs=2.5),
        TypeError,
        r"^fit: expected epochs to be a positive integer, got 2.5\.",
    ),
    Case(
        "lr_zero",
        lambda c: fit(c, lr=0.0),
        ValueError,
        r"^fit: expected lr in \(0.0, inf\), got 0.0",
    ),
    Case(
        "lr_negative",
        lambda c: fit(c, lr=-0.1),
        ValueError,
        r"^fit: expected lr in \(0.0, inf\), got -0.1",
    ),
    Case(
        "lr_nan",
        lambda c: fit(c, lr=float("nan")),
        ValueError,
        r"^fit: expected lr in \(0.0, inf\), got nan",
    ),
    Case(
        "lr_override_with_bad_X",
        lambda c: fit(c, with_value(c.X, (0, 0), np.nan), lr=0.5),
        ValueError,
        r"^fit: X contains NaN at row 0, column 0",
    ),
    Case(
        "dropout_p_one",
        lambda c: fcnet.Dropout(1.0),
        ValueError,
        r"^Dropout: expected p in \[0.0, 1.0\), got 1.0",
    ),
    Case(
        "dropout_p_negative",
        lambda c: fcnet.Dropout(-0.1),
        ValueError,
        r"^Dropout: expected p in \[0.0, 1.0\), got -0.1",
    ),
    Case(
        "validation_split_one",
        lambda c: fit(c, validation_split=1.0),
        ValueError,
        r"^fit: expected validation_split in \[0.0, 1.0\), got 1.0",
    ),
    Case(
        "clip_norm_negative",
        lambda c: fit(c, clip_norm=-1.0),
        ValueError,
        r"^fit: expected clip_norm in \(0.0, inf\), got -1.0",
    ),
    Case(
        "resume_without_checkpoint",
        lambda c: fit(c, resume=True),
        ValueError,
        r"^fit: resume=True needs checkpoint=PATH, got checkpoint=None",
    ),
    # weights
    Case(
        "sample_weight_length",
        lambda c: fit(c, sample_weight=np.ones(39)),
        ValueError,
        r"^fit: expected sample_weight of shape \(40,\), got \(39,\)",
    ),
    Case(
        "sample_weight_negative",
        lambda c: fit(c, sample_weight=with_value(np.ones(40), (3,), -1.0)),
        ValueError,
        r"^fit: sample_weight must be >= 0, got -1.0 at row 3",
    ),
    Case(
        "sample_weight_all_zero",
        lambda c: fit(c, sample_weight=np.zeros(40)),
        ValueError,
        r"^fit: sample_weight is all zero; at least one weight must be > 0",
    ),
    Case(
        "class_weight_negative",
        lambda c: fit(c, class_weight={0: -1.0}),
        ValueError,
        r"^fit: expected class_weight\[0\] in \[0.0, inf\), got -1.0",
    ),
    # names
    Case(
        "unknown_activation",
        lambda c: fcnet.Dense(4, 2, activation="relu6"),
        ValueError,
        r"^activations: unknown activation 'relu6'; expected one of .*'relu'.*'tanh'",
    ),
    Case(
        "unknown_loss",
        lambda c: fit(c, loss="crossentropy"),
        ValueError,
        r"^losses: unknown loss 'crossentropy'; expected one of .*'cross_entropy'.*'mse'",
    ),
    Case(
        "unknown_optimizer",
        lambda c: fit(c, optimizer="adamax"),
        ValueError,
        r"^optimizers: unknown optimizer 'adamax'; expected one of 'adam', 'adamw', 'rmsprop', "
        r"'sgd'",
    ),
    Case(
        "unknown_metric",
        lambda c: fit(c, metrics=["acc"]),
        ValueError,
        r"^metrics: unknown metric 'acc'; expected one of .*'accuracy'",
    ),
    # losses that do not fit the output
    Case(
        "cross_entropy_on_one_output",
        lambda c: fit(c, loss="cross_entropy"),
        ValueError,
        r"^fit: loss 'cross_entropy' needs one output per class \(at least 2\), but the model "
        r"has 1",
        kind="binary",
    ),
    Case(
        "mse_targets_wrong_width",
        lambda c: fit(c, y=np.zeros((40, 2)), loss="mse"),
        ValueError,
        r"^MSE: expected targets of shape \(m, 3\) to match the output, got \(40, 2\)",
    ),
    Case(
        "probability_rows_wrong_width",
        lambda c: fit(c, y=np.full((40, 2), 0.5), loss="cross_entropy"),
        ValueError,
        r"expected integer labels \(m,\) or probability rows \(m, 3\), got shape "
        r"\(40, 2\)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_raises_a_clear_message_before_any_state_changes(case):
    ctx = make_ctx(case.kind)
    before = snapshot(ctx)
    with pytest.raises(case.error, match=case.match) as info:
        case.call(ctx)
    message = str(info.value)
    assert re.match(r"^[\w ()]+: \S", message), message  # "who: ..."
    assert message.endswith((".", ")")), message
    assert_unchanged(ctx, before)


def test_the_catalogue_is_large():
    assert len(CASES) >= 30


def test_a_layer_that_cannot_be_saved_fails_before_training(tmp_path):
    class Doubler:
        def forward(self, X, training=False):
            return 2 * X

        def backward(self, dA):
            return 2 * dA

        def params(self):
            return {}

        def grads(self):
            return {}

    model = fcnet.Sequential([fcnet.Dense(4, 3, rng=0), Doubler()])
    before = model.layers[0].W.copy()
    X = np.ones((6, 4), dtype=np.float32)
    with pytest.raises(TypeError, match="Doubler has no get_config"):
        model.fit(X, np.arange(6) % 3, checkpoint=tmp_path / "c.ckpt", rng=0)
    np.testing.assert_array_equal(model.layers[0].W, before)
    assert not (tmp_path / "c.ckpt").exists()


# --- divergence -------------------------------------------------------------------------------


class Recording(SGD):
    """SGD that keeps a copy of the parameters after each of its steps."""

    def step(self, params, grads, lr_scale=None):
        super().step(params, grads, lr_scale)
        self.after = {k: v.copy() for k, v in params.items()}
        self.state_after = {k: {s: a.copy() for s, a in v.items()} for k, v in self.state.items()}


def exploding_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5])).astype(np.float32)
    model = fcnet.Sequential(
        [fcnet.Dense(3, 16, activation="tanh", rng=0), fcnet.Dense(16, 1, rng=1)]
    )
    return model, X, y


@pytest.mark.parametrize("errors", ["raise", "ignore"])
def test_divergence_stops_with_the_parameters_before_the_bad_step(errors):
    """lr = 1 with momentum explodes; np.errstate decides only how numpy reports it."""
    model, X, y = exploding_regression()
    opt = Recording(lr=1.0, momentum=0.9)
    with (
        np.errstate(over=errors, invalid=errors, divide=errors),
        pytest.raises(fcnet.TrainingDiverged) as info,
    ):
        model.fit(X, y, loss="mse", optimizer=opt, epochs=50, batch_size=16, rng=0)
    exc = info.value
    assert isinstance(exc, FloatingPointError)
    message = str(exc)
    assert f"epoch {exc.epoch}, batch {exc.batch}" in message
    assert "smaller learning rate" in message
    assert exc.epoch >= 1  # some epochs completed and are kept
    assert len(exc.history.epoch) == exc.epoch == len(exc.history.history["loss"])
    assert all(np.isfinite(exc.history.history["loss"]))
    # the bad step never reached the optimizer: the parameters and the optimizer state are
    # exactly those after the last good step
    assert opt.t == 4 * exc.epoch + exc.batch
    for key, value in model.params().items():
        assert np.isfinite(value).all()
        np.testing.assert_array_equal(value, opt.after[key])
    for key, slots in opt.state.items():
        np.testing.assert_array_equal(slots["momentum"], opt.state_after[key]["momentum"])


def test_divergence_matches_a_run_stopped_one_step_earlier():
    model, X, y = exploding_regression()
    with pytest.raises(fcnet.TrainingDiverged) as info:
        model.fit(
            X, y, loss="mse", optimizer=SGD(lr=1.0, momentum=0.9), epochs=50, batch_size=16, rng=0
        )
    good_steps = 4 * info.value.epoch + info.value.batch

    class StopAfter(SGD):
        def step(self, params, grads, lr_scale=None):
            super().step(params, grads, lr_scale)
            if self.t == good_steps:
                raise KeyboardInterrupt  # stop the replay after its last good step

    replay, _, _ = exploding_regression()
    with pytest.raises(KeyboardInterrupt):
        replay.fit(
            X,
            y,
            loss="mse",
            optimizer=StopAfter(lr=1.0, momentum=0.9),
            epochs=50,
            batch_size=16,
            rng=0,
        )
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, replay.params()[key])


class PoisonGradient:
    """Identity in forward; backward injects NaN into dX on a chosen call (a buggy user layer)."""

    def __init__(self, on_call: int) -> None:
        self.on_call = on_call
        self.calls = 0

    def forward(self, X, training=False):
        return X

    def backward(self, dA):
        self.calls += 1
        dX = dA.copy()
        if self.calls == self.on_call:
            dX[0, 0] = np.nan
        return dX

    def params(self):
        return {}

    def grads(self):
        return {}


def test_nan_in_a_gradient_only_is_caught_before_the_update(blobs):
    X, y = blobs
    poison = PoisonGradient(on_call=7)
    model = fcnet.Sequential([fcnet.Dense(4, 8, rng=0), poison, fcnet.Dense(8, 3, rng=1)])
    opt = Recording(lr=0.1)
    with pytest.raises(
        fcnet.TrainingDiverged, match=r"epoch 0, batch 6: a gradient is nan"
    ) as info:
        model.fit(X, y, optimizer=opt, epochs=3, batch_size=16, shuffle=False, rng=0)
    assert info.value.history.epoch == []
    assert opt.t == 6
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, opt.after[key])


class OwnDense:
    """A user's layer written the plain way: new gradient arrays on every backward."""

    def __init__(self, n_in, n_out, rng, poison_on=None):
        self.W = (0.5 * np.random.default_rng(rng).normal(size=(n_in, n_out))).astype(np.float32)
        self.b = np.zeros(n_out, dtype=np.float32)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self.poison_on, self.calls = poison_on, 0

    def forward(self, X, training=False):
        self.X = X
        return X @ self.W + self.b

    def backward(self, dA):
        self.calls += 1
        self.dW = self.X.T @ dA
        self.db = dA.sum(axis=0)
        if self.calls == self.poison_on:
            self.db = np.full_like(self.db, np.nan)
        return dA @ self.W.T

    def params(self):
        return {"W": self.W, "b": self.b}

    def grads(self):
        return {"W": self.dW, "b": self.db}


def test_a_user_layer_that_allocates_its_gradients_is_trained(blobs):
    X, y = blobs
    model = fcnet.Sequential([OwnDense(4, 3, rng=0)])
    history = model.fit(X, y, optimizer="sgd", lr=0.1, epochs=10, batch_size=16, rng=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_nan_in_a_user_layers_own_gradient_is_caught(blobs):
    X, y = blobs
    model = fcnet.Sequential([OwnDense(4, 3, rng=0, poison_on=3)])
    opt = Recording(lr=0.1)
    with pytest.raises(fcnet.TrainingDiverged, match="batch 2: a gradient is nan"):
        model.fit(X, y, optimizer=opt, epochs=2, batch_size=16, rng=0)
    assert opt.t == 2
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, opt.after[key])


# --- checkpoints and resume -------------------------------------------------------------------


class PassThrough:
    """A user's layer without parameters whose backward passes dA on unchanged."""

    def backward(self, dA):
        return dA

    def params(self):
        return {}

    def grads(self):
        return {}

    def get_config(self):
        return {}


class Tripwire(PassThrough):
    """Identity layer that sends this process SIGINT on its n-th training forward (0 = never)."""

    def __init__(self, on_call: int = 0) -> None:
        self.on_call = on_call
        self.calls = 0

    def forward(self, X, training=False):
        if training:
            self.calls += 1
            if self.calls == self.on_call:
                signal.raise_signal(signal.SIGINT)
        return X


def classifier(trip_on: int = 0) -> fcnet.Sequential:
    return fcnet.Sequential(
        [
            fcnet.Dense(4, 16, activation="relu", rng=0),
            fcnet.Dropout(0.3),
            Tripwire(trip_on),
            fcnet.Dense(16, 3, rng=1),
        ]
    )


OPTIMIZERS = {
    "sgd_momentum": lambda: SGD(lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda: Adam(lr=0.01),
}
TRAIN = dict(batch_size=16, validation_split=0.2, metrics=["accuracy"], rng=3)


def assert_same_run(model_a, history_a, model_b, history_b):
    for key, value in model_a.params().items():
        np.testing.assert_array_equal(value, model_b.params()[key], err_msg=key)
    assert history_a.history == history_b.history
    assert history_a.epoch == history_b.epoch


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_k_then_n_minus_k_epochs_with_resume_is_bit_identical(tmp_path, blobs, optimizer):
    X, y = blobs
    whole = classifier()
    history = whole.fit(X, y, optimizer=OPTIMIZERS[optimizer](), epochs=5, **TRAIN)

    path = tmp_path / "run.ckpt"
    first = classifier()
    first.fit(X, y, optimizer=OPTIMIZERS[optimizer](), epochs=2, checkpoint=path, **TRAIN)
    resumed = classifier()  # as in a new process: fresh model, fresh optimizer
    rest = resumed.fit(
        X, y, optimizer=OPTIMIZERS[optimizer](), epochs=5, checkpoint=path, resume=True, **TRAIN
    )
    assert_same_run(whole, history, resumed, rest)
    assert rest.epoch == [0, 1, 2, 3, 4] and len(rest.history["val_loss"]) == 5


def test_resume_with_no_epochs_left_trains_nothing_and_warns(tmp_path, blobs):
    X, y = blobs
    path = tmp_path / "run.ckpt"
    model = classifier()
    model.fit(X, y, optimizer="sgd", epochs=2, checkpoint=path, **TRAIN)
    trained = {k: v.copy() for k, v in model.params().items()}
    for epochs in (2, 1):
        resumed = classifier()
        with pytest.warns(
            UserWarning, match=rf"already holds 2 epoch\(s\) and epochs={epochs}: nothing more"
        ):
            history = resumed.fit(
                X, y, optimizer="sgd", epochs=epochs, checkpoint=path, resume=True, **TRAIN
            )
        assert history.epoch == [0, 1]
        for key, value in resumed.params().items():
            np.testing.assert_array_equal(value, trained[key])


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_resume_after_an_interrupt_mid_epoch_is_bit_identical(tmp_path, blobs, optimizer):
    X, y = blobs
    whole = classifier()
    history = whole.fit(X, y, optimizer=OPTIMIZERS[optimizer](), epochs=4, **TRAIN)

    path = tmp_path / "run.ckpt"
    # 120 training rows, batch 16: 8 steps per epoch; the 19th step is step 2 of epoch 2
    interrupted = classifier(trip_on=19)
    partial = interrupted.fit(
        X, y, optimizer=OPTIMIZERS[optimizer](), epochs=4, checkpoint=path, **TRAIN
    )
    assert partial.interrupted and partial.epoch == [0, 1]
    resumed = classifier()
    rest = resumed.fit(
        X, y, optimizer=OPTIMIZERS[optimizer](), epochs=4, checkpoint=path, resume=True, **TRAIN
    )
    assert not rest.interrupted
    assert_same_run(whole, history, resumed, rest)


def test_an_interrupt_without_checkpoint_returns_a_consistent_model(blobs):
    X, y = blobs
    model = classifier(trip_on=3)
    history = model.fit(X, y, epochs=3, **TRAIN)
    assert history.interrupted and history.epoch == []
    assert all(np.isfinite(p).all() for p in model.params().values())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_the_checkpoint_is_written_after_every_epoch(tmp_path, blobs):
    X, y = blobs
    path = tmp_path / "every.ckpt"
    seen = []

    def check(epoch, logs, model):
        # on_epoch_end runs before the epoch's checkpoint: the file holds the previous epoch
        if epoch:
            resumed = classifier()
            with pytest.warns(UserWarning, match="nothing more was trained"):
                done = resumed.fit(X, y, epochs=epoch, checkpoint=path, resume=True, **TRAIN)
            seen.append(len(done.epoch))

    classifier().fit(
        X, y, epochs=4, checkpoint=path, callbacks=[fcnet.callbacks.LambdaCallback(check)], **TRAIN
    )
    assert seen == [1, 2, 3]
    assert [p.name for p in tmp_path.iterdir()] == ["every.ckpt"]  # no temporary files left


def test_resume_with_other_settings_is_refused_before_any_change(tmp_path, blobs):
    X, y = blobs
    path = tmp_path / "run.ckpt"
    classifier().fit(X, y, optimizer=Adam(lr=0.01), epochs=1, checkpoint=path, **TRAIN)
    model, opt = classifier(), SGD(lr=0.1, momentum=0.9)
    ctx = Ctx(model, opt, X, y)
    before = snapshot(ctx)
    with pytest.raises(
        ValueError,
        match=r"run.ckpt': the checkpoint was written with optimizer "
        r"'adam', this call uses 'sgd'",
    ):
        model.fit(X, y, optimizer=opt, epochs=2, checkpoint=path, resume=True, **TRAIN)
    with pytest.raises(ValueError, match=r"used batch_size=16, this call has 8"):
        model.fit(
            X,
            y,
            optimizer=opt,
            epochs=2,
            checkpoint=path,
            resume=True,
            **{**TRAIN, "batch_size": 8},
        )
    other = fcnet.Sequential([fcnet.Dense(4, 3, rng=0)])
    with pytest.raises(ValueError, match="different architecture"):
        other.fit(X, y, epochs=2, checkpoint=path, resume=True, **TRAIN)
    assert_unchanged(ctx, before)


def test_resume_with_another_seed_keeps_the_checkpoints_validation_rows(tmp_path):
    """The held-out rows come from the checkpoint, so no validation row is ever trained on."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    path = tmp_path / "run.ckpt"

    def model():
        return fcnet.Sequential([fcnet.Dense(3, 4, "tanh", rng=0), fcnet.Dense(4, 2, rng=1)])

    first = model()
    first.fit(X, y, epochs=1, validation_split=0.25, checkpoint=path, rng=1)
    resumed = model()
    history = resumed.fit(
        X, y, epochs=2, validation_split=0.25, checkpoint=path, resume=True, rng=999
    )
    full = model()
    reference = full.fit(X, y, epochs=2, validation_split=0.25, rng=1)
    assert history.history["val_loss"][1] == reference.history["val_loss"][1]


@pytest.mark.parametrize("batch_size", [0, -5, 2.5])
def test_predict_and_evaluate_reject_a_bad_batch_size(batch_size):
    model = fcnet.Sequential([fcnet.Dense(3, 2, rng=0)])
    X = np.zeros((10, 3), np.float32)
    expected = rf"^predict: expected batch_size to be a positive integer, got {batch_size!r}\.$"
    with pytest.raises((ValueError, TypeError), match=expected):
        model.predict_output(X, batch_size=batch_size)
    with pytest.raises((ValueError, TypeError), match=r"^evaluate: expected batch_size"):
        model.evaluate(X, np.zeros(10, np.int64), batch_size=batch_size)


def test_resume_with_validation_data_and_a_split_keeps_the_validation_data(tmp_path):
    """validation_data takes precedence over validation_split, in a resumed fit too."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    Xv, yv = X[:20] + 0.1, y[:20]
    path = tmp_path / "run.ckpt"

    def model():
        return fcnet.Sequential([fcnet.Dense(3, 4, "tanh", rng=0), fcnet.Dense(4, 2, rng=1)])

    settings = dict(validation_data=(Xv, yv), validation_split=0.25, rng=1)
    model().fit(X, y, epochs=1, checkpoint=path, **settings)
    history = model().fit(X, y, epochs=2, checkpoint=path, resume=True, **settings)
    reference = model().fit(X, y, epochs=2, **settings)
    assert history.history["val_loss"] == reference.history["val_loss"]


class GaussianNoise(PassThrough):
    """A layer of the user's that draws in training and leaves ``rng`` for ``fit`` to set."""

    def __init__(self, scale: float = 0.3) -> None:
        self.scale = scale
        self.rng = None

    def forward(self, X, training=False):
        if not training:
            return X
        return X + self.rng.normal(scale=self.scale, size=X.shape).astype(X.dtype)

    def get_config(self):
        return {"scale": self.scale}


def noisy_classifier() -> fcnet.Sequential:
    return fcnet.Sequential(
        [fcnet.Dense(4, 16, activation="relu", rng=0), GaussianNoise(), fcnet.Dense(16, 3, rng=1)]
    )


def test_a_users_layer_with_rng_none_gets_a_seeded_generator_and_resumes_bit_identical(
    tmp_path, blobs
):
    X, y = blobs
    whole = noisy_classifier()
    history = whole.fit(X, y, optimizer=Adam(lr=0.01), epochs=4, **TRAIN)
    again = noisy_classifier()
    assert_same_run(
        whole, history, again, again.fit(X, y, optimizer=Adam(lr=0.01), epochs=4, **TRAIN)
    )

    path = tmp_path / "run.ckpt"
    noisy_classifier().fit(X, y, optimizer=Adam(lr=0.01), epochs=2, checkpoint=path, **TRAIN)
    resumed = noisy_classifier()
    rest = resumed.fit(
        X, y, optimizer=Adam(lr=0.01), epochs=4, checkpoint=path, resume=True, **TRAIN
    )
    assert_same_run(whole, history, resumed, rest)


def test_resuming_on_other_training_data_is_refused(tmp_path, blobs):
    X, y = blobs
    path = tmp_path / "run.ckpt"
    classifier().fit(X, y, optimizer=Adam(lr=0.01), epochs=2, checkpoint=path, **TRAIN)
    order = np.random.default_rng(9).permutation(len(X))  # the same rows, in another order
    for other_X, other_y in ((X[order], y[order]), (X + 1.0, y), (X, (y + 1) % 3)):
        model = classifier()
        before = {k: v.copy() for k, v in model.params().items()}
        with pytest.raises(ValueError, match=r"run.ckpt': the checkpoint was written for other"):
            model.fit(
                other_X,
                other_y,
                optimizer=Adam(lr=0.01),
                epochs=4,
                checkpoint=path,
                resume=True,
                **TRAIN,
            )
        for key, value in model.params().items():
            np.testing.assert_array_equal(value, before[key])
    resumed = classifier()  # the same data still resumes
    resumed.fit(X, y, optimizer=Adam(lr=0.01), epochs=3, checkpoint=path, resume=True, **TRAIN)


def test_resuming_a_run_that_stopped_early_trains_no_further(tmp_path, blobs):
    X, y = blobs
    path = tmp_path / "run.ckpt"
    model = classifier()

    def stopper():  # min_delta so large that no epoch improves: stops after patience epochs
        return fcnet.callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=1e9)

    options = dict(optimizer=Adam(lr=0.01), epochs=10, checkpoint=path, **TRAIN)
    history = model.fit(X, y, callbacks=[stopper()], **options)
    assert history.stopped_early and len(history.epoch) == 3  # its patience runs out at epoch 2
    resumed = classifier()
    again = resumed.fit(X, y, callbacks=[stopper()], resume=True, **options)
    assert again.stopped_early and again.epoch == history.epoch
    assert again.history == history.history
    for key, value in model.params().items():
        np.testing.assert_array_equal(resumed.params()[key], value)


def test_resuming_with_other_layer_widths_names_the_architecture(tmp_path, blobs):
    X, y = blobs
    path = tmp_path / "run.ckpt"
    classifier().fit(X, y, optimizer=Adam(lr=0.01), epochs=1, checkpoint=path, **TRAIN)
    wider = fcnet.Sequential(
        [
            fcnet.Dense(4, 32, activation="relu", rng=0),
            fcnet.Dropout(0.3),
            Tripwire(0),
            fcnet.Dense(32, 3, rng=1),
        ]
    )
    with pytest.raises(
        ValueError,
        match=r"run.ckpt': tensor '0.W' has shape \(4, 16\), the architecture expects \(4, 32\)\. "
        "The checkpoint was written for a different architecture.",
    ):
        wider.fit(X, y, optimizer=Adam(lr=0.01), epochs=2, checkpoint=path, resume=True, **TRAIN)


def test_a_checkpoint_whose_early_stopping_copy_lacks_a_parameter_is_refused(tmp_path, blobs):
    from fcnet import io

    X, y = blobs
    path = tmp_path / "run.ckpt"
    options = dict(optimizer=Adam(lr=0.01), epochs=2, checkpoint=path, **TRAIN)
    classifier().fit(X, y, callbacks=[fcnet.callbacks.EarlyStopping(monitor="loss")], **options)
    tensors, metadata = io.read_tensors(path)
    saved = [k for k in tensors if k.startswith("callback0/") and k.endswith("0.W")]
    assert len(saved) == 1
    del tensors[saved[0]]  # and from the list of its arrays: a well-formed but wrong state
    training = json.loads(metadata["training"])
    training["callbacks"][0]["best_params"]["__arrays__"].remove("0.W")
    metadata["training"] = json.dumps(training)
    io.write_tensors(path, tensors, metadata)
    model = classifier()
    before = {k: v.copy() for k, v in model.params().items()}
    with pytest.raises(ValueError, match=r"run.ckpt': the saved EarlyStopping state holds"):
        model.fit(
            X, y, callbacks=[fcnet.callbacks.EarlyStopping(monitor="loss")], resume=True, **options
        )
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, before[key])


class TransposedGradient(PassThrough):
    """A user's layer with a weight whose gradient is a transposed view, written in place: on
    the ``bad_call``-th backward it is NaN."""

    def __init__(self, bad_call: int) -> None:
        self.w = np.ones((3, 2))
        self._dw = np.zeros((2, 3))
        self.dw = self._dw.T  # (3, 2), not contiguous: the same array object at every step
        self.bad_call, self.calls = bad_call, 0

    def forward(self, X, training=False):
        return X

    def backward(self, dA):
        self.calls += 1
        self._dw[...] = np.nan if self.calls == self.bad_call else 0.5
        return dA

    def params(self):
        return {"w": self.w}

    def grads(self):
        return {"w": self.dw}


def test_a_nan_in_a_gradient_that_is_a_view_of_another_layout_is_caught():
    model = fcnet.Sequential([fcnet.Dense(4, 3, rng=0), TransposedGradient(bad_call=2)])
    with pytest.raises(fcnet.TrainingDiverged, match=r"epoch 0, batch 1: a gradient is nan"):
        model.fit(
            np.ones((8, 4)), np.zeros((8, 3)), loss="mse", optimizer="sgd", lr=0.1, batch_size=4
        )
    np.testing.assert_array_equal(model.layers[1].w, 1.0 - 0.1 * 0.5)  # the first step only


# --- divergence when plain SGD updates W straight from dZ -------------------------------------
def chain(W0: float, W1: float) -> fcnet.Sequential:
    model = fcnet.Sequential([fcnet.Dense(1, 1, init="zeros"), fcnet.Dense(1, 1, init="zeros")])
    model.layers[0].W[...] = W0
    model.layers[1].W[...] = W1
    return model


@pytest.mark.parametrize("errors", ["raise", "ignore"])
def test_plain_sgd_checks_every_dZ_before_updating_any_layer(errors):
    """dX of the last layer overflows: the first layer's dZ is inf while the last layer's is
    finite. No layer is updated, the last one included."""
    model = chain(1e-10, 1e28)  # output 1e18: a finite loss; dX = 1e18 * 1e28 overflows
    before = {k: v.copy() for k, v in model.params().items()}
    with (
        np.errstate(over=errors, invalid=errors),
        pytest.raises(fcnet.TrainingDiverged, match=r"batch 0: (a gradient is inf|numpy)") as info,
    ):
        model.fit(np.ones((1, 1)), np.zeros((1, 1)), loss="mse", optimizer="sgd", epochs=1)
    assert "last finite state (before this step)" in str(info.value)
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, before[key])


def diverging_fits(monkeypatch, X, Y, loss=lambda: "mse", **options):
    """fit a 256-128 Dense on (X, Y) by plain SGD, with the Dense step (``Dense.sgd_step``) and
    with the optimizer's route: (message of the TrainingDiverged or None, W) of each."""
    from fcnet.train import loop

    outcomes = []
    for route in ("dense", "optimizer"):
        if route == "optimizer":
            monkeypatch.setattr(loop, "fused_sgd_layers", lambda *args: {})
        model = fcnet.Sequential([fcnet.Dense(256, 128, rng=0)])
        model.layers[0].W[0] = 0
        message = None
        try:
            model.fit(X, Y, loss=loss(), optimizer="sgd", shuffle=False, **options)
        except fcnet.TrainingDiverged as exc:
            message = str(exc)
        outcomes.append((message, model.layers[0].W.copy()))
    return outcomes


def assert_both_stop_at(batch, *messages):
    """Both routes stopped at ``batch`` of epoch 0 with the state before that step."""
    for message in messages:
        assert message is not None and f"epoch 0, batch {batch}:" in message
        assert "last finite state (before this step)" in message


@pytest.mark.parametrize("errors", ["raise", "ignore"])
def test_plain_sgd_catches_a_weight_gradient_that_overflows_as_the_optimizer_does(
    monkeypatch, errors
):
    """At batch 2 the loss is finite but X^T dZ overflows: the Dense step, which never computes
    X^T dZ, stops at the same step with the same parameters as the optimizer's route."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 256)).astype(np.float32)
    Y = rng.standard_normal((16, 128)).astype(np.float32)
    X[:, 0] = 0
    X[8:12, 0] = 1e30
    Y[8:12] = 1e10
    with np.errstate(over=errors, invalid=errors):
        (dense, W_dense), (optimizer, W_optimizer) = diverging_fits(
            monkeypatch, X, Y, lr=1e-3, epochs=1, batch_size=4
        )
    assert_both_stop_at(2, dense, optimizer)
    if errors == "ignore":  # with "raise", numpy names the operation that overflowed first
        assert dense == optimizer
    np.testing.assert_allclose(W_dense, W_optimizer, rtol=1e-5, atol=1e-7)  # two good steps
    assert np.isfinite(W_dense).all()


def test_plain_sgd_interrupted_after_an_overflowing_gradient_stops_as_the_optimizer_does(
    monkeypatch, tmp_path
):
    """Ctrl-C arrives during the step whose X^T dZ overflows: training diverges there, on both
    routes, rather than returning (and checkpointing) non-finite weights."""
    from fcnet.losses import MSE

    class Interrupting(MSE):
        def forward(self, *args, **kwargs):
            if not hasattr(self, "sent"):  # during the first step
                self.sent = True
                signal.raise_signal(signal.SIGINT)
            return super().forward(*args, **kwargs)

    X = np.zeros((8, 256), np.float32)
    X[:, 0] = 1e30  # finite inputs, which meet the zero row 0 of W: the output is b = 0
    Y = np.full((8, 128), 1e18, np.float32)  # a finite loss; X^T dZ ~ 1e48 overflows
    with np.errstate(over="ignore", invalid="ignore"):
        (dense, W_dense), (optimizer, W_optimizer) = diverging_fits(
            monkeypatch,
            X,
            Y,
            loss=Interrupting,
            lr=0.01,
            epochs=2,
            batch_size=4,
            checkpoint=tmp_path / "run.ckpt",
        )
    assert dense is not None and "epoch 0, batch 0: a gradient is inf" in dense
    assert dense == optimizer
    np.testing.assert_array_equal(W_dense, W_optimizer)  # as before the first step
    assert not (tmp_path / "run.ckpt").exists()


def test_plain_sgd_bound_follows_the_weights_through_many_steps(monkeypatch):
    """Weights far from the limit but growing: no step is refused, and none overflows."""
    from fcnet.train.fused_sgd import DenseSGD

    checks = []
    original = DenseSGD.check

    def spy(self, lr, weight_decay):
        total = original(self, lr, weight_decay)
        checks.append(list(self._after))
        return total

    monkeypatch.setattr(DenseSGD, "check", spy)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 256)).astype(np.float32)
    Y = 1e3 * rng.standard_normal((64, 128)).astype(np.float32)
    model = fcnet.Sequential([fcnet.Dense(256, 128, rng=0)])
    model.fit(X, Y, loss="mse", optimizer="sgd", lr=1e-3, epochs=3, batch_size=8)
    assert len(checks) == 24 and all(bound is not None for (bound,) in checks)
    # the bound is an upper bound of max |W| after each step, here the last one
    assert np.abs(model.layers[0].W).max() <= checks[-1][0]


@pytest.mark.parametrize("errors", ["raise", "ignore"])
def test_plain_sgd_whose_dW_sum_of_squares_overflows_stops_where_the_optimizer_does(
    monkeypatch, errors
):
    """dW is finite but ||dW||^2 is not (float32): the optimizer's route stops at the first
    step, and so must the Dense step, which refuses the bound when ||X||^2 ||dZ||^2 is too big."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 256)).astype(np.float32)
    X[:, 0] = 1e10
    Y = np.full((16, 128), 1e17, np.float32)
    with np.errstate(over=errors, invalid=errors):
        (dense, W_dense), (optimizer, W_optimizer) = diverging_fits(
            monkeypatch, X, Y, lr=1e-3, epochs=1, batch_size=4
        )
    assert_both_stop_at(0, dense, optimizer)
    np.testing.assert_array_equal(W_dense, W_optimizer)


def test_plain_sgd_refuses_an_update_that_would_overflow_before_writing_anything(tmp_path):
    """lr = 1e300: dW is finite, lr dW is not. The step is refused, W keeps its last finite
    values, and no checkpoint of non-finite weights is written."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 256))
    Y = np.full((4, 128), 1e10)
    model = fcnet.Sequential([fcnet.Dense(256, 128, rng=0, dtype="float64")])
    before = model.layers[0].W.copy()
    with (
        np.errstate(over="ignore", invalid="ignore"),
        pytest.raises(
            fcnet.TrainingDiverged,
            match=r"epoch 0, batch 0: the update of layer 0's W would overflow\. Parameters were "
            r"restored to the last finite state \(before this step\)",
        ),
    ):
        model.fit(
            X,
            Y,
            loss="mse",
            optimizer="sgd",
            lr=1e300,
            epochs=2,
            batch_size=4,
            checkpoint=tmp_path / "run.ckpt",
        )
    np.testing.assert_array_equal(model.layers[0].W, before)
    assert not (tmp_path / "run.ckpt").exists()
