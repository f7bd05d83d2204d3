"""Losses: hand-computed values, stability for huge logits, weights, and bad targets."""

from __future__ import annotations

import numpy as np
import pytest

from fcnet import losses


def test_mse_hand_example():
    loss = losses.MSE()
    value = loss.forward(np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 1.0]]))
    # rows: 1/2 (1 + 4) = 2.5 and 1/2 (1 + 1) = 1; mean 1.75
    assert value == pytest.approx(1.75)
    np.testing.assert_allclose(loss.backward(), [[0.5, 1.0], [-0.5, -0.5]])


def test_mae_and_huber_hand_examples():
    Y_hat, Y = np.array([[3.0], [0.5]]), np.array([[1.0], [0.0]])
    mae = losses.MAE()
    assert mae.forward(Y_hat, Y) == pytest.approx((2 + 0.5) / 2)
    np.testing.assert_allclose(mae.backward(), [[0.5], [0.5]])
    huber = losses.Huber(delta=1.0)
    # r = 2 -> 1 (2 - 0.5) = 1.5 ; r = 0.5 -> 0.125
    assert huber.forward(Y_hat, Y) == pytest.approx((1.5 + 0.125) / 2)
    np.testing.assert_allclose(huber.backward(), [[0.5], [0.25]])


def test_softmax_cross_entropy_hand_example():
    loss = losses.SoftmaxCrossEntropy()
    Z = np.array([[0.0, 0.0], [np.log(3.0), 0.0]])
    value = loss.forward(Z, np.array([0, 1]))
    # p = [0.5, 0.5] and [0.75, 0.25]: L = (log 2 + log 4) / 2
    assert value == pytest.approx((np.log(2) + np.log(4)) / 2)
    np.testing.assert_allclose(loss.backward(), [[-0.25, 0.25], [0.375, -0.375]])


def test_binary_cross_entropy_hand_example():
    loss = losses.BinaryCrossEntropy()
    value = loss.forward(np.array([[0.0], [np.log(3.0)]]), np.array([1.0, 0.0]))
    # sigmoid(0) = 0.5, sigmoid(log 3) = 0.75: L = (log 2 + log 4) / 2
    assert value == pytest.approx((np.log(2) + np.log(4)) / 2)
    np.testing.assert_allclose(loss.backward(), [[-0.25], [0.375]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_cross_entropies_stay_finite_for_huge_logits(dtype, scale):
    Z = np.array([[scale, 0.0, -scale], [0.0, scale, 1.0]], dtype=dtype)
    sce = losses.SoftmaxCrossEntropy()
    value = sce.forward(Z, np.array([2, 0]))
    assert np.isfinite(value) and value > 0
    assert np.isfinite(sce.backward()).all()
    bce = losses.BinaryCrossEntropy()
    value = bce.forward(Z, (Z > 0).astype(dtype) * 0 + 1)
    assert np.isfinite(value) and np.isfinite(bce.backward()).all()


def test_cross_entropy_of_confident_wrong_logit_is_the_margin():
    sce = losses.SoftmaxCrossEntropy()
    assert sce.forward(np.array([[1e4, 0.0]]), np.array([1])) == pytest.approx(1e4)
    bce = losses.BinaryCrossEntropy()
    assert bce.forward(np.array([[-1e4]]), np.array([[1.0]])) == pytest.approx(1e4)


def test_weighted_mean_definition():
    loss = losses.MSE()
    Y_hat = np.array([[1.0], [3.0]])
    value = loss.forward(Y_hat, np.zeros((2, 1)), np.array([1.0, 3.0]))
    # per-sample 0.5 and 4.5 -> (1 * 0.5 + 3 * 4.5) / 4
    assert value == pytest.approx(14.0 / 4)
    np.testing.assert_allclose(loss.backward(), [[1.0 / 4], [3.0 * 3 / 4]])


@pytest.mark.parametrize(
    ("Y", "error", "message"),
    [
        (np.array([0, 1, 7]), ValueError, "labels must be integers in [0, 3), got 7 at row 2."),
        (np.array([0, -1, 2]), ValueError, "got -1 at row 1."),
        (np.array([0.0, 1.5, 2.0]), ValueError, "got 1.5 at row 1."),
        (np.array(["a", "b", "c"]), TypeError, "labels must be integers, got dtype <U1."),
        (np.array([0.0, np.nan, 1.0]), ValueError, "labels contain nan at row 1."),
        (np.ones((3, 2)), ValueError, "probability rows (m, 3), got shape (3, 2)"),
        (np.full((3, 3), 0.5), ValueError, "probability rows must sum to 1, got 1.5 at row 0."),
    ],
)
def test_bad_class_targets(Y, error, message):
    with pytest.raises(error) as info:
        losses.SoftmaxCrossEntropy().forward(np.zeros((3, 3)), Y)
    assert message in str(info.value)
    assert str(info.value).startswith("SoftmaxCrossEntropy: ")


def test_bad_regression_targets_and_weights():
    with pytest.raises(ValueError, match=r"MSE: expected targets of shape \(m, 2\)"):
        losses.MSE().forward(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="MSE: targets contain inf at row 1, column 0."):
        losses.MSE().forward(np.zeros((2, 1)), np.array([0.0, np.inf]))
    with pytest.raises(ValueError, match=r"sample_weight must be >= 0, got -1.0 at row 1"):
        losses.MSE().forward(np.zeros((2, 1)), np.zeros(2), [1.0, -1.0])
    with pytest.raises(ValueError, match=r"expected sample_weight of shape \(2,\), got \(3,\)"):
        losses.MSE().forward(np.zeros((2, 1)), np.zeros(2), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="targets must lie in \\[0, 1\\], got 2.0 at row 0"):
        losses.BinaryCrossEntropy().forward(np.zeros((1, 1)), [[2.0]])


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="MSE: call forward before backward."):
        losses.MSE().backward()


def test_unknown_loss_name_lists_valid_ones():
    with pytest.raises(
        ValueError, match="unknown loss 'hinge'; expected one of .*'cross_entropy'.*'mse'"
    ):
        losses.get_loss("hinge")
