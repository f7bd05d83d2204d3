"""One harness over every layer, activation and loss: shapes, no mutation, dtype, gradients, repr.

The gradient check is the textbook one: L = sum(G * output) for a random G, so dL/doutput = G,
compared with central differences in float64 (relative error < 1e-6 per entry).
"""

from __future__ import annotations

import numpy as np
import pytest

import fcnet
from fcnet import activations, losses
from fcnet.gradcheck import check_gradients

N_IN, N_OUT, M = 4, 3, 6


def _layer_factories():
    factories = {}
    for name in sorted(activations.ACTIVATIONS):
        if name == "linear":
            continue
        factories[f"Dense[{name}]"] = lambda dtype, n=name: fcnet.Dense(
            N_IN, N_OUT, activation=n, rng=1, dtype=dtype
        )
        factories[f"{activations.ACTIVATIONS[name].__name__}"] = lambda dtype, n=name: (
            activations.ACTIVATIONS[n]()
        )
    factories["Dense[l1,l2]"] = lambda dtype: fcnet.Dense(
        N_IN, N_OUT, activation="tanh", l1=0.01, l2=0.02, rng=2, dtype=dtype
    )
    factories["Dropout"] = lambda dtype: fcnet.Dropout(0.3, rng=5, dtype=dtype)
    for extra in ("BatchNorm", "LayerNorm"):
        cls = getattr(fcnet, extra, None)
        if cls is not None:
            factories[extra] = lambda dtype, c=cls: c(N_IN, dtype=dtype)
    return factories


LAYERS = _layer_factories()


def _input(dtype, width=N_IN, seed=0):
    X = np.random.default_rng(seed).normal(size=(M, width))
    X[np.abs(X) < 0.05] = 0.3  # keep away from kinks (ReLU at 0)
    return X.astype(dtype)


def _out_width(layer, width):
    return getattr(layer, "n_out", width)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_shapes_dtype_and_no_mutation(name):
    layer = LAYERS[name](np.float32)
    X = _input(np.float32)
    X_before = X.copy()
    A = layer.forward(X, training=True)
    assert A.shape == (M, _out_width(layer, N_IN))
    assert A.dtype == np.float32
    dA = np.random.default_rng(1).normal(size=A.shape).astype(np.float32)
    dA_before = dA.copy()
    dX = layer.backward(dA)
    assert dX.shape == X.shape and dX.dtype == np.float32
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(dA, dA_before)
    for key, grad in layer.grads().items():
        assert grad.shape == layer.params()[key].shape and grad.dtype == np.float32


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradients_match_central_differences(name, linear_probe):
    layer = LAYERS[name](np.float64)
    model = fcnet.Sequential([layer])
    X = _input(np.float64, seed=3)
    width = _out_width(layer, N_IN)
    G = np.random.default_rng(4).normal(size=(M, width))
    report = check_gradients(model, linear_probe(G), X, None, training=True)
    assert report.ok, str(report)
    assert report.max_rel_error < 1e-6
    assert {row.name for row in report.rows} >= {"input X"}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_repr_names_the_class(name):
    layer = LAYERS[name](np.float32)
    text = repr(layer)
    assert text.startswith(type(layer).__name__ + "(") and "object at" not in text


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_float64_stays_float64(name):
    layer = LAYERS[name](np.float64)
    A = layer.forward(_input(np.float64), training=True)
    assert A.dtype == np.float64


LOSSES = {
    "MSE": (losses.MSE, "values"),
    "MAE": (losses.MAE, "values"),
    "Huber": (lambda: losses.Huber(0.5), "values"),
    "SoftmaxCrossEntropy[labels]": (losses.SoftmaxCrossEntropy, "labels"),
    "SoftmaxCrossEntropy[probabilities]": (losses.SoftmaxCrossEntropy, "probabilities"),
    "BinaryCrossEntropy": (losses.BinaryCrossEntropy, "binary"),
}


def _targets(kind, dtype):
    rng = np.random.default_rng(9)
    if kind == "values":
        return rng.normal(size=(M, N_OUT)).astype(dtype)
    if kind == "labels":
        return rng.integers(0, N_OUT, size=M)
    if kind == "probabilities":
        P = rng.random(size=(M, N_OUT)) + 0.1
        return (P / P.sum(axis=1, keepdims=True)).astype(dtype)
    return rng.integers(0, 2, size=(M, N_OUT)).astype(dtype)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_contract(name):
    factory, kind = LOSSES[name]
    loss = factory()
    Y_hat = np.random.default_rng(2).normal(size=(M, N_OUT)).astype(np.float32)
    Y = _targets(kind, np.float32)
    before = (Y_hat.copy(), np.array(Y, copy=True))
    value = loss.forward(Y_hat, Y)
    assert isinstance(value, float) and np.isfinite(value)
    dY = loss.backward()
    assert dY.shape == Y_hat.shape and dY.dtype == np.float32
    np.testing.assert_array_equal(Y_hat, before[0])
    np.testing.assert_array_equal(Y, before[1])
    assert repr(loss).startswith(type(loss).__name__ + "(")


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_gradient_matches_central_differences(name, weighted):
    factory, kind = LOSSES[name]
    loss = factory()
    rng = np.random.default_rng(11)
    Y_hat = rng.normal(size=(M, N_OUT))
    Y = _targets(kind, np.float64)
    w = rng.random(M) + 0.1 if weighted else None
    loss.forward(Y_hat, Y, w)
    analytic = loss.backward().copy()
    numeric = fcnet.numerical_gradient(lambda: loss.forward(Y_hat, Y, w), Y_hat, 1e-6)
    error = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-12)
    assert error.max() < 1e-6
