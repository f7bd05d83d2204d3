"""The compiled fused passes (fcnet._ops.fused, fcnet._ops.kernels) against the NumPy reference,
side by side: every activation, loss and optimizer gives the same numbers to rounding on both
routes, a whole fit too, and the kernels are deterministic. Skipped without Numba, where the
NumPy route is the only one (and is what the rest of the suite tests)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from optimizer_cases import OPTIMIZERS, assert_updates_agree

import fcnet
from fcnet import losses, optimizers
from fcnet._ops import NumpyOps
from fcnet.activations import ACTIVATIONS, ReLU

numba = pytest.importorskip("numba")

from fcnet._ops.kernels import loader, vmath  # noqa: E402  (needs numba)

FUSED, NUMPY = NumpyOps(), NumpyOps(kernels=False)
TOL = {np.float32: dict(rtol=3e-6, atol=1e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}
NAMES = sorted(set(ACTIVATIONS) - {"linear"})


def _z(m, n, dtype, rng):
    """Pre-activations over a wide range, with exact zeros and large magnitudes."""
    Z = rng.standard_normal((m, n)) * 3
    Z.flat[::7] *= 10  # some far out in both tails
    Z.flat[3::11] = 0.0
    return Z.astype(dtype)


# --- the elementary functions -----------------------------------------------------------------
@numba.njit
def _apply(f, x, out):
    for i in range(x.size):
        out[i] = f(x[i])


def _wide():
    x = np.concatenate(
        [
            np.linspace(-750, 750, 30001),
            np.linspace(-4, 4, 30001),
            np.geomspace(1e-310, 30, 3000),
            -np.geomspace(1e-310, 30, 3000),
            [0.0, -0.0, np.inf, -np.inf, np.nan, 709.78, -745.13, 1e-300],
        ]
    )
    return x


@pytest.mark.parametrize(
    ("name", "reference"),
    [("exp", np.exp), ("expm1", np.expm1), ("tanh", np.tanh)],
)
def test_elementary_functions_agree_with_numpy_to_a_few_ulps(name, reference):
    function = getattr(vmath, name)
    kernel = numba.njit(lambda x, out: _apply(function, x, out))
    x = _wide()
    out = np.empty_like(x)
    kernel(x, out)
    with np.errstate(over="ignore"):
        expected = reference(x)
    finite = np.isfinite(expected) & (np.abs(expected) > 1e-300)
    np.testing.assert_allclose(out[finite], expected[finite], rtol=1e-15, atol=0)
    # inf, nan, 0 and the subnormal range as NumPy has them (to the last few subnormal ulps)
    np.testing.assert_array_equal(out[~np.isfinite(expected)], expected[~np.isfinite(expected)])
    tiny = np.isfinite(expected) & ~finite
    np.testing.assert_allclose(out[tiny], expected[tiny], rtol=1e-12, atol=1e-322)


def test_log1p_on_the_unit_interval_and_erfc_agree_with_references():
    t = np.concatenate([np.linspace(0, 1, 20001), np.geomspace(1e-300, 1, 2000), [np.nan]])
    out = np.empty_like(t)
    numba.njit(lambda x, o: _apply(vmath.log1p_unit, x, o))(t, out)
    np.testing.assert_allclose(out, np.log1p(t), rtol=1e-15, atol=0)
    x = np.concatenate([np.linspace(-30, 30, 60001), [np.inf, -np.inf, np.nan, 0.0]])
    out = np.empty_like(x)
    numba.njit(lambda x, o: _apply(vmath.erfc, x, o))(x, out)
    expected = np.array([math.erfc(v) if not np.isnan(v) else np.nan for v in x])
    normal = expected > 1e-300
    np.testing.assert_allclose(out[normal], expected[normal], rtol=2e-15)
    np.testing.assert_array_equal(out[-4:], expected[-4:])


# --- activations ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_every_activation_forward_and_backward_agree_with_numpy(name, dtype):
    rng = np.random.default_rng(0)
    m, n = 37, 67  # odd sizes: the remainders of the vectorised loops and the blocks of db
    b = rng.standard_normal(n).astype(dtype)
    dA = rng.standard_normal((m, n)).astype(dtype)
    results = []
    for ops in (NUMPY, FUSED):
        activation = ACTIVATIONS[name]().to(ops)
        Z = _z(m, n, dtype, np.random.default_rng(1))
        A = np.empty_like(Z)
        A = ops.bias_activation(Z, b, activation, A)
        dZ, db = np.empty_like(Z), np.empty(n, dtype)
        dZ = ops.activation_backward_colsum(dA, Z, A, activation, dZ, db)
        inplace = _z(m, n, dtype, np.random.default_rng(1))
        out = inplace if ops.fuses(activation) else np.empty_like(inplace)
        out = ops.bias_activation(inplace, b, activation, out)
        results.append([Z.copy(), A.copy(), dZ.copy(), db.copy(), out.copy()])
    for reference, fused, what in zip(*results, ["Z + b", "f", "dZ", "db", "f in place"], strict=1):
        tol = dict(TOL[dtype])
        eps = np.finfo(dtype).eps
        if what == "db":  # a sum of 37 rows, added in another order
            tol["atol"] = 50 * eps * np.abs(dA).sum(0).max()
        if what == "dZ" and name == "elu":  # f' = f + alpha cancels: A's last bit, times dA
            tol["atol"] = 4 * eps * np.abs(dA).max()
        np.testing.assert_allclose(fused, reference, err_msg=f"{name} {what}", **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["tanh", "softplus"])
def test_the_forward_kernels_numpy_computes_instead_agree_with_it(name, dtype):
    """Kept for the machines where they would be faster: called directly here."""
    forward, infer, _ = loader.load().activations.KERNELS[name]
    rng = np.random.default_rng(0)
    b = rng.standard_normal(67).astype(dtype)
    Z = _z(37, 67, dtype, rng)
    expected = ACTIVATIONS[name]().to(NUMPY).apply(Z + b, np.empty_like(Z))
    A, Z_plus_b = np.empty_like(Z), Z.copy()
    forward(Z_plus_b, b, A, 0.0, np.empty(0))
    np.testing.assert_allclose(A, expected, **TOL[dtype])
    np.testing.assert_array_equal(Z_plus_b, Z + b)
    infer(Z, b, 0.0)
    np.testing.assert_allclose(Z, expected, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_a_dense_layer_computes_the_same_on_both_routes(name, dtype):
    """Forward, inference, and backward with and without dW and dX: the compiled call with the
    products against NumPy's matmul and passes."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((37, 23)).astype(dtype)
    dA = rng.standard_normal((37, 19)).astype(dtype)
    results = []
    for ops in (NUMPY, FUSED):
        layer = fcnet.Dense(23, 19, name, rng=0, dtype=dtype, l2=0.01).to(ops)
        layer.b[...] = rng.standard_normal(19).astype(dtype) if ops is NUMPY else results[0][0]
        A = layer.forward(X, training=True).copy()
        dX = layer.backward(dA).copy()
        grads = [layer.dW.copy(), layer.db.copy()]
        assert layer.backward(dA, need_dX=False) is None
        np.testing.assert_array_equal(layer.dW, grads[0])
        layer.dW[...] = 7.0
        layer.backward(dA, need_dW=False)
        assert (layer.dW == 7.0).all()  # left as it was
        results.append([layer.b.copy(), A, dX, *grads, layer.infer(X).copy()])
    tol = dict(TOL[dtype])
    tol["atol"] = 200 * np.finfo(dtype).eps  # sums of 23 to 37 products, in the BLAS's order
    for reference, fused, what in zip(*results, ["b", "A", "dX", "dW", "db", "infer"], strict=1):
        np.testing.assert_allclose(fused, reference, err_msg=f"{name} {what}", **tol)


