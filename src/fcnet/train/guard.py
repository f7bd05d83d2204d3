"""The divergence guard: a step whose loss or gradients are NaN or inf stops training.

Two forms, chosen by the model's ``ops.host_checks``:

* :class:`HostGuard` (the CPU) reads the loss and the gradients' sum of squares every step, and
  stops *before* the update: the parameters keep the last finite state, the optimizer's state
  is untouched.
* :class:`DeviceGuard` (a device, where every read waits for the device) keeps the verdict on
  the device, a flag and the first failing step, and reads them once per epoch; a failing epoch
  restores the parameters to the epoch's start. Its ``gate`` (no NaN or inf seen so far this
  epoch, a device-side flag) is given to the optimizer, whose update kernels write nothing where
  it is false (:class:`~fcnet._ops.cupy_ops.CupyOps`): a step that would write NaN writes
  nothing, and the steps after it neither, with no read back.

Both also keep the epoch's loss sum (:meth:`add_loss`), on the host or on the device.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


class HostGuard:
    """Checks read on the host every step (see the module docstring).

    Parameters
    ----------
    trainer : Trainer
        Whose ``_diverged`` raises, and whose ``dense_sgd`` route (if any) adds its own check.
    """

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self.loss_sum = 0.0
        self.weight_sum = 0.0

    def start_epoch(self, loss_sum: float = 0.0, weight_sum: float = 0.0) -> None:
        """Start the epoch's sums (from a checkpoint's when resuming mid-epoch)."""
        self.loss_sum, self.weight_sum = loss_sum, weight_sum

    def add_loss(self, value: Any, weight: float) -> None:
        """Add a batch's mean loss times its weight (row count or weight sum)."""
        self.loss_sum += float(value) * weight
        self.weight_sum += weight

    def sums(self) -> tuple[float, float]:
        """(loss sum, weight sum) so far."""
        return self.loss_sum, self.weight_sum

    def check_loss(self, value: float, epoch: int, step: int) -> None:
        """Stop at a non-finite loss."""
        if not math.isfinite(value):
            self.trainer._diverged(epoch, step, "the loss", value)

    def check(self, grads: Any, epoch: int, step: int) -> float:
        """Stop at a non-finite gradient (before any parameter changes); return sum of g^2."""
        trainer = self.trainer
        sumsq = grads.sum_of_squares()
        if trainer.dense_sgd is not None:
            opt = trainer.optimizer
            dense_sumsq, refused = trainer.dense_sgd.check(opt.lr, opt.weight_decay)
            sumsq += dense_sumsq
            if refused is not None and math.isfinite(sumsq):
                trainer._diverged(epoch, step, refused, None)
        if not math.isfinite(sumsq):
            trainer._diverged(epoch, step, "a gradient", sumsq)
        return sumsq

    def end_epoch(self, epoch: int) -> None:
        """Nothing is left to read: every step was checked."""


class DeviceGuard(HostGuard):
    """Checks kept on the device and read once per epoch (see the module docstring)."""

    def __init__(self, trainer: Any) -> None:
        super().__init__(trainer)
        ops = trainer.model.ops
        self.ops = ops
        self._bad = ops.zeros(1, np.bool_)  # a non-finite value was seen this epoch
        self._first = ops.zeros(1, np.int64)  # the step it was first seen at
        self._flags = ops.zeros(2, np.bool_)  # scratch of ops.note_nonfinite
        self._sumsq = ops.zeros(1, np.float64)
        self._loss = ops.zeros(1, np.float64)
        self._term = ops.zeros(1, np.float64)
        self.gate = ops.zeros(1, np.bool_)  # not bad: the optimizer's updates may write

    def start_epoch(self, loss_sum: float = 0.0, weight_sum: float = 0.0) -> None:
        self._bad[...] = False
        self.gate[...] = True
        self._loss[...] = loss_sum
        self.weight_sum = weight_sum

    def add_loss(self, value: Any, weight: float) -> None:
        if isinstance(value, float):  # weighted batches: the loss was read already
            self._loss += value * weight
        else:
            self.ops.accumulate(self._loss, value, weight, self._term)
        self.weight_sum += weight

    def sums(self) -> tuple[float, float]:
        return self.ops.item(self._loss), self.weight_sum

    def check_loss(self, value: Any, epoch: int, step: int) -> None:
        if isinstance(value, float):
            super().check_loss(value, epoch, step)
        else:
            self._note(value, step)

    def check(self, grads: Any, epoch: int, step: int) -> Any:
        sumsq = grads.sum_of_squares(self._sumsq)
        self._note(sumsq, step)
        return sumsq

    def _note(self, value: Any, step: int) -> None:
        """bad |= not finite(value), remembering the first step it happened at; gate = not bad
        (one kernel where the device has it)."""
        self.ops.note_nonfinite(value, step, self._bad, self._first, self.gate, self._flags)

    def end_epoch(self, epoch: int) -> None:
        """Read the epoch's verdict (one read); stop, restoring the epoch's start, if it failed."""
        if bool(self.ops.to_host(self._bad)[0]):
            step = int(self.ops.to_host(self._first)[0])
            self.trainer._diverged(
                epoch, step, "a loss or gradient is not finite", None, restore_epoch=True
            )


@contextmanager
def gating(optimizer: Any, guard: HostGuard) -> Iterator[None]:
    """The optimizer's updates gated by the guard's device-side flag (a :class:`DeviceGuard`'s
    ``gate``; none for a :class:`HostGuard`, which checks before the update), for one fit."""
    optimizer.gate = getattr(guard, "gate", None)
    try:
        yield
    finally:
        optimizer.gate = None
