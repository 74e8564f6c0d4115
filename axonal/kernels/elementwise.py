"""Element-wise kernels: activations, their backward helpers, bias add, erf.

All unary functions share one kernel and all binary functions another, selected by an op code. The
op test sits outside the loops, so each loop is compiled (and vectorized) on its own, while numba
compiles one function per family instead of one per op (compile time is ~0.2 s per serial and
~1 s per parallel kernel, and it is per function). Each kernel has a serial core working on 1-D
views and a parallel driver that runs the core on one contiguous block per thread.
"""
import math

import numpy as np
from numba import njit, prange, vectorize

from .. import backend
from ..backend import is_cupy_array, xp_of
from ._jit import JIT, PJIT, block_bounds, ftz_enter, ftz_exit, is_f32c, parallel_blocks
from ._math import normal_cdf32, normal_cdf_gauss32, sigmoid32
from ._thresholds import THRESHOLDS

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_HALF = np.float32(0.5)
_INV_SQRT_2PI_64 = 1 / math.sqrt(2 * math.pi)
_INV_SQRT_2PI = np.float32(_INV_SQRT_2PI_64)

# op codes
RELU, SIGMOID, GELU = 0, 1, 2
RELU_BWD, TANH_BWD, SIGMOID_BWD, GELU_BWD = 0, 1, 2, 3


@njit(**JIT)
def _unary_core(x, out, op):
    old = ftz_enter()
    n = x.size
    if op == RELU:
        for i in range(n):
            v = x[i]
            out[i] = _ZERO if v < _ZERO else v  # noqa: FURB136 - NaN < 0 is false: NaN passes
    elif op == SIGMOID:
        for i in range(n):
            out[i] = sigmoid32(x[i])
    else:                       # gelu: x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2
        for i in range(n):
            v = x[i]
            out[i] = v * normal_cdf32(v)
    ftz_exit(old)


@njit(**JIT)
def _binary_core(a, b, out, op):
    old = ftz_enter()
    n = a.size
    if op == RELU_BWD:          # a = grad, b = relu input: d relu = 1 where x > 0 (0 at x = 0)
        for i in range(n):
            out[i] = a[i] if b[i] > _ZERO else _ZERO
    elif op == TANH_BWD:          # b = tanh output y: d tanh = 1 - y^2
        for i in range(n):
            y = b[i]
            out[i] = a[i] * (_ONE - y * y)
    elif op == SIGMOID_BWD:       # b = sigmoid output y: d sigmoid = y (1 - y)
        for i in range(n):
            y = b[i]
            out[i] = a[i] * y * (_ONE - y)
    else:                         # b = gelu input x: d gelu = Phi(x) + x phi(x)
        for i in range(n):
            v = b[i]
            cdf, gauss = normal_cdf_gauss32(v)
            out[i] = a[i] * (cdf + v * gauss * _INV_SQRT_2PI)
    ftz_exit(old)


@njit(**PJIT)
def _unary_par(x, out, op, nb):
    for b in prange(nb):
        lo, hi = block_bounds(b, nb, x.size)
        _unary_core(x[lo:hi], out[lo:hi], op)


@njit(**PJIT)
def _binary_par(a, b, out, op, nb):
    for k in prange(nb):
        lo, hi = block_bounds(k, nb, a.size)
        _binary_core(a[lo:hi], b[lo:hi], out[lo:hi], op)


@njit(**JIT)
def _rowvec_core(out, b, r0, r1):
    old = ftz_enter()
    for i in range(r0, r1):
        for j in range(b.size):
            out[i, j] += b[j]
    ftz_exit(old)


@njit(**PJIT)
def _rowvec_par(out, b, nb):
    for k in prange(nb):
        r0 = k * out.shape[0] // nb
        r1 = (k + 1) * out.shape[0] // nb
        _rowvec_core(out, b, r0, r1)


# ---------------------------------------------------------------------------------------------
# public wrappers


def _flat(a):
    return a if a.ndim == 1 else a.reshape(-1)


def _unary(x, op, name):
    out = np.empty_like(x)
    xf, of = _flat(x), _flat(out)
    nb = parallel_blocks(x.size, THRESHOLDS[name][1])
    if nb:
        _unary_par(xf, of, op, nb)
    else:
        _unary_core(xf, of, op)
    return out


