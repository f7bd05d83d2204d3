"""axpy through NumPy's BLAS: y + alpha x up to rounding, nothing written outside y, and NumPy's
two passes wherever the BLAS cannot take the arrays."""

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

    assert not _blas._works(wrong, np.dtype(np.float32))
    assert not _blas._works(raising, np.dtype(np.float64))
