"""The fully connected layer, :class:`Dense`: Z = X W + b, A = f(Z)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._buffers import Buffers
from fcnet._ops import layer_ops
from fcnet._random import as_generator
from fcnet._validation import check_number, check_positive_int
from fcnet.activations import (
    IN_PLACE_ACTIVATIONS,
    Activation,
    activation_from_config,
    get_activation,
)
from fcnet.backend import resolve_dtype
from fcnet.initializers import INITIALIZERS, get_initializer
from fcnet.layers.base import as_input, move_to, register_layer


@register_layer
class Dense:
    """Fully connected layer: Z = X W + b, A = f(Z).

    Backward, given dA = dL/dA::

        dZ = dA * f'(Z)
        dW = X^T dZ          (+ l1 sign(W) + 2 l2 W when regularized)
        db = sum of dZ over the batch (axis 0)
        dX = dZ W^T          (skipped when nobody needs it: the first layer in ``fit``)

    Shapes: X (m, n_in), W (n_in, n_out), b (n_out,), Z, A, dZ (m, n_out), dX (m, n_in).

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    activation : str or Activation, default "identity"
        ``f``; a name such as ``"relu"`` or an activation object.
    init : str or callable, default "glorot_uniform"
        Initializer for W (see :mod:`fcnet.initializers`); b starts at zero.
    l1, l2 : float, default 0
        Penalty ``l1 sum|W| + l2 sum W^2`` added to the loss (Keras's convention).
    trainable : bool, default True
        When False, ``fit`` leaves W and b unchanged.
    lr_mult : float, default 1
        This layer's learning rate is ``lr * lr_mult``.
    rng : numpy.random.Generator or int, optional
        Source of the initial weights.
    dtype : "float32" or "float64", optional
        Default: :func:`fcnet.get_dtype`.
    device : "cpu", "gpu" or an Ops, optional
        Where the layer's arrays live and compute; default: the process's
        (:func:`fcnet.set_device`). ``model.to(device)`` moves a whole model.

    Notes
    -----
    ``forward`` returns a buffer that the next ``forward`` overwrites (the training loop
    allocates nothing); copy it to keep it. ``Sequential.forward`` returns a fresh array.
    """

    #: ``backward`` writes the gradients into the same arrays every step, so ``fit`` takes them
    #: once. Read from the class itself, not inherited: a subclass opts in by declaring it too.
    grads_in_place = True
    #: The sums of squares of A and of dZ that the last training ``forward`` and ``backward``
    #: computed beside their passes, where :meth:`keep_squares` asked for them; else None.
    A_squares: float | None = None
    dZ_squares: float | None = None  # noqa: N815  (the math's name, as dZ)
    #: The float64 (n_out + 1,) arrays the passes sum those squares in, or None: not kept
    _sums_of_a: np.ndarray | None = None
    _sums_of_dz: np.ndarray | None = None

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str | Activation = "identity",
        *,
        init: Any = "glorot_uniform",
        l1: float = 0.0,
        l2: float = 0.0,
        trainable: bool = True,
        lr_mult: float = 1.0,
        rng: Any = None,
        dtype: Any = None,
        device: Any = None,
    ) -> None:
        self.n_in = check_positive_int("Dense", "n_in", n_in)
        self.n_out = check_positive_int("Dense", "n_out", n_out)
        self.activation = get_activation(activation)
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self._initializer = get_initializer(init)
        self.l1 = check_number("Dense", "l1", l1, low=0.0)
        self.l2 = check_number("Dense", "l2", l2, low=0.0)
        self.trainable = bool(trainable)
        self.lr_mult = check_number("Dense", "lr_mult", lr_mult, low=0.0)
        self.dtype = resolve_dtype(dtype)
        self.ops = layer_ops(device)  # where the arrays live and are computed (model.to moves them)
        self.W = self.ops.empty((self.n_in, self.n_out), self.dtype)
        self.b = self.ops.empty(self.n_out, self.dtype)
        self.dW = self.ops.zeros((self.n_in, self.n_out), self.dtype)
        self.db = self.ops.zeros(self.n_out, self.dtype)
        self.X: np.ndarray | None = None
        self.Z: np.ndarray | None = None
        self.A: np.ndarray | None = None
        self.dZ: np.ndarray | None = None
        self._buffers = Buffers(self.ops)
        self.reset_parameters(rng)
        if device is not None:  # what the layer holds besides its arrays moves too
            self.to(self.ops)

    def reset_parameters(self, rng: Any = None) -> None:
        """Draw W from the initializer and set b to zero."""
        W = self._initializer(self.n_in, self.n_out, rng=as_generator(rng, "Dense"))
        self.W[...] = self.ops.asarray(W, self.dtype)
        self.b[...] = 0

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """Z = X W + b, A = f(Z); X (m, n_in) -> A (m, n_out)."""
        X = as_input("Dense", X, self.n_in, self.dtype, self.ops)
        m = X.shape[0]
        Z = self._buffers.get("Z", m, self.n_out, self.dtype)
        A = self._buffers.get("A", m, self.n_out, self.dtype)
        sums = self._sums_of_a if training else None
        # Z = X W + b, A = f(Z): one compiled call where ops has one (an Ops subclass may take
        # no squares argument: it is passed only when asked for)
        extra = () if sums is None else (sums,)
        A = self.ops.dense_forward(X, self.W, self.b, self.activation, Z, A, *extra)
        self.X, self.Z, self.A = X, Z, A
        self.A_squares = None if sums is None else float(sums[-1])
        return A

    def keep_squares(self, forward: bool = False, backward: bool = False) -> None:
        """Have each training ``forward`` (and ``backward``) compute the sum of squares of A
        (of dZ) in the pass that writes it, kept as :attr:`A_squares` (:attr:`dZ_squares`):
        the norms the bound of the fused SGD update reads (:mod:`fcnet.train.fused_sgd`),
        without a pass of their own. ``keep_squares()`` stops it."""
        n = self.n_out + 1
        self._sums_of_a = self.ops.empty(n, np.float64) if forward else None
        self._sums_of_dz = self.ops.empty(n, np.float64) if backward else None
        self.A_squares = self.dZ_squares = None

    def infer(self, X: np.ndarray) -> np.ndarray:
        """A = f(X W + b) for inference: keeps no caches, and applies f to Z in place when the
        activation allows it (no second buffer to write and read back). Returns a buffer the next
        call overwrites."""
        X = as_input("Dense", X, self.n_in, self.dtype, self.ops)
        m = X.shape[0]
        ops, activation = self.ops, self.activation
        Z = self._buffers.get("Z", m, self.n_out, self.dtype)
        in_place = type(activation) in IN_PLACE_ACTIVATIONS or ops.fuses(activation)
        A = Z if in_place else self._buffers.get("A", m, self.n_out, self.dtype)
        return ops.dense_forward(X, self.W, self.b, activation, Z, A)

    def backward(
        self, dA: np.ndarray, need_dX: bool = True, *, need_dW: bool = True
    ) -> np.ndarray | None:
        """Fill dW, db from dA (m, n_out); return dX (m, n_in), or None if not ``need_dX``.

        With ``need_dW=False``, dW is left as it was: :meth:`sgd_step` then applies the update
        straight from dZ (kept as ``self.dZ``) and db.
        """
        if self.X is None or self.Z is None or self.A is None:
            raise RuntimeError("Dense: call forward before backward.")
        m = self.X.shape[0]
        if dA.shape != (m, self.n_out):
            raise ValueError(f"Dense: expected dA of shape ({m}, {self.n_out}), got {dA.shape}.")
        ops, xp = self.ops, self.ops.xp
        dZ = self._buffers.get("dZ", m, self.n_out, self.dtype)
        dX = self._buffers.get("dX", m, self.n_in, self.dtype) if need_dX else None
        # dZ = dA * f'(Z), db = its sum over the batch, dW = X^T dZ, dX = dZ W^T: one compiled
        # call where ops has one
        dW = self.dW if need_dW else None
        sums = self._sums_of_dz
        extra = () if sums is None else (sums,)  # with the sum of squares of dZ, where asked
        dZ = ops.dense_backward(
            dA, self.X, self.W, self.Z, self.A, self.activation, dZ, self.db, dW, dX, *extra
        )
        self.dZ = dZ
        self.dZ_squares = None if sums is None else float(sums[-1])
        if need_dW:
            if self.l1 or self.l2:
                term = self._buffers.get("penalty", self.n_in, self.n_out, self.dtype)
                if self.l1:
                    xp.sign(self.W, out=term)
                    term *= self.l1
                    self.dW += term
                if self.l2:
                    xp.multiply(self.W, 2.0 * self.l2, out=term)
                    self.dW += term
        return dX

    def sgd_step(self, lr: float, weight_decay: float = 0.0) -> None:
        """One plain SGD step from the dZ and db of the last ``backward(..., need_dW=False)``::

            W <- W - lr (X^T dZ + l1 sign(W) + 2 l2 W + weight_decay W)
            b <- b - lr (sum of dZ over the batch + weight_decay b)

        the update ``torch.optim.SGD`` makes without momentum, with dW and db as
        :meth:`backward` computes them. dW is not stored: one matrix product writes W
        directly, ``W <- alpha X^T dZ + beta W`` with ``alpha = -lr`` and
        ``beta = 1 - lr (2 l2 + weight_decay)`` (the BLAS's ``gemm``; see ``fcnet._blas``),
        which spares a pass that writes dW and another that reads it back (``ops.fused_gemm``:
        the BLAS called from compiled code where the kernels are installed, else through
        ``ctypes`` for W of at least ``fcnet._blas.MIN_SIZE`` elements). Where neither can be
        had, dW is computed as in :meth:`backward` and applied.

        Parameters
        ----------
        lr : float
            The learning rate (times this layer's ``lr_mult``, which is the caller's to apply).
        weight_decay : float, default 0
            The optimizer's L2 weight decay, applied to W and b.
        """
        if self.X is None or self.dZ is None:
            raise RuntimeError("Dense: call backward(..., need_dW=False) before sgd_step.")
        X, dZ, W, b = self.X, self.dZ, self.W, self.b
        ops, xp = self.ops, self.ops.xp
        sign = None
        if self.l1:  # the subgradient at the weights before the step
            sign = xp.sign(W, out=self._buffers.get("penalty", self.n_in, self.n_out, self.dtype))
        decay_W = 1.0 - lr * (2.0 * self.l2 + weight_decay)
        if not ops.fused_gemm(-lr, X, dZ, decay_W, W, trans_a=True):
            ops.gemm(X, dZ, out=self.dW, trans_a=True)
            if decay_W != 1.0:
                W *= decay_W
            ops.axpy(-lr, self.dW, W, self._buffers.get("step", self.n_in, self.n_out, self.dtype))
        # b <- b - lr (db + weight_decay b): one compiled pass where ops has it, else NumPy (the
        # bias is small: NumPy is quicker than a foreign call)
        if not ops.sgd_update(
            b,
            self.db,
            b,
            lr=lr,
            momentum=0.0,
            dampening=0.0,
            weight_decay=weight_decay,
            nesterov=False,
            first=True,
        ):
            if weight_decay:
                b *= 1.0 - lr * weight_decay
            step_b = self._buffers.get("step_b", 1, self.n_out, self.dtype)[0]
            b -= xp.multiply(self.db, lr, out=step_b)
        if sign is not None:
            ops.axpy(-lr * self.l1, sign, W, sign)

    def penalty(self) -> float:
        """The regularization term l1 sum|W| + l2 sum W^2 (0 when both are 0)."""
        total = 0.0
        if self.l1:
            term = self._buffers.get("penalty", self.n_in, self.n_out, self.dtype)
            total += self.l1 * self.ops.item(self.ops.xp.abs(self.W, out=term).sum())
        if self.l2:
            total += self.l2 * self.ops.item(self.ops.xp.vdot(self.W, self.W))
        return total

    def to(self, ops: Any) -> Dense:
        """Move the parameters, gradients and activation to ``ops``'s arrays; returns self."""
        return move_to(self, ops, ("W", "b", "dW", "db"))

    def bind_grads(self, views: dict[str, Any]) -> None:
        """Keep the gradients in ``views`` (same keys and shapes as :meth:`grads`) from now on:
        ``fit`` passes views of one flat buffer."""
        self.dW, self.db = views["W"], views["b"]

    def params(self) -> dict[str, np.ndarray]:
        """``{"W": W, "b": b}``, the live arrays."""
        return {"W": self.W, "b": self.b}

    def grads(self) -> dict[str, np.ndarray]:
        """``{"W": dW, "b": db}``, filled by the last ``backward``.

        ``fit`` with plain SGD updates W through :meth:`sgd_step` and does not keep dW, which
        then holds no gradient of the run; call ``backward`` (or ``model.backward``) for it.
        """
        return {"W": self.dW, "b": self.db}

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as JSON values."""
        config: dict[str, Any] = {
            "n_in": self.n_in,
            "n_out": self.n_out,
            "activation": self.activation.get_config(),
            "init": self.init,
        }
        for key, default in (("l1", 0.0), ("l2", 0.0), ("trainable", True), ("lr_mult", 1.0)):
            if getattr(self, key) != default:
                config[key] = getattr(self, key)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = None) -> Dense:
        """Rebuild an (uninitialised-weights) Dense from :meth:`get_config`."""
        config = dict(config)
        activation = config.pop("activation", "identity")
        if isinstance(activation, dict):
            activation = activation_from_config(activation)
        init = config.pop("init", "glorot_uniform")
        # a custom initializer cannot be rebuilt by name; the saved weights replace it anyway
        init = init if init in INITIALIZERS else "zeros"
        return cls(activation=activation, init=init, dtype=dtype, rng=0, **config)

    def __repr__(self) -> str:
        text = f"Dense(n_in={self.n_in}, n_out={self.n_out}, activation={self.activation.name!r}"
        for key, default in (("l1", 0.0), ("l2", 0.0), ("trainable", True), ("lr_mult", 1.0)):
            if getattr(self, key) != default:
                text += f", {key}={getattr(self, key)!r}"
        return text + ")"
