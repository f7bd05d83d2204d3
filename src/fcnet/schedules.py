"""Learning-rate schedules, applied once per epoch by ``fit``.

The training loop asks ``schedule.lr(epoch, base_lr)`` for the learning rate of epoch ``epoch``
(0-based) before the epoch starts, and calls ``schedule.update(epoch, logs)`` with that epoch's
history values when it ends. Every schedule equals the ``torch.optim.lr_scheduler`` it is named
after, stepped once per epoch (the tests compare them value for value):

=====================  ==========================================================================
``Constant``           ``base_lr``
``Step``               ``StepLR``
``Exponential``        ``ExponentialLR``
``Cosine``             ``CosineAnnealingLR``, after an optional ``LinearLR`` warm-up
                       (``SequentialLR``)
``OneCycle``           ``OneCycleLR`` (``three_phase=False``, ``total_steps=total_epochs``)
``ReduceOnPlateau``    ``ReduceLROnPlateau``
=====================  ==========================================================================

``lr`` is a pure function of ``(epoch, base_lr)`` and the schedule's state; only
``ReduceOnPlateau`` has state, which ``state_dict`` / ``load_state_dict`` carry through a
checkpoint as JSON-serialisable values.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from fcnet._validation import (
    check_choice,
    check_nonnegative_int,
    check_number,
    check_positive_int,
)

__all__ = [
    "SCHEDULES",
    "Constant",
    "Cosine",
    "Exponential",
    "OneCycle",
    "ReduceOnPlateau",
    "Schedule",
    "Step",
    "from_config",
    "get_schedule",
]


def _check_epoch(who: str, epoch: Any) -> int:
    return check_nonnegative_int(who, "epoch", epoch)


class Schedule:
    """Base class: a learning rate per epoch, ``lr(epoch, base_lr)``.

    Subclasses set ``name`` (the key in :data:`SCHEDULES`) and implement :meth:`lr` and
    :meth:`get_config`; stateful ones also override :meth:`update`, :meth:`state_dict` and
    :meth:`load_state_dict`.
    """

    name = "schedule"

    def lr(self, epoch: int, base_lr: float) -> float:
        """Learning rate for epoch ``epoch`` (0-based) given the optimizer's ``base_lr``."""
        raise NotImplementedError

    def update(self, epoch: int, logs: dict[str, float]) -> None:
        """Called at the end of each epoch with its history values; a no-op here."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state for checkpoints (empty: this schedule has none)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if not isinstance(state, dict):
            raise TypeError(
                f"{type(self).__name__}: expected state to be a dict, got {type(state).__name__}."
            )

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments with the schedule name under ``"name"``."""
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """The base learning rate in every epoch.

    .. math:: lr(e) = base\\_lr
    """

    name = "constant"

    def lr(self, epoch: int, base_lr: float) -> float:
        """Return ``base_lr``."""
        _check_epoch("Constant", epoch)
        return float(base_lr)


