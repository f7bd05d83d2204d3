"""``evaluate``: the loss and metrics of a model on data; also the epoch's scores in ``fit``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fcnet._inputs import infer_loss
from fcnet._probabilities import sigmoid, softmax_rows
from fcnet.data import encode_with_classes
from fcnet.losses import Loss, check_sample_weight, get_loss


def evaluate(
    model: Any,
    X: Any,
    y: Any,
    *,
    loss: str | Loss | None = None,
    metrics: Sequence[Any] | None = None,
    sample_weight: Any = None,
    batch_size: int = 4096,
) -> dict[str, float]:
    """Loss and metrics of ``model`` on (X, y): ``{"loss": ..., "accuracy": ...}``.

    The loss defaults to the one matching the model's task: cross-entropy for a classifier,
    binary cross-entropy for independent sigmoid outputs, mean squared error for a regressor;
    for a model that ``fit`` has not seen, it is inferred from ``y``. Metrics default to
    ``["accuracy"]`` for classifiers and none for regressors.
    """
    m = np.shape(X)[0] if np.ndim(X) else 0
    y_arr = np.asarray(y)
    if y_arr.ndim == 0 or len(y_arr) != m:
        got = "a scalar" if y_arr.ndim == 0 else f"{len(y_arr)} rows"
        raise ValueError(f"evaluate: y has {got} but X has {m}.")
    if model.classes is not None:
        y_arr = encode_with_classes(y_arr, model.classes, "evaluate")
    if loss is None:
        loss = {
            "classification": "cross_entropy",
            "binary": "binary_cross_entropy",
            "regression": "mse",
        }.get(model.task or "", None) or infer_loss(y_arr, model.n_out)
    loss_obj = get_loss(loss)
    Y = loss_obj.prepare_targets(y_arr, model.n_out, model.dtype)
    if metrics is None:
        metrics = (
            ["accuracy"] if getattr(loss_obj, "task", "") in ("classification", "binary") else []
        )
    weights = None if sample_weight is None else check_sample_weight("evaluate", sample_weight, m)
    metrics = get_metrics(metrics)
    # validates X, scanning it for NaN/inf block by block as it predicts
    outputs = model._outputs(X, batch_size, "evaluate")
    return scores(loss_obj, outputs, Y, metrics, weights)


def scores(
    loss: Any,
    outputs: np.ndarray,
    Y: np.ndarray,
    metrics: list[Any],
    weights: np.ndarray | None,
) -> dict[str, float]:
    """The loss and metrics of the network's ``outputs`` against the targets ``Y``."""
    value = (
        loss.forward(outputs, Y, weights, check=False)
        if isinstance(loss, Loss)
        else loss.forward(outputs, Y, weights)
    )
    logs = {"loss": float(value)}
    logs.update(metric_values(metrics, Y, outputs, getattr(loss, "task", "regression")))
    return logs


def metric_values(
    metrics: list[Any], Y: np.ndarray, outputs: np.ndarray, task: str
) -> dict[str, float]:
    logs: dict[str, float] = {}
    if not metrics:
        return logs
    if task == "classification":
        true_labels = Y if Y.ndim == 1 else Y.argmax(axis=1)
        labels = outputs.argmax(axis=1)
        scores = softmax_rows(outputs.astype(np.float64))
    elif task == "binary":
        # one or several independent 0/1 outputs: each output of each row is one prediction
        true_labels = np.rint(Y).astype(np.int64).ravel()
        labels = (outputs > 0).astype(np.int64).ravel()
        probability = sigmoid(outputs.astype(np.float64).ravel())
        scores = np.stack([1.0 - probability, probability], axis=1)
    else:
        true_labels = labels = scores = None
    for metric in metrics:
        if metric.needs == "values":
            value = metric.function(Y, outputs)
        elif true_labels is None:
            raise ValueError(
                f"fit: metric {metric.name!r} needs class labels, but the loss is for regression."
            )
        elif metric.needs == "scores":
            value = metric.function(true_labels, scores)
        else:
            value = metric.function(true_labels, labels)
        logs[metric.name] = float(value)
    return logs


def get_metrics(metrics: Sequence[Any] | None) -> list[Any]:
    if not metrics:
        return []
    if isinstance(metrics, str):
        metrics = [metrics]
    from fcnet.metrics import get_metric

    return [get_metric(m) for m in metrics]
