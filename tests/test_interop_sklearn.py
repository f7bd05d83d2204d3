"""fcnet.interop.from_sklearn against scikit-learn's own predictions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fcnet
from fcnet.interop import from_sklearn

sklearn_nn = pytest.importorskip("sklearn.neural_network")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402


def _data(rows=600, width=5):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, width))
    return X, X @ rng.normal(size=width)


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_multiclass_classifier_with_string_labels(activation):
    X, score = _data()
    y = np.array(["low", "mid", "high"])[np.digitize(score, [-1.0, 1.0])]
    estimator = _fit(
        sklearn_nn.MLPClassifier(
            hidden_layer_sizes=(16, 8), activation=activation, max_iter=30, random_state=0
        ),
        X,
        y,
    )
    model = from_sklearn(estimator)
    assert model.task == "classification" and list(model.classes) == list(estimator.classes_)
    assert model.dtype == np.float64
    np.testing.assert_allclose(model.predict_proba(X), estimator.predict_proba(X), atol=1e-12)
    np.testing.assert_array_equal(model.predict(X), estimator.predict(X))


def test_binary_classifier_multilabel_and_float32():
    X, score = _data()
    y = np.where(score > 0, 7, 3)
    estimator = _fit(
        sklearn_nn.MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0), X, y
    )
    model = from_sklearn(estimator)
    assert model.task == "binary" and model.n_out == 1 and list(model.classes) == [3, 7]
    np.testing.assert_allclose(model.predict_proba(X)[:, 0], estimator.predict_proba(X)[:, 1])
    np.testing.assert_array_equal(model.predict(X), estimator.predict(X))
    Y = np.stack([score > 0, score > 1, score < -0.5], axis=1).astype(int)
    multilabel = _fit(
        sklearn_nn.MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0), X, Y
    )
    model = from_sklearn(multilabel)
    assert model.task == "binary" and model.classes is None
    np.testing.assert_allclose(model.predict_proba(X), multilabel.predict_proba(X), atol=1e-12)
    np.testing.assert_array_equal(model.predict(X), multilabel.predict(X))
    small = from_sklearn(estimator, dtype="float32")
    assert small.dtype == np.float32
    np.testing.assert_allclose(
        small.predict_proba(X)[:, 0], estimator.predict_proba(X)[:, 1], rtol=1e-5, atol=1e-6
    )


def test_regressor_several_outputs():
    X, score = _data()
    Y = np.stack([score, np.sin(score)], axis=1)
    estimator = _fit(
        sklearn_nn.MLPRegressor(hidden_layer_sizes=(12,), max_iter=30, random_state=0), X, Y
    )
    model = from_sklearn(estimator)
    assert model.task == "regression"
    np.testing.assert_allclose(model.predict(X), estimator.predict(X), rtol=1e-12, atol=1e-12)


def test_fcnet_estimators_model_attribute_gives_a_copy():
    class Estimator:  # the shape of fcnet's own scikit-learn estimators
        model_ = fcnet.Sequential([fcnet.Dense(3, 2, "relu", rng=0)])

    copy = from_sklearn(Estimator())
    assert copy is not Estimator.model_
    assert copy.params()["0.W"] is not Estimator.model_.params()["0.W"]
    np.testing.assert_array_equal(copy.params()["0.W"], Estimator.model_.params()["0.W"])


def test_refusals():
    if "loss" in sklearn_nn.MLPRegressor().get_params():  # scikit-learn >= 1.7: Poisson loss
        X, score = _data()
        poisson = sklearn_nn.MLPRegressor(hidden_layer_sizes=(4,), loss="poisson", max_iter=5)
        with pytest.raises(ValueError, match="output activation 'exp'"):
            from_sklearn(_fit(poisson, X, np.exp(score / 4)))
    with pytest.raises(RuntimeError, match="not fitted; call fit first"):
        from_sklearn(sklearn_nn.MLPClassifier())
    with pytest.raises(TypeError, match="expected scikit-learn's MLPClassifier"):
        from_sklearn(object())
