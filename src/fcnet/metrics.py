"""Evaluation metrics with scikit-learn's ``(y_true, y_pred)`` signatures, in pure NumPy.

| metric          | formula (m samples)                                         | needs   | better |
|-----------------|-------------------------------------------------------------|---------|--------|
| accuracy        | 1/m sum_i [y_pred_i == y_true_i]                            | labels  | higher |
| top_k_accuracy  | 1/m sum_i [y_true_i among the k highest scores of row i]    | scores  | higher |
| precision       | mean over classes c of TP_c / (TP_c + FP_c)                 | labels  | higher |
| recall          | mean over classes c of TP_c / (TP_c + FN_c)                 | labels  | higher |
| f1              | mean over classes c of 2 TP_c / (2 TP_c + FP_c + FN_c)      | labels  | higher |
| log_loss        | -1/m sum_i sum_c Y_ic log clip(P_ic, eps, 1 - eps)          | scores  | lower  |
| mae             | 1/m sum_i |y_i - y_hat_i|                                   | values  | lower  |
| rmse            | sqrt(1/m sum_i (y_i - y_hat_i)^2)                           | values  | lower  |
| r2              | 1 - sum_i (y_i - y_hat_i)^2 / sum_i (y_i - mean(y))^2       | values  | higher |

Each agrees with its scikit-learn counterpart (``accuracy_score``, ``top_k_accuracy_score``,
``precision_score`` ... with ``average="macro"``, ``log_loss``, ``mean_absolute_error``,
``root_mean_squared_error``, ``r2_score``); the tests check that on random data. A ratio with a
zero denominator is 0.0, as scikit-learn's default gives, but without a warning.

:data:`METRICS` maps each name to a :class:`Metric`, which tells the training loop whether the
function wants predicted labels, class scores or raw outputs; :func:`get_metric` resolves a name,
a :class:`Metric` or a plain callable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fcnet._validation import check_choice, check_number, check_positive_int
from fcnet.data import class_positions

__all__ = [
    "METRICS",
    "Metric",
    "accuracy",
    "confusion_matrix",
    "f1",
    "get_metric",
    "log_loss",
    "mae",
    "precision",
    "r2",
    "recall",
    "rmse",
    "top_k_accuracy",
]


# ---------------------------------------------------------------------------------------------
# Boundary checks
# ---------------------------------------------------------------------------------------------


def _as_array(who: str, name: str, values: Any) -> np.ndarray:
    try:
        return np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{who}: {name} could not be read as an array ({exc}).") from exc


def _check_rows(who: str, y_true: np.ndarray, y_pred: np.ndarray, pred_name: str) -> None:
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"{who}: y_true has {y_true.shape[0]} rows but {pred_name} has {y_pred.shape[0]}."
        )
    if y_true.shape[0] == 0:
        raise ValueError(f"{who}: y_true is empty (0 rows); expected at least one sample.")


def _nonfinite_message(who: str, name: str, values: np.ndarray) -> str | None:
    finite = np.isfinite(values)
    if finite.all():
        return None
    where = tuple(int(i) for i in np.argwhere(~finite)[0])
    kind = "NaN" if np.isnan(values[where]) else "inf"
    at = f"row {where[0]}" if values.ndim == 1 else f"row {where[0]}, column {where[1]}"
    return f"{who}: {name} contains {kind} at {at}; expected finite values."


def _as_labels(who: str, name: str, values: Any) -> np.ndarray:
    """Return class labels as a 1-D array of numbers or strings (an (m, 1) column is accepted)."""
    labels = _as_array(who, name, values)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"{who}: expected {name} to be 1-D class labels (m,), got shape {labels.shape}; "
            "for one-hot or probability rows pass Y.argmax(axis=1)."
        )
    if labels.dtype.kind == "O":
        # Object arrays come from lists of Python objects; let NumPy find one common type.
        labels = np.array(labels.tolist())
        if labels.dtype.kind == "O":
            raise TypeError(f"{who}: expected {name} to hold numbers or strings of one kind.")
    if labels.dtype.kind not in "biufUS":
        raise TypeError(
            f"{who}: expected {name} to hold class labels (integers or strings), "
            f"got dtype {labels.dtype}."
        )
    if labels.dtype.kind == "f":
        message = _nonfinite_message(who, name, labels)
        if message is not None:
            raise ValueError(message)
        fractional = np.flatnonzero(labels != np.round(labels))
        if fractional.size:
            row = int(fractional[0])
            raise ValueError(
                f"{who}: expected {name} to hold class labels, got the continuous value "
                f"{labels[row].item()!r} at row {row}; use mae, rmse or r2 for regression."
            )
    return labels


def _same_label_kind(
    who: str, first: tuple[str, np.ndarray], second: tuple[str, np.ndarray]
) -> None:
    def is_text(a: np.ndarray) -> bool:
        return a.dtype.kind in "US"

    if is_text(first[1]) != is_text(second[1]):
        kinds = ["strings" if is_text(a) else "numbers" for _, a in (first, second)]
        raise TypeError(
            f"{who}: expected {first[0]} and {second[0]} to hold labels of one kind, "
            f"got {kinds[0]} and {kinds[1]}."
        )


def _check_class_indices(who: str, name: str, labels: np.ndarray, n_classes: int) -> None:
    if labels.dtype.kind not in "biuf":
        raise TypeError(
            f"{who}: expected {name} to hold integer labels in [0, {n_classes}), "
            f"got dtype {labels.dtype}."
        )
    outside = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if outside.size:
        row = int(outside[0])
        raise ValueError(
            f"{who}: {name} must be integers in [0, {n_classes}), "
            f"got {labels[row].item()!r} at row {row}."
        )


def _label_pair(who: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    true = _as_labels(who, "y_true", y_true)
    pred = _as_labels(who, "y_pred", y_pred)
    _check_rows(who, true, pred, "y_pred")
    _same_label_kind(who, ("y_true", true), ("y_pred", pred))
    return true, pred


def _classes(who: str, true: np.ndarray, pred: np.ndarray, labels: Any) -> np.ndarray:
    """The classes to report, in output order: ``labels`` as given, or the sorted union."""
    if labels is None:
        return np.union1d(true, pred)
    classes = _as_labels(who, "labels", labels)
    if classes.size == 0:
        raise ValueError(f"{who}: expected labels to name at least one class, got none.")
    _same_label_kind(who, ("y_true", true), ("labels", classes))
    unique, counts = np.unique(classes, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"{who}: expected labels without repeats, got {unique[counts > 1][0].item()!r} "
            f"{int(counts[counts > 1][0])} times."
        )
    return classes


def _check_average(who: str, average: Any) -> None:
    if average is not None and average != "macro":
        raise ValueError(f"{who}: expected average to be 'macro' or None, got {average!r}.")


def _as_values(who: str, name: str, values: Any) -> np.ndarray:
    """Return regression targets or outputs as a float64 array (m,) or (m, k) of finite values."""
    array = _as_array(who, name, values)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{who}: expected {name} to hold real numbers, got dtype {array.dtype}.")
    if array.ndim not in (1, 2):
        raise ValueError(
            f"{who}: expected {name} of shape (m,) or (m, k), got {array.ndim}-D shape "
            f"{array.shape}."
        )
    # Metrics are reported as Python floats; accumulate in float64 whatever the model's dtype.
    array = array.astype(np.float64, copy=False)
    message = _nonfinite_message(who, name, array)
    if message is not None:
        raise ValueError(message)
    return array


def _value_pair(who: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    true = _as_values(who, "y_true", y_true)
    pred = _as_values(who, "y_pred", y_pred)
    _check_rows(who, true, pred, "y_pred")
    true = true.reshape(true.shape[0], -1)
    pred = pred.reshape(pred.shape[0], -1)
    if true.shape != pred.shape:
        raise ValueError(
            f"{who}: expected y_pred of shape (m, {true.shape[1]}) like y_true, got {pred.shape}."
        )
    return true, pred


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, and 0.0 where the denominator is 0 (scikit-learn's default)."""
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


