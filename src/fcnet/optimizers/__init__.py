"""Optimizers with the update equations of ``torch.optim``, so results compare number for number.

``opt.step(params, grads)`` updates the arrays of ``params`` in place; both are dicts with the
same keys (``model.params()``, ``model.grads()``). State (momentum, moments) is kept per key.
Learning rates may be scaled per parameter with ``lr_scale={key: factor}``.

A step allocates nothing once every key has been seen: intermediate terms such as ``lr * g`` are
written into scratch arrays kept per key (not part of the state, so checkpoints do not carry
them), and ``grads`` are never modified. Updates of the form ``p <- p + c * a`` on large arrays go
through the BLAS's ``axpy`` when NumPy's BLAS provides one (see ``fcnet._blas``): one pass shared
between the BLAS's threads instead of two in one thread, the same result up to rounding. Where
the model's ``ops`` has compiled kernels (Numba), a step updates every parameter in one call
(``ops.adam_updates`` and the like) or each in one pass, the NumPy code below being the
reference they agree with to rounding.

One module per family: :mod:`~fcnet.optimizers.base` (the base class), ``sgd``, ``adam`` (Adam,
AdamW), ``rmsprop``.
"""

from __future__ import annotations

from typing import Any

from fcnet._validation import check_choice, check_number
from fcnet.optimizers.adam import Adam, AdamW
from fcnet.optimizers.base import Optimizer
from fcnet.optimizers.rmsprop import RMSprop
from fcnet.optimizers.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "get_optimizer", "optimizer_from_config"]

OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop)}


def get_optimizer(optimizer: str | Optimizer, lr: float | None = None) -> Optimizer:
    """Return a new optimizer for a name (``"adam"``, ...) or the object itself."""
    if isinstance(optimizer, str):
        cls = check_choice("optimizers", "optimizer", optimizer, OPTIMIZERS)
        return cls() if lr is None else cls(lr=lr)
    if hasattr(optimizer, "step"):
        if lr is not None:
            optimizer.lr = check_number(type(optimizer).__name__, "lr", lr, low=0.0, low_open=True)
        return optimizer
    raise TypeError(
        f"optimizers: expected an optimizer name or an Optimizer, got {type(optimizer).__name__}."
    )


def optimizer_from_config(config: dict[str, Any]) -> Optimizer:
    """Rebuild an optimizer from :meth:`Optimizer.get_config`."""
    args = {k: v for k, v in config.items() if k != "name"}
    if "betas" in args:
        args["betas"] = tuple(args["betas"])
    return check_choice("optimizers", "optimizer", config["name"], OPTIMIZERS)(**args)
