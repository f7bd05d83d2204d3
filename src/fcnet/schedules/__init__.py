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
from typing import Any

from fcnet._validation import check_choice
from fcnet.schedules.base import Constant, Exponential, Schedule, Step
from fcnet.schedules.cyclic import Cosine, OneCycle
from fcnet.schedules.plateau import ReduceOnPlateau

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
