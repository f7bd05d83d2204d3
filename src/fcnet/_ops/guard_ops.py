"""The divergence guard's bookkeeping on a device (:class:`fcnet.train.guard.DeviceGuard`), in
the reference ``xp`` code that :class:`~fcnet._ops.base.Ops` inherits; a device with kernels
does each in one (:class:`~fcnet._ops.cupy_ops.CupyOps`)."""

from __future__ import annotations

from typing import Any


class GuardOps:
    """The guard's two passes: its flags and its loss sum (see the module docstring)."""

    xp: Any

    def note_nonfinite(
        self, value: Any, step: int, bad: Any, first: Any, gate: Any, scratch: Any
    ) -> None:
        """The divergence guard's flags, on the device (one-element arrays): ``bad |= not
        finite(value)``, ``first <- step`` where that is new, ``gate <- not bad``. ``scratch``:
        two booleans this may overwrite."""
        xp = self.xp
        ok, now = scratch[:1], scratch[1:]
        xp.isfinite(value, out=ok)
        xp.logical_not(ok, out=now)
        xp.logical_not(bad, out=ok)
        xp.logical_and(now, ok, out=now)  # first seen now
        xp.copyto(first, step, where=now)
        xp.logical_or(bad, now, out=bad)
        xp.logical_not(bad, out=gate)

    def accumulate(self, total: Any, value: Any, weight: float, scratch: Any) -> None:
        """``total <- total + value * weight`` on the device (float64 ``total`` and
        ``scratch``, one element each)."""
        self.xp.multiply(value, weight, out=scratch)
        total += scratch
