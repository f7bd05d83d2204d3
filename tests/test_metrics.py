"""Tests for fcnet.metrics: hand-computed values, scikit-learn as a reference, error messages."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fcnet import metrics
from fcnet.metrics import (
    METRICS,
    Metric,
    accuracy,
    confusion_matrix,
    f1,
    get_metric,
    log_loss,
    mae,
    precision,
    r2,
    recall,
    rmse,
    top_k_accuracy,
)

# sklearn's argument validation costs ~1 ms a call; these counts keep the file at a few seconds.
FAST = settings(max_examples=60, deadline=None)
FEW = settings(max_examples=30, deadline=None)


# ---------------------------------------------------------------------------------------------
# Hand-computed examples
# ---------------------------------------------------------------------------------------------

# Classes 0, 1, 2. Per class: TP = [1, 2, 0], predicted = [2, 3, 0], true = [2, 2, 1].
Y_TRUE = np.array([0, 0, 1, 1, 2])
Y_PRED = np.array([0, 1, 1, 1, 0])


def test_accuracy_by_hand():
    assert accuracy([0, 1, 2, 2], [0, 2, 2, 2]) == 0.75
    assert accuracy(["a", "b"], ["a", "a"]) == 0.5
    assert accuracy(np.array([[1], [0]]), [1.0, 0.0]) == 1.0
    assert isinstance(accuracy([1], [1]), float)


def test_precision_recall_f1_by_hand():
    np.testing.assert_allclose(precision(Y_TRUE, Y_PRED, average=None), [1 / 2, 2 / 3, 0.0])
    np.testing.assert_allclose(recall(Y_TRUE, Y_PRED, average=None), [1 / 2, 1.0, 0.0])
    # f1_c = 2 TP / (2 TP + FP + FN)
    np.testing.assert_allclose(f1(Y_TRUE, Y_PRED, average=None), [2 / 4, 4 / 5, 0.0])
    assert precision(Y_TRUE, Y_PRED) == pytest.approx((1 / 2 + 2 / 3) / 3)
    assert recall(Y_TRUE, Y_PRED) == pytest.approx(1.5 / 3)
    assert f1(Y_TRUE, Y_PRED) == pytest.approx((0.5 + 0.8) / 3)


def test_precision_labels_argument_sets_order_and_classes():
    np.testing.assert_allclose(precision(Y_TRUE, Y_PRED, None, labels=[2, 0]), [0.0, 0.5])
    # a class absent from the data scores 0 and counts in the macro average
    assert recall(Y_TRUE, Y_PRED, labels=[0, 1, 2, 7]) == pytest.approx(1.5 / 4)
    np.testing.assert_allclose(f1(["x", "y"], ["x", "x"], None), [2 / 3, 0.0])


def test_confusion_matrix_by_hand():
    C = confusion_matrix(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(C, [[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    assert C.dtype == np.int64
    # rows and columns follow labels; samples outside them are dropped
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, labels=[1, 0]), [[2, 0], [1, 1]])
    np.testing.assert_array_equal(confusion_matrix(["b", "a"], ["b", "b"]), [[0, 1], [0, 1]])


def test_top_k_accuracy_by_hand():
    scores = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]])
    y = np.array([2, 0, 0])
    assert top_k_accuracy(y, scores, k=1) == pytest.approx(1 / 3)
    assert top_k_accuracy(y, scores, k=2) == pytest.approx(2 / 3)
    assert top_k_accuracy(y, scores, k=3) == 1.0
    assert top_k_accuracy(y, scores) == 1.0  # k=5 >= 3 classes


def test_top_k_accuracy_ties_favour_the_larger_class_index():
    # sklearn sorts stably ascending and reverses: among equal scores the later class ranks first
    scores = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
    assert top_k_accuracy([0, 1], scores, k=1) == 0.5
    assert top_k_accuracy([0, 1], scores, k=2) == 1.0


def test_top_k_accuracy_binary_scores_are_thresholded():
    # one score per sample is the score of class 1: > 0.5 for probabilities, > 0 otherwise
    assert top_k_accuracy([0, 1, 1], [0.2, 0.7, 0.5], k=1) == pytest.approx(2 / 3)
    assert top_k_accuracy([0, 1, 1], [-1.0, 2.0, 0.4], k=1) == 1.0
    assert top_k_accuracy([0, 1, 1], [0.9, 0.1, 0.1], k=2) == 1.0


def test_log_loss_by_hand():
    expected = -(math.log(0.9) + math.log(0.8)) / 2
    assert log_loss([0, 1], [[0.9, 0.1], [0.2, 0.8]]) == pytest.approx(expected)
    assert log_loss([0, 1], [0.1, 0.8]) == pytest.approx(expected)  # P(class 1) only
    assert log_loss([[1, 0], [0, 1]], [[0.9, 0.1], [0.2, 0.8]]) == pytest.approx(expected)
    # soft targets: -sum_c Y_c log P_c
    soft = -(0.5 * math.log(0.9) + 0.5 * math.log(0.1))
    assert log_loss([[0.5, 0.5]], [[0.9, 0.1]]) == pytest.approx(soft)


def test_log_loss_clips_to_the_dtype_epsilon():
    eps64 = np.finfo(np.float64).eps
    assert log_loss([0], [[0.0, 1.0]]) == pytest.approx(-math.log(eps64))
    eps32 = float(np.finfo(np.float32).eps)
    value = log_loss([0], np.array([[0.0, 1.0]], dtype=np.float32))
    assert value == pytest.approx(-math.log(eps32), rel=1e-6)
    assert log_loss([0], [[0.0, 1.0]], eps=1e-3) == pytest.approx(-math.log(1e-3))


def test_regression_by_hand():
    y, y_hat = [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0]
    assert mae(y, y_hat) == 0.25
    assert rmse(y, y_hat) == 0.5
    assert r2(y, y_hat) == pytest.approx(1 - 1 / 5)  # SS_tot = 2.25 + 0.25 + 0.25 + 2.25


def test_regression_several_outputs_average_uniformly():
    Y = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0]])
    Y_hat = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [5.0, 0.0]])
    assert mae(Y, Y_hat) == 0.125
    assert rmse(Y, Y_hat) == 0.25  # mean of per-output RMSEs 0.5 and 0
    assert r2(Y, Y_hat) == pytest.approx((0.8 + 1.0) / 2)  # constant, perfect output: 1.0


def test_r2_constant_target_and_single_sample():
    assert r2([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]) == 1.0
    assert r2([2.0, 2.0, 2.0], [2.0, 2.0, 3.0]) == 0.0
    assert r2([0.1, 0.1, 0.1], [0.1, 0.1, 0.2]) == 0.0  # constant even where the mean rounds
    assert math.isnan(r2([1.0], [2.0]))


def test_column_and_flat_targets_are_interchangeable():
    y = np.array([1.0, 2.0, 4.0])
    y_hat = np.array([1.5, 2.0, 3.0])
    for fn in (mae, rmse, r2):
        assert fn(y, y_hat[:, None]) == pytest.approx(fn(y, y_hat))


def test_float32_inputs_are_accepted():
    y = np.array([1.0, 2.0, 4.0], dtype=np.float32)
    assert rmse(y, y + 1) == pytest.approx(1.0)
    assert accuracy(np.array([1, 0]), np.array([1.0, 1.0], dtype=np.float32)) == 0.5


@pytest.mark.parametrize(
    ("function", "y_true", "y_pred"),
    [
        (accuracy, Y_TRUE, Y_PRED),
        (precision, Y_TRUE, Y_PRED),
        (recall, Y_TRUE, Y_PRED),
        (f1, Y_TRUE, Y_PRED),
        (confusion_matrix, Y_TRUE, Y_PRED),
        (top_k_accuracy, np.array([0, 2]), np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])),
        (log_loss, np.array([0, 2]), np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])),
        (log_loss, np.array([[1.0, 0.0], [0.3, 0.7]]), np.array([[0.2, 0.8], [0.4, 0.6]])),
        (mae, np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.5, 2.0], [3.0, 3.0]])),
        (rmse, np.array([1.0, 2.0]), np.array([1.5, 2.5])),
        (r2, np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 2.0])),
    ],
)
def test_inputs_are_not_modified(function, y_true, y_pred):
    true_copy, pred_copy = y_true.copy(), y_pred.copy()
    y_true.setflags(write=False)
    y_pred.setflags(write=False)
    try:
        function(y_true, y_pred)
    finally:
        y_true.setflags(write=True)
        y_pred.setflags(write=True)
    np.testing.assert_array_equal(y_true, true_copy)
    np.testing.assert_array_equal(y_pred, pred_copy)


# ---------------------------------------------------------------------------------------------
# Scikit-learn as an independent reference
# ---------------------------------------------------------------------------------------------


@st.composite
def label_pairs(draw):
    """Labels from n_classes classes; y_pred may miss classes of y_true and vice versa."""
    n_classes = draw(st.integers(2, 6))
    m = draw(st.integers(1, 40))
    labels = st.integers(0, n_classes - 1)
    y_true = draw(st.lists(labels, min_size=m, max_size=m))
    y_pred = draw(st.lists(labels, min_size=m, max_size=m))
    return np.array(y_true), np.array(y_pred), n_classes


@FEW
@given(label_pairs())
def test_label_metrics_match_sklearn(data):
    skm = pytest.importorskip("sklearn.metrics")
    y_true, y_pred, _ = data
    assert accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    for ours, theirs in (
        (precision, skm.precision_score),
        (recall, skm.recall_score),
        (f1, skm.f1_score),
    ):
        for average in ("macro", None):
            expected = theirs(y_true, y_pred, average=average, zero_division=0)
            np.testing.assert_allclose(ours(y_true, y_pred, average), expected, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns when only one label occurs
        expected_matrix = skm.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), expected_matrix)


@FEW
@given(label_pairs(), st.data())
def test_label_metrics_with_labels_match_sklearn(data, draw):
    skm = pytest.importorskip("sklearn.metrics")
    y_true, y_pred, n_classes = data
    # any ordered subset of the classes, including ones absent from both arrays
    labels = draw.draw(
        st.lists(st.integers(0, n_classes + 1), min_size=1, max_size=n_classes + 2, unique=True)
    )
    for ours, theirs in (
        (precision, skm.precision_score),
        (recall, skm.recall_score),
        (f1, skm.f1_score),
    ):
        for average in ("macro", None):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = theirs(y_true, y_pred, labels=labels, average=average, zero_division=0)
            got = ours(y_true, y_pred, average, labels=labels)
            np.testing.assert_allclose(got, expected, atol=1e-12)
    if np.isin(labels, y_true).any():  # sklearn refuses labels none of which are in y_true
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected_matrix = skm.confusion_matrix(y_true, y_pred, labels=labels)
        np.testing.assert_array_equal(
            confusion_matrix(y_true, y_pred, labels=labels), expected_matrix
        )


@FAST
@given(
    n_classes=st.integers(3, 7),
    m=st.integers(1, 30),
    k=st.integers(1, 6),
    ties=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_top_k_accuracy_matches_sklearn(n_classes, m, k, ties, seed):
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=m)
    # small integer scores make ties common, to pin down the tie rule
    scores = rng.integers(0, 3, size=(m, n_classes)) if ties else rng.random((m, n_classes))
    k = min(k, n_classes - 1)
    expected = skm.top_k_accuracy_score(y, scores, k=k, labels=np.arange(n_classes))
    assert top_k_accuracy(y, scores, k=k) == pytest.approx(expected)


@FAST
@given(m=st.integers(1, 30), probabilities=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_top_k_accuracy_binary_matches_sklearn(m, probabilities, seed):
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=m)
    scores = rng.random(m) if probabilities else rng.normal(size=m)
    expected = skm.top_k_accuracy_score(y, scores, k=1, labels=[0, 1])
    assert top_k_accuracy(y, scores, k=1) == pytest.approx(expected)


@FAST
@given(
    n_classes=st.integers(2, 5),
    m=st.integers(1, 30),
    dtype=st.sampled_from([np.float64, np.float32]),
    zeros=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_log_loss_matches_sklearn(n_classes, m, dtype, zeros, seed):
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=m)
    raw = rng.random((m, n_classes))
    if zeros:  # exact zeros and ones exercise the clipping
        raw[rng.random((m, n_classes)) < 0.5] = 0.0
        raw[:, 0] += 1e-3
    P = (raw / raw.sum(axis=1, keepdims=True)).astype(dtype)
    expected = skm.log_loss(y, P, labels=np.arange(n_classes))
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    assert log_loss(y, P) == pytest.approx(expected, rel=rtol)
    assert log_loss(np.eye(n_classes)[y], P) == pytest.approx(expected, rel=rtol)
    if n_classes == 2:
        assert log_loss(y, P[:, 1]) == pytest.approx(expected, rel=max(rtol, 1e-7))


# Dyadic values (integers / 16) keep sums exact, so constant targets stay exactly constant.
values = st.integers(-160, 160).map(lambda v: v / 16)


@st.composite
def regression_pairs(draw):
    m = draw(st.integers(2, 30))
    k = draw(st.integers(1, 3))
    shape = (m,) if k == 1 and draw(st.booleans()) else (m, k)
    size = int(np.prod(shape))
    y_true = np.array(draw(st.lists(values, min_size=size, max_size=size))).reshape(shape)
    if draw(st.booleans()):  # a constant target column
        y_true[:, ...] = y_true[0]
    if draw(st.booleans()):
        y_pred = y_true.copy()
        y_pred[draw(st.integers(0, m - 1))] += draw(values)
    else:
        y_pred = np.array(draw(st.lists(values, min_size=size, max_size=size))).reshape(shape)
    return y_true, y_pred


@FAST
@given(regression_pairs())
def test_regression_metrics_match_sklearn(data):
    skm = pytest.importorskip("sklearn.metrics")
    y_true, y_pred = data
    assert mae(y_true, y_pred) == pytest.approx(skm.mean_absolute_error(y_true, y_pred))
    assert rmse(y_true, y_pred) == pytest.approx(skm.root_mean_squared_error(y_true, y_pred))
    assert r2(y_true, y_pred) == pytest.approx(skm.r2_score(y_true, y_pred))


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

LABEL_FUNCTIONS = [accuracy, precision, recall, f1, confusion_matrix]
VALUE_FUNCTIONS = [mae, rmse, r2]


@pytest.mark.parametrize("function", LABEL_FUNCTIONS + VALUE_FUNCTIONS)
def test_length_mismatch_names_the_function(function):
    with pytest.raises(ValueError) as error:
        function(np.zeros(10), np.zeros(9))
    assert str(error.value) == f"{function.__name__}: y_true has 10 rows but y_pred has 9."


def test_length_mismatch_for_score_functions():
    with pytest.raises(ValueError, match=r"^top_k_accuracy: y_true has 3 rows but y_score has 2\."):
        top_k_accuracy([0, 1, 2], np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"^log_loss: y_true has 3 rows but y_prob has 2\."):
        log_loss([0, 1, 2], np.full((2, 3), 1 / 3))


@pytest.mark.parametrize("function", LABEL_FUNCTIONS + VALUE_FUNCTIONS)
def test_empty_inputs_are_rejected(function):
    with pytest.raises(ValueError, match=rf"^{function.__name__}: y_true is empty"):
        function([], [])


def test_empty_scores_are_rejected():
    with pytest.raises(ValueError, match="empty"):
        top_k_accuracy(np.zeros(0, dtype=int), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="empty"):
        log_loss(np.zeros(0, dtype=int), np.zeros((0, 3)))


@pytest.mark.parametrize("function", VALUE_FUNCTIONS)
def test_nan_in_regression_predictions_names_the_row(function):
    y_pred = np.array([1.0, 2.0, 3.0, np.nan])
    with pytest.raises(ValueError, match=r"y_pred contains NaN at row 3"):
        function(np.ones(4), y_pred)
    Y_pred = np.ones((3, 2))
    Y_pred[1, 1] = np.inf
    with pytest.raises(ValueError, match=r"y_pred contains inf at row 1, column 1"):
        function(np.ones((3, 2)), Y_pred)


def test_regression_shape_mismatch():
    with pytest.raises(ValueError, match=r"^mae: expected y_pred of shape \(m, 2\)"):
        mae(np.ones((3, 2)), np.ones((3, 3)))
    with pytest.raises(TypeError, match="real numbers"):
        rmse(["a", "b"], ["a", "b"])


def test_bad_labels():
    with pytest.raises(ValueError, match=r"continuous value 0\.5 at row 1"):
        accuracy([0, 0.5], [0, 1])
    with pytest.raises(ValueError, match=r"y_pred contains NaN at row 0"):
        accuracy([0, 1], [np.nan, 1.0])
    with pytest.raises(ValueError, match=r"1-D class labels \(m,\), got shape \(2, 3\)"):
        accuracy([0, 1], np.ones((2, 3)))
    with pytest.raises(TypeError, match="got strings and numbers"):
        f1(["a", "b"], [0, 1])
    with pytest.raises(TypeError, match="got numbers and strings"):
        precision([0, 1], [0, 1], labels=["a"])
    with pytest.raises(ValueError, match="without repeats, got 1 2 times"):
        recall([0, 1], [0, 1], labels=[1, 0, 1])
    with pytest.raises(ValueError, match="at least one class"):
        confusion_matrix([0, 1], [0, 1], labels=[])


def test_bad_average():
    with pytest.raises(ValueError, match=r"^precision: expected average to be 'macro' or None"):
        precision([0, 1], [0, 1], average="micro")


def test_bad_scores_and_probabilities():
    with pytest.raises(ValueError, match=r"y_true must be integers in \[0, 3\), got 3 at row 1"):
        top_k_accuracy([0, 3], np.full((2, 3), 1 / 3), k=1)
    with pytest.raises(ValueError, match=r"y_score contains NaN at row 0, column 2"):
        top_k_accuracy([0, 1], [[0.1, 0.2, np.nan], [0.3, 0.3, 0.4]], k=1)
    with pytest.raises(ValueError, match="positive integer"):
        top_k_accuracy([0, 1], np.full((2, 3), 1 / 3), k=0)
    with pytest.raises(ValueError, match=r"y_true must be integers in \[0, 2\), got -1 at row 0"):
        log_loss([-1, 1], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(
        ValueError, match=r"probabilities in \[0, 1\], got -0\.5 in y_prob at row 1"
    ):
        log_loss([0, 1], [[0.5, 0.5], [-0.5, 1.5]])
    with pytest.raises(ValueError, match=r"expected y_true of shape \(m, 3\)"):
        log_loss(np.eye(2), np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="eps"):
        log_loss([0], [[0.5, 0.5]], eps=0.0)


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def test_registry_contents():
    assert sorted(METRICS) == sorted(
        ["accuracy", "top_k_accuracy", "precision", "recall", "f1"]
        + ["log_loss", "mae", "rmse", "r2"]
    )
    for name, metric in METRICS.items():
        assert metric.name == name
        assert metric.function is getattr(metrics, name)
    assert {n for n, m in METRICS.items() if m.needs == "scores"} == {"top_k_accuracy", "log_loss"}
    assert {n for n, m in METRICS.items() if m.needs == "values"} == {"mae", "rmse", "r2"}
    assert {n for n, m in METRICS.items() if not m.greater_is_better} == {"log_loss", "mae", "rmse"}


def test_registry_functions_accept_what_the_loop_passes():
    y = np.array([0, 1, 2, 1])
    scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.6, 0.3, 0.1]])
    for metric in METRICS.values():
        if metric.needs == "labels":
            value = metric(y, scores.argmax(axis=1))
        elif metric.needs == "scores":
            value = metric(y, scores)
        else:
            value = metric(scores, scores * 0.5)
        assert isinstance(value, float)


def test_get_metric():
    assert get_metric("f1") is METRICS["f1"]
    assert get_metric(METRICS["mae"]) is METRICS["mae"]

    def hit_rate(y_true, y_pred):
        return 1.0

    wrapped = get_metric(hit_rate)
    assert wrapped == Metric(
        name="hit_rate", function=hit_rate, needs="labels", greater_is_better=True
    )


def test_get_metric_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError) as error:
        get_metric("foo")
    assert str(error.value) == (
        "metrics: unknown metric 'foo'; expected one of 'accuracy', 'f1', 'log_loss', 'mae', "
        "'precision', 'r2', 'recall', 'rmse', 'top_k_accuracy'."
    )


@pytest.mark.parametrize("bad", [3, None, ["accuracy"]])
def test_get_metric_wrong_type(bad):
    with pytest.raises(TypeError, match="^metrics: expected a metric name"):
        get_metric(bad)


def test_metric_is_frozen_and_validated():
    with pytest.raises(dataclasses.FrozenInstanceError):
        METRICS["f1"].name = "g"
    with pytest.raises(ValueError, match="needs"):
        Metric("m", accuracy, "probabilities", True)
    with pytest.raises(TypeError, match="callable"):
        Metric("m", 3, "labels", True)
