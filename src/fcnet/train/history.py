"""What ``fit`` returns and what it raises when training diverges."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class TrainingDiverged(FloatingPointError):
    """A loss or gradient became NaN or inf during ``fit``.

    Attributes
    ----------
    epoch, batch : int
        Where it happened (0-based).
    history : History
        The epochs completed before it.
    """

    def __init__(self, message: str, epoch: int, batch: int, history: History) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.history = history


@dataclass
class History:
    """Per-epoch values recorded by ``fit``.

    Attributes
    ----------
    history : dict of str to list of float
        ``"loss"``, ``"lr"``, each metric, and ``"val_..."`` for validation values.
    epoch : list of int
        The epochs (0-based) the lists refer to.
    interrupted : bool
        True when Ctrl-C or SIGTERM ended training early.
    stopped_early : bool
        True when a callback (e.g. EarlyStopping) ended training.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)
    interrupted: bool = False
    stopped_early: bool = False

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record one epoch's values."""
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "history": self.history,
            "epoch": self.epoch,
            "interrupted": self.interrupted,
            "stopped_early": self.stopped_early,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Inverse of :meth:`to_dict`."""
        return cls(
            history={k: list(v) for k, v in data.get("history", {}).items()},
            epoch=list(data.get("epoch", [])),
            stopped_early=bool(data.get("stopped_early", False)),
        )

    def __repr__(self) -> str:
        keys = ", ".join(self.history)
        return f"History(epochs={len(self.epoch)}, keys=[{keys}], interrupted={self.interrupted})"
