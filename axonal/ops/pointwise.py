"""More element-wise functions of PyTorch's namespace: hyperbolic and inverse trigonometry, exp2/log2/
log10/expm1, two-argument functions (atan2, hypot, logaddexp, xlogy, copysign, fmod, fmax,
fmin, float_power, ldexp), nan_to_num, logit and PyTorch's aliases of existing ops.

The primitives follow the op contract of unary.py (`_unary`: integer inputs compute in the default
float dtype; backward written with Tensor ops, so it is differentiable again). The two-argument
functions are compositions of differentiable ops, so their gradients (broadcasting included) come
from the ops they are built of; where a composition would lose accuracy or meet 0/0 in backward, the
formula guards it (`where` on a safe argument) as PyTorch's own derivative does.
"""
import math

import numpy as np

from .. import _dtype as _dt
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import Tensor, constant
from ._util import as_tensor, coerce, nondiff
from .arith import mul, neg, sub
from .compare import clamp, isnan, maximum, minimum, where
from .shape import grad_for_input
from .unary import _unary, abs, exp, log, log1p, sign, sqrt, trunc

__all__ = ["absolute", "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan",
           "arctan2", "arctanh", "asin", "asinh", "atan", "atan2", "atanh", "clamp_max",
           "clamp_min", "copysign", "cosh", "deg2rad", "exp2", "expm1", "fix", "float_power",
           "fmax", "fmin", "fmod", "frac", "hypot", "index_add", "index_copy", "index_fill",
           "isneginf", "isposinf", "isreal", "ldexp", "log2", "log10", "logaddexp", "logaddexp2",
           "logit", "masked_scatter", "nan_to_num", "negative", "positive", "rad2deg", "rsub",
           "sgn", "signbit", "sinh", "tan", "xlogy"]

_LN2, _LN10 = math.log(2.0), math.log(10.0)

Tan = _unary("tan", lambda xp, x: xp.tan(x), lambda g, x, out: g * (1 + out * out),
             save_output=True)
Sinh = _unary("sinh", lambda xp, x: xp.sinh(x), lambda g, x, out: g * cosh(x))
Cosh = _unary("cosh", lambda xp, x: xp.cosh(x), lambda g, x, out: g * sinh(x))
Asin = _unary("asin", lambda xp, x: xp.arcsin(x), lambda g, x, out: g / sqrt(1 - x * x))
Acos = _unary("acos", lambda xp, x: xp.arccos(x), lambda g, x, out: -(g / sqrt(1 - x * x)))
Atan = _unary("atan", lambda xp, x: xp.arctan(x), lambda g, x, out: g / (1 + x * x))
Asinh = _unary("asinh", lambda xp, x: xp.arcsinh(x), lambda g, x, out: g / sqrt(x * x + 1))
Acosh = _unary("acosh", lambda xp, x: xp.arccosh(x), lambda g, x, out: g / sqrt(x * x - 1))
Atanh = _unary("atanh", lambda xp, x: xp.arctanh(x), lambda g, x, out: g / (1 - x * x))
Expm1 = _unary("expm1", lambda xp, x: xp.expm1(x), lambda g, x, out: g * (out + 1),
               save_output=True)
Exp2 = _unary("exp2", lambda xp, x: xp.exp2(x), lambda g, x, out: g * out * _LN2,
              save_output=True)
Log2 = _unary("log2", lambda xp, x: xp.log2(x), lambda g, x, out: g / (x * _LN2))
Log10 = _unary("log10", lambda xp, x: xp.log10(x), lambda g, x, out: g / (x * _LN10))


def tan(x):
    return Tan.apply(x)


def sinh(x):
    return Sinh.apply(x)


def cosh(x):
    return Cosh.apply(x)


def asin(x):
    return Asin.apply(x)


def acos(x):
    return Acos.apply(x)


def atan(x):
    return Atan.apply(x)


def asinh(x):
    return Asinh.apply(x)


def acosh(x):
    return Acosh.apply(x)


