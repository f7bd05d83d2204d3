"""Learning curves and confusion matrices as PNG files (needs the ``plot`` extra: matplotlib).

matplotlib is imported only when a plot is drawn, and figures are drawn on an Agg canvas of their
own: pyplot is never imported, so no window opens and the caller's backend is left as it was.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_confusion_matrix", "plot_history", "require_matplotlib"]

_METRIC_ORDER = ("accuracy", "f1", "precision", "recall", "top_k_accuracy", "r2", "mae", "rmse")


def require_matplotlib() -> None:
    """Raise ImportError naming the ``plot`` extra when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "plots: matplotlib is not installed; install the 'plot' extra: "
            "pip install 'fcnet[plot]'."
        ) from exc


def _figure(width: float, height: float) -> Any:
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: str | os.PathLike) -> Path:
    path = Path(path)
    if str(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def plot_history(history: Any, path: str | os.PathLike, title: str = "Learning curves") -> Path:
    """Plot training and validation loss (and the first metric, if any) per epoch to a PNG.

    Parameters
    ----------
    history : History or dict
        A :class:`fcnet.History` (or its ``.history`` dict): ``"loss"``, ``"val_loss"`` and
        metrics such as ``"accuracy"`` / ``"val_accuracy"``.
    path : str or Path
        Where to write the PNG (folders are created).
    title : str

    Returns
    -------
    Path
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs.get("loss"):
        raise ValueError("plot_history: the history holds no 'loss' values; train for an epoch.")
    epochs_list = getattr(history, "epoch", None)
    n = len(logs["loss"])
    epochs = (
        np.asarray(epochs_list) + 1
        if epochs_list and len(epochs_list) == n
        else np.arange(1, n + 1)
    )
    metric = next((k for k in _METRIC_ORDER if logs.get(k) or logs.get(f"val_{k}")), None)
    if metric is None:
        metric = next(
            (k for k in logs if k not in ("loss", "lr") and not k.startswith("val_")), None
        )
    panels = [("loss", "loss")] + ([(metric, metric.replace("_", " "))] if metric else [])
    figure = _figure(5.2 * len(panels), 4.0)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (key, label) in zip(axes, panels, strict=True):
        marker = "o" if n <= 30 else None
        if logs.get(key):
            ax.plot(epochs, logs[key], marker=marker, markersize=3, label="training")
        if logs.get(f"val_{key}"):
            ax.plot(
                epochs[-len(logs[f"val_{key}"]) :],
                logs[f"val_{key}"],
                marker=marker,
                markersize=3,
                label="validation",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(label.capitalize() + " per epoch")
        ax.grid(True, alpha=0.3)
        ax.legend()
        if n <= 20:
            ax.set_xticks(epochs)
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)
    figure.suptitle(title)
    return _save(figure, path)


def plot_confusion_matrix(
    cm: Any, classes: Any, path: str | os.PathLike, title: str = "Confusion matrix"
) -> Path:
    """Draw a confusion matrix (rows true, columns predicted) with the count in each cell.

    Parameters
    ----------
    cm : array-like of int, shape (k, k)
        ``cm[i, j]`` = samples of class i predicted as j (:func:`fcnet.metrics.confusion_matrix`).
    classes : sequence of k labels
    path : str or Path
    title : str

    Returns
    -------
    Path
    """
    counts = np.asarray(cm)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"plot_confusion_matrix: expected cm of shape (k, k), got {counts.shape}.")
    labels = [str(c) for c in classes]
    k = counts.shape[0]
    if len(labels) != k:
        raise ValueError(
            f"plot_confusion_matrix: cm has {k} classes but {len(labels)} class names were given."
        )
    size = min(max(4.0, 0.55 * k + 2.5), 14.0)
    figure = _figure(size + 1.0, size)
    ax = figure.subplots()
    image = ax.imshow(counts, cmap="Blues", vmin=0, interpolation="nearest")
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="samples")
    ax.set_xticks(range(k), labels=labels, rotation=45 if max(map(len, labels)) > 3 else 0)
    ax.set_yticks(range(k), labels=labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = int(counts.sum())
    correct = int(np.trace(counts))
    accuracy = correct / total if total else 0.0
    ax.set_title(f"{title}\n{correct} of {total} correct (accuracy {accuracy:.4f})")
    threshold = counts.max() / 2 if counts.size and counts.max() > 0 else 0
    fontsize = 10 if k <= 10 else 8 if k <= 20 else 6
    for i in range(k):
        for j in range(k):
            value = counts[i, j]
            ax.text(
                j,
                i,
                f"{value:g}" if counts.dtype.kind == "f" else str(int(value)),
                ha="center",
                va="center",
                fontsize=fontsize,
                color="white" if value > threshold else "black",
            )
    return _save(figure, path)