# ---------------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------------


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of samples whose predicted label equals the true label.

    ``accuracy = 1/m sum_i [y_pred_i == y_true_i]``

    Parameters
    ----------
    y_true, y_pred : array-like of shape (m,)
        Class labels (integers, integer-valued floats or strings); an (m, 1) column is accepted.

    Returns
    -------
    float
        A value in [0, 1].
    """
    true, pred = _label_pair("accuracy", y_true, y_pred)
    return float(np.mean(true == pred))


def top_k_accuracy(y_true: ArrayLike, y_score: ArrayLike, k: int = 5) -> float:
    """Fraction of samples whose true class is among the ``k`` highest-scored classes.

    ``top_k_accuracy = 1/m sum_i [y_true_i is among the k largest of y_score_i]``

    Ties are broken as in scikit-learn's ``top_k_accuracy_score`` (a stable ascending sort,
    reversed): among equal scores the class with the larger index ranks higher. So class c of
    row i is a hit when ``#{j : s_ij > s_ic} + #{j > c : s_ij = s_ic} < k``.

    Parameters
    ----------
    y_true : array-like of shape (m,)
        Integer class labels in ``[0, n_classes)``.
    y_score : array-like of shape (m, n_classes)
        Scores or probabilities, larger meaning more likely. For two classes a 1-D array (or an
        (m, 1) column) is read as the score of class 1, as scikit-learn does: with ``k = 1`` the
        prediction is 1 where the score exceeds 0.5 (scores inside [0, 1]) or 0 (otherwise).
    k : int, default=5
        Number of top classes that count. With ``k >= n_classes`` every sample is a hit.

    Returns
    -------
    float
        A value in [0, 1].
    """
    who = "top_k_accuracy"
    k = check_positive_int(who, "k", k)
    scores = _as_array(who, "y_score", y_score)
    if scores.dtype.kind not in "biuf":
        raise TypeError(f"{who}: expected y_score to hold real numbers, got dtype {scores.dtype}.")
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim not in (1, 2):
        raise ValueError(
            f"{who}: expected y_score of shape (m, n_classes), got {scores.ndim}-D shape "
            f"{scores.shape}."
        )
    true = _as_labels(who, "y_true", y_true)
    _check_rows(who, true, scores, "y_score")
    message = _nonfinite_message(who, "y_score", scores)
    if message is not None:
        raise ValueError(message)
    n_classes = 2 if scores.ndim == 1 else scores.shape[1]
    _check_class_indices(who, "y_true", true, n_classes)
    true = true.astype(np.int64)
    if k >= n_classes:
        return 1.0
    rows = np.arange(true.size)
    if scores.ndim == 1:
        # k = 1 with one score per sample: scikit-learn thresholds it (k >= 2 returned above).
        threshold = 0.5 if scores.min() >= 0 and scores.max() <= 1 else 0.0
        return float(np.mean((scores > threshold) == true))
    true_score = scores[rows, true][:, None]
    columns = np.arange(n_classes)
    ahead = (scores > true_score) | ((scores == true_score) & (columns > true[:, None]))
    return float(np.mean(ahead.sum(axis=1) < k))


def _class_counts(
    who: str, y_true: Any, y_pred: Any, labels: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class c (in output order): TP_c, TP_c + FP_c (predicted), TP_c + FN_c (true)."""
    true, pred = _label_pair(who, y_true, y_pred)
    classes = _classes(who, true, pred, labels)
    n = classes.size
    true_index = class_positions(true, classes)
    pred_index = class_positions(pred, classes)
    hit = (true_index == pred_index) & (true_index >= 0)
    tp = np.bincount(true_index[hit], minlength=n)
    predicted = np.bincount(pred_index[pred_index >= 0], minlength=n)
    actual = np.bincount(true_index[true_index >= 0], minlength=n)
    return tp, predicted, actual


