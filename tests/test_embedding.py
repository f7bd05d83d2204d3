"""fcnet.Embedding: the row gather and its scatter-add by hand, float64 gradient checks, the
independent reference (torch.nn.Embedding), bad codes, saving, and training with fit."""

from __future__ import annotations

import numpy as np
import pytest

import fcnet
from fcnet._ops import default_ops
from fcnet.gradcheck import numerical_gradient
from fcnet.layers.embedding import default_dim


def small_layer(dtype: str = "float64") -> fcnet.Embedding:
    layer = fcnet.Embedding(3, [1], [3], [2], rng=0, dtype=dtype)
    layer.tables["E0"][...] = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    return layer


def test_forward_gathers_rows_and_passes_the_other_columns_through():
    layer = small_layer()
    X = np.array([[0.5, 0, -1.0], [1.5, 2, -2.0], [2.5, 0, -3.0]])
    A = layer.forward(X)
    # A = [X_0, X_2, E_0[c]] with c = 0, 2, 0
    np.testing.assert_array_equal(A, [[0.5, -1.0, 1, 2], [1.5, -2.0, 5, 6], [2.5, -3.0, 1, 2]])
    assert layer.n_out == 4 and A.dtype == np.float64
    np.testing.assert_array_equal(layer.infer(X), A)
    assert repr(layer) == "Embedding(n_in=3, columns=[1], cardinalities=[3], dims=[2])"


def test_backward_by_hand():
    layer = small_layer()
    X = np.array([[0.5, 0, -1.0], [1.5, 2, -2.0], [2.5, 0, -3.0]])
    layer.forward(X)
    dA = np.arange(12.0).reshape(3, 4)
    dX = layer.backward(dA)
    # dE_0 = onehot(c)^T dZ: row 0 sums rows 0 and 2 of dZ, row 2 is row 1, row 1 is untouched
    np.testing.assert_array_equal(layer.grads()["E0"], [[2 + 10, 3 + 11], [0, 0], [6, 7]])
    np.testing.assert_array_equal(dX, [[0, 0, 1], [4, 0, 5], [8, 0, 9]])  # code column: 0
    assert layer.backward(dA, need_dX=False) is None
    assert list(layer.params()) == list(layer.grads()) == ["E0"]


@pytest.mark.parametrize("m, cardinality", [(50, 7), (8, 40)])  # bincount and add.at routes
def test_both_scatter_routes_equal_the_one_hot_product(m, cardinality):
    rng = np.random.default_rng(0)
    codes = rng.integers(0, cardinality, size=m)
    dZ = rng.normal(size=(m, 3))
    dE = np.full((cardinality, 3), np.nan)
    default_ops().scatter_add_rows(codes, dZ, dE)
    np.testing.assert_allclose(dE, np.eye(cardinality)[codes].T @ dZ, rtol=1e-12, atol=1e-12)


def test_gradient_check_in_float64_with_two_tables():
    rng = np.random.default_rng(1)
    embedding = fcnet.Embedding(4, [3, 0], [5, 3], [2, 3], rng=2, dtype="float32")
    model = fcnet.Sequential(
        [embedding, fcnet.Dense(embedding.n_out, 6, "tanh", rng=3), fcnet.Dense(6, 2, rng=4)]
    )
    X = rng.normal(size=(7, 4))
    X[:, 3] = rng.integers(0, 5, size=7)
    X[:, 0] = rng.integers(0, 3, size=7)
    Y = rng.normal(size=(7, 2))
    report = fcnet.check_gradients(model, "mse", X, Y, check_input=False)
    assert report.ok and report.max_rel_error < 1e-6, report
    assert {row.name for row in report.rows} >= {"0.E0", "0.E1"}
    # dL/dX for the pass-through columns, by central differences on those entries only
    clone = fcnet.gradcheck.to_float64(model)
    loss = fcnet.losses.MSE()

    def L() -> float:
        return float(loss.forward(clone._forward(X, False), Y))

    L()
    dX = clone._backward(loss.backward(), need_dX=True)
    entries = [(i, j) for i in range(7) for j in (1, 2)]
    numeric = numerical_gradient(L, X, 1e-6, entries)
    analytic = np.array([dX[i, j] for i, j in entries])
    np.testing.assert_allclose(analytic, [numeric[i, j] for i, j in entries], rtol=1e-6, atol=1e-9)
    assert np.all(dX[:, [0, 3]] == 0)


