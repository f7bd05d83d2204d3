"""Elementary functions the compiler can vectorise: e^x, e^x - 1, log(1 + t) on [0, 1], tanh,
erfc, and the standard normal CDF and density, each of one float64 number.

Numba calls the C library for ``np.exp`` and the like, one element at a time (6 to 40 ns an
element here), where NumPy's own loops use the vector units (about 1 ns). Written as plain
arithmetic, with no branch but selects and no call, these let the compiler vectorise the loops
of the kernels that use them. Every function computes in float64 (a float32 argument is widened
first, and the kernel rounds the result to the array's dtype once when it stores it), with a
relative error of a few units in the last place of float64: results agree with NumPy's to the
rounding of the dtype.

Method, for each:

* ``exp``: ``x = n ln 2 + r`` with ``n`` the nearest integer to ``x / ln 2`` and ``|r| <= ln 2 / 2``
  (``ln 2`` split in two, Cody and Waite, so that ``n ln 2`` is exact); ``e^r`` by its Taylor
  polynomial of degree 13 (truncation below 5e-18); ``2^n`` built from its bits, in two factors so
  that results down to the smallest subnormal are reached with one rounding.
* ``expm1``: for ``|x| < 1/2`` the Taylor polynomial of degree 16 (no cancellation), else
  ``exp(x) - 1`` (which then loses at most one bit).
* ``log1p_unit``: ``log(1 + t) = 2 atanh(s)`` with ``s = t / (2 + t)``, or, above
  ``t = sqrt 2 - 1``, ``ln 2 + 2 atanh((t - 1) / (t + 3))``; ``|s| <= 0.172``, and the series of
  atanh to ``s^23`` (truncation below 3e-18).
* ``tanh``: ``tanh |x| = -u / (u + 2)`` with ``u = expm1(-2 |x|)``, accurate near 0 as well.
* ``erfc``: the rational approximations of Cephes ``ndtr.c``, as :mod:`fcnet._special` (whose
  coefficients it reads), with ``exp(-x^2)`` computed directly.
"""

from __future__ import annotations

import math

import numpy as np

from fcnet import _special
from fcnet._ops.kernels.jit import jit

_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453
_LN2_HI = 6.93147180369123816490e-01  # the leading 32 bits of ln 2: n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_EXP_MAX = 709.782712893384  # above: e^x overflows
_EXP_MIN = -745.1332191019412  # below: e^x rounds to 0
_SQRT2_M1 = math.sqrt(2.0) - 1.0
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# 1/k!, k = 13 down to 2: Horner's scheme for e^r = 1 + r (1 + r (1/2 + r (1/6 + ...)))
_EXP_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(13, 1, -1))
# 1/k!, k = 16 down to 2, for e^x - 1 = x (1 + x (1/2 + x (1/6 + ...)))
_EXPM1_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(16, 1, -1))
# 1/(2k + 1), k = 11 down to 1, for atanh(s) = s (1 + s^2 (1/3 + s^2 (1/5 + ...)))
_ATANH_SERIES = tuple(1.0 / (2 * k + 1) for k in range(11, 0, -1))


@jit
def _horner(x, coefficients):
    """c_0 x^d + c_1 x^(d-1) + ... + c_d, the coefficients highest degree first."""
    r = 0.0
    for c in coefficients:
        r = r * x + c
    return r


@jit
def _horner_monic(x, coefficients):
    """x^(d+1) + c_0 x^d + ... + c_d (the leading 1 implicit, as Cephes' p1evl)."""
    r = 1.0
    for c in coefficients:
        r = r * x + c
    return r


@jit
def exp(x):
    """e^x: inf above 709.78, 0 below -745.13, NaN for NaN."""
    x = np.float64(x)
    c = x if x < 710.0 else 710.0  # clamped for n alone (NaN becomes 710 here): n stays an int
    c = c if c > -746.0 else -746.0
    n = np.floor(c * _LOG2E + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = _horner(r, _EXP_TAYLOR) * r + 1.0
    p = p * r + 1.0
    k = np.int64(n)
    half = k >> 1  # 2^n = 2^half 2^(n - half), both factors normal floats
    y = p * np.int64((half + 1023) << 52).view(np.float64)
    y = y * np.int64((k - half + 1023) << 52).view(np.float64)
    y = np.inf if x > _EXP_MAX else y
    y = 0.0 if x < _EXP_MIN else y
    return x if x != x else y


@jit
def expm1(x):
    """e^x - 1, accurate also for |x| much smaller than 1."""
    x = np.float64(x)
    small = (_horner(x, _EXPM1_TAYLOR) * x + 1.0) * x
    large = exp(x) - 1.0
    return small if abs(x) < 0.5 else large


@jit
def log1p_unit(t):
    """log(1 + t) for 0 <= t <= 1 (the range of e^-|z|, where softplus and the binary
    cross-entropy need it); NaN for NaN."""
    t = np.float64(t)
    upper = t > _SQRT2_M1
    s = (t - 1.0) / (t + 3.0) if upper else t / (t + 2.0)
    s2 = s * s
    r = 2.0 * s * (_horner(s2, _ATANH_SERIES) * s2 + 1.0)
    return r + _LN2 if upper else r


@jit
def tanh(x):
    """tanh x, from expm1 of -2|x| (in (-1, 0]): no overflow, no cancellation near 0."""
    x = np.float64(x)
    u = expm1(-2.0 * abs(x))
    return math.copysign(-u / (u + 2.0), x)


@jit
def erfc(x):
    """1 - erf(x), accurate in relative terms in the upper tail (Cephes ``ndtr.c``)."""
    x = np.float64(x)
    a = abs(x)
    z = x * x
    inner = 1.0 - x * _horner(z, _special._T) / _horner_monic(z, _special._U)
    c = a if a < 30.0 else 30.0  # inf and NaN: e below decides (0 or NaN)
    e = exp(-a * a)
    near = e * _horner(c, _special._P) / _horner_monic(c, _special._Q)
    far = e * _horner(c, _special._R) / _horner_monic(c, _special._S)
    outer = near if a < 8.0 else far
    outer = 2.0 - outer if x < 0.0 else outer
    return inner if a < 1.0 else outer


@jit
def normal_cdf(z):
    """Phi(z) = erfc(-z / sqrt 2) / 2, which keeps relative accuracy in the lower tail."""
    return 0.5 * erfc(-np.float64(z) * _SQRT1_2)


@jit
def normal_pdf(z):
    """phi(z) = e^(-z^2 / 2) / sqrt(2 pi)."""
    z = np.float64(z)
    return exp(-0.5 * z * z) * _INV_SQRT_2PI
