"""ReduceOnPlateau: the learning rate lowered when a monitored value stops improving."""

from __future__ import annotations

import math
from typing import Any

from fcnet._validation import (
    check_nonnegative_int,
    check_number,
)
from fcnet.schedules.base import Schedule, _check_epoch


def _encode_float(value: float) -> float | str:
    # JSON has no inf or NaN; spell them as strings that float() reads back.
    return value if math.isfinite(value) else repr(value)


class ReduceOnPlateau(Schedule):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving.

    torch's ``ReduceLROnPlateau``. At the end of each epoch, with ``x = logs[monitor]``, ``x`` is
    an improvement on ``best`` when::

        mode "min", threshold_mode "rel":  x < best * (1 - threshold)
        mode "min", threshold_mode "abs":  x < best - threshold
        mode "max", threshold_mode "rel":  x > best * (1 + threshold)
        mode "max", threshold_mode "abs":  x > best + threshold

    An improvement sets ``best = x`` and the bad-epoch counter to 0; otherwise the counter grows
    by 1. While the cooldown counter is positive it is decremented and the bad-epoch counter is
    reset to 0. When the bad-epoch counter exceeds ``patience``, the learning rate is reduced,
    the cooldown counter set to ``cooldown`` and the bad-epoch counter to 0. A reduction is::

        new = max(lr * factor, min_lr);  lr = new  if lr - new > eps  (else unchanged)

    so after ``k`` reductions ``lr(e)`` is ``base_lr`` with that step applied ``k`` times.

    Parameters
    ----------
    monitor : str, default "val_loss"
        The history key to watch.
    mode : {"min", "max"}, default "min"
    factor : float, default 0.1
        In ``[0, 1)``.
    patience : int, default 10
        Epochs without improvement tolerated before a reduction (>= 0).
    threshold : float, default 1e-4
        Least change that counts as an improvement (>= 0).
    threshold_mode : {"rel", "abs"}, default "rel"
    cooldown : int, default 0
        Epochs after a reduction during which bad epochs are not counted (>= 0).
    min_lr : float, default 0.0
        Floor of the learning rate (>= 0).
    eps : float, default 1e-8
        Reductions smaller than this are skipped (>= 0).
    """

    name = "reduce_on_plateau"

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        who = "ReduceOnPlateau"
        if not isinstance(monitor, str) or not monitor:
            error = TypeError if not isinstance(monitor, str) else ValueError
            raise error(f"{who}: expected monitor to be a history key (str), got {monitor!r}.")
        if mode not in ("min", "max"):
            raise ValueError(f"{who}: expected mode 'min' or 'max', got {mode!r}.")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{who}: expected threshold_mode 'rel' or 'abs', got {threshold_mode!r}."
            )
        self.monitor = monitor
        self.mode = mode
        self.factor = check_number(who, "factor", factor, low=0.0, high=1.0, high_open=True)
        self.patience = check_nonnegative_int(who, "patience", patience)
        self.threshold = check_number(who, "threshold", threshold, low=0.0)
        self.threshold_mode = threshold_mode
        self.cooldown = check_nonnegative_int(who, "cooldown", cooldown)
        self.min_lr = check_number(who, "min_lr", min_lr, low=0.0)
        self.eps = check_number(who, "eps", eps, low=0.0)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.num_reductions = 0

    def _is_better(self, value: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return value < self.best * (1.0 - self.threshold)
        if self.mode == "min":
            return value < self.best - self.threshold
        if self.threshold_mode == "rel":
            return value > self.best * (self.threshold + 1.0)
        return value > self.best + self.threshold

    def update(self, epoch: int, logs: dict[str, float]) -> None:
        """Track ``logs[monitor]``; schedule a reduction when patience has run out."""
        if self.monitor not in logs:
            raise ValueError(
                f"ReduceOnPlateau: monitor {self.monitor!r} is not in the logs of epoch {epoch}; "
                f"available: {sorted(logs)}."
            )
        value = float(logs[self.monitor])
        if self._is_better(value):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self.num_reductions += 1
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def lr(self, epoch: int, base_lr: float) -> float:
        """Return ``base_lr`` after the reductions so far (see the class docstring)."""
        _check_epoch("ReduceOnPlateau", epoch)
        lr = float(base_lr)
        # Applied one by one, as torch does to the optimizer's lr, so the floor, the eps rule
        # and the rounding all match; a skipped reduction leaves lr unchanged, so all later
        # ones are skipped too.
        for _ in range(self.num_reductions):
            new_lr = max(lr * self.factor, self.min_lr)
            if not lr - new_lr > self.eps:
                break
            lr = new_lr
        return lr

    def state_dict(self) -> dict[str, Any]:
        """Best value, bad-epoch and cooldown counters and the number of reductions."""
        return {
            "best": _encode_float(self.best),
            "num_bad_epochs": self.num_bad_epochs,
            "cooldown_counter": self.cooldown_counter,
            "num_reductions": self.num_reductions,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        super().load_state_dict(state)
        keys = ("best", "num_bad_epochs", "cooldown_counter", "num_reductions")
        missing = [k for k in keys if k not in state]
        if missing:
            raise ValueError(
                f"ReduceOnPlateau: state lacks the keys {missing}; got keys {sorted(state)}."
            )
        self.best = float(state["best"])
        self.num_bad_epochs = check_nonnegative_int(
            "ReduceOnPlateau", "num_bad_epochs", state["num_bad_epochs"]
        )
        self.cooldown_counter = check_nonnegative_int(
            "ReduceOnPlateau", "cooldown_counter", state["cooldown_counter"]
        )
        self.num_reductions = check_nonnegative_int(
            "ReduceOnPlateau", "num_reductions", state["num_reductions"]
        )

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments with ``"name": "reduce_on_plateau"``."""
        return {
            "name": self.name,
            "monitor": self.monitor,
            "mode": self.mode,
            "factor": self.factor,
            "patience": self.patience,
            "threshold": self.threshold,
            "threshold_mode": self.threshold_mode,
            "cooldown": self.cooldown,
            "min_lr": self.min_lr,
            "eps": self.eps,
        }