def _averaged(per_class: np.ndarray, average: str | None) -> float | np.ndarray:
    return per_class if average is None else float(np.mean(per_class))


def precision(
    y_true: ArrayLike, y_pred: ArrayLike, average: str | None = "macro", *, labels: Any = None
) -> float | np.ndarray:
    """Precision per class, TP / (TP + FP), averaged over classes.

    ``precision_c = TP_c / (TP_c + FP_c)`` (0.0 when class c is never predicted);
    ``macro = 1/n_classes sum_c precision_c``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (m,)
        Class labels.
    average : {"macro", None}, default="macro"
        ``"macro"``: the unweighted mean over classes; ``None``: one value per class.
    labels : array-like, optional
        The classes to score, in output order. Default: the sorted union of the labels in
        ``y_true`` and ``y_pred``. Classes absent from the data score 0.0.

    Returns
    -------
    float or ndarray of shape (n_classes,)
    """
    _check_average("precision", average)
    tp, predicted, _ = _class_counts("precision", y_true, y_pred, labels)
    return _averaged(_ratio(tp, predicted), average)


def recall(
    y_true: ArrayLike, y_pred: ArrayLike, average: str | None = "macro", *, labels: Any = None
) -> float | np.ndarray:
    """Recall per class, TP / (TP + FN), averaged over classes.

    ``recall_c = TP_c / (TP_c + FN_c)`` (0.0 when class c never occurs in ``y_true``);
    ``macro = 1/n_classes sum_c recall_c``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (m,)
        Class labels.
    average : {"macro", None}, default="macro"
        ``"macro"``: the unweighted mean over classes; ``None``: one value per class.
    labels : array-like, optional
        The classes to score, in output order. Default: the sorted union of the labels in
        ``y_true`` and ``y_pred``.

    Returns
    -------
    float or ndarray of shape (n_classes,)
    """
    _check_average("recall", average)
    tp, _, actual = _class_counts("recall", y_true, y_pred, labels)
    return _averaged(_ratio(tp, actual), average)