def atanh(x):
    return Atanh.apply(x)


def expm1(x):
    return Expm1.apply(x)


def exp2(x):
    return Exp2.apply(x)


def log2(x):
    return Log2.apply(x)


def log10(x):
    return Log10.apply(x)


def _float(x):
    """x in a floating dtype (integers and bools in the default float dtype, as PyTorch)."""
    x = as_tensor(x) if not isinstance(x, Tensor) else x
    return x if x.dtype.is_floating_point else x.to(_dt.get_default_dtype())


def deg2rad(x):
    return _float(x) * (math.pi / 180.0)


def rad2deg(x):
    return _float(x) * (180.0 / math.pi)


def frac(x):
    """x - trunc(x), gradient 1 (trunc's is 0)."""
    return x - trunc(x)


def logit(x, eps=None):
    """log(x / (1 - x)); with `eps`, x is first clamped to [eps, 1 - eps] (gradient 0 outside)."""
    x = _float(x)
    if eps is not None:
        x = clamp(x, eps, 1 - eps)
    return log(x / (1 - x))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN -> nan, +inf -> posinf, -inf -> neginf (default: the dtype's largest / lowest finite
    value); the gradient flows only through the finite elements."""
    if not x.dtype.is_floating_point:
        return x.clone()
    info = np.finfo(x._data.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    a = x._data
    xp = xp_of(a)
    out = where(constant(xp.isnan(a)), nan, x)
    out = where(constant(xp.isposinf(a)), posinf, out)
    return where(constant(xp.isneginf(a)), neginf, out)


# -- two arguments ------------------------------------------------------------------------------

class Atan2(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp_of(a._data).arctan2(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r = a * a + b * b
        return grad_for_input(ctx, 0, g * b / r), grad_for_input(ctx, 1, -(g * a) / r)


def _pair(op, a, b):
    a, b = coerce(op, a, b)
    a = as_tensor(a, like=b) if not isinstance(a, Tensor) else a
    b = as_tensor(b, like=a) if not isinstance(b, Tensor) else b
    return _float(a), _float(b)


def atan2(input, other):
    return Atan2.apply(*_pair("atan2", input, other))


class Hypot(Function):
    """sqrt(a^2 + b^2) without overflow; gradients a / out and b / out (PyTorch's: NaN at 0)."""

    save_output = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp_of(a._data).hypot(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        out = ctx.output()
        return grad_for_input(ctx, 0, g * a / out), grad_for_input(ctx, 1, g * b / out)


def hypot(input, other):
    return Hypot.apply(*_pair("hypot", input, other))


def logaddexp(input, other):
    """log(exp(a) + exp(b)) = m + log(exp(a - m) + exp(b - m)), m = max(a, b) held constant (the
    value does not depend on m, so neither does the gradient); m = 0 where both are -inf."""
    a, b = _pair("logaddexp", input, other)
    m = maximum(a, b).detach()
    m = where(constant(xp_of(m._data).isfinite(m._data)), m, 0.0)
    return m + log(exp(a - m) + exp(b - m))


def logaddexp2(input, other):
    """log2(2^a + 2^b), through logaddexp in natural units."""
    a, b = _pair("logaddexp2", input, other)
    return logaddexp(a * _LN2, b * _LN2) / _LN2


class Xlogy(Function):
    """x * log(y) (`plus1`: x * log1p(y)), and 0 where x == 0 unless y is NaN. PyTorch's
    derivatives: d/dx = log(y), but 0 where x == 0 and y <= 0 (y <= -1); d/dy = x / y
    (x / (1 + y))."""

    @staticmethod
    def forward(ctx, a, b, plus1):
        ctx.save_for_backward(a, b)
        ctx.save(plus1=plus1)
        xp = xp_of(a._data)
        x, y = xp.broadcast_arrays(a._data, b._data)
        zero = (x == 0) & ~xp.isnan(y)
        lg = xp.log1p if plus1 else xp.log
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.where(zero, 0, x * lg(xp.where(zero, 0 if plus1 else 1, y))).astype(
                x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            mask = constant((a._data == 0) & (b._data <= (-1 if ctx.plus1 else 0)))
            ga = grad_for_input(ctx, 0, where(mask, 0.0, g * (log1p(b) if ctx.plus1 else log(b))))
        if ctx.needs_input_grad[1]:
            gb = grad_for_input(ctx, 1, g * a / ((b + 1) if ctx.plus1 else b))
        return ga, gb, None


def xlogy(input, other):
    return Xlogy.apply(*_pair("xlogy", input, other), False)


def xlog1py(input, other):
    """x * log1p(y) (torch.special.xlog1py)."""
    return Xlogy.apply(*_pair("xlog1py", input, other), True)


def copysign(input, other):
    """|a| with the sign bit of b; the gradient to b is 0 (PyTorch's), to a sign(a) * (+-1)."""
    a, b = _pair("copysign", input, other)
    s = constant(xp_of(b._data).where(xp_of(b._data).signbit(b._data), -1.0, 1.0)
                 .astype(b._data.dtype))
    return abs(a) * s


class Fmod(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp_of(a._data).fmod(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors  # fmod(a, b) = a - trunc(a / b) b
        return grad_for_input(ctx, 0, g), grad_for_input(ctx, 1, -(g * trunc(a / b)))


def fmod(input, other):
    a, b = coerce("fmod", input, other)
    if not (isinstance(a, Tensor) and a.dtype.is_floating_point) and not (
            isinstance(b, Tensor) and b.dtype.is_floating_point):
        return nondiff(lambda x, y: xp_of(x).fmod(x, y), a, b)
    a = as_tensor(a, like=b) if not isinstance(a, Tensor) else a
    b = as_tensor(b, like=a) if not isinstance(b, Tensor) else b
    return Fmod.apply(a, b)


def fmax(input, other):
    """max(a, b) ignoring NaN: where one is NaN the other is taken."""
    a, b = coerce("fmax", input, other)
    return where(isnan(b), a, where(isnan(a), b, maximum(a, b)))


def fmin(input, other):
    a, b = coerce("fmin", input, other)
    return where(isnan(b), a, where(isnan(a), b, minimum(a, b)))


def float_power(input, exponent):
    """input ** exponent computed in float64 (PyTorch's float_power)."""
    a = input.to(_dt.float64) if isinstance(input, Tensor) else float(input)
    b = exponent.to(_dt.float64) if isinstance(exponent, Tensor) else float(exponent)
    if not isinstance(a, Tensor):
        a = as_tensor(a, like=b).to(_dt.float64)
    return a ** b


def ldexp(input, other):
    """input * 2 ** other."""
    a, b = _pair("ldexp", input, other)
    return a * (2.0 ** b)


def rsub(input, other, alpha=1):
    """other - alpha * input."""
    return sub(other, input if alpha == 1 else mul(input, alpha))


def sgn(x):
    return sign(x)


def positive(x):
    return x


def signbit(x):
    return nondiff(lambda a: xp_of(a).signbit(a), x)


def isposinf(x):
    return nondiff(lambda a: xp_of(a).isposinf(a), x)


def isneginf(x):
    return nondiff(lambda a: xp_of(a).isneginf(a), x)


def isreal(x):
    return nondiff(lambda a: xp_of(a).ones(a.shape, dtype=bool), x)


# -- function forms of Tensor methods ------------------------------------------------------------

def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def index_add(input, dim, index, source, *, alpha=1):
    return input.index_add(dim, index, source, alpha=alpha)


def index_copy(input, dim, index, source):
    return input.index_copy(dim, index, source)


def index_fill(input, dim, index, value):
    return input.index_fill(dim, index, value)


def masked_scatter(input, mask, source):
    return input.masked_scatter(mask, source)


# PyTorch's aliases
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
arctan2, negative, absolute, fix = atan2, neg, abs, trunc
