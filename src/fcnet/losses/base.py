"""The base class of the losses: the mean over the batch, sample weights, and the gradient's 1/m."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._buffers import Buffers
from fcnet._ops import default_ops
from fcnet._validation import first_nonfinite
from fcnet.losses.targets import _regression_targets, check_sample_weight


class Loss:
    """Base class: ``forward(Y_hat, Y, sample_weight=None) -> float`` then ``backward()``.

    Subclasses implement ``_forward(Y_hat, Y)`` (setting ``self._dY`` before scaling) and
    ``prepare_targets``.
    """

    name = "loss"
    #: "regression", "classification" (softmax over classes) or "binary" (independent sigmoids)
    task = "regression"

    def __init__(self) -> None:
        self.ops = default_ops()  # where the arrays live and are computed
        self._buffers = Buffers(self.ops)
        self._dY: np.ndarray | None = None
        self._per_sample: np.ndarray | None = None

    # --- public protocol -------------------------------------------------------------------
    def forward(
        self,
        Y_hat: np.ndarray,
        Y: Any,
        sample_weight: Any = None,
        *,
        check: bool = True,
    ) -> float:
        """Mean loss over the batch (weighted by ``sample_weight`` when given).

        Parameters
        ----------
        Y_hat : ndarray (m, k)
            The network's output (logits for the cross-entropy losses).
        Y : array-like
            Targets: (m, k) or (m,) values; for SoftmaxCrossEntropy integer labels (m,) or
            probability rows (m, k).
        sample_weight : array-like (m,), optional
            Non-negative weights, not all zero.
        check : bool
            Validate the inputs (``fit`` validates once up front and passes False).
        """
        if check:
            Y_hat = self._check_output(Y_hat)
            Y = self.prepare_targets(Y, Y_hat.shape[1], Y_hat.dtype)
            if len(Y) != len(Y_hat):
                raise ValueError(
                    f"{type(self).__name__}: Y has {len(Y)} rows but Y_hat has {len(Y_hat)}."
                )
            if sample_weight is not None:
                sample_weight = check_sample_weight(type(self).__name__, sample_weight, len(Y))
        value = self.value(Y_hat, Y, sample_weight)
        return value if isinstance(value, float) else self.ops.item(value)

    def value(self, Y_hat: Any, Y: Any, sample_weight: Any = None, total: Any = None) -> Any:
        """The mean loss of validated inputs (see :meth:`forward`) as ``fit`` takes it: a float
        where ``ops.host_checks`` allows a read every step, else a one-element array on the
        device, not read back (with sample weights, their sum is read).

        ``total``: the rows (or the weight sum) of the whole batch when these m rows are one
        process's share of it (data-parallel training). The loss and its gradient are then
        divided by ``total`` instead of m (or the rows' own weight sum), so that the sums over
        the processes are the whole batch's mean loss and its gradient::

            L_p = sum over the rows i of this process of w_i L_i / total
        """
        self._per_sample = None
        per_sample = self._forward(Y_hat, Y)  # (m,) L_i; sets self._dY to dL_i/dY_hat
        m = len(Y_hat)
        if sample_weight is None:
            count = m if total is None else total
            self._dY *= 1.0 / count
            if self.ops.host_checks:
                return float(per_sample.sum()) / count
            mean = self._buffers.get("mean", 1, 1, per_sample.dtype)[0]
            self.ops.xp.sum(per_sample, keepdims=True, out=mean)
            mean *= 1.0 / count
            return mean
        if total is None:
            total = self.ops.item(self.ops.xp.sum(sample_weight, dtype=np.float64))
        if total == 0.0:  # a mini-batch of zero-weight rows in fit: it contributes nothing
            self._dY[...] = 0
            return 0.0
        xp = self.ops.xp
        scale = self._buffers.get("scale", 1, m, np.dtype(np.float64))[0]
        xp.divide(sample_weight, total, out=scale)  # w_i / sum w
        if self._dY.dtype == scale.dtype:
            self._dY *= scale[:, None]
        else:
            scale_in_dtype = self._buffers.get("scale_dY", 1, m, self._dY.dtype)[0]
            xp.copyto(scale_in_dtype, scale)
            self._dY *= scale_in_dtype[:, None]
        if per_sample.dtype != scale.dtype:
            as64 = self._buffers.get("per_sample64", 1, m, scale.dtype)[0]
            xp.copyto(as64, per_sample)
            per_sample = as64
        return self.ops.item(xp.dot(per_sample, scale))

    def to(self, ops: Any) -> Loss:
        """Compute with ``ops``'s arrays from now on; returns self."""
        self.ops = ops
        self._buffers = Buffers(ops)
        self._dY = self._per_sample = None
        return self

    def backward(self) -> np.ndarray:
        """dL/dY_hat of the last ``forward``, shape of Y_hat, including 1/m (or w_i / sum w)."""
        if self._dY is None:
            raise RuntimeError(f"{type(self).__name__}: call forward before backward.")
        return self._dY

    def prepare_targets(self, Y: Any, n_out: int, dtype: np.dtype) -> np.ndarray:
        """Validate targets for an output of width ``n_out``; return them as computed with."""
        return _regression_targets(type(self).__name__, Y, n_out, dtype)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments with the loss name under ``"name"``."""
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"

    # --- helpers -----------------------------------------------------------------------
    def _check_output(self, Y_hat: Any) -> np.ndarray:
        who = type(self).__name__
        Y_hat = np.asarray(Y_hat)
        if Y_hat.dtype.kind != "f":
            Y_hat = Y_hat.astype(np.float64)
        if Y_hat.ndim == 1:
            Y_hat = Y_hat[:, None]
        if Y_hat.ndim != 2 or Y_hat.shape[0] == 0:
            raise ValueError(
                f"{who}: expected Y_hat of shape (m, k) with m >= 1, got {Y_hat.shape}."
            )
        bad = first_nonfinite(Y_hat)
        if bad is not None:
            raise ValueError(
                f"{who}: Y_hat contains {Y_hat[bad]} at row {bad[0]}, column {bad[1]}."
            )
        return Y_hat

    def _buffer(self, name: str, like: np.ndarray, dtype: Any = None) -> np.ndarray:
        """A scratch (m, k) array shaped like ``like`` (in ``like``'s dtype unless given)."""
        return self._buffers.get(
            name, like.shape[0], like.shape[1], like.dtype if dtype is None else np.dtype(dtype)
        )

    def _row_sums(self, A: np.ndarray) -> np.ndarray:
        """Sum over the outputs of each row of A (m, k), into a scratch (m,) array."""
        xp = self.ops.xp
        return xp.add.reduce(A, axis=1, out=self._buffers.get("per_sample", 1, len(A), A.dtype)[0])

    def _forward(self, Y_hat: np.ndarray, Y: np.ndarray) -> np.ndarray:
        raise NotImplementedError
