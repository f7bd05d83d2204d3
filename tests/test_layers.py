"""Dense and Dropout: the worked example by hand, caches, errors, dropout statistics."""

from __future__ import annotations

import numpy as np
import pytest

import fcnet
from fcnet.losses import MSE
from fcnet.optimizers import SGD


def worked_layer(dtype="float64"):
    layer = fcnet.Dense(2, 2, dtype=dtype)
    layer.W[...] = [[0.15, 0.20], [0.25, 0.30]]
    layer.b[...] = [0.35, 0.45]
    return layer


def test_worked_example_forward_backward_and_sgd_step():
    layer = worked_layer()
    X = np.array([[0.1, 0.5]])
    target = np.array([[0.01, 0.99]])
    out = layer.forward(X)
    np.testing.assert_allclose(out, [[0.49, 0.62]], rtol=0, atol=1e-15)
    loss = MSE()
    assert loss.forward(out, target) == pytest.approx(0.18365, abs=1e-15)
    dY = loss.backward()
    np.testing.assert_allclose(dY, [[0.48, -0.37]], atol=1e-15)
    dX = layer.backward(dY)
    np.testing.assert_allclose(layer.dW, [[0.048, -0.037], [0.24, -0.185]], atol=1e-15)
    np.testing.assert_allclose(layer.db, [0.48, -0.37], atol=1e-15)
    np.testing.assert_allclose(dX, [[-0.002, 0.009]], atol=1e-15)
    SGD(lr=0.1).step(layer.params(), layer.grads())
    np.testing.assert_allclose(layer.W, [[0.1452, 0.2037], [0.226, 0.3185]], atol=1e-15)
    np.testing.assert_allclose(layer.b, [0.302, 0.487], atol=1e-15)


def test_worked_example_through_sequential_and_float32():
    model = fcnet.Sequential([worked_layer("float32")])
    out = model.forward([[0.1, 0.5]])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.49, 0.62]], rtol=1e-6)
    loss = MSE()
    assert loss.forward(out, [[0.01, 0.99]]) == pytest.approx(0.18365, rel=1e-6)
    dX = model.backward(loss.backward())
    np.testing.assert_allclose(dX, [[-0.002, 0.009]], atol=1e-7)
    assert model.grads()["0.W"].dtype == np.float32


def test_dense_caches_and_shapes():
    layer = fcnet.Dense(3, 5, activation="relu", rng=0)
    X = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    A = layer.forward(X)
    assert A.shape == (7, 5) and layer.Z.shape == (7, 5) and layer.X is X
    np.testing.assert_array_equal(layer.A, np.maximum(layer.Z, 0))
    np.testing.assert_allclose(layer.Z, X @ layer.W + layer.b, rtol=1e-6)
    dX = layer.backward(np.ones((7, 5), dtype=np.float32))
    assert dX.shape == (7, 3) and layer.dW.shape == (3, 5) and layer.db.shape == (5,)


def test_dense_skips_dX_when_asked():
    layer = fcnet.Dense(3, 2, rng=0)
    layer.forward(np.ones((4, 3), dtype=np.float32))
    assert layer.backward(np.ones((4, 2), dtype=np.float32), need_dX=False) is None
    np.testing.assert_allclose(layer.db, [4.0, 4.0])


def test_dense_repr_and_config():
    layer = fcnet.Dense(4, 2, activation="relu", l2=0.01)
    assert repr(layer) == "Dense(n_in=4, n_out=2, activation='relu', l2=0.01)"
    assert layer.get_config()["activation"] == {"name": "relu"}


def test_same_seed_same_weights_and_dtype_rounding():
    a = fcnet.Dense(5, 4, rng=3)
    b = fcnet.Dense(5, 4, rng=3)
    c = fcnet.Dense(5, 4, rng=3, dtype="float64")
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.W, c.W.astype(np.float32))
    assert not np.array_equal(a.W, fcnet.Dense(5, 4, rng=4).W)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"n_in": 0, "n_out": 2},
            ValueError,
            "Dense: expected n_in to be a positive integer, got 0.",
        ),
        ({"n_in": 2.5, "n_out": 2}, TypeError, "n_in to be a positive integer"),
        ({"n_in": 2, "n_out": 2, "activation": "relux"}, ValueError, "unknown activation 'relux'"),
        ({"n_in": 2, "n_out": 2, "init": "nope"}, ValueError, "unknown initializer 'nope'"),
        ({"n_in": 2, "n_out": 2, "l2": -1}, ValueError, "expected l2 in [0.0, inf)"),
        ({"n_in": 2, "n_out": 2, "dtype": "int32"}, ValueError, "expected 'float32' or 'float64'"),
    ],
)
def test_dense_constructor_errors(kwargs, error, message):
    with pytest.raises(error, match=None) as info:
        fcnet.Dense(**kwargs)
    assert message in str(info.value)


def test_dense_wrong_input_width():
    layer = fcnet.Dense(4, 2)
    with pytest.raises(ValueError, match=r"Dense: expected X of shape \(m, 4\), got \(32, 3\)\."):
        layer.forward(np.zeros((32, 3), dtype=np.float32))


def test_backward_before_forward_is_a_call_order_error():
    with pytest.raises(RuntimeError, match="call forward before backward"):
        fcnet.Dense(2, 2).backward(np.zeros((1, 2)))


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError) as info:
        fcnet.Dense(2, 2, activation="swish")
    for name in ("'relu'", "'sigmoid'", "'tanh'", "'gelu'", "'softmax'"):
        assert name in str(info.value)


