"""Losses on logits: softmax fused with cross-entropy, and binary cross-entropy."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet.losses.base import Loss
from fcnet.losses.targets import _regression_targets, class_targets


def _fused_buffers(loss: Loss, Y_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dY (m, k) and the per-sample losses (m,): the buffers a fused pass writes into."""
    return loss._buffer("dY", Y_hat), loss._buffers.get("per_sample", 1, len(Y_hat), Y_hat.dtype)[0]


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
        dY, per_sample = _fused_buffers(self, Z)
        if self.ops.softmax_cross_entropy(
            Z, Y, dY, per_sample, self._buffers
        ):  # one pass, where compiled
            self._dY = dY
            return per_sample
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
        dY, per_sample = _fused_buffers(self, Z)
        if self.ops.binary_cross_entropy(
            Z, Y, dY, per_sample, self._buffers
        ):  # one pass, where compiled
            self._dY = dY
            return per_sample
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
