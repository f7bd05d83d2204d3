"""The gradient checker: passes correct layers, catches a wrong backward, leaves the model alone."""

from __future__ import annotations

import numpy as np

import fcnet
from fcnet._ops import NumpyOps


def _model():
    return fcnet.Sequential([fcnet.Dense(3, 5, activation="tanh", rng=0), fcnet.Dense(5, 2, rng=1)])


def test_check_passes_and_leaves_the_float32_model_untouched():
    model = _model()
    before = {k: v.copy() for k, v in model.params().items()}
    X = np.random.default_rng(0).normal(size=(4, 3))
    report = fcnet.check_gradients(model, "cross_entropy", X, np.array([0, 1, 1, 0]))
    assert report.ok and report.max_rel_error < 1e-5
    assert [row.name for row in report.rows] == ["0.W", "0.b", "1.W", "1.b", "input X"]
    for key, value in model.params().items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, before[key])
    text = str(report)
    assert "PASSED" in text and "0.W" in text and "max rel error" in text


class WrongDense(fcnet.Dense):
    """A user's subclass with a classic bug: db forgets to sum over the batch (uses row 0)."""

    def backward(self, dA):
        dX = super().backward(dA)
        self.db[...] = dA[0]
        return dX


def test_check_catches_a_wrong_backward_in_a_user_subclass():
    model = fcnet.Sequential([WrongDense(3, 2, rng=0)])
    X = np.random.default_rng(1).normal(size=(5, 3))
    report = fcnet.check_gradients(model, "mse", X, np.zeros((5, 2)))
    assert not report.ok
    worst = {row.name: row.max_rel_error for row in report.rows}
    assert worst["0.b"] > 0.1 and worst["0.W"] < 1e-7
    assert "FAIL" in str(report)


def test_numerical_gradient_of_a_quadratic():
    x = np.array([1.0, -2.0, 3.0])
    grad = fcnet.numerical_gradient(lambda: float(np.sum(x**2)), x)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)


def test_sampled_entries_and_regularized_model():
    model = fcnet.Sequential(
        [fcnet.Dense(6, 4, "relu", l1=0.01, l2=0.1, rng=0), fcnet.Dense(4, 1, rng=1)]
    )
    X = np.random.default_rng(2).normal(size=(8, 6))
    report = fcnet.check_gradients(model, "mse", X, np.ones(8), max_entries=5, rng=0)
    assert report.ok, str(report)
    assert report.rows[0].checked == 5


def test_tiny_gradients_within_round_off_are_reported_as_such():
    """A gradient entry of ~1e-5 next to a loss of ~0.7: round-off limits the relative error
    (the NumPy route's round-off: the compiled kernels round this example otherwise)."""
    X = np.random.default_rng(0).normal(size=(4, 3))
    numpy_route = NumpyOps(kernels=False)
    model, loss = _model().to(numpy_route), fcnet.losses.SoftmaxCrossEntropy().to(numpy_route)
    report = fcnet.check_gradients(model, loss, X, np.array([0, 1, 1, 0]))
    rows = {row.name: row for row in report.rows}
    assert rows["0.b"].max_rel_error > report.tolerance  # 2.3e-6 on an entry of 1.6e-5
    assert abs(rows["0.b"].analytic - rows["0.b"].numerical) < report.floor
    assert report.ok and "ok (round-off)" in str(report)