class Step(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs (torch's ``StepLR``).

    .. math:: lr(e) = base\\_lr \\cdot gamma^{\\lfloor e / step\\_size \\rfloor}

    Parameters
    ----------
    step_size : int
        Epochs between two decays (>= 1).
    gamma : float, default 0.1
        Multiplicative factor (> 0).

    Examples
    --------
    >>> [Step(step_size=2, gamma=0.5).lr(e, 1.0) for e in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    name = "step"

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_positive_int("Step", "step_size", step_size)
        self.gamma = check_number("Step", "gamma", gamma, low=0.0, low_open=True)

    def lr(self, epoch: int, base_lr: float) -> float:
        """Return ``base_lr * gamma ** (epoch // step_size)``."""
        epoch = _check_epoch("Step", epoch)
        return float(base_lr) * self.gamma ** (epoch // self.step_size)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments with ``"name": "step"``."""
        return {"name": self.name, "step_size": self.step_size, "gamma": self.gamma}


class Exponential(Schedule):
    """Multiply the learning rate by ``gamma`` every epoch (torch's ``ExponentialLR``).

    .. math:: lr(e) = base\\_lr \\cdot gamma^{e}

    Parameters
    ----------
    gamma : float
        Multiplicative factor per epoch (> 0).
    """

    name = "exponential"

    def __init__(self, gamma: float) -> None:
        self.gamma = check_number("Exponential", "gamma", gamma, low=0.0, low_open=True)

    def lr(self, epoch: int, base_lr: float) -> float:
        """Return ``base_lr * gamma ** epoch``."""
        epoch = _check_epoch("Exponential", epoch)
        return float(base_lr) * self.gamma**epoch

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments with ``"name": "exponential"``."""
        return {"name": self.name, "gamma": self.gamma}


class Cosine(Schedule):
    """Linear warm-up, then cosine annealing from ``base_lr`` to ``min_lr``.

    With ``T = total_epochs``, ``w = warmup_epochs`` and ``s = warmup_start_factor``::

        e <  w:       lr(e) = base_lr * (s + (1 - s) * e / w)
        w <= e <= T:  lr(e) = min_lr + (base_lr - min_lr) * (1 + cos(pi * (e - w) / (T - w))) / 2
        e >  T:       lr(e) = min_lr                       (held after the end)

    The warm-up starts at ``s * base_lr`` in epoch 0 and climbs in equal steps of
    ``(1 - s) * base_lr / w``; it reaches ``base_lr`` in epoch ``w``, where the cosine starts.
    The default ``s = 1 / (w + 1)`` makes the warm-up ``base_lr * (e + 1) / (w + 1)``. The cosine
    reaches ``min_lr`` in epoch ``T`` (one past the last epoch of a ``T``-epoch run, as in torch).

    This is torch's ``SequentialLR([LinearLR(start_factor=s, total_iters=w),
    CosineAnnealingLR(T_max=T - w, eta_min=min_lr)], milestones=[w])`` stepped once per epoch
    (plain ``CosineAnnealingLR(T_max=T, eta_min=min_lr)`` when ``w = 0``), except that torch's
    cosine rises again after epoch ``T`` while this one holds ``min_lr``.

    Parameters
    ----------
    total_epochs : int
        ``T`` above (>= 1).
    warmup_epochs : int, default 0
        ``w`` above, in ``[0, total_epochs)``.
    min_lr : float, default 0.0
        Learning rate at the end of the annealing (>= 0).
    warmup_start_factor : float or None, default None
        ``s`` above, in ``(0, 1]``; None means ``1 / (warmup_epochs + 1)``. Unused when
        ``warmup_epochs`` is 0.

    Examples
    --------
    >>> sched = Cosine(total_epochs=4, warmup_epochs=1)
    >>> [round(sched.lr(e, 1.0), 6) for e in range(5)]
    [0.5, 1.0, 0.75, 0.25, 0.0]
    """

    name = "cosine"

    def __init__(
        self,
        total_epochs: int,
        warmup_epochs: int = 0,
        min_lr: float = 0.0,
        warmup_start_factor: float | None = None,
    ) -> None:
        self.total_epochs = check_positive_int("Cosine", "total_epochs", total_epochs)
        self.warmup_epochs = check_nonnegative_int("Cosine", "warmup_epochs", warmup_epochs)
        if self.warmup_epochs >= self.total_epochs:
            raise ValueError(
                f"Cosine: expected warmup_epochs < total_epochs ({self.total_epochs}), "
                f"got {self.warmup_epochs}."
            )
        self.min_lr = check_number("Cosine", "min_lr", min_lr, low=0.0)
        self.warmup_start_factor = (
            None
            if warmup_start_factor is None
            else check_number(
                "Cosine",
                "warmup_start_factor",
                warmup_start_factor,
                low=0.0,
                high=1.0,
                low_open=True,
            )
        )

    @property
    def start_factor(self) -> float:
        """The warm-up factor ``s`` of epoch 0 actually used."""
        if self.warmup_start_factor is None:
            return 1.0 / (self.warmup_epochs + 1)
        return self.warmup_start_factor

    def lr(self, epoch: int, base_lr: float) -> float:
        """Return the warm-up or cosine value above for ``epoch``."""
        epoch = _check_epoch("Cosine", epoch)
        base_lr = float(base_lr)
        w = self.warmup_epochs
        if epoch < w:
            s = self.start_factor
            return base_lr * (s + (1.0 - s) * epoch / w)
        t = min(epoch, self.total_epochs) - w
        t_max = self.total_epochs - w
        return self.min_lr + (base_lr - self.min_lr) * (1.0 + math.cos(math.pi * t / t_max)) / 2.0

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments with ``"name": "cosine"``."""
        return {
            "name": self.name,
            "total_epochs": self.total_epochs,
            "warmup_epochs": self.warmup_epochs,
            "min_lr": self.min_lr,
            "warmup_start_factor": self.warmup_start_factor,
        }


class OneCycle(Schedule):
    """The 1cycle policy: anneal up to ``max_lr``, then down far below the start.

    torch's ``OneCycleLR(max_lr, total_steps=total_epochs, pct_start, anneal_strategy=anneal,
    div_factor, final_div_factor, three_phase=False)`` stepped once per epoch. With
    ``T = total_epochs``::

        lr_start = max_lr / div_factor            (epoch 0)
        lr_end   = lr_start / final_div_factor    (epoch T - 1, held afterwards)
        a = pct_start * T - 1                     (the epoch where the rise ends; may be fractional)
        e <= a:  lr(e) = anneal(lr_start, max_lr, e / a)
        e >  a:  lr(e) = anneal(max_lr, lr_end, (e - a) / (T - 1 - a))

        anneal "cos":    anneal(x, y, p) = y + (x - y) / 2 * (1 + cos(pi * p))
        anneal "linear": anneal(x, y, p) = x + (y - x) * p

    A phase of zero length (``a = 0``) counts as finished (``p = 1``), where torch would divide by
    zero.

    Parameters
    ----------
    total_epochs : int
        ``T`` above (>= 1).
    max_lr : float or None, default None
        Peak learning rate (> 0); None uses the optimizer's ``base_lr``. When given, ``base_lr``
        is ignored.
    pct_start : float, default 0.3
        Fraction of the epochs spent rising, in ``[0, 1]``.
    div_factor : float, default 25.0
        ``lr_start = max_lr / div_factor`` (> 0).
    final_div_factor : float, default 1e4
        ``lr_end = lr_start / final_div_factor`` (> 0).
    anneal : {"cos", "linear"}, default "cos"
    """

    name = "onecycle"

    def __init__(
        self,
        total_epochs: int,
        max_lr: float | None = None,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        anneal: str = "cos",
    ) -> None:
        self.total_epochs = check_positive_int("OneCycle", "total_epochs", total_epochs)
        self.max_lr = (
            None
            if max_lr is None
            else check_number("OneCycle", "max_lr", max_lr, low=0.0, low_open=True)
        )
        self.pct_start = check_number("OneCycle", "pct_start", pct_start, low=0.0, high=1.0)
        self.div_factor = check_number("OneCycle", "div_factor", div_factor, low=0.0, low_open=True)
        self.final_div_factor = check_number(
            "OneCycle", "final_div_factor", final_div_factor, low=0.0, low_open=True
        )
        if anneal not in ("cos", "linear"):
            raise ValueError(f"OneCycle: expected anneal 'cos' or 'linear', got {anneal!r}.")
        self.anneal = anneal

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)
        return (end - start) * pct + start

    def lr(self, epoch: int, base_lr: float) -> float:
        """Return the 1cycle value above for ``epoch``."""
        epoch = _check_epoch("OneCycle", epoch)
        peak = float(base_lr) if self.max_lr is None else self.max_lr
        lr_start = peak / self.div_factor
        lr_end = lr_start / self.final_div_factor
        step = min(epoch, self.total_epochs - 1)
        # The arithmetic below mirrors torch's OneCycleLR.get_lr operation for operation.
        phases = (
            (float(self.pct_start * self.total_epochs) - 1.0, lr_start, peak),
            (float(self.total_epochs - 1), peak, lr_end),
        )
        start_step = 0.0
        for i, (end_step, start_lr, end_lr) in enumerate(phases):
            if step <= end_step or i == len(phases) - 1:
                length = end_step - start_step
                pct = 1.0 if length == 0.0 else (step - start_step) / length
                return self._anneal(start_lr, end_lr, pct)
            start_step = end_step
        raise AssertionError("unreachable: the last phase always matches")  # pragma: no cover

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments with ``"name": "onecycle"``."""
        return {
            "name": self.name,
            "total_epochs": self.total_epochs,
            "max_lr": self.max_lr,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "anneal": self.anneal,
        }


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


SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls for cls in (Constant, Step, Exponential, Cosine, OneCycle, ReduceOnPlateau)
}


def get_schedule(name_or_obj: str | Schedule, **kwargs: Any) -> Schedule:
    """Return a new schedule for a name (``"cosine"``, ...) built with ``kwargs``, or the object.

    Parameters
    ----------
    name_or_obj : str or Schedule
        A key of :data:`SCHEDULES` (case-insensitive; ``-`` reads as ``_``), or any object with
        an ``lr(epoch, base_lr)`` method, returned as is.
    **kwargs
        Constructor arguments when a name is given.
    """
    if isinstance(name_or_obj, str):
        cls = check_choice("schedules", "schedule", name_or_obj, SCHEDULES)
        try:
            inspect.signature(cls).bind(**kwargs)
        except TypeError as exc:
            raise TypeError(
                f"schedules: cannot build {cls.__name__} from the arguments {kwargs}: {exc}."
            ) from exc
        return cls(**kwargs)
    if hasattr(name_or_obj, "lr") and callable(name_or_obj.lr):
        if kwargs:
            raise TypeError(
                f"schedules: keyword arguments {sorted(kwargs)} apply only to a schedule name, "
                f"got the object {name_or_obj!r}."
            )
        return name_or_obj
    raise TypeError(
        f"schedules: expected a schedule name or an object with an lr(epoch, base_lr) method, "
        f"got {type(name_or_obj).__name__}."
    )


def from_config(cfg: dict[str, Any]) -> Schedule:
    """Rebuild a schedule from :meth:`Schedule.get_config` (``{"name": ..., **arguments}``)."""
    if not isinstance(cfg, dict) or "name" not in cfg:
        raise ValueError(f"schedules: expected a config dict with a 'name' key, got {cfg!r}.")
    args = {k: v for k, v in cfg.items() if k != "name"}
    return get_schedule(cfg["name"], **args)