def _binary(a, b, op, name):
    out = np.empty_like(a)
    af, bf, of = _flat(a), _flat(b), _flat(out)
    nb = parallel_blocks(a.size, THRESHOLDS[name][1])
    if nb:
        _binary_par(af, bf, of, op, nb)
    else:
        _binary_core(af, bf, of, op)
    return out


def _same(a, b, name):
    return (a.size >= THRESHOLDS[name][0] and is_f32c(a) and is_f32c(b)
            and a.shape == b.shape)


def relu(x):
    """max(x, 0); NaN stays NaN."""
    if x.size >= THRESHOLDS["relu"][0] and is_f32c(x):
        return _unary(x, RELU, "relu")
    return xp_of(x).maximum(x, 0)


def sigmoid(x):
    """1 / (1 + exp(-x)), any float dtype and device, exact and overflow-free in both tails."""
    if x.size >= THRESHOLDS["sigmoid"][0] and is_f32c(x):
        return _unary(x, SIGMOID, "sigmoid")
    xp = xp_of(x)
    e = xp.exp(-xp.abs(x))  # exp of a non-positive number only: never overflows
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def relu_backward(grad, x):
    """grad where x > 0, else 0 (PyTorch's threshold_backward: a select, so a NaN/inf gradient
    where x <= 0 gives 0, not NaN)."""
    if _same(grad, x, "relu_backward"):
        return _binary(grad, x, RELU_BWD, "relu_backward")
    return xp_of(grad).where(x > 0, grad, 0)


def tanh_backward(grad, y):
    """grad * (1 - y^2), y = tanh(x)."""
    if _same(grad, y, "tanh_backward"):
        return _binary(grad, y, TANH_BWD, "tanh_backward")
    return grad * (1 - y * y)


def sigmoid_backward(grad, y):
    """grad * y * (1 - y), y = sigmoid(x)."""
    if _same(grad, y, "sigmoid_backward"):
        return _binary(grad, y, SIGMOID_BWD, "sigmoid_backward")
    return grad * y * (1 - y)


_UFUNCS = {}  # erf and the normal CDF as NumPy ufuncs, compiled on first use and cached on disk


def _scalar_erf(v):
    return math.erf(v)


def _scalar_normal_cdf(v):
    return 0.5 * math.erfc(-v * 0.7071067811865476)  # erfc: no 1 + erf cancellation below 0


def _ufunc(fn, x, cupy_name):
    """fn element-wise on any float array: CuPy's special function for CuPy arrays, else a numba
    ufunc around the C library (~1 ulp); float16 computes in float32 and rounds back."""
    if is_cupy_array(x):
        special = backend.special(x)
        return getattr(special, cupy_name)(x) if cupy_name == "erf" else \
            0.5 * special.erfc(x * -0.7071067811865476)
    uf = _UFUNCS.get(fn)
    if uf is None:
        uf = _UFUNCS[fn] = vectorize(["float32(float32)", "float64(float64)"], cache=True)(fn)
    if x.dtype not in (np.float32, np.float64):
        return uf(x.astype(np.float32)).astype(x.dtype)
    return uf(x)


def erf(x):
    """erf element-wise, any float dtype and device."""
    return _ufunc(_scalar_erf, x, "erf")


def gelu(x):
    """x Phi(x) with the exact normal CDF Phi(x) = erfc(-x / sqrt 2) / 2 (PyTorch's default gelu),
    relative-accurate in the lower tail."""
    if x.size >= THRESHOLDS["gelu"][0] and is_f32c(x):
        return _unary(x, GELU, "gelu")
    return x * _ufunc(_scalar_normal_cdf, x, "normal_cdf")


def gelu_backward(grad, x):
    """grad * (Phi(x) + x phi(x)), phi the normal density: the derivative of gelu (exact form)."""
    if _same(grad, x, "gelu_backward"):
        return _binary(grad, x, GELU_BWD, "gelu_backward")
    xp, d = xp_of(x), x.dtype.type
    density = xp.exp(x * x * d(-0.5)) * d(_INV_SQRT_2PI_64)
    return grad * (_ufunc(_scalar_normal_cdf, x, "normal_cdf") + x * density)


