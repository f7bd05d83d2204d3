"""Classification metrics as scikit-learn defines them: accuracy, top-k accuracy, precision,
recall, F1, the confusion matrix and the log loss."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fcnet._validation import check_number, check_positive_int
from fcnet.data import class_positions
from fcnet.metrics.checks import (
    _as_array,
    _as_labels,
    _as_values,
    _check_average,
    _check_class_indices,
    _check_rows,
    _classes,
    _label_pair,
    _nonfinite_message,
    _ratio,
)


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
