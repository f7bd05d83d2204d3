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
* ``log_ge1``: ``log x = e ln 2 + log(1 + (f - 1))`` with ``x = 2^e f``, ``1 <= f < 2``, for
  ``x >= 1`` (log-sum-exp, whose sum is at least 1).
* ``tanh``: ``tanh |x| = -u / (u + 2)`` with ``u = expm1(-2 |x|)``, accurate near 0 as well.
* ``erfc``: the rational approximations of Cephes ``ndtr.c``, as :mod:`fcnet._special` (whose
  coefficients it reads), chosen coefficient by coefficient so that one evaluation serves every
  range; ``exp(-x^2)`` as ``exp(-h) (1 - l)`` with ``x^2 = h + l`` exactly (Dekker's product),
  so that the rounding of a large square costs no relative accuracy in the tail.

A select between two expensive values keeps the compiler from vectorising a loop (it turns the
select back into a branch), so each function computes one expensive path and selects only
between cheap ones.
"""

from __future__ import annotations

import math

import numpy as np

from fcnet import _special
from fcnet._ops.kernels.jit import inline

_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453
_LN2_HI = 6.93147180369123816490e-01  # the leading 32 bits of ln 2: n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_EXP_MAX = 709.782712893384  # above: e^x overflows
_EXP_MIN = -745.1332191019412  # below: e^x rounds to 0
_SQRT2_M1 = math.sqrt(2.0) - 1.0
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _padded(coefficients: tuple[float, ...], monic: bool = False) -> tuple[float, ...]:
    """The coefficients of a polynomial of degree at most _DEGREE, highest first, with zeros
    in front (and the implicit leading 1 of a monic one written out)."""
    full = ((1.0,) if monic else ()) + tuple(coefficients)
    return (0.0,) * (_DEGREE + 1 - len(full)) + full


_DEGREE = 8  # the highest of Cephes' erfc polynomials
_NUMERATORS = tuple(_padded(c) for c in (_special._T, _special._P, _special._R))
_DENOMINATORS = tuple(_padded(c, monic=True) for c in (_special._U, _special._Q, _special._S))

# 1/k!, k = 13 down to 2: Horner's scheme for e^r = 1 + r (1 + r (1/2 + r (1/6 + ...)))
_EXP_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(13, 1, -1))
# 1/(2k + 1), k = 11 down to 1, for atanh(s) = s (1 + s^2 (1/3 + s^2 (1/5 + ...)))
_ATANH_SERIES = tuple(1.0 / (2 * k + 1) for k in range(11, 0, -1))


@inline
def _horner(x, coefficients):
    """c_0 x^d + c_1 x^(d-1) + ... + c_d, the coefficients highest degree first."""
    r = 0.0
    for c in coefficients:
        r = r * x + c
    return r


@inline
def _horner_monic(x, coefficients):
    """x^(d+1) + c_0 x^d + ... + c_d (the leading 1 implicit, as Cephes' p1evl)."""
    r = 1.0
    for c in coefficients:
        r = r * x + c
    return r


@inline
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


@inline
def expm1(x):
    """e^x - 1 = 2^n (e^r - 1) + 2^n - 1, with n, r as in :func:`exp` and e^r - 1 by its Taylor
    polynomial: no cancellation near 0 (there n = 0 and the result is the polynomial's)."""
    x = np.float64(x)
    c = x if x < 710.0 else 710.0
    c = c if c > -746.0 else -746.0
    n = np.floor(c * _LOG2E + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = (_horner(r, _EXP_TAYLOR) * r + 1.0) * r  # e^r - 1
    k = np.int64(n)
    half = k >> 1  # 2^n = s1 s2 as in exp; 2^n p + 2^n - 1 = s1 (s2 p + (s2 - 1 / s1))
    s1 = np.int64((half + 1023) << 52).view(np.float64)
    s2 = np.int64((k - half + 1023) << 52).view(np.float64)
    inv_s1 = np.int64((1023 - half) << 52).view(np.float64)
    y = s1 * (s2 * p + (s2 - inv_s1))
    y = np.inf if x > _EXP_MAX else y
    y = -1.0 if x < -746.0 else y
    return x if x != x else y


@inline
def log1p_unit(t):
    """log(1 + t) for 0 <= t <= 1 (the range of e^-|z|, where softplus and the binary
    cross-entropy need it); NaN for NaN."""
    t = np.float64(t)
    u = 1.0 if t > _SQRT2_M1 else 0.0  # the upper part: (1 + t) / 2 = 1 + s', as below
    s = (t - u) / (t + 2.0 + u)  # (t - 1) / (t + 3) or t / (t + 2)
    s2 = s * s
    r = 2.0 * s * (_horner(s2, _ATANH_SERIES) * s2 + 1.0)
    return r + _LN2 * u


@inline
def log_ge1(x):
    """log x for x >= 1 (a sum of exponentials, the largest of them 1): x = 2^e f with
    1 <= f < 2 read from its bits, log x = e ln 2 + log(1 + (f - 1)); NaN for NaN."""
    x = np.float64(x)
    bits = x.view(np.int64)
    e = np.float64((bits >> 52) - 1023)
    f = np.int64((bits & 0xFFFFFFFFFFFFF) | (1023 << 52)).view(np.float64)
    y = e * _LN2 + log1p_unit(f - 1.0)
    return x if x != x else y


@inline
def tanh(x):
    """tanh x, from expm1 of -2|x| (in (-1, 0]): no overflow, no cancellation near 0."""
    x = np.float64(x)
    u = expm1(-2.0 * abs(x))
    return math.copysign(-u / (u + 2.0), x)


@inline
def _square(x):
    """(h, l) with h = fl(x * x) and h + l = x^2 exactly (Dekker's product: x split in two
    halves of 26 bits, whose products are exact)."""
    c = 134217729.0 * x  # 2^27 + 1
    high = c - (c - x)
    low = x - high
    h = x * x
    return h, ((high * high - h) + 2.0 * high * low) + low * low


@inline
def _rational(t, inner, near, numerators, denominators):
    """num(t) / den(t) with the coefficients of the range ``inner`` (|x| < 1), ``near``
    (1 <= |x| < 8) or far (|x| >= 8), each chosen coefficient by coefficient: one evaluation,
    no branch, whichever range an element is in."""
    num = 0.0
    den = 0.0
    for i in range(_DEGREE + 1):
        a, b, c = numerators[0][i], numerators[1][i], numerators[2][i]
        num = num * t + (a if inner else (b if near else c))
        a, b, c = denominators[0][i], denominators[1][i], denominators[2][i]
        den = den * t + (a if inner else (b if near else c))
    return num / den


@inline
def erfc(x):
    """1 - erf(x), accurate in relative terms in the upper tail (Cephes ``ndtr.c``)::

    |x| < 1:   1 - x T(x^2) / U(x^2)
    |x| >= 1:  e^(-x^2) P(|x|) / Q(|x|) (below 8), e^(-x^2) R(|x|) / S(|x|) (from 8),
               and 2 minus that for x < 0
    """
    x = np.float64(x)
    a = abs(x)
    inner = a < 1.0
    c = a if a < 30.0 else 30.0  # erfc(30) is 0 already; NaN becomes 30 here, NaN at the end
    ratio = _rational(x * x if inner else c, inner, a < 8.0, _NUMERATORS, _DENOMINATORS)
    c2, low = _square(c)
    outer = exp(-c2) * (1.0 - low) * ratio  # finite for every x, so that 0 * outer is 0
    outer = 2.0 - outer if x < 0.0 else outer
    # inner if |x| < 1 else outer, as arithmetic: a select would become a branch (see above)
    w = 1.0 if inner else 0.0
    y = w * (1.0 - (x if inner else 0.0) * ratio) + (1.0 - w) * outer
    return y if x == x else x


@inline
def normal_cdf(z):
    """Phi(z) = erfc(-z / sqrt 2) / 2, which keeps relative accuracy in the lower tail."""
    return 0.5 * erfc(-np.float64(z) * _SQRT1_2)


@inline
def normal_pdf(z):
    """phi(z) = e^(-z^2 / 2) / sqrt(2 pi)."""
    c = abs(np.float64(z))
    c = c if c < 40.0 else 40.0  # e^-800 is 0 already; NaN becomes 40, and then NaN below
    z2, low = _square(c)
    e = exp(-0.5 * z2) * (1.0 - 0.5 * low)
    return e * _INV_SQRT_2PI if z == z else z
