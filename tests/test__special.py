"""erf, erfc, normal_cdf and normal_pdf against double-precision references."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fcnet._special import erf, erfc, normal_cdf, normal_pdf

SQRT1_2 = math.sqrt(0.5)
SPECIAL = np.array(
    [0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-20, 0.5, 1.0, -1.0, 8.0, -8.0, 1e300, -1e300]
)


def _grid() -> np.ndarray:
    """About 20k points over [-30, 30], with the branch boundaries and tiny values added."""
    rng = np.random.default_rng(12345)
    tiny = np.geomspace(1e-310, 1.0, 400)
    edges = np.array([c + k * np.spacing(c) for c in (1.0, 8.0) for k in range(-3, 4)])
    x = np.concatenate(
        [
            np.linspace(-30.0, 30.0, 18_001),
            rng.uniform(-8.0, 8.0, 1_000),
            tiny,
            -tiny,
            edges,
            -edges,
            SPECIAL,
        ]
    )
    return x


GRID = _grid()


def _rel_err(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.abs(got - ref) / np.abs(ref)


# --------------------------------------------------------------------------- float64 accuracy


def test_erf_matches_math_erf() -> None:
    ref = np.array([math.erf(v) for v in GRID])
    got = erf(GRID)
    assert got.dtype == np.float64 and got.shape == GRID.shape
    mask = np.abs(ref) > 1e-300
    assert _rel_err(got[mask], ref[mask]).max() < 1e-14
    # below that the values are subnormal: agree to the last representable bit or so
    assert np.all(np.abs(got[~mask] - ref[~mask]) <= 2 * np.spacing(np.abs(ref[~mask])))


def test_erfc_matches_math_erfc() -> None:
    ref = np.array([math.erfc(v) for v in GRID])
    got = erfc(GRID)
    mask = GRID < 26.0
    assert _rel_err(got[mask], ref[mask]).max() < 1e-13
    assert np.abs(got - ref).max() < 1e-15  # everywhere, including the underflowing tail


def test_erfc_deep_tail_relative_accuracy() -> None:
    x = np.array([5.0, 10.0, 15.0, 20.0, 25.0, 26.0])
    ref = np.array([math.erfc(v) for v in x])
    assert _rel_err(erfc(x), ref).max() < 1e-14
    assert erfc(np.array([10.0]))[0] == pytest.approx(2.088487583762545e-45, rel=1e-14)


def test_special_values() -> None:
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 6.0, -6.0, 27.5, 1e300, -1e300])
    e = erf(x)
    np.testing.assert_array_equal(e, [1.0, -1.0, np.nan, 0.0, -0.0, 1.0, -1.0, 1.0, 1.0, -1.0])
    assert np.signbit(e[4]) and not np.signbit(e[3])
    c = erfc(x)
    np.testing.assert_array_equal(c[[0, 1, 3, 4, 6, 7, 8, 9]], [0, 2, 1, 1, 2, 0, 0, 2])
    assert np.isnan(c[2])
    assert 0 < c[5] < 1e-16
    p = normal_cdf(x)
    np.testing.assert_array_equal(p[[0, 1, 3, 4, 8, 9]], [1, 0, 0.5, 0.5, 1, 0])
    assert np.isnan(p[2])
    d = normal_pdf(x)
    np.testing.assert_array_equal(d[[0, 1, 8, 9]], 0.0)
    assert d[7] == pytest.approx(math.exp(-(27.5**2) / 2) / math.sqrt(2 * math.pi), rel=1e-13)
    assert np.isnan(d[2])
    assert d[3] == d[4] == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-16)


def test_tiny_arguments_are_linear() -> None:
    x = np.array([1e-300, 1e-200, 1e-100, 1e-20, 5e-324, -1e-308])
    np.testing.assert_allclose(erf(x), 2 / math.sqrt(math.pi) * x, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(erfc(x), 1.0)


def test_no_floating_point_warnings() -> None:
    x = np.concatenate([GRID, [np.inf, -np.inf, np.nan]])
    with np.errstate(all="raise"):
        # underflow to 0 in the far tails is the expected result, not an error
        with np.errstate(under="ignore"):
            erf(x)
            erfc(x)
            normal_cdf(x)
            normal_pdf(x)


# --------------------------------------------------------------------------- normal CDF / PDF


def test_normal_cdf_matches_erfc_reference() -> None:
    z = np.linspace(-37.0, 37.0, 20_001)
    ref = np.array([0.5 * math.erfc(-v * SQRT1_2) for v in z])
    got = normal_cdf(z)
    mask = ref > 1e-300
    assert _rel_err(got[mask], ref[mask]).max() < 1e-14
    # the lower tail keeps its relative accuracy (1 + erf would cancel to 0 here)
    assert normal_cdf(np.array([-20.0]))[0] == pytest.approx(2.7536241186062337e-89, rel=1e-13)


def test_normal_cdf_matches_torch_ndtr() -> None:
    torch = pytest.importorskip("torch")
    z = np.linspace(-40.0, 40.0, 20_001)
    ref = torch.special.ndtr(torch.from_numpy(z)).numpy()
    # torch evaluates (1 + erf) / 2, which is only accurate in absolute terms in the lower tail
    np.testing.assert_allclose(normal_cdf(z), ref, rtol=1e-14, atol=2e-16)
    z32 = z.astype(np.float32)
    ref32 = torch.special.ndtr(torch.from_numpy(z32)).numpy()
    got32 = normal_cdf(z32)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, ref32, rtol=1e-6, atol=1e-7)


def test_normal_pdf_matches_exact_reference() -> None:
    rng = np.random.default_rng(7)
    z = np.concatenate([np.linspace(-37.0, 37.0, 2_001), rng.normal(0.0, 4.0, 500)])
    with localcontext() as ctx:
        ctx.prec = 40
        two_pi = 2 * Decimal("3.141592653589793238462643383279502884197")
        ref = np.array([float((-(Decimal(v) ** 2) / 2).exp() / two_pi.sqrt()) for v in z])
    got = normal_pdf(z)
    mask = ref > 1e-300
    assert _rel_err(got[mask], ref[mask]).max() < 1e-14


# --------------------------------------------------------------------------- dtypes, out


@pytest.mark.parametrize("func", [erf, erfc, normal_cdf, normal_pdf])
def test_float32_in_float32_out(func) -> None:
    x64 = np.linspace(-12.0, 12.0, 5_001)
    x32 = x64.astype(np.float32)
    got = func(x32)
    assert got.dtype == np.float32
    ref = func(x32.astype(np.float64)).astype(np.float32)  # float64 rounded once
    np.testing.assert_array_equal(got, ref)


def test_float32_erf_erfc_within_one_ulp_of_math() -> None:
    x = np.linspace(-10.0, 10.0, 20_001).astype(np.float32)
    for func, ref_func in ((erf, math.erf), (erfc, math.erfc)):
        ref = np.array([ref_func(float(v)) for v in x], dtype=np.float32)
        got = func(x)
        assert got.dtype == np.float32
        assert np.all(np.abs(got - ref) <= np.spacing(np.abs(ref)))


def test_other_dtypes_and_shapes() -> None:
    assert erf(np.array([1, 2])).dtype == np.float64
    assert erf(np.array([0.5], dtype=np.float16)).dtype == np.float16
    scalar = erf(np.float64(0.5))
    assert scalar.shape == () and float(scalar) == pytest.approx(math.erf(0.5), rel=1e-15)
    m = np.linspace(-3, 3, 12).reshape(3, 4)
    np.testing.assert_array_equal(erf(m), erf(m.ravel()).reshape(3, 4))
    np.testing.assert_array_equal(erf(m.T), erf(m).T)  # non-contiguous input
    assert erf(np.empty((0, 3))).shape == (0, 3)
    with pytest.raises(TypeError):
        erf(np.array([1j]))


@pytest.mark.parametrize("func", [erf, erfc, normal_cdf, normal_pdf])
def test_out_argument(func) -> None:
    x = np.linspace(-6.0, 6.0, 101)
    expected = func(x)
    out = np.empty_like(x)
    assert func(x, out=out) is out
    np.testing.assert_array_equal(out, expected)
    inplace = x.copy()
    assert func(inplace, out=inplace) is inplace  # out aliasing the input
    np.testing.assert_array_equal(inplace, expected)
    out32 = np.empty(x.shape, dtype=np.float32)
    func(x, out=out32)
    np.testing.assert_array_equal(out32, expected.astype(np.float32))
    strided = np.empty((x.size, 2))[:, 0]
    func(x, out=strided)
    np.testing.assert_array_equal(strided, expected)
    with pytest.raises(ValueError):
        func(x, out=np.empty(x.size + 1))


# --------------------------------------------------------------------------- properties

finite = st.floats(min_value=-40.0, max_value=40.0, allow_nan=False, width=64)
anything = st.floats(allow_nan=False, allow_infinity=True, width=64)


@settings(max_examples=300, deadline=None)
@given(x=anything)
def test_erf_odd_and_bounded(x: float) -> None:
    a = np.array([x, -x])
    e = erf(a)
    assert e[1] == -e[0]
    assert -1.0 <= e[0] <= 1.0
    c = erfc(a)
    assert 0.0 <= c[0] <= 2.0
    assert abs(c[0] + c[1] - 2.0) <= 4e-16  # erfc(x) + erfc(-x) = 2


@settings(max_examples=300, deadline=None)
@given(x=finite, y=finite)
def test_monotone(x: float, y: float) -> None:
    lo, hi = min(x, y), max(x, y)
    a = np.array([lo, hi])
    e = erf(a)
    # monotone up to the last-bit rounding noise of the approximation
    assert e[0] <= e[1] + 2 * np.spacing(abs(e[1]))
    c = erfc(a)
    assert c[0] + 2 * np.spacing(c[0]) >= c[1]
    p = normal_cdf(a)
    assert p[0] <= p[1] + 2 * np.spacing(p[1])
    d = normal_pdf(np.abs(a))
    if abs(lo) <= abs(hi):
        assert d[0] + 2 * np.spacing(d[0]) >= d[1]


@settings(max_examples=300, deadline=None)
@given(x=finite)
def test_identities_against_math(x: float) -> None:
    a = np.array([x])
    e, c = erf(a)[0], erfc(a)[0]
    assert e == pytest.approx(math.erf(x), rel=1e-14, abs=1e-300)
    if x < 26.0:
        assert c == pytest.approx(math.erfc(x), rel=1e-13)
    assert abs(e + c - 1.0) <= 4.5e-16
    p, q = normal_cdf(np.array([x, -x]))
    assert abs(p + q - 1.0) <= 4.5e-16
    # GELU's pieces are consistent: Phi = (1 + erf(z / sqrt 2)) / 2 in absolute terms
    assert abs(p - 0.5 * (1.0 + erf(np.array([x * SQRT1_2]))[0])) <= 2.3e-16
