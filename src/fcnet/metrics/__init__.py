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

from numpy.typing import ArrayLike

from fcnet._validation import check_choice
from fcnet.metrics.classification import (
    accuracy,
    confusion_matrix,
    f1,
    log_loss,
    precision,
    recall,
    top_k_accuracy,
)
from fcnet.metrics.regression import mae, r2, rmse

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
