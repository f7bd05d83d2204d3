"""axpy and gemm through NumPy's BLAS: y + alpha x and alpha op(A) B + beta C up to rounding,
nothing written outside y or C, and NumPy's route wherever the BLAS cannot take the arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fcnet import _blas


def _numpy_uses_openblas() -> bool:
    from threadpoolctl import ThreadpoolController

    return any(
        lib.internal_api == "openblas" and "numpy" in lib.filepath
        for lib in ThreadpoolController().lib_controllers
    )


@pytest.fixture(params=["blas", "numpy"])
def route(request, monkeypatch):
    """Both routes: the BLAS's axpy (when NumPy's BLAS has one) and NumPy's two passes."""
    if request.param == "numpy":
        monkeypatch.setattr(_blas, "_routines", {})
    elif not _blas.available():
        pytest.skip("NumPy's BLAS is not an OpenBLAS fcnet can call")
    return request.param


def test_numpys_openblas_is_found():
    if not _numpy_uses_openblas():
        pytest.skip("NumPy computes with another BLAS")
    assert _blas.available()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [5, _blas.MIN_SIZE - 1, _blas.MIN_SIZE, 200_704])
def test_axpy_is_y_plus_alpha_x_and_writes_nothing_else(route, dtype, n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(dtype)
    storage = rng.standard_normal(n + 16).astype(dtype)
    y = storage[8 : 8 + n]  # contiguous, inside a larger array
    before = storage.copy()
    _blas.axpy(-0.37, x, y, np.empty_like(y))
    y0, alpha_x = before[8 : 8 + n], np.asarray(-0.37, dtype) * x
    # rounded once (a fused multiply-add) or twice: within 2 units in the last place of the terms
    tolerance = 2 * np.finfo(dtype).eps * (np.abs(y0) + np.abs(alpha_x))
    assert np.all(np.abs(y - (y0 + alpha_x)) <= tolerance)
    np.testing.assert_array_equal(storage[:8], before[:8])
    np.testing.assert_array_equal(storage[8 + n :], before[8 + n :])


def test_exact_cases_are_exact(route):
    x = np.arange(_blas.MIN_SIZE * 2, dtype=np.float32).reshape(-1, 64)
    y = np.full_like(x, 2.0)
    _blas.axpy(0.25, x, y, np.empty_like(y))
    np.testing.assert_array_equal(y, 2.0 + 0.25 * x)


def test_views_the_blas_cannot_take_go_through_numpy(route):
    rng = np.random.default_rng(0)
    big = rng.standard_normal((512, 256)).astype(np.float32)
    x = rng.standard_normal((512, 128)).astype(np.float32)
    y = big[:, ::2]  # strided: NumPy's route
    before = big.copy()
    _blas.axpy(2.0, x, y, np.empty(y.shape, np.float32))
    np.testing.assert_array_equal(big[:, ::2], before[:, ::2] + 2.0 * x)
    np.testing.assert_array_equal(big[:, 1::2], before[:, 1::2])
    x64 = x.astype(np.float64)  # another dtype: NumPy's route, cast into y's dtype
    y = np.zeros((512, 128), np.float32)
    _blas.axpy(1.0, x64, y, np.empty_like(y))
    np.testing.assert_array_equal(y, x)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3 * _blas.MIN_SIZE),
    alpha=st.floats(-10, 10, allow_nan=False),
    seed=st.integers(0, 2**32 - 1),
)
def test_blas_and_numpy_agree_up_to_rounding(n, alpha, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(np.float32)
    y0 = rng.standard_normal(n).astype(np.float32)
    y_blas, y_numpy = y0.copy(), y0.copy()
    _blas.axpy(alpha, x, y_blas, np.empty_like(y0))
    saved = _blas._routines
    try:
        _blas._routines = {}
        _blas.axpy(alpha, x, y_numpy, np.empty_like(y0))
    finally:
        _blas._routines = saved
    # one rounding against two: at most a unit in the last place of each term apart
    tolerance = 2 * np.finfo(np.float32).eps * (np.abs(y0) + np.abs(np.float32(alpha) * x))
    assert np.all(np.abs(y_blas - y_numpy) <= tolerance)


def test_a_routine_that_computes_wrongly_is_not_trusted():
    def wrong(n, alpha, x, incx, y, incy):  # leaves y as it is
        return None

    def raising(*args):
        raise OSError("no such routine")

    def wrong_gemm(*args):  # leaves C as it is
        return None

    assert not _blas._axpy_works(wrong, np.dtype(np.float32))
    assert not _blas._axpy_works(raising, np.dtype(np.float64))
    assert not _blas._gemm_works(wrong_gemm, np.dtype(np.float32))
    assert not _blas._gemm_works(raising, np.dtype(np.float64))


# --- gemm ----------------------------------------------------------------------------------------
@pytest.fixture
def with_gemm():
    if not _blas.available("gemm"):
        pytest.skip("NumPy's BLAS is not an OpenBLAS fcnet can call")


def _operand(rng, rows, cols, dtype, layout):
    """A (rows, cols) array: row-major, a transposed view, or rows of a wider array."""
    if layout == "transposed":
        return rng.standard_normal((cols, rows)).astype(dtype).T
    if layout == "wider":
        return rng.standard_normal((rows, cols + 3)).astype(dtype)[:, 1 : cols + 1]
    return rng.standard_normal((rows, cols)).astype(dtype)


def test_gemm_is_found_with_axpy():
    if not _numpy_uses_openblas():
        pytest.skip("NumPy computes with another BLAS")
    assert _blas.available("gemm", np.float32) and _blas.available("gemm", np.float64)


def test_gemm_worked_example(with_gemm):
    A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32)  # read transposed: (2, 3)
    B = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)  # (3, 2)
    C = np.array([[10.0, 20.0], [30.0, 40.0]], np.float32)
    # A^T B = [[1 + 5, 3 + 5], [2 + 6, 4 + 6]] = [[6, 8], [8, 10]]
    assert _blas.gemm(-0.5, A, B, 2.0, C, trans_a=True)
    np.testing.assert_array_equal(C, [[17.0, 36.0], [56.0, 75.0]])