def test_dropout_is_identity_in_inference_and_scales_in_training():
    layer = fcnet.Dropout(0.25, rng=0)
    X = np.ones((2000, 50), dtype=np.float32)
    assert layer.forward(X) is X
    A = layer.forward(X, training=True)
    assert A.dtype == np.float32
    kept = A != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(A[kept], 1 / 0.75, rtol=1e-6)
    assert abs(A.mean() - 1.0) < 0.02  # inverted dropout keeps the expectation
    dX = layer.backward(np.ones_like(X))
    np.testing.assert_array_equal(dX, A)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_p_outside_range(p):
    with pytest.raises(ValueError, match=r"Dropout: expected p in \[0.0, 1.0\)"):
        fcnet.Dropout(p)


def test_l1_l2_penalty_and_gradient():
    layer = fcnet.Dense(3, 2, l1=0.1, l2=0.2, rng=0, dtype="float64")
    W = layer.W.copy()
    assert layer.penalty() == pytest.approx(0.1 * np.abs(W).sum() + 0.2 * (W**2).sum())
    X = np.ones((1, 3))
    layer.forward(X)
    layer.backward(np.zeros((1, 2)))
    np.testing.assert_allclose(layer.dW, 0.1 * np.sign(W) + 0.4 * W)


# --- the plain SGD step fused with the weight gradient -----------------------------------------
@pytest.fixture(params=["gemm", "numpy"])
def sgd_route(request, monkeypatch):
    """Both routes of Dense.sgd_step: one BLAS product writing W, and NumPy's dW then update."""
    from fcnet import _blas

    if request.param == "numpy":
        monkeypatch.setattr(_blas, "_routines", {})
    elif not _blas.available("gemm", np.float64):
        pytest.skip("NumPy's BLAS is not an OpenBLAS fcnet can call")
    else:
        monkeypatch.setattr(_blas, "MIN_SIZE", 0)  # the small layers here take the BLAS too
    return request.param


def test_sgd_step_is_the_worked_example_step(sgd_route):
    layer = worked_layer()
    loss = MSE()
    loss.forward(layer.forward(np.array([[0.1, 0.5]])), np.array([[0.01, 0.99]]))
    dX = layer.backward(loss.backward(), need_dW=False)
    np.testing.assert_allclose(dX, [[-0.002, 0.009]], atol=1e-15)
    np.testing.assert_allclose(layer.dZ, [[0.48, -0.37]], atol=1e-15)
    layer.sgd_step(0.1)
    np.testing.assert_allclose(layer.W, [[0.1452, 0.2037], [0.226, 0.3185]], atol=1e-15)
    np.testing.assert_allclose(layer.b, [0.302, 0.487], atol=1e-15)


@pytest.mark.parametrize(
    "l1, l2, weight_decay", [(0.0, 0.0, 0.0), (0.05, 0.0, 0.0), (0.0, 0.1, 0.0), (0.02, 0.1, 0.3)]
)
def test_sgd_step_equals_backward_then_the_sgd_optimizer(sgd_route, l1, l2, weight_decay):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((9, 5))
    dA = rng.standard_normal((9, 4))
    fused = fcnet.Dense(5, 4, "tanh", l1=l1, l2=l2, rng=1, dtype="float64")
    reference = fcnet.Dense(5, 4, "tanh", l1=l1, l2=l2, rng=1, dtype="float64")
    fused.b[...] = rng.standard_normal(4)
    reference.b[...] = fused.b
    dW_before = fused.dW.copy()
    fused.forward(X, training=True)
    dX_fused = fused.backward(dA, need_dW=False)
    np.testing.assert_array_equal(fused.dW, dW_before)  # not computed
    fused.sgd_step(0.3, weight_decay)
    reference.forward(X, training=True)
    dX_reference = reference.backward(dA)
    SGD(0.3, weight_decay=weight_decay).step(reference.params(), reference.grads())
    np.testing.assert_allclose(dX_fused, dX_reference, rtol=1e-15)
    np.testing.assert_allclose(fused.W, reference.W, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(fused.b, reference.b, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(fused.db, reference.db, rtol=1e-15)


def test_sgd_step_on_a_transposed_dZ_and_a_partial_batch(sgd_route):
    """The output layer's dZ is the loss's gradient, a transposed view; the last batch of an
    epoch has fewer rows than the buffers."""
    rng = np.random.default_rng(0)
    layer = fcnet.Dense(6, 3, rng=0, dtype="float64")
    W0, b0 = layer.W.copy(), layer.b.copy()
    for rows in (8, 5):
        X = rng.standard_normal((rows, 6))
        dA = np.ascontiguousarray(rng.standard_normal((3, rows))).T  # (rows, 3), transposed
        layer.forward(X, training=True)
        layer.backward(dA, need_dX=False, need_dW=False)
        layer.sgd_step(0.5)
        W0 -= 0.5 * X.T @ dA
        b0 -= 0.5 * dA.sum(axis=0)
        np.testing.assert_allclose(layer.W, W0, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(layer.b, b0, rtol=1e-13, atol=1e-14)


def test_sgd_step_before_backward_is_a_call_order_error():
    layer = fcnet.Dense(2, 2)
    with pytest.raises(RuntimeError, match=r"call backward\(\.\.\., need_dW=False\) before"):
        layer.sgd_step(0.1)
