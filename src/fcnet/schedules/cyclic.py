"""Schedules with a warm-up and an annealing curve: cosine annealing and the one-cycle policy."""

from __future__ import annotations

import math
from typing import Any

from fcnet._validation import (
    check_nonnegative_int,
    check_number,
    check_positive_int,
)
from fcnet.schedules.base import Schedule, _check_epoch


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
