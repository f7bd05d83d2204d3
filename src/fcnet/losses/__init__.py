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

from fcnet._validation import check_choice
from fcnet.losses.base import Loss
from fcnet.losses.classification import BinaryCrossEntropy, SoftmaxCrossEntropy
from fcnet.losses.regression import MAE, MSE, Huber
from fcnet.losses.targets import check_sample_weight, class_targets

__all__ = [
    "LOSSES",
    "MAE",
    "MSE",
    "BinaryCrossEntropy",
    "Huber",
    "Loss",
    "SoftmaxCrossEntropy",
    "check_sample_weight",
    "class_targets",
    "get_loss",
]

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