def test_a_wrong_backward_is_caught():
    class Forgetful(fcnet.Embedding):
        def backward(self, dA, need_dX=True):
            out = super().backward(dA, need_dX)
            self.table_grads["E0"] *= 0.5
            return out

    layer = Forgetful(2, [1], [3], [2], rng=0)
    model = fcnet.Sequential([layer, fcnet.Dense(3, 1, rng=1)])
    X = np.array([[0.3, 0], [0.1, 2], [-0.4, 1]])
    report = fcnet.check_gradients(model, "mse", X, np.ones((3, 1)), check_input=False)
    assert not report.ok


def test_matches_torch_embedding():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    layer = fcnet.Embedding(2, [0], [6], [4], rng=0, dtype="float64")
    codes = rng.integers(0, 6, size=9)
    X = np.column_stack([codes, rng.normal(size=9)])
    reference = torch.nn.Embedding(6, 4, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(layer.tables["E0"]))
    G = rng.normal(size=(9, 5))
    A = layer.forward(X)
    layer.backward(G)
    out = reference(torch.from_numpy(codes))
    (out * torch.from_numpy(G[:, 1:])).sum().backward()
    np.testing.assert_allclose(A[:, 1:], out.detach().numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(layer.grads()["E0"], reference.weight.grad.numpy(), rtol=1e-12)


def test_bad_codes_name_the_column_and_row():
    layer = small_layer("float32")
    with pytest.raises(
        ValueError, match=r"column 1 row 1: expected an integer code in \[0, 3\), got 1.5"
    ):
        layer.forward(np.array([[0, 0, 0], [0, 1.5, 0]], dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"column 1 row 0: expected an integer code in \[0, 3\), got 3"
    ):
        layer.forward(np.array([[0, 3, 0]], dtype=np.float32))
    with pytest.raises(ValueError, match=r"got -1"):
        layer.infer(np.array([[0, -1, 0]], dtype=np.float32))
    with pytest.raises(ValueError, match=r"got nan"):
        layer.forward(np.array([[0, np.nan, 0]], dtype=np.float32))
    with pytest.raises(ValueError, match=r"expected X of shape \(m, 3\)"):
        layer.forward(np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="distinct columns in"):
        fcnet.Embedding(3, [1, 1], [2, 2], [1, 1])
    with pytest.raises(ValueError, match="one cardinality and one dim per code column"):
        fcnet.Embedding(3, [1], [2, 2], [1])
    with pytest.raises(TypeError, match="integer positions"):
        fcnet.Embedding(3, [1.0], [2], [1])
    with pytest.raises(RuntimeError, match="call forward before backward"):
        fcnet.Embedding(3, [1], [2], [1]).backward(np.zeros((1, 3)))


def test_default_dim_rule_and_from_encoder():
    assert [default_dim(c) for c in (2, 3, 100, 10_000)] == [2, 3, 21, 50]
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [0.0, 1.0] * 20, "k": [f"k{i}" for i in range(20)] * 2})
    encoder = fcnet.preprocessing.TabularEncoder(max_onehot=4).fit(frame)
    layer = fcnet.Embedding.from_encoder(encoder, rng=0)
    assert layer.columns == [1] and layer.cardinalities == [21] and layer.dims == [default_dim(21)]
    assert fcnet.Embedding.from_encoder(encoder, dim=3).dims == [3]
    with pytest.raises(ValueError, match="writes no column of codes"):
        fcnet.Embedding.from_encoder(fcnet.preprocessing.TabularEncoder().fit(frame[["x"]]))


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_trains_with_fit_and_saves(tmp_path, optimizer):
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 12, size=600)
    x = rng.normal(size=600)
    y = (np.sin(codes) + 0.5 * x > 0).astype(np.int64)  # depends on the code, not its order
    X = np.column_stack([x, codes]).astype(np.float32)
    model = fcnet.Sequential(
        [
            fcnet.Embedding(2, [1], [12], [4], rng=1),
            fcnet.Dense(5, 16, "relu", rng=2),
            fcnet.Dense(16, 2, rng=3),
        ]
    )
    before = model.layers[0].tables["E0"].copy()
    history = model.fit(
        X, y, optimizer=optimizer, lr=0.05, epochs=15, batch_size=32, rng=0, verbose=0
    )
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert not np.array_equal(model.layers[0].tables["E0"], before)
    assert model.evaluate(X, y)["accuracy"] >= 0.9
    assert model.predict_output(X).dtype == np.float32
    fcnet.save(model, tmp_path / "e.safetensors")
    loaded = fcnet.load(tmp_path / "e.safetensors")
    assert isinstance(loaded.layers[0], fcnet.Embedding)
    np.testing.assert_array_equal(loaded.layers[0].tables["E0"], model.layers[0].tables["E0"])
    np.testing.assert_array_equal(loaded.predict_output(X), model.predict_output(X))