def _exact_squares(A):
    return math.fsum(float(v) ** 2 for v in np.asarray(A, np.float64).ravel())


@pytest.mark.parametrize("m", [1, 37, 70])  # within one block of 32 rows, across several
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_the_sums_of_squares_of_A_and_dZ_are_those_of_the_arrays_written(name, dtype, m):
    """Both routes: squares[-1] is sum A_ij^2 of the f(Z) forward returns and sum dZ_ij^2 of the
    dZ backward returns (dA for the identity), to float64 rounding (the compiled kernels sum in
    float64, the reference's dot product in the dtype); the arrays themselves are unchanged by
    asking for it."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((m, 23)).astype(dtype)
    dA = rng.standard_normal((m, 19)).astype(dtype)
    for ops in (NUMPY, FUSED):
        layer = fcnet.Dense(23, 19, name, rng=0, dtype=dtype).to(ops)
        plain = layer.forward(X, training=True).copy()
        layer.backward(dA, need_dX=False)
        plain_dZ = layer.dZ.copy()
        layer.keep_squares(forward=True, backward=True)
        A = layer.forward(X, training=True)
        layer.backward(dA, need_dX=False)
        dZ = layer.dZ
        np.testing.assert_array_equal(A, plain)
        np.testing.assert_array_equal(dZ, plain_dZ)
        tol = 1e-12 if dtype == np.float64 else 1e-5
        assert layer.A_squares == pytest.approx(_exact_squares(A), rel=tol)
        assert layer.dZ_squares == pytest.approx(_exact_squares(dZ), rel=tol)
        layer.forward(X, training=False)  # not training: nothing summed
        assert layer.A_squares is None
        layer.keep_squares()
        layer.forward(X, training=True)
        layer.backward(dA, need_dX=False)
        assert layer.A_squares is None and layer.dZ_squares is None


def test_the_kernels_sum_float32_squares_in_float64():
    """Entries of 1e20: their float32 squares overflow, the float64 sums do not (a bound that
    needs no pass of its own then)."""
    X = np.full((5, 3), 1e20, np.float32)
    layer = fcnet.Dense(3, 4, "relu", rng=0).to(FUSED)
    layer.W[...] = 1.0
    layer.keep_squares(forward=True, backward=True)
    layer.forward(X, training=True)
    layer.backward(np.full((5, 4), 1e20, np.float32), need_dX=False)
    assert layer.A_squares == pytest.approx(20 * 9e40, rel=1e-6)
    assert layer.dZ_squares == pytest.approx(20 * 1e40, rel=1e-6)


@pytest.mark.parametrize("m", [1, 2, 33])  # one row, pairs only, pairs and a last row
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_gather_sums_the_squares_of_the_rows_it_copies(dtype, m):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((50, 9)).astype(dtype)
    X[7] = 1e20  # its squares overflow float32, not the float64 sum
    rows = np.sort(rng.choice(50, m, replace=False)).astype(np.int64)
    rows[0] = 7
    for ops in (NUMPY, FUSED):
        out, squares = np.full((m, 9), np.nan, dtype), np.full(10, np.nan)
        assert ops.take_rows(X, rows, out, squares) is out
        np.testing.assert_array_equal(out, X[rows])
        if ops is FUSED or dtype == np.float64:
            assert squares[-1] == pytest.approx(_exact_squares(X[rows]), rel=1e-12)
        else:  # the reference's float32 dot product overflows: a bound that refuses, never less
            assert squares[-1] == np.inf
        out[...] = 0.0
        assert ops.take_rows(X, rows, out) is out  # without squares: the gather alone
        np.testing.assert_array_equal(out, X[rows])


def test_the_gather_takes_the_reference_route_for_arrays_the_kernel_does_not_take():
    X = np.arange(60.0, dtype=np.float32).reshape(6, 10)[:, ::2]  # not C-contiguous
    rows = np.array([4, 1], dtype=np.int32)
    out, squares = np.empty((2, 5), np.float32), np.zeros(6)
    FUSED.take_rows(X, rows, out, squares)
    np.testing.assert_array_equal(out, X[rows])
    assert squares[-1] == _exact_squares(X[rows])


def test_the_kernels_are_used_where_they_measured_faster():
    assert FUSED.fuses(ReLU()) and not NUMPY.fuses(ReLU())
    assert {n for n in NAMES if FUSED.fuses(ACTIVATIONS[n]())} == {
        "identity",
        "relu",
        "leaky_relu",
        "elu",
        "gelu",
        "sigmoid",
    }


def test_a_subclass_of_a_builtin_activation_keeps_its_own_code():
    class Shifted(ReLU):
        def apply(self, Z, out):
            return np.add(np.maximum(Z, 0, out=out), 1.0, out=out)

    activation = Shifted()
    assert not FUSED.fuses(activation)
    Z, b = np.zeros((2, 3), np.float32), np.zeros(3, np.float32)
    A = FUSED.bias_activation(Z, b, activation, np.empty_like(Z))
    np.testing.assert_array_equal(A, np.ones((2, 3)))


def test_arrays_the_kernels_do_not_take_go_the_numpy_way():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((8, 5)).astype(np.float32)
    dA = np.asfortranarray(rng.standard_normal((8, 5)).astype(np.float32))  # not C-contiguous
    relu = ReLU()
    expected_dZ = dA * (Z > 0)
    db = np.empty(5, np.float32)
    dZ = FUSED.activation_backward_colsum(dA, Z, np.maximum(Z, 0), relu, np.empty_like(Z), db)
    np.testing.assert_array_equal(dZ, expected_dZ)
    np.testing.assert_allclose(db, expected_dZ.sum(0), rtol=1e-6)


# --- losses -----------------------------------------------------------------------------------
def _targets(name, m, k, rng):
    if name == "cross_entropy":
        return rng.integers(0, k, m)
    if name == "cross_entropy_probabilities":
        return rng.dirichlet(np.ones(k), m)
    if name == "binary_cross_entropy":
        return rng.uniform(0, 1, (m, k))
    return rng.standard_normal((m, k))


@pytest.mark.parametrize("m", [41, 300])  # the cross-entropy's row-wise and transposed loops
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name",
    ["cross_entropy", "cross_entropy_probabilities", "binary_cross_entropy", "mse", "mae", "huber"],
)
def test_every_loss_and_its_gradient_agree_with_numpy(name, dtype, weighted, m):
    rng = np.random.default_rng(0)
    k = 7
    Y_hat = (rng.standard_normal((m, k)) * 4).astype(dtype)
    Y_hat[0, 0] = 60.0  # a large logit: log-sum-exp keeps it finite
    Y = _targets(name, m, k, rng)
    w = rng.uniform(0.5, 2.0, m) if weighted else None
    kind = "cross_entropy" if name.startswith("cross_entropy") else name
    results = []
    for ops in (NUMPY, FUSED):
        loss = (losses.Huber(0.7) if kind == "huber" else losses.get_loss(kind)).to(ops)
        value = loss.forward(Y_hat, Y, sample_weight=w)
        results.append((value, loss.backward().copy()))
    (value, dY), (fused_value, fused_dY) = results
    assert fused_value == pytest.approx(value, rel=TOL[dtype]["rtol"])
    np.testing.assert_allclose(fused_dY, dY, **TOL[dtype])


# --- optimizers -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtypes", ["float32", "float64", "mixed"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_update_agrees_with_numpy(name, dtypes):
    """Every parameter in one call (one dtype), or one call a parameter (mixed dtypes, which
    one table cannot hold), against NumPy; with a learning rate scaled for one parameter."""
    assert_updates_agree(name, dtypes, NUMPY, FUSED, 130)


# --- training ---------------------------------------------------------------------------------
def _fit(ops, optimizer, activation="relu", seed=0):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 12)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.3)
    model = fcnet.Sequential(
        [
            fcnet.Dense(12, 32, activation, rng=0),
            fcnet.Dense(32, 16, "gelu", rng=1),
            fcnet.Dense(16, 3, rng=2),
        ]
    ).to(ops)
    history = model.fit(
        X, y, loss="cross_entropy", optimizer=optimizer, epochs=3, batch_size=32, rng=seed
    )
    return model, history


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_fit_on_the_fused_route_matches_the_numpy_route_and_repeats_bit_for_bit(optimizer):
    model, history = _fit(NUMPY, optimizer)
    fused, fused_history = _fit(FUSED, optimizer)
    again, _ = _fit(NumpyOps(), optimizer)
    np.testing.assert_allclose(fused_history.history["loss"], history.history["loss"], rtol=1e-4)
    for key, value in model.params().items():
        np.testing.assert_allclose(fused.params()[key], value, rtol=1e-3, atol=1e-5, err_msg=key)
        np.testing.assert_array_equal(again.params()[key], fused.params()[key], err_msg=key)


def test_import_fcnet_neither_imports_numba_nor_compiles():
    code = "import sys, fcnet; print('numba' in sys.modules, 'llvmlite' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --- the disk cache ---------------------------------------------------------------------------
def test_the_cache_lives_in_a_directory_named_after_the_kernels_sources(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "user"))
    path = loader.cache_directory(numba)
    assert path.parent == tmp_path / "user" and path.name.startswith("fcnet-kernels-")
    assert path.is_dir()
    monkeypatch.setattr(loader, "_SOURCES", (*loader._SOURCES[:-1], "jit.py"))  # other sources
    assert loader.cache_directory(numba).name != path.name


def test_a_read_only_installation_caches_in_the_user_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(loader, "_IN_TREE", blocker / "__pycache__")  # cannot exist
    monkeypatch.setattr(loader, "_user_cache", lambda: tmp_path / "user")
    assert loader.cache_directory(numba).parent == tmp_path / "user"
    monkeypatch.setattr(loader, "_user_cache", lambda: blocker / "user")
    assert loader.cache_directory(numba) is None


def test_the_one_call_routes_are_taken():
    """The steps above go through the compiled calls, not around them."""
    ops = NumpyOps()
    layer = fcnet.Dense(8, 4, "relu", rng=0).to(ops)
    layer.forward(np.ones((3, 8), np.float32), training=True)
    layer.backward(np.ones((3, 4), np.float32))
    assert ops._cache.dense[ReLU] is not None and ops._cache.K.gemm is not None
    opt = optimizers.Adam()
    opt.ops = ops
    params = {"W": np.ones((3, 2), np.float32), "b": np.ones(2, np.float32)}
    grads = {"W": np.ones((3, 2), np.float32), "b": np.ones(2, np.float32)}
    opt.step(params, grads)
    table = ops._cache.tables.made("adam")[0]
    assert table.shape == (2, 5) and table[0, 0] == params["W"].ctypes.data
    opt.step(params, grads)
    assert ops._cache.tables.made("adam")[0] is table  # made once, reused
    params["b"] = params["b"].astype(np.float64)  # another dtype: one call a parameter
    grads["b"] = grads["b"].astype(np.float64)
    opt.state = {}
    opt.step(params, grads)
    assert ops._cache.tables.made("adam")[0] is table
