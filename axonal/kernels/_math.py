"""Vectorizable float32 transcendentals for the kernels.

The llvmlite wheel has no SVML, so `math.exp`/`np.tanh` inside a numba loop become scalar libm calls
(4 and 20 ns per element, KERNELS.md). These functions use only +, *, floor, compares and bit casts,
so LLVM vectorizes the loops that call them (~0.4 ns per element for exp on this machine).

exp32 (Cephes expf): write x = n ln2 + r with n = round(x / ln2), |r| <= ln2/2, so exp(x) = 2^n e^r.
ln2 is split in two (Cody-Waite: 0.693359375 has few mantissa bits, so n * 0.693359375 is exact) to
keep r accurate for large |x|. e^r is a degree-7 polynomial (1 + r + r^2 P(r)). Multiplying by 2^n is
an integer add of n to the exponent field of e^r. Max relative error ~3e-7 on the normal range
(tested against float64). Inputs below ln(FLT_MIN) give 0 (the result would be subnormal, and the
kernels flush those anyway), above ln(FLT_MAX) give inf. NaN stays NaN: every clamp below is written
so that a comparison with NaN (always false) keeps the NaN.
"""
import numpy as np
from numba import njit

from ._jit import JIT, f32_as_i32, i32_as_f32

_LOG2E = np.float32(1.44269504088896341)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_X_MIN = np.float32(-87.33654)   # ln(FLT_MIN): below it exp(x) is subnormal
_X_MAX = np.float32(88.72283)    # ln(FLT_MAX): above it exp(x) overflows
_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_TWO = np.float32(2.0)
_HALF = np.float32(0.5)
_INF = np.float32(np.inf)


@njit(inline="always", **JIT)
def exp32(x):
    # clamp so that n stays in [-127, 128]; not min/max: this form keeps a NaN
    xc = np.float32(88.8) if x > np.float32(88.8) else x    # noqa: FURB136
    xc = np.float32(-88.0) if xc < np.float32(-88.0) else xc    # noqa: FURB136
    nf = np.floor(xc * _LOG2E + _HALF)
    r = xc - nf * _LN2_HI
    r = r - nf * _LN2_LO
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * r * r + r + _ONE
    # p * 2^n: add n to the biased exponent. p is in [0.7, 1.42], so the sum stays in the normal
    # exponent range exactly when x is in [_X_MIN, _X_MAX]; outside, the selects below decide.
    y = i32_as_f32(f32_as_i32(p) + (np.int32(nf) << 23))
    y = _ZERO if x < _X_MIN else y
    y = _INF if x > _X_MAX else y
    return y


@njit(inline="always", **JIT)
def gauss32(x):
    """exp(-x^2 / 2) without amplifying the rounding of x^2 (a float32 x*x is off by up to 6e-8
    relative, which exp turns into 2.4e-6 at x = 9): xh = x truncated to 1/16 has an exact square,
    and x^2 - xh^2 = (x - xh)(x + xh) is small."""
    xh = np.floor(x * np.float32(16.0)) * np.float32(0.0625)
    return exp32(-_HALF * xh * xh) * exp32(-_HALF * (x - xh) * (x + xh))


@njit(inline="always", **JIT)
def normal_cdf32(x):
    """Phi(x) = erfc(-x / sqrt 2) / 2 with erfc from the Chebyshev fit of Numerical Recipes (2nd ed.,
    section 6.2): for z >= 0 and t = 1 / (1 + z/2), erfc(z) = t exp(-z^2) exp(P(t)), P of degree 9,
    fractional error < 1.2e-7 for every z. Evaluated at z = |x| / sqrt 2 and reflected
    (erfc(-z) = 2 - erfc(z)), so the lower tail keeps its relative accuracy (no 1 + erf
    cancellation). Only +, *, one divide and exp32: the loops that call it vectorize."""
    a = -x if x < _ZERO else x  # noqa: FURB136 - keeps a NaN
    a = np.float32(20.0) if a > np.float32(20.0) else a  # Phi is 0 or 1 in float32 there; no inf - inf
    t = _ONE / (_ONE + np.float32(0.35355339) * a)  # z / 2 = a / (2 sqrt 2)
    p = np.float32(0.17087277)
    p = p * t + np.float32(-0.82215223)
    p = p * t + np.float32(1.48851587)
    p = p * t + np.float32(-1.13520398)
    p = p * t + np.float32(0.27886807)
    p = p * t + np.float32(-0.18628806)
    p = p * t + np.float32(0.09678418)
    p = p * t + np.float32(0.37409196)
    p = p * t + np.float32(1.00002368)
    p = p * t + np.float32(-1.26551223)
    # exp(-z^2) exp(P) = exp(-a^2 / 2) exp(P), with gauss32's split a^2 = ah^2 + (a - ah)(a + ah):
    # exp(-ah^2 / 2) exp(P - (a - ah)(a + ah) / 2), two exponentials instead of three
    ah = np.floor(a * np.float32(16.0)) * np.float32(0.0625)
    c = _HALF * t * exp32(-_HALF * ah * ah) * exp32(p - _HALF * (a - ah) * (a + ah))
    return c if x < _ZERO else _ONE - c