def add_rowvec_inplace(out, b):
    """out += b in place, b of shape (C,) broadcast over the rows of out (..., C): bias add after a
    GEMM. Returns out."""
    if (out.size >= THRESHOLDS["add_rowvec_inplace"][0] and is_f32c(out) and is_f32c(b)
            and b.ndim == 1 and out.ndim >= 1 and out.shape[-1] == b.shape[0]):
        o2 = out.reshape(-1, b.shape[0])
        nb = parallel_blocks(out.size, THRESHOLDS["add_rowvec_inplace"][1])
        nb = min(nb, o2.shape[0])
        if nb >= 2:
            _rowvec_par(o2, b, nb)
        else:
            _rowvec_core(o2, b, 0, o2.shape[0])
        return out
    out += b
    return out


# ---------------------------------------------------------------------------------------------
# where(cond, scalar, x) / where(cond, x, scalar) with cond broadcast over the leading dims of x:
# masked_fill(causal_mask == 0, -inf) of attention scores and its backward where(cond, 0, g).
# NumPy's where with a broadcast condition runs at ~1 ns per element on one thread.


@njit(**JIT)
def _where_rows_core(x, cond, value, fill_on, out, r0, r1):
    """out[i, j] = value where cond[j] == fill_on, else x[i, j], for rows r0..r1."""
    for i in range(r0, r1):
        for j in range(x.shape[1]):
            out[i, j] = value if cond[j] == fill_on else x[i, j]


@njit(**PJIT)
def _where_rows_par(x, cond, value, fill_on, out, nb):
    n = x.shape[0]
    for k in prange(nb):
        _where_rows_core(x, cond, value, fill_on, out, k * n // nb, (k + 1) * n // nb)


def _scalar(v):
    return type(v) in (float, int)


def where_rows(cond, a, b):
    """where(cond, a, b) when one of a, b is a Python number, the other a float32 C-contiguous
    array x, and cond a C-contiguous bool array that broadcasts against x over x's leading dims
    only (its shape, leading 1s stripped, is x's trailing shape); None otherwise (the caller
    computes it). The number is rounded to float32 as NumPy does for a float32 where."""
    if _scalar(a) and not _scalar(b):
        x, value, fill_on = b, a, True
    elif _scalar(b) and not _scalar(a):
        x, value, fill_on = a, b, False
    else:
        return None
    if not (type(cond) is np.ndarray and cond.dtype == np.bool_ and cond.flags.c_contiguous
            and x.size >= THRESHOLDS["where_rows"][0] and is_f32c(x) and cond.ndim <= x.ndim):
        return None
    k = cond.ndim
    while k and cond.shape[cond.ndim - k] == 1:
        k -= 1
    if k == 0 or cond.shape[cond.ndim - k:] != x.shape[x.ndim - k:]:
        return None
    c = cond.reshape(-1)
    x2 = x.reshape(-1, c.size)
    out = np.empty_like(x)
    o2 = out.reshape(x2.shape)
    with np.errstate(over="ignore"):
        v = np.float32(value)
    nb = min(parallel_blocks(x.size, THRESHOLDS["where_rows"][1]), x2.shape[0])
    if nb >= 2:
        _where_rows_par(x2, c, v, fill_on, o2, nb)
    else:
        _where_rows_core(x2, c, v, fill_on, o2, 0, x2.shape[0])
    return out


def warmup_cases():
    f, o = np.ones(64, np.float32), np.empty(64, np.float32)
    o2, b = np.ones((4, 16), np.float32), np.ones(16, np.float32)
    c, v = np.ones(16, np.bool_), np.float32(0.0)
    return [(_unary_core, (f, o, RELU)), (_unary_par, (f, o, RELU, 2)),
            (_binary_core, (f, f, o, RELU_BWD)), (_binary_par, (f, f, o, RELU_BWD, 2)),
            (_rowvec_core, (o2, b, 0, 4)), (_rowvec_par, (o2, b, 2)),
            (_where_rows_core, (o2, c, v, True, o2, 0, 4)),
            (_where_rows_par, (o2, c, v, True, o2, 2))]