def f1(
    y_true: ArrayLike, y_pred: ArrayLike, average: str | None = "macro", *, labels: Any = None
) -> float | np.ndarray:
    """F1 score per class, the harmonic mean of precision and recall, averaged over classes.

    ``f1_c = 2 P_c R_c / (P_c + R_c) = 2 TP_c / (2 TP_c + FP_c + FN_c)`` (0.0 when the
    denominator is 0); ``macro = 1/n_classes sum_c f1_c``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (m,)
        Class labels.
    average : {"macro", None}, default="macro"
        ``"macro"``: the unweighted mean over classes; ``None``: one value per class.
    labels : array-like, optional
        The classes to score, in output order. Default: the sorted union of the labels in
        ``y_true`` and ``y_pred``.

    Returns
    -------
    float or ndarray of shape (n_classes,)
    """
    _check_average("f1", average)
    tp, predicted, actual = _class_counts("f1", y_true, y_pred, labels)
    # 2 TP + FP + FN = (TP + FP) + (TP + FN)
    return _averaged(_ratio(2 * tp, predicted + actual), average)


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, labels: Any = None) -> np.ndarray:
    """Counts of (true, predicted) label pairs: ``C[i, j] = #{samples of class i predicted j}``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (m,)
        Class labels.
    labels : array-like, optional
        The classes of the rows and columns, in order. Default: the sorted union of the labels
        in ``y_true`` and ``y_pred``. Samples whose true or predicted label is not among them are
        left out. (Unlike scikit-learn, labels none of which occur in ``y_true`` are allowed.)

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
        Rows are true classes, columns predicted classes.
    """
    true, pred = _label_pair("confusion_matrix", y_true, y_pred)
    classes = _classes("confusion_matrix", true, pred, labels)
    n = classes.size
    true_index = class_positions(true, classes)
    pred_index = class_positions(pred, classes)
    keep = (true_index >= 0) & (pred_index >= 0)
    cells = np.bincount(true_index[keep] * n + pred_index[keep], minlength=n * n)
    return cells.reshape(n, n).astype(np.int64, copy=False)