@settings(max_examples=60, deadline=None)
@given(
    M=st.integers(1, 40),
    N=st.integers(1, 40),
    K=st.integers(1, 40),
    alpha=st.floats(-4, 4, allow_nan=False),
    beta=st.sampled_from([0.0, 1.0, 0.75, -2.0]),
    trans_a=st.booleans(),
    layout_a=st.sampled_from(["rows", "transposed", "wider"]),
    layout_b=st.sampled_from(["rows", "transposed", "wider"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_gemm_is_alpha_op_a_b_plus_beta_c_and_writes_nothing_else(
    M, N, K, alpha, beta, trans_a, layout_a, layout_b, dtype, seed
):
    if not _blas.available("gemm"):
        pytest.skip("NumPy's BLAS is not an OpenBLAS fcnet can call")
    rng = np.random.default_rng(seed)
    A = _operand(rng, *((K, M) if trans_a else (M, K)), dtype, layout_a)
    B = _operand(rng, K, N, dtype, layout_b)
    storage = rng.standard_normal((M, N + 4)).astype(dtype)
    C = storage[:, 2 : N + 2]  # contiguous rows inside a wider array
    before = storage.copy()
    op_a = (A.T if trans_a else A).astype(np.float64)
    expected = alpha * (op_a @ B.astype(np.float64)) + beta * before[:, 2 : N + 2]
    assert _blas.gemm(alpha, A, B, beta, C, trans_a=trans_a)
    scale = abs(alpha) * (np.abs(op_a) @ np.abs(B)) + abs(beta) * np.abs(before[:, 2 : N + 2])
    np.testing.assert_array_less(np.abs(C - expected), 4 * K * np.finfo(dtype).eps * scale + 1e-30)
    np.testing.assert_array_equal(storage[:, :2], before[:, :2])
    np.testing.assert_array_equal(storage[:, N + 2 :], before[:, N + 2 :])


def test_gemm_declines_what_the_blas_cannot_take(with_gemm):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 3)).astype(np.float32)
    B = rng.standard_normal((3, 5)).astype(np.float32)
    cases = {
        "strided columns of C": (A, B, np.zeros((4, 10), np.float32)[:, ::2]),
        "strided columns of A": (rng.standard_normal((4, 6)).astype(np.float32)[:, ::2], B, None),
        "C in another dtype": (A, B, np.zeros((4, 5), np.float64)),
        "B in another dtype": (A, B.astype(np.float64), None),
        "C transposed": (A, B, np.zeros((5, 4), np.float32).T),
        "wrong inner size": (A, B[:2], None),
        "wrong C shape": (A, B, np.zeros((4, 4), np.float32)),
        "an empty dimension": (A[:, :0], B[:0], None),
        "a 1-D operand": (A, B[0], None),
    }
    for name, (a, b, c) in cases.items():
        c = np.zeros((4, 5), np.float32) if c is None else c
        before = c.copy()
        assert not _blas.gemm(1.0, a, b, 0.5, c), name
        np.testing.assert_array_equal(c, before, err_msg=name)
    read_only = np.zeros((4, 5), np.float32)
    read_only.flags.writeable = False
    assert not _blas.gemm(1.0, A, B, 1.0, read_only)


def test_gemm_without_the_routine_does_nothing(monkeypatch):
    monkeypatch.setattr(_blas, "_routines", {})
    C = np.ones((2, 2), np.float32)
    assert not _blas.gemm(1.0, np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), 1.0, C)
    np.testing.assert_array_equal(C, 1.0)
    assert not _blas.available("gemm")


def test_gemm_rereads_an_array_whose_shape_changed_and_forgets_arrays_that_went(with_gemm):
    A = np.ones((2, 6), np.float32)
    B = np.ones((6, 2), np.float32)
    C = np.zeros((2, 2), np.float32)
    assert _blas.gemm(1.0, A, B, 0.0, C)
    np.testing.assert_array_equal(C, 6.0)
    A.shape = (4, 3)  # the same object, now (4, 3): its known layout no longer holds
    C4 = np.zeros((4, 2), np.float32)
    assert _blas.gemm(1.0, A, B[:3], 0.0, C4)
    np.testing.assert_array_equal(C4, 3.0)
    known = len(_blas._operands)
    temporary = np.ones((2, 6), np.float32)
    assert _blas.gemm(1.0, temporary, B, 0.0, C)
    assert len(_blas._operands) == known + 1
    del temporary
    assert len(_blas._operands) == known
