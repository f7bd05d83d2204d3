"""The optimizers' updates as :class:`~fcnet._ops.base.Ops` methods, which it inherits: each
returns False here, and the optimizer then runs its own ``xp`` code (the reference beside its
equations, :mod:`fcnet.optimizers`); a subclass with compiled kernels does the update in one
pass (:class:`~fcnet._ops.kernel_ops.KernelOps`, :class:`~fcnet._ops.cupy_ops.CupyOps`)."""

from __future__ import annotations

from typing import Any


class UpdateOps:
    """The optimizers' one-pass updates, one parameter at a time or every parameter at once
    (see the module docstring)."""

    def sgd_update(
        self,
        p: Any,
        g: Any,
        v: Any,
        *,
        lr: float,
        momentum: float,
        dampening: float,
        weight_decay: float,
        nesterov: bool,
        first: bool,
        gate: Any = None,
    ) -> bool:
        """One ``torch.optim.SGD`` step on ``p`` with the momentum buffer ``v`` (``p`` itself
        without momentum; ``first``: the step that starts it), as :class:`fcnet.optimizers.SGD`
        computes it; False: not done. ``gate``: a one-element boolean array on the device (or
        None); where it is false, a kernel that takes it writes nothing (see
        :class:`fcnet.train.guard.DeviceGuard`)."""
        return False

    def adam_update(
        self,
        p: Any,
        g: Any,
        m: Any,
        v: Any,
        *,
        lr: float,
        betas: tuple[float, float],
        eps: float,
        weight_decay: float,
        decoupled: bool,
        t: int,
        gate: Any = None,
    ) -> bool:
        """One Adam (AdamW if ``decoupled``) step on ``p`` with the moments ``m`` and ``v``,
        ``t`` the step's number from 1, as :class:`fcnet.optimizers.Adam`; False: not done.
        ``gate`` as for :meth:`sgd_update`."""
        return False

    def rmsprop_update(
        self,
        p: Any,
        g: Any,
        v: Any,
        g_avg: Any,
        buf: Any,
        *,
        lr: float,
        alpha: float,
        eps: float,
        weight_decay: float,
        momentum: float,
        centered: bool,
        gate: Any = None,
    ) -> bool:
        """One RMSprop step, as :class:`fcnet.optimizers.RMSprop` (``g_avg`` and ``buf`` may be
        ``p`` where ``centered`` and ``momentum`` are off); False: not done. ``gate`` as for
        :meth:`sgd_update`."""
        return False

    def sgd_updates(
        self,
        params: list[Any],
        grads: list[Any],
        buffers: list[Any],
        lrs: list[float],
        *,
        momentum: float,
        dampening: float,
        weight_decay: float,
        nesterov: bool,
        gate: Any = None,
    ) -> bool:
        """:meth:`sgd_update` on every parameter at once (lists in one order; ``lrs`` each
        one's learning rate), none at its first step; False: not done."""
        return False

    def adam_updates(
        self,
        params: list[Any],
        grads: list[Any],
        ms: list[Any],
        vs: list[Any],
        lrs: list[float],
        *,
        betas: tuple[float, float],
        eps: float,
        weight_decay: float,
        decoupled: bool,
        t: int,
        gate: Any = None,
    ) -> bool:
        """:meth:`adam_update` on every parameter at once; False: not done."""
        return False

    def rmsprop_updates(
        self,
        params: list[Any],
        grads: list[Any],
        vs: list[Any],
        g_avgs: list[Any],
        buffers: list[Any],
        lrs: list[float],
        *,
        alpha: float,
        eps: float,
        weight_decay: float,
        momentum: float,
        centered: bool,
        gate: Any = None,
    ) -> bool:
        """:meth:`rmsprop_update` on every parameter at once; False: not done."""
        return False