def log_loss(y_true: ArrayLike, y_prob: ArrayLike, eps: float | None = None) -> float:
    """Mean cross-entropy between the true classes and predicted probabilities.

    ``log_loss = -1/m sum_i sum_c Y_ic log(clip(P_ic, eps, 1 - eps))``, where ``Y`` is the
    one-hot encoding of integer labels (or the given target rows) and ``P`` the probabilities.
    As in current scikit-learn, rows that do not sum to 1 are used as they are (scikit-learn
    warns; this function does not).

    Parameters
    ----------
    y_true : array-like of shape (m,) or (m, k)
        Integer labels in ``[0, k)``, or target probability rows (one-hot or soft).
    y_prob : array-like of shape (m, k), or (m,) for two classes
        Predicted probabilities, each in [0, 1]. A 1-D array (or an (m, 1) column) is the
        probability of class 1, so ``P = [1 - p, p]``.
    eps : float, optional
        Clipping bound in (0, 0.5]. Default: the machine epsilon of ``y_prob``'s dtype
        (float64 for integer input), as scikit-learn uses.

    Returns
    -------
    float
        A value >= 0; lower is better.
    """
    who = "log_loss"
    prob = _as_array(who, "y_prob", y_prob)
    if prob.dtype.kind not in "biuf":
        raise TypeError(f"{who}: expected y_prob to hold real numbers, got dtype {prob.dtype}.")
    if prob.dtype.kind != "f":
        prob = prob.astype(np.float64)
    if prob.ndim == 2 and prob.shape[1] == 1:
        prob = prob[:, 0]
    if prob.ndim not in (1, 2):
        raise ValueError(
            f"{who}: expected y_prob of shape (m, k) or (m,), got {prob.ndim}-D shape {prob.shape}."
        )
    message = _nonfinite_message(who, "y_prob", prob)
    if message is not None:
        raise ValueError(message)
    outside = np.argwhere((prob < 0) | (prob > 1))
    if outside.size:
        where = tuple(int(i) for i in outside[0])
        raise ValueError(
            f"{who}: expected probabilities in [0, 1], got {prob[where].item()!r} in y_prob at row "
            f"{where[0]}."
        )
    eps = float(np.finfo(prob.dtype).eps) if eps is None else eps
    eps = check_number(who, "eps", eps, low=0.0, high=0.5, low_open=True)
    if prob.ndim == 1:
        prob = np.stack([1 - prob, prob], axis=1)
    n_classes = prob.shape[1]
    clipped = np.clip(prob, eps, 1 - eps)

    target = _as_array(who, "y_true", y_true)
    if target.ndim == 2 and target.shape[1] != 1:
        target = _as_values(who, "y_true", target)
        _check_rows(who, target, prob, "y_prob")
        if target.shape[1] != n_classes:
            raise ValueError(
                f"{who}: expected y_true of shape (m, {n_classes}) like y_prob, got {target.shape}."
            )
        return float(-np.mean(np.sum(target * np.log(clipped), axis=1)))
    labels = _as_labels(who, "y_true", target)
    _check_rows(who, labels, prob, "y_prob")
    _check_class_indices(who, "y_true", labels, n_classes)
    picked = clipped[np.arange(labels.size), labels.astype(np.int64)]
    return float(-np.mean(np.log(picked)))


# ---------------------------------------------------------------------------------------------
# Regression: y of shape (m,) or (m, k); several outputs are averaged uniformly, as
# scikit-learn's multioutput="uniform_average" does.
# ---------------------------------------------------------------------------------------------


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error: ``1/(m k) sum_i sum_j |y_ij - y_hat_ij|``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (m,) or (m, k)
        Targets and predictions (finite).

    Returns
    -------
    float
        A value >= 0; lower is better.
    """
    true, pred = _value_pair("mae", y_true, y_pred)
    return float(np.mean(np.abs(true - pred)))


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error: ``1/k sum_j sqrt(1/m sum_i (y_ij - y_hat_ij)^2)``.

    With several outputs the per-output RMSEs are averaged, as in scikit-learn's
    ``root_mean_squared_error``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (m,) or (m, k)
        Targets and predictions (finite).

    Returns
    -------
    float
        A value >= 0; lower is better.
    """
    true, pred = _value_pair("rmse", y_true, y_pred)
    return float(np.mean(np.sqrt(np.mean((true - pred) ** 2, axis=0))))


