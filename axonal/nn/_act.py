"""Activation primitives for `nn.functional`: a cheap NumPy forward, a backward in Tensor ops.

Each backward is written with differentiable ops of the saved input (or of the re-attached output),
so double backward is exact. Piecewise functions use a constant mask for the branch: their local
derivative is piecewise smooth and the mask's own derivative is zero almost everywhere.

    leaky_relu  y = x (x > 0), s x (else)               dy/dx = 1 or s
    elu         y = x (x > 0), a (e^x - 1) (else)       dy/dx = 1 or y + a
    hardtanh    y = clamp(x, lo, hi)                    dy/dx = 1 strictly inside (lo, hi), else 0
    softplus    y = log(1 + e^(b x)) / b, x for b x > t dy/dx = sigmoid(b x), or 1
    silu        y = x sigmoid(x)                        dy/dx = s (1 + x (1 - s))
    gelu        y = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2
                dy/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
    gelu-tanh   y = x (1 + tanh(u)) / 2, u = sqrt(2/pi) (x + 0.044715 x^3)
                dy/dx = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 x^2) / 2
    erf         d erf(x)/dx = 2 / sqrt(pi) exp(-x^2)
"""
import math

import numpy as np

from ..autograd.function import Function
from ..backend import is_cupy_array, xp_of
from ..ops import exp, sigmoid, tanh, where
from ..tensor import constant

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_K = math.sqrt(2.0 / math.pi)
_C = 0.044715

_erf_ufunc = None


def erf_array(a):
    """erf on a raw array: CuPy's special function on the GPU; on the CPU a numba ufunc around
    the C library's erf/erff (accurate to ~1 ulp, compiled on first use), else a slow fallback."""
    global _erf_ufunc
    if is_cupy_array(a):
        from cupyx.scipy.special import erf

        return erf(a)
    if _erf_ufunc is None:
        _erf_ufunc = _compile_erf()
    if a.dtype not in (np.float32, np.float64):
        return _erf_ufunc(a.astype(np.float32)).astype(a.dtype)
    return _erf_ufunc(a).astype(a.dtype, copy=False)


def _compile_erf():
    try:
        import numba
    except ImportError:  # element-wise Python erf: slow but exact
        return np.vectorize(math.erf, otypes=[np.float64])
    for cache in (True, False):  # caching fails where no cache directory is writable
        try:
            return numba.vectorize(["float32(float32)", "float64(float64)"], cache=cache)(
                _erf_scalar)
        except RuntimeError:
            continue
    return np.vectorize(math.erf, otypes=[np.float64])


def _erf_scalar(v):
    return math.erf(v)


class Erf(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erf_array(x.data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (exp(-(x * x)) * _TWO_OVER_SQRT_PI)


class LeakyRelu(Function):
    @staticmethod
    def forward(ctx, x, slope):
        pos = x.data > 0
        ctx.pos, ctx.slope = pos, slope
        return xp_of(x.data).where(pos, x.data, x.data * x.data.dtype.type(slope))

    @staticmethod
    def backward(ctx, g):
        return g * constant(ctx.pos.astype(g.data.dtype) * (1 - ctx.slope) + ctx.slope), None


class Elu(Function):
    """alpha (e^x - 1) below 0; scale multiplies both branches (selu)."""

    save_output = True

    @staticmethod
    def forward(ctx, x, alpha, scale):
        xp = xp_of(x.data)
        d = x.data.dtype.type
        pos = x.data > 0
        ctx.pos, ctx.alpha, ctx.scale = pos, alpha, scale
        neg = xp.expm1(xp.minimum(x.data, 0)) * d(alpha)  # min(): no overflow in the unused branch
        out = xp.where(pos, x.data, neg)
        return out * d(scale) if scale != 1 else out

    @staticmethod
    def backward(ctx, g):
        y = ctx.output()
        # below 0: d/dx scale a (e^x - 1) = scale a e^x = y + scale a
        return g * where(constant(ctx.pos), ctx.scale, y + ctx.scale * ctx.alpha), None, None


class Hardtanh(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.inside = (x.data > lo) & (x.data < hi)
        return xp_of(x.data).clip(x.data, lo, hi).astype(x.data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return g * constant(ctx.inside.astype(g.data.dtype)), None, None


class Softplus(Function):
    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = xp_of(x.data)
        d = x.data.dtype.type
        bx = x.data * d(beta)
        ctx.save_for_backward(x)
        ctx.beta, ctx.linear = beta, bx > threshold
        # log(1 + e^z) = max(z, 0) + log1p(e^-|z|): exact for both tails
        soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / d(beta)
        return xp.where(ctx.linear, x.data, soft)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * where(constant(ctx.linear), 1.0, sigmoid(x * ctx.beta)), None, None


class Silu(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp = xp_of(x.data)
        e = xp.exp(-xp.abs(x.data))  # overflow-free logistic
        s = xp.where(x.data >= 0, 1 / (1 + e), e / (1 + e))
        return (x.data * s).astype(x.data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = sigmoid(x)
        return g * (s * (1 + x * (1 - s)))


class Gelu(Function):
    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.tanh = approximate == "tanh"
        xp = xp_of(x.data)
        a = x.data
        d = a.dtype.type
        if ctx.tanh:
            inner = xp.tanh(d(_K) * (a + d(_C) * a * a * a))
        else:
            inner = erf_array(a * d(_SQRT1_2))
        return (d(0.5) * a * (1 + inner)).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.tanh:
            t = tanh((x + x * x * x * _C) * _K)
            dydx = (1 + t) * 0.5 + x * (1 - t * t) * (0.5 * _K) * (1 + (x * x) * (3 * _C))
        else:
            cdf = (Erf.apply(x * _SQRT1_2) + 1) * 0.5
            dydx = cdf + x * exp(x * x * -0.5) * _INV_SQRT_2PI
        return g * dydx, None
