"""plots: learning curves and confusion matrices written as valid PNG files."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from fcnet.plots import plot_confusion_matrix, plot_history  # noqa: E402
from fcnet.training import History  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _is_png(path):
    data = path.read_bytes()
    return len(data) > 1000 and data[:8] == PNG_SIGNATURE


def _history(with_metric=True, epochs=5):
    history = History()
    for epoch in range(epochs):
        logs = {"loss": 1.0 / (epoch + 1), "val_loss": 1.2 / (epoch + 1), "lr": 1e-3}
        if with_metric:
            logs.update({"accuracy": 0.5 + 0.08 * epoch, "val_accuracy": 0.45 + 0.08 * epoch})
        history.append(epoch, logs)
    return history


def test_plot_history_with_metric(tmp_path):
    path = plot_history(_history(), tmp_path / "curves.png")
    assert _is_png(path)


def test_plot_history_without_metric_or_validation(tmp_path):
    history = History()
    for epoch in range(40):
        history.append(epoch, {"loss": 1.0 / (epoch + 1)})
    assert _is_png(plot_history(history, tmp_path / "sub" / "loss.png"))


def test_plot_history_accepts_a_dict(tmp_path):
    assert _is_png(plot_history(_history().history, str(tmp_path / "d.png")))


def test_plot_history_rejects_empty(tmp_path):
    with pytest.raises(ValueError, match="no 'loss'"):
        plot_history(History(), tmp_path / "x.png")


def test_plot_confusion_matrix(tmp_path):
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    path = plot_confusion_matrix(cm, ["cat", "dog", "bird"], tmp_path / "cm.png")
    assert _is_png(path)


def test_plot_confusion_matrix_checks_shapes(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        plot_confusion_matrix(np.ones((2, 3)), ["a", "b"], tmp_path / "cm.png")
    with pytest.raises(ValueError, match="class names"):
        plot_confusion_matrix(np.ones((2, 2)), ["a"], tmp_path / "cm.png")