def r2(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Coefficient of determination: ``R^2 = 1 - SS_res / SS_tot``, averaged over outputs.

    Per output j: ``SS_res = sum_i (y_ij - y_hat_ij)^2``, ``SS_tot = sum_i (y_ij - mean_j)^2``.
    When ``y_true`` is constant in an output (``SS_tot = 0``) that output scores 1.0 if the
    predictions are perfect and 0.0 otherwise, as scikit-learn does; with one sample R^2 is
    undefined and the result is NaN (scikit-learn also warns).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (m,) or (m, k)
        Targets and predictions (finite).

    Returns
    -------
    float
        At most 1.0; higher is better. Can be negative.
    """
    true, pred = _value_pair("r2", y_true, y_pred)
    if true.shape[0] < 2:
        return float("nan")
    residual = np.sum((true - pred) ** 2, axis=0)
    total = np.sum((true - true.mean(axis=0)) ** 2, axis=0)
    # An exactly constant column has SS_tot = 0 even if its computed mean is off by rounding.
    total[(true == true[0]).all(axis=0)] = 0.0
    per_output = np.ones(true.shape[1])
    defined = total != 0
    per_output[defined] = 1.0 - residual[defined] / total[defined]
    per_output[~defined & (residual != 0)] = 0.0
    return float(np.mean(per_output))


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------

_NEEDS = ("labels", "scores", "values")


@dataclass(frozen=True)
class Metric:
    """A metric function and what the training loop must pass it.

    Parameters
    ----------
    name : str
        Key in the history and in ``evaluate``'s result.
    function : callable
        ``function(y_true, y_pred) -> float``.
    needs : {"labels", "scores", "values"}
        ``"labels"``: predicted class labels (m,); ``"scores"``: class probabilities or scores
        (m, k); ``"values"``: the raw regression outputs.
    greater_is_better : bool
        Direction of improvement (for early stopping and checkpoints).
    """

    name: str
    function: Callable[..., Any]
    needs: str
    greater_is_better: bool

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Metric: expected name to be a non-empty string, got {self.name!r}.")
        if not callable(self.function):
            raise TypeError(f"Metric: expected function to be callable, got {self.function!r}.")
        if self.needs not in _NEEDS:
            valid = ", ".join(repr(n) for n in _NEEDS)
            raise ValueError(f"Metric: expected needs to be one of {valid}, got {self.needs!r}.")

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike) -> Any:
        return self.function(y_true, y_pred)


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("accuracy", accuracy, "labels", True),
        Metric("top_k_accuracy", top_k_accuracy, "scores", True),
        Metric("precision", precision, "labels", True),
        Metric("recall", recall, "labels", True),
        Metric("f1", f1, "labels", True),
        Metric("log_loss", log_loss, "scores", False),
        Metric("mae", mae, "values", False),
        Metric("rmse", rmse, "values", False),
        Metric("r2", r2, "values", True),
    )
}


def get_metric(name_or_metric: str | Metric | Callable[..., Any]) -> Metric:
    """Resolve a metric name, a :class:`Metric` or a plain function to a :class:`Metric`.

    A plain callable ``f(y_true, y_pred)`` becomes
    ``Metric(name=f.__name__, function=f, needs="labels", greater_is_better=True)``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    TypeError
        For anything that is neither a string, a :class:`Metric` nor callable.
    """
    if isinstance(name_or_metric, Metric):
        return name_or_metric
    if isinstance(name_or_metric, str):
        return check_choice("metrics", "metric", name_or_metric, METRICS)
    if callable(name_or_metric):
        name = getattr(name_or_metric, "__name__", type(name_or_metric).__name__)
        return Metric(name=name, function=name_or_metric, needs="labels", greater_is_better=True)
    raise TypeError(
        f"metrics: expected a metric name, a Metric or a callable, got {name_or_metric!r}."
    )
