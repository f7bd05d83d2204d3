"""Losses: each is a mean over the batch, and its ``backward`` returns dL/dY_hat including 1/m.

With per-sample weights w the mean is weighted, L = sum_i w_i L_i / sum_i w_i, and the gradient
of row i carries w_i / sum w instead of 1/m. Every loss sums over the outputs of one sample
and averages over samples, so a network with one output sees the textbook formulas.

Per sample (L_i) and its gradient dL_i/dY_hat_i, before the 1/m; r = y_hat - y:

* MSE: 1/2 sum_j r_j^2; gradient r.
* MAE: sum_j |r_j|; gradient sign(r).
* Huber(delta): sum_j (r^2 / 2 if |r| <= delta else delta (|r| - delta / 2));
  gradient clip(r, -delta, delta).
* SoftmaxCrossEntropy: -sum_j y_j log softmax(z)_j; gradient softmax(z) - y.
* BinaryCrossEntropy: sum_j max(z, 0) - z y + log(1 + e^-|z|); gradient sigmoid(z) - y.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._buffers import Buffers
from fcnet._ops import default_ops
from fcnet._validation import check_choice, check_number, first_nonfinite


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

    def value(self, Y_hat: Any, Y: Any, sample_weight: Any = None) -> Any:
        """The mean loss of validated inputs (see :meth:`forward`) as ``fit`` takes it: a float
        where ``ops.host_checks`` allows a read every step, else a one-element array on the
        device, not read back (with sample weights, their sum is read)."""
        self._per_sample = None
        per_sample = self._forward(Y_hat, Y)  # (m,) L_i; sets self._dY to dL_i/dY_hat
        m = len(Y_hat)
        if sample_weight is None:
            self._dY *= 1.0 / m
            if self.ops.host_checks:
                return float(per_sample.sum()) / m
            mean = self._buffers.get("mean", 1, 1, per_sample.dtype)[0]
            self.ops.xp.sum(per_sample, keepdims=True, out=mean)
            mean *= 1.0 / m
            return mean
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


class MSE(Loss):
    """Mean squared error: L = (1/m) sum_i 1/2 sum_j (Y_hat_ij - Y_ij)^2.

    dL/dY_hat = (Y_hat - Y) / m. The 1/2 makes the gradient the plain residual.
    """

    name = "mse"

    def _forward(self, Y_hat: np.ndarray, Y: np.ndarray) -> np.ndarray:
        xp = self.ops.xp
        residual = xp.subtract(Y_hat, Y, out=self._buffer("dY", Y_hat))  # R = Y_hat - Y
        squares = xp.multiply(residual, residual, out=self._buffer("tmp", Y_hat))
        self._dY = residual  # dL_i/dY_hat = R
        per_sample = self._row_sums(squares)
        per_sample *= 0.5
        return per_sample


class MAE(Loss):
    """Mean absolute error: L = (1/m) sum_i sum_j |Y_hat_ij - Y_ij|.

    dL/dY_hat = sign(Y_hat - Y) / m (0 where the residual is exactly 0).
    """

    name = "mae"

    def _forward(self, Y_hat: np.ndarray, Y: np.ndarray) -> np.ndarray:
        xp = self.ops.xp
        residual = xp.subtract(Y_hat, Y, out=self._buffer("tmp", Y_hat))
        self._dY = xp.sign(residual, out=self._buffer("dY", Y_hat))
        return self._row_sums(xp.abs(residual, out=residual))


class Huber(Loss):
    """Huber loss: per output r^2 / 2 if |r| <= delta else delta (|r| - delta / 2), r = y_hat - y.

    Summed over outputs, mean over the batch. dL/dY_hat = clip(r, -delta, delta) / m.
    """

    name = "huber"

    def __init__(self, delta: float = 1.0) -> None:
        super().__init__()
        self.delta = check_number("Huber", "delta", delta, low=0.0, low_open=True)

    def _forward(self, Y_hat: np.ndarray, Y: np.ndarray) -> np.ndarray:
        xp = self.ops.xp
        d = self.delta
        residual = xp.subtract(Y_hat, Y, out=self._buffer("tmp", Y_hat))
        size = xp.abs(residual, out=self._buffer("size", Y_hat))
        # per entry: r^2 / 2 where |r| <= delta, else delta (|r| - delta / 2)
        per_entry = xp.subtract(size, 0.5 * d, out=self._buffer("per_entry", Y_hat))
        per_entry *= d
        quadratic = xp.multiply(residual, 0.5, out=self._buffer("quadratic", Y_hat))
        quadratic *= residual
        inside = xp.less_equal(size, d, out=self._buffer("inside", Y_hat, np.bool_))
        xp.copyto(per_entry, quadratic, where=inside)
        self._dY = xp.clip(residual, -d, d, out=self._buffer("dY", Y_hat))
        return self._row_sums(per_entry)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "delta": self.delta}


class SoftmaxCrossEntropy(Loss):
    """Softmax fused with cross-entropy, on logits Z (m, k).

    Forward, with log-sum-exp so that no exponential overflows::

        s_ij = z_ij - max_j z_ij
        log p_ij = s_ij - log sum_j e^(s_ij)
        L = -(1/m) sum_i sum_j y_ij log p_ij

    Backward: dZ = (P - Y) / m. Fusing the two is why this is a loss and not a softmax layer
    followed by a log: the Jacobian of softmax and the derivative of the log cancel to P - Y,
    which is exact and cheap, whereas log(softmax(z)) underflows to -inf for large logits.

    Targets are integer labels (m,) in [0, k) or probability rows (m, k) summing to 1.
    """

    name = "cross_entropy"
    task = "classification"

    def _forward(self, Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
        xp = self.ops.xp
        # Computed on the (k, m) transpose S^T, P^T: a reduction over a few classes then runs
        # across the batch, many times faster than along a short last axis. dY is P^T's (m, k)
        # transposed view.
        m, k = Z.shape
        S = self._buffers.get("shifted", k, m, Z.dtype)
        xp.copyto(S, Z.T)
        lse = self._buffers.get("lse", 1, m, Z.dtype)
        xp.maximum.reduce(S, axis=0, keepdims=True, out=lse)  # max z
        S -= lse  # s = z - max z  (<= 0)
        P = self._buffers.get("dY", k, m, Z.dtype)
        xp.exp(S, out=P)
        xp.add.reduce(P, axis=0, keepdims=True, out=lse)  # sum e^s
        P /= lse  # softmax
        xp.log(lse, out=lse)  # log sum e^s
        if Y.ndim == 1:
            at_label = self._label_positions(Y, m)  # flat positions of (y_i, i) in S and P
            per_sample = self._take(S, at_label, "per_sample")  # s_{i, y_i}
            xp.subtract(lse[0], per_sample, out=per_sample)  # -log p_{i, y_i}
            p_label = self._take(P, at_label, "p_label")
            p_label -= 1.0
            xp.put(P, at_label, p_label, mode="clip")  # P - Y
        else:
            # -sum_j y_ij log p_ij = log sum e^s * sum_j y_ij - sum_j y_ij s_ij
            per_sample = self._row_sums(Y)
            per_sample *= lse[0]
            dot = self._buffers.get("y_dot_s", 1, m, Z.dtype)[0]
            per_sample -= xp.einsum("ji,ji->i", Y.T, S, out=dot)
            P -= Y.T
        self._dY = P.T
        return per_sample

    def _label_positions(self, labels: np.ndarray, m: int) -> np.ndarray:
        """Flat index y_i * m + i of each sample's label in a (k, m) array, in a buffer."""
        xp = self.ops.xp
        positions = self._buffers.get("at_label", 1, m, np.dtype(np.intp))[0]
        xp.multiply(labels, m, out=positions, casting="unsafe")
        positions += self._buffers.arange(m)
        return positions

    def _take(self, A: np.ndarray, positions: np.ndarray, name: str) -> np.ndarray:
        """A.flat[positions] into the buffer ``name`` (``mode="clip"``: no bounds pass)."""
        xp = self.ops.xp
        out = self._buffers.get(name, 1, len(positions), A.dtype)[0]
        return xp.take(A, positions, out=out, mode="clip")

    def prepare_targets(self, Y: Any, n_out: int, dtype: np.dtype) -> np.ndarray:
        return class_targets(type(self).__name__, Y, n_out, dtype)


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy on logits z, with y in [0, 1] (one or several independent outputs).

    L_i = sum_j max(z, 0) - z y + log(1 + e^-|z|)   (= -y log s(z) - (1 - y) log(1 - s(z)))

    Backward: dz = (sigmoid(z) - y) / m. The form above never overflows for large |z|.
    """

    name = "binary_cross_entropy"
    task = "binary"

    def _forward(self, Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
        xp = self.ops.xp
        tmp = self._buffer("tmp", Z)
        xp.abs(Z, out=tmp)
        xp.negative(tmp, out=tmp)
        xp.exp(tmp, out=tmp)  # e^-|z|
        # per entry: log(1 + e^-|z|) + max(z, 0) - z y
        per_entry = xp.log1p(tmp, out=self._buffer("per_entry", Z))
        term = xp.maximum(Z, self._buffers.zeros(*Z.shape, Z.dtype), out=self._buffer("term", Z))
        per_entry += term
        xp.multiply(Z, Y, out=term)
        per_entry -= term
        dY = self._buffer("dY", Z)
        # sigmoid(z) from e = e^-|z|: 1 / (1 + e) for z >= 0, e / (1 + e) for z < 0
        xp.add(tmp, 1, out=dY)
        nonneg = xp.greater_equal(Z, 0, out=self._buffer("nonneg", Z, np.bool_))
        xp.copyto(term, tmp)
        xp.copyto(term, 1, where=nonneg)
        xp.divide(term, dY, out=dY)
        dY -= Y
        self._dY = dY
        return self._row_sums(per_entry)

    def prepare_targets(self, Y: Any, n_out: int, dtype: np.dtype) -> np.ndarray:
        who = type(self).__name__
        Y = _regression_targets(who, Y, n_out, dtype)
        outside = (Y < 0) | (Y > 1)
        if outside.any():
            row, col = (int(i) for i in np.argwhere(outside)[0])
            raise ValueError(f"{who}: targets must lie in [0, 1], got {Y[row, col]} at row {row}.")
        return Y


def check_sample_weight(who: str, sample_weight: Any, m: int) -> np.ndarray:
    """Validate per-sample weights: (m,), finite, >= 0, not all zero; returned as float64."""
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{who}: sample_weight must hold numbers ({exc}).") from exc
    if w.ndim != 1 or len(w) != m:
        raise ValueError(f"{who}: expected sample_weight of shape ({m},), got {w.shape}.")
    bad = first_nonfinite(w)
    if bad is not None:
        raise ValueError(f"{who}: sample_weight contains {w[bad]} at row {bad[0]}.")
    if (w < 0).any():
        row = int(np.argmax(w < 0))
        raise ValueError(f"{who}: sample_weight must be >= 0, got {w[row]} at row {row}.")
    if not w.any():
        raise ValueError(f"{who}: sample_weight is all zero; at least one weight must be > 0.")
    return w


def class_targets(who: str, Y: Any, n_classes: int, dtype: np.dtype) -> np.ndarray:
    """Integer labels (m,) in [0, n_classes) as int64, or probability rows (m, k) as ``dtype``."""
    Y = np.asarray(Y)
    if Y.dtype == object or Y.dtype.kind in "USc":
        raise TypeError(f"{who}: labels must be integers, got dtype {Y.dtype}.")
    if Y.ndim == 2 and Y.shape[1] == 1:
        Y = Y[:, 0]
    if Y.ndim == 1:
        if Y.dtype.kind == "f":
            bad = first_nonfinite(Y)
            if bad is not None:
                raise ValueError(f"{who}: labels contain {Y[bad]} at row {bad[0]}.")
            fractional = Y != np.round(Y)
            if fractional.any():
                row = int(np.argmax(fractional))
                raise ValueError(
                    f"{who}: labels must be integers in [0, {n_classes}), "
                    f"got {Y[row]} at row {row}."
                )
        labels = Y.astype(np.int64)
        outside = (labels < 0) | (labels >= n_classes)
        if outside.any():
            row = int(np.argmax(outside))
            raise ValueError(
                f"{who}: labels must be integers in [0, {n_classes}), "
                f"got {labels[row]} at row {row}."
            )
        return labels
    if Y.ndim != 2 or Y.shape[1] != n_classes:
        raise ValueError(
            f"{who}: expected integer labels (m,) or probability rows (m, {n_classes}), "
            f"got shape {Y.shape}."
        )
    P = Y.astype(dtype)
    bad = first_nonfinite(P)
    if bad is not None:
        raise ValueError(f"{who}: targets contain {P[bad]} at row {bad[0]}, column {bad[1]}.")
    if (P < 0).any():
        row = int(np.argwhere(P < 0)[0][0])
        raise ValueError(
            f"{who}: probability rows must be >= 0, got a negative value at row {row}."
        )
    sums = P.sum(axis=1, dtype=np.float64)
    off = np.abs(sums - 1.0) > 1e-4
    if off.any():
        row = int(np.argmax(off))
        raise ValueError(
            f"{who}: probability rows must sum to 1, got {sums[row]:.6g} at row {row}."
        )
    return P


def _regression_targets(who: str, Y: Any, n_out: int, dtype: np.dtype) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.dtype == object or Y.dtype.kind in "USc":
        raise TypeError(f"{who}: targets must be real numbers, got dtype {Y.dtype}.")
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[1] != n_out:
        raise ValueError(
            f"{who}: expected targets of shape (m, {n_out}) to match the output, got {Y.shape}."
        )
    Y = np.ascontiguousarray(Y, dtype=dtype)
    bad = first_nonfinite(Y)
    if bad is not None:
        raise ValueError(f"{who}: targets contain {Y[bad]} at row {bad[0]}, column {bad[1]}.")
    return Y


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls for cls in (MSE, MAE, Huber, SoftmaxCrossEntropy, BinaryCrossEntropy)
}
LOSSES["softmax_cross_entropy"] = SoftmaxCrossEntropy
LOSSES["bce"] = BinaryCrossEntropy


def get_loss(loss: str | Loss) -> Loss:
    """Return a new loss for a name (``"mse"``, ``"cross_entropy"``, ...) or the object itself."""
    if isinstance(loss, str):
        return check_choice("losses", "loss", loss, LOSSES)()
    if hasattr(loss, "forward") and hasattr(loss, "backward"):
        return loss
    raise TypeError(f"losses: expected a loss name or a Loss object, got {type(loss).__name__}.")
