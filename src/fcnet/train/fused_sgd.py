"""Plain SGD on Dense layers written by the product that is the gradient, ``W <- W - lr X^T dZ``
(one ``gemm`` per layer, dW never stored), and the bound that proves the update finite first."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fcnet.layers.dense import Dense
from fcnet.optimizers import SGD


def fused_sgd_layers(model: Any, optimizer: Any, clip_norm: float | None) -> dict[int, Any]:
    """The Dense layers that a step updates with :meth:`Dense.sgd_step`, by position.

    Only for plain SGD (no momentum: the update is then ``-lr`` times the gradient, plus decay)
    without ``clip_norm`` (which needs every gradient's norm before the update), where the BLAS's
    ``gemm`` can be called, and when every layer is one of fcnet's own: those updates run after
    the whole backward pass, and fcnet's layers are known to leave the inputs that forward
    cached (the X of the next Dense) unchanged in backward.
    """
    if type(optimizer) is not SGD or optimizer.momentum or clip_norm is not None:
        return {}
    if not getattr(model.ops, "host_checks", False):  # the bound reads norms every step
        return {}
    if not all(_own_layer(layer) for layer in model.layers):
        return {}
    return {
        i: layer
        for i, layer in enumerate(model.layers)
        if type(layer) is Dense and layer.trainable and model.ops.has_fused_gemm(layer.dtype)
    }


class DenseSGD:
    """Plain SGD on Dense layers straight from dZ (:meth:`Dense.sgd_step`), with the guarantee
    of the optimizer's route: no parameter changes unless every gradient is finite.

    db is computed and checked as usual. dW = X^T dZ is not computed, so the update is shown to
    be finite another way. By Cauchy-Schwarz every entry of X^T dZ, and every partial sum of it
    that the product adds into W, is at most ||X||_F ||dZ||_F in magnitude, so after
    ``W <- beta W - lr (X^T dZ + l1 sign(W))``, with beta = 1 - lr (2 l2 + weight_decay),

        max |W| <= |beta| max |W|_before + lr (||X||_F ||dZ||_F + l1)

    While that bound stays below a quarter of the dtype's largest number, and so does
    ||X||_F^2 ||dZ||_F^2 >= ||X^T dZ||_F^2 (the product is summed before it is scaled by -lr),
    the update is finite. max |W| is carried from step to step by the bound itself, and measured
    (a pass over W) at an epoch's start and whenever the bound grows too large. A layer for which
    even the measured value does not do (a run that is blowing up) has its dW computed and
    checked, as on the optimizer's route, and the step is refused if its update would overflow.
    The norms are taken by the passes that write X and dZ, while their rows are in cache
    (:meth:`Dense.keep_squares`: the forward pass of the Dense layer before, whose A is this
    layer's X, and this layer's backward pass; the gather of the batch for the first layer,
    :meth:`Batches.keep_squares`), each summed in float64 or in the dtype, within a relative
    ``m eps`` of the exact value: far inside the factor of 4 the limit leaves. An X that none of
    them wrote (after a Dropout, say) costs a pass of its own. Nothing reads W.

    Parameters
    ----------
    layers : dict of int to Dense
        The layers it updates, by position in the model.
    model_layers : list, optional
        Every layer of the model: where each of ``layers`` takes its X from.
    """

    def __init__(self, layers: dict[int, Any], model_layers: list[Any] | None = None) -> None:
        self.layers = list(layers.values())
        self.positions = list(layers)  # in the model
        self._max_W: list[float | None] = [None] * len(self.layers)
        self._after: list[float | None] = [None] * len(self.layers)
        # a quarter of each layer's largest float: where an update is deemed safe
        self._limits = [float(np.finfo(layer.dtype).max) / 4 for layer in self.layers]
        # the Dense layer whose forward pass writes each layer's X, or None (the batch, or a
        # layer that does not sum squares)
        before = [model_layers[p - 1] if model_layers and p else None for p in self.positions]
        self._before = [layer if type(layer) is Dense else None for layer in before]
        self._batches: Any = None  # the batches whose gather sums the first layer's X
        self._keeping: list[Any] = []  # the layers told to sum squares

    def keep_squares(self, batches: Any = None) -> None:
        """Have the layers (and the gather of ``batches``, for a first layer) sum the squares
        of X and dZ as they write them; :meth:`close` stops it. Not where a method that would
        sum them is a user's override of fcnet's (an ``Ops`` subclass written before it took
        ``squares``): those norms are then read, as from any other layer."""
        # each Dense involved: (sums A's squares: its A is a fused layer's X, sums dZ's: fused)
        wanted = {layer: [True, False] for layer in self._before if layer is not None}
        for layer in self.layers:
            wanted.setdefault(layer, [False, False])[1] = True
        for layer, (forward, backward) in wanted.items():
            layer.keep_squares(
                forward and _sums_squares(layer.ops, "dense_forward"),
                backward and _sums_squares(layer.ops, "dense_backward"),
            )
        self._keeping = list(wanted)
        if self.positions[0] == 0 and hasattr(batches, "keep_squares"):
            if _sums_squares(batches.ops, "take_rows"):
                batches.keep_squares()
                self._batches = batches

    def close(self) -> None:
        """The layers stop summing squares (the end of ``fit``)."""
        for layer in self._keeping:
            layer.keep_squares()

    def forget_bounds(self) -> None:
        """Measure max |W| afresh before the next step (the weights may have been changed)."""
        self._max_W = [None] * len(self.layers)

    def check(self, lr: float, weight_decay: float) -> tuple[float, str | None]:
        """(sum of squares of the gradients that need checking, why the step must not be
        taken or None). Checked: every db, and dW where the bound cannot vouch for the update;
        the update itself where dW had to be computed. Call after the backward pass, before
        :meth:`step`."""
        total = 0.0
        for k, layer in enumerate(self.layers):
            total += _squares(layer.db)
            rate = lr * layer.lr_mult
            decay = abs(1.0 - rate * (2.0 * layer.l2 + weight_decay))
            dZ_squares = layer.dZ_squares
            if dZ_squares is None:
                dZ_squares = _squares(layer.dZ)
            norms = self._X_squares(k, layer) * dZ_squares
            limit = self._limits[k]
            bound = None
            # ||X^T dZ||_F^2 <= norms: the product the BLAS sums before scaling it by -lr, and
            # the sum of squares of dW the optimizer's route checks, stay far from overflow
            if norms <= limit:  # False for inf and NaN
                bound = self._bound(k, decay, rate * (math.sqrt(norms) + layer.l1))
            if bound is None:  # dW computed and checked, as on the optimizer's route
                layer.ops.gemm(layer.X, layer.dZ, out=layer.dW, trans_a=True)
                total += _squares(layer.dW)
                if math.isfinite(total):  # and the update it makes: finite too?
                    after = decay * _max_abs(layer.W) + rate * (_max_abs(layer.dW) + layer.l1)
                    if not after <= limit:
                        return total, f"the update of layer {self.positions[k]}'s W would overflow"
            self._after[k] = bound
        return total, None

    def _X_squares(self, k: int, layer: Any) -> float:
        """||X||_F^2 of layer k's X: as the pass that wrote it summed it, else read."""
        before, known = self._before[k], None
        if before is not None:
            if layer.X is before.A:
                known = before.A_squares
        elif self._batches is not None:
            last = self._batches.last
            if last is not None and last[0] is layer.X:
                known = last[1]
        return _squares(layer.X) if known is None else known

    def _bound(self, k: int, decay: float, spread: float) -> float | None:
        """decay max |W| + spread for layer k, with the carried max |W| or, when there is none
        or it gives too much, the measured one; None when that is above the limit too."""
        limit, carried = self._limits[k], self._max_W[k]
        if carried is not None and decay * carried + spread <= limit:
            return decay * carried + spread
        measured = decay * _max_abs(self.layers[k].W) + spread
        return measured if measured <= limit else None

    def step(self, lr: float, weight_decay: float) -> None:
        """Update every layer (once :meth:`check` found the gradients finite)."""
        for layer in self.layers:
            layer.sgd_step(lr * layer.lr_mult, weight_decay)
        self._max_W = list(self._after)


def _sums_squares(ops: Any, method: str) -> bool:
    """Whether ``ops``'s ``method`` is fcnet's own, which takes ``squares``."""
    return getattr(type(ops), method).__module__.startswith("fcnet._ops.")


def _max_abs(a: np.ndarray) -> float:
    """max |a_ij| without allocating (two reductions)."""
    return max(float(a.max()), -float(a.min()))


def _own_layer(layer: Any) -> bool:
    return type(layer).__module__ in _OWN_LAYER_MODULES


_OWN_LAYER_MODULES = frozenset(
    {
        "fcnet.layers.dense",
        "fcnet.layers.dropout",
        "fcnet.layers.batchnorm",
        "fcnet.layers.layernorm",
        "fcnet.activations",
    }
)


def _squares(a: np.ndarray) -> float:
    """sum of a_ij^2, on the host (this route runs on the CPU only)."""
    if not a.flags.c_contiguous and a.T.flags.c_contiguous:
        a = a.T
    return float(np.vdot(a, a))
