"""Callbacks called by ``fit``: early stopping, a per-epoch hook, CSV logging.

A callback is any object with some of ``on_train_begin(model)``,
``on_epoch_end(epoch, logs, model) -> bool | None`` (True stops training) and
``on_train_end(model)``. ``state_dict`` / ``load_state_dict`` let a checkpoint resume it.

In data-parallel training (``fit(..., distributed=...)``) every process calls its callbacks
with the same logs, so that decisions (EarlyStopping) are the same everywhere; a callback
whose class sets ``rank_zero_only = True`` (CSVLogger) is called on process 0 alone.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fcnet._validation import check_nonnegative_int, check_number


class EarlyStopping:
    """Stop when ``monitor`` has not improved for ``patience`` epochs; restore the best weights.

    An epoch improves on the best value when ``value < best - min_delta`` (mode "min") or
    ``value > best + min_delta`` (mode "max").

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of the history (``"loss"``, ``"val_accuracy"``, ...).
    mode : "min", "max" or "auto"
        "auto" is "max" for keys containing accuracy, precision, recall, f1 or r2.
    patience : int, default 5
        Epochs without improvement before stopping.
    min_delta : float, default 0
    restore_best : bool, default True
        At the end of training, set the parameters to those of the best epoch.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "auto",
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        if not isinstance(monitor, str):
            raise TypeError(
                f"EarlyStopping: expected monitor to be a history key, got {monitor!r}."
            )
        if mode not in ("min", "max", "auto"):
            raise ValueError(f"EarlyStopping: expected mode 'min', 'max' or 'auto', got {mode!r}.")
        patience = check_nonnegative_int("EarlyStopping", "patience", patience)
        self.monitor = monitor
        if mode == "auto":
            greater = any(k in monitor for k in ("accuracy", "precision", "recall", "f1", "r2"))
            mode = "max" if greater else "min"
        self.mode = mode
        self.patience = patience
        self.min_delta = check_number("EarlyStopping", "min_delta", min_delta, low=0.0)
        self.restore_best = bool(restore_best)
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = -1
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.best_params: dict[str, np.ndarray] | None = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Any) -> bool:
        """Track the best value; return True when patience has run out."""
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping: monitor {self.monitor!r} is not in the history; "
                f"available: {sorted(logs)}."
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_params = {k: v.copy() for k, v in model.params().items()}
            return False
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model: Any) -> None:
        """Restore the best epoch's parameters (when ``restore_best``)."""
        if self.restore_best and self.best_params is not None:
            for key, value in model.params().items():
                value[...] = self.best_params[key]

    def state_dict(self) -> dict[str, Any]:
        """Best value, epoch, wait counter and best parameters, for checkpoints."""
        state: dict[str, Any] = {
            "best": self.best if math.isfinite(self.best) else None,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
        }
        if self.best_params is not None:
            state["best_params"] = self.best_params
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""
        best = state.get("best")
        self.best = (math.inf if self.mode == "min" else -math.inf) if best is None else float(best)
        self.best_epoch = int(state.get("best_epoch", -1))
        self.wait = int(state.get("wait", 0))
        params = state.get("best_params")
        self.best_params = None if params is None else {k: np.array(v) for k, v in params.items()}

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, mode={self.mode!r}, "
            f"patience={self.patience}, min_delta={self.min_delta}, "
            f"restore_best={self.restore_best})"
        )


class LambdaCallback:
    """Call ``on_epoch_end(epoch, logs, model)`` (your function) after every epoch.

    Return True from it to stop training.
    """

    def __init__(self, on_epoch_end: Callable[[int, dict[str, float], Any], Any]) -> None:
        if not callable(on_epoch_end):
            raise TypeError(f"LambdaCallback: expected a function, got {on_epoch_end!r}.")
        self._function = on_epoch_end

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Any) -> bool:
        """Run the user's function."""
        return bool(self._function(epoch, logs, model))


class CSVLogger:
    """Append one row per epoch (``epoch`` then every history key) to a CSV file.

    The file is flushed after each row, so it can be followed while training runs. With
    ``append=False`` an existing file is replaced when training begins. In data-parallel
    training only process 0 writes it (``rank_zero_only``).
    """

    #: in data-parallel training, called on process 0 alone (its logs are everyone's)
    rank_zero_only = True

    def __init__(self, path: str | os.PathLike, append: bool = False) -> None:
        self.path = Path(path)
        self.append = bool(append)
        self._keys: list[str] | None = None

    def on_train_begin(self, model: Any) -> None:
        """Start the file (or keep it when appending)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.append and self.path.exists():
            self.path.unlink()
        self._keys = None
        if self.append and self.path.exists():
            with open(self.path, newline="") as handle:
                first = next(csv.reader(handle), None)
            self._keys = first[1:] if first else None

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Any) -> bool:
        """Write the row."""
        new_file = self._keys is None
        if new_file:
            self._keys = list(logs)
        with open(self.path, "a", newline="") as handle:
            writer = csv.writer(handle)
            if new_file:
                writer.writerow(["epoch", *self._keys])
            writer.writerow([epoch, *(repr(float(logs.get(k, float("nan")))) for k in self._keys)])
        return False

    def __repr__(self) -> str:
        return f"CSVLogger(path={str(self.path)!r}, append={self.append})"
