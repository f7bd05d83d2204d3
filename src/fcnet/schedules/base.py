"""The schedule protocol and the simple schedules: constant, step decay, exponential decay."""

from __future__ import annotations

from typing import Any

from fcnet._validation import (
    check_nonnegative_int,
    check_number,
    check_positive_int,
)


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