@njit(inline="always", **JIT)
def normal_cdf_gauss32(x):
    """(Phi(x), exp(-x^2 / 2)) sharing the one gauss32 of normal_cdf32 (gelu's backward needs
    both): 3 exponentials instead of 5. Same formulas; |x| > 20 gives exp(-x^2/2) = 0 (it is
    below the smallest float32 there)."""
    a = -x if x < _ZERO else x  # noqa: FURB136 - keeps a NaN
    a = np.float32(20.0) if a > np.float32(20.0) else a
    t = _ONE / (_ONE + np.float32(0.35355339) * a)
    p = np.float32(0.17087277)
    p = p * t + np.float32(-0.82215223)
    p = p * t + np.float32(1.48851587)
    p = p * t + np.float32(-1.13520398)
    p = p * t + np.float32(0.27886807)
    p = p * t + np.float32(-0.18628806)
    p = p * t + np.float32(0.09678418)
    p = p * t + np.float32(0.37409196)
    p = p * t + np.float32(1.00002368)
    p = p * t + np.float32(-1.26551223)
    g = gauss32(a)
    c = _HALF * t * g * exp32(p)
    return (c if x < _ZERO else _ONE - c), g


@njit(inline="always", **JIT)
def sigmoid32(x):
    """1 / (1 + e^-x). Saturates cleanly: e^-x = inf gives 0, e^-x = 0 gives 1. For very negative
    x the result ~e^x keeps exp32's relative accuracy (no cancellation in 1 + e^-x)."""
    return _ONE / (_ONE + exp32(-x))


@njit(inline="always", **JIT)
def tanh32(x):
    """Cephes tanhf. |x| >= 0.625: 1 - 2 / (e^{2|x|} + 1), with the sign of x; no cancellation
    there because the result is >= 0.55. |x| < 0.625: the same formula would lose relative accuracy
    (1 - something close to 1), so use the odd polynomial x + x^3 P(x^2). Both are computed and one
    selected, which keeps the loop branch-free (vectorizable)."""
    ax = np.abs(x)
    big = _ONE - _TWO / (exp32(ax + ax) + _ONE)
    big = big if x >= _ZERO else -big
    z = x * x
    p = np.float32(-5.70498872745e-3)
    p = p * z + np.float32(2.06390887954e-2)
    p = p * z - np.float32(5.37397155531e-2)
    p = p * z + np.float32(1.33314422036e-1)
    p = p * z - np.float32(3.33332819422e-1)
    small = p * z * x + x
    return small if ax < np.float32(0.625) else big


# ---------------------------------------------------------------------------------------------
# row helpers for the fused recurrent cells (kernels.rnn, kernels.gru)
#
# Written as a sequence of short loops over 1-D row views, each touching at most ~4 arrays. LLVM
# vectorizes a loop only if it can prove (or check at run time) that its output does not overlap its
# inputs, and it gives up when that takes more than 8 pointer comparisons: one loop computing all
# four gates, c, tanh(c) and h from ~10 arrays ran scalar, 5x slower than these (measured: LSTM
# forward of a (32, 256) block 470 us -> 90 us).


@njit(inline="always", **JIT)
def _add3(out, x, y, z):
    for j in range(out.size):
        out[j] = x[j] + y[j] + z[j]


@njit(inline="always", **JIT)
def _sigmoid_(x):
    for j in range(x.size):
        x[j] = sigmoid32(x[j])


@njit(inline="always", **JIT)
def _tanh(out, x):
    for j in range(x.size):
        out[j] = tanh32(x[j])


@njit(inline="always", **JIT)
def _tanh_fast(out, x):
    """tanh(x) = 1 - 2 / (e^{2x} + 1): one exp32 instead of tanh32's exp, polynomial and select
    (2.3x faster cell forward). Absolute error ~1e-7; relative error grows for |x| < 1e-3, which
    does not matter for gate values and cell outputs (absolute scale ~1)."""
    for j in range(x.size):
        out[j] = _ONE - _TWO / (exp32(x[j] + x[j]) + _ONE)


@njit(inline="always", **JIT)
def _fma_(out, x, y):
    for j in range(out.size):
        out[j] += x[j] * y[j]


@njit(inline="always", **JIT)
def _mul(out, x, y):
    for j in range(out.size):
        out[j] = x[j] * y[j]
