"""explain: the worked example's numbers, per-layer traces, and the model left untouched."""

from __future__ import annotations

import numpy as np
import pytest

import fcnet
from fcnet.explain import explain, worked_example


def test_worked_example_numbers(worked_numbers):
    model, X, Y = worked_example()
    text = model.explain(X, Y, "mse")
    for number in worked_numbers:
        assert number in text, number
    assert "Z = X W + b" in text
    assert "= [0.49, 0.62]" in text
    assert "= 0.18365" in text
    assert "= [-0.002, 0.009]" in text
    assert "[[0.1452, 0.2037]," in text
    assert "[ 0.226, 0.3185]]" in text
    assert "central difference" in text


def test_worked_example_with_1d_inputs(worked_numbers):
    layer = fcnet.Dense(2, 2, rng=0, dtype="float64")
    layer.W[...] = [[0.15, 0.20], [0.25, 0.30]]
    layer.b[...] = [0.35, 0.45]
    model = fcnet.Sequential([layer])
    text = explain(model, [0.1, 0.5], [0.01, 0.99], loss="mse", lr=0.1)
    for number in worked_numbers:
        assert number in text, number


def test_float32_model_is_traced_in_float64():
    layer = fcnet.Dense(2, 2, rng=0)
    layer.W[...] = [[0.15, 0.20], [0.25, 0.30]]
    layer.b[...] = [0.35, 0.45]
    model = fcnet.Sequential([layer])
    text = model.explain([[0.1, 0.5]], [[0.01, 0.99]])
    assert "= 0.18365" in text
    assert model.layers[0].W.dtype == np.float32


def test_model_is_left_untouched():
    model, X, Y = worked_example()
    before = {k: v.copy() for k, v in model.params().items()}
    model.explain(X, Y, "mse", lr=0.5)
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, before[key])


def test_each_layer_is_traced_forward_then_backward_in_reverse():
    model = fcnet.Sequential(
        [fcnet.Dense(2, 3, activation="sigmoid", rng=0), fcnet.Dense(3, 2, rng=1)]
    )
    text = model.explain([[0.1, 0.5]], [[0.01, 0.99]], "mse")
    forward, _, rest = text.partition("Backward")
    assert forward.index("layer 0:") < forward.index("layer 1:")
    assert rest.index("layer 1:") < rest.index("layer 0:")
    assert "f'(Z) = A (1 - A)" in rest
    assert "dX = dZ W^T" in rest


def test_central_differences_agree_with_backprop():
    model = fcnet.Sequential(
        [fcnet.Dense(3, 4, activation="tanh", rng=0), fcnet.Dense(4, 3, rng=1)]
    )
    X = np.random.default_rng(0).normal(size=(2, 3))
    text = model.explain(X, [0, 2], "cross_entropy")
    differences = [
        float(line.rsplit("max |difference| ", 1)[1].rstrip(")"))
        for line in text.splitlines()
        if "max |difference|" in line
    ]
    assert len(differences) >= 7
    assert max(differences) < 1e-6
    assert "softmax(A)" in text


def test_loss_decreases_after_the_step():
    model, X, Y = worked_example()
    text = model.explain(X, Y, "mse", lr=0.1)
    assert "L before the step = 0.18365, after = 0.140286" in text


def test_large_arrays_are_elided():
    model = fcnet.Sequential([fcnet.Dense(20, 12, activation="relu", rng=0), fcnet.Dense(12, 1)])
    X = np.random.default_rng(1).normal(size=(1, 20))
    text = model.explain(X, [[0.5]], "mse")
    assert "..." in text
    assert max(len(line) for line in text.splitlines()) < 200


def test_bad_arguments():
    model, X, Y = worked_example()
    with pytest.raises(ValueError, match="explain: expected X of shape"):
        model.explain([[1.0, 2.0, 3.0]], Y)
    with pytest.raises(ValueError, match="lr"):
        model.explain(X, Y, lr=-1.0)
    with pytest.raises(ValueError, match="y has 2 rows"):
        model.explain(X, [[1.0, 2.0], [3.0, 4.0]])
