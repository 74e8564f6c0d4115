"""Activations of `nn.functional`, and their primitives: a cheap array forward, a backward in
Tensor ops.

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
    (erf, used by gelu's backward, is the op axonal.erf)
    hardsigmoid y = clamp(x / 6 + 1/2, 0, 1)            dy/dx = 1/6 strictly inside (-3, 3), else 0
    hardswish   y = x hardsigmoid(x)                    dy/dx = 0 (x < -3), x / 3 + 1/2 (x <= 3), 1

`inplace=True` writes the result into the input's memory, as PyTorch's (differentiable and
checked: see axonal/ops/inplace.py).
"""
import math

import numpy as np

from ... import kernels
from ..._errors import ShapeError
from ...autograd.function import Function
from ...ops.inplace import apply_inplace
from ...backend import xp_of
from ...ops import erf, exp, reshape, where
from ...ops import log_softmax as _log_softmax
from ...ops import relu as _relu
from ...ops import sigmoid as _sigmoid
from ...ops import softmax as _softmax
from ...ops import tanh as _tanh
from ...tensor import constant
from ._args import floating_tensor

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_K = math.sqrt(2.0 / math.pi)
_C = 0.044715
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class LeakyRelu(Function):
    @staticmethod
    def forward(ctx, x, slope):
        pos = x._data > 0
        ctx.save(pos=pos, slope=slope)
        return xp_of(x._data).where(pos, x._data, x._data * x._data.dtype.type(slope))

    @staticmethod
    def backward(ctx, g):
        return g * constant(ctx.pos.astype(g._data.dtype) * (1 - ctx.slope) + ctx.slope), None


class Elu(Function):
    """alpha (e^x - 1) below 0; scale multiplies both branches (selu)."""

    save_output = True

    @staticmethod
    def forward(ctx, x, alpha, scale):
        xp = xp_of(x._data)
        d = x._data.dtype.type
        pos = x._data > 0
        ctx.save(pos=pos, alpha=alpha, scale=scale)
        neg = xp.expm1(xp.minimum(x._data, 0)) * d(alpha)  # min(): no overflow in the unused branch
        out = xp.where(pos, x._data, neg)
        return out * d(scale) if scale != 1 else out

    @staticmethod
    def backward(ctx, g):
        y = ctx.output()
        # below 0: d/dx scale a (e^x - 1) = scale a e^x = y + scale a
        return g * where(constant(ctx.pos), ctx.scale, y + ctx.scale * ctx.alpha), None, None


class Hardtanh(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save(inside=(x._data > lo) & (x._data < hi))
        return xp_of(x._data).clip(x._data, lo, hi).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return g * constant(ctx.inside.astype(g._data.dtype)), None, None


class Hardsigmoid(Function):
    # PyTorch's backward multiplies by 1/6 rounded to float32 in every dtype; so does this one, so
    # that float64 gradients agree with PyTorch's to the last bit (relative 3e-8 from the exact 1/6)
    _SIXTH = float(np.float32(1 / 6))

    @staticmethod
    def forward(ctx, x):
        ctx.save(inside=(x._data > -3) & (x._data < 3))
        return xp_of(x._data).clip(x._data / 6 + 0.5, 0, 1).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return g * constant(ctx.inside.astype(g._data.dtype) * Hardsigmoid._SIXTH)


class Hardswish(Function):
    """The derivative's pieces meet as PyTorch's do: x/3 + 1/2 on [-3, 3], so 1.5 at x = 3."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xd = x._data
        return xd * xp_of(xd).clip(xd / 6 + 0.5, 0, 1).astype(xd.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        mid = constant(((x._data >= -3) & (x._data <= 3)).astype(x._data.dtype))
        high = constant((x._data > 3).astype(x._data.dtype))
        return g * (mid * (x / 3 + 0.5) + high)


class Softplus(Function):
    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = xp_of(x._data)
        d = x._data.dtype.type
        bx = x._data * d(beta)
        linear = bx > threshold
        ctx.save_for_backward(x)
        ctx.save(beta=beta, linear=linear)
        # log(1 + e^z) = max(z, 0) + log1p(e^-|z|): exact for both tails
        soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / d(beta)
        return xp.where(linear, x._data, soft)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * where(constant(ctx.linear), 1.0, _sigmoid(x * ctx.beta)), None, None


class Silu(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp = xp_of(x._data)
        e = xp.exp(-xp.abs(x._data))  # overflow-free logistic
        s = xp.where(x._data >= 0, 1 / (1 + e), e / (1 + e))
        return (x._data * s).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = _sigmoid(x)
        return g * (s * (1 + x * (1 - s)))


class Gelu(Function):
    @staticmethod
    def forward(ctx, x, approximate):
        use_tanh = approximate == "tanh"
        ctx.save_for_backward(x)
        ctx.save(tanh=use_tanh)
        xp = xp_of(x._data)
        a = x._data
        d = a.dtype.type
        if not use_tanh:
            return kernels.gelu(a)
        inner = xp.tanh(d(_K) * (a + d(_C) * a * a * a))
        return (d(0.5) * a * (1 + inner)).astype(a.dtype, copy=False)

    @staticmethod
    def backward_arrays(ctx, g):
        if ctx.tanh:
            return NotImplemented
        (x,) = ctx.saved_tensors
        return kernels.gelu_backward(g, x._data), None

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.tanh:
            t = _tanh((x + x * x * x * _C) * _K)
            dydx = (1 + t) * 0.5 + x * (1 - t * t) * (0.5 * _K) * (1 + (x * x) * (3 * _C))
        else:
            cdf = (erf(x * _SQRT1_2) + 1) * 0.5
            dydx = cdf + x * exp(x * x * -0.5) * _INV_SQRT_2PI
        return g * dydx, None


# -- the functional forms ------------------------------------------------------------------------
def relu(input, inplace=False):
    if inplace:
        return apply_inplace(input, "relu_", relu)
    return _relu(floating_tensor("relu", input))


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else `value` (PyTorch's F.threshold)."""
    if inplace:
        return apply_inplace(input, "threshold_", _threshold, threshold, value)
    return _threshold(input, threshold, value)


def _threshold(input, threshold, value):
    floating_tensor("threshold", input)
    return where(constant(input._data > threshold), input, value)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return apply_inplace(input, "leaky_relu_", leaky_relu, negative_slope)
    return LeakyRelu.apply(floating_tensor("leaky_relu", input), float(negative_slope))


def prelu(input, weight):
    """max(0, x) + w min(0, x) with one slope per channel (dim 1) or a single shared slope."""
    floating_tensor("prelu", input)
    n = weight.numel()
    channels = input.shape[1] if input.ndim >= 2 else 1
    if n != 1 and n != channels:
        raise ShapeError(f"prelu: weight has {n} parameters but the input of shape "
                         f"{tuple(input.shape)} has {channels} channels (dim 1); expected 1 or "
                         f"{channels}")
    w = reshape(weight, (1, n) + (1,) * (input.ndim - 2)) if n > 1 else reshape(weight, ())
    return where(constant(input._data > 0), input, w * input)


def elu(input, alpha=1.0, inplace=False):
    if inplace:
        return apply_inplace(input, "elu_", elu, alpha)
    return Elu.apply(floating_tensor("elu", input), float(alpha), 1.0)


def selu(input, inplace=False):
    if inplace:
        return apply_inplace(input, "selu_", selu)
    return Elu.apply(floating_tensor("selu", input), _SELU_ALPHA, _SELU_SCALE)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)) = elu(x / alpha) * alpha below zero."""
    if inplace:
        return apply_inplace(input, "celu_", celu, alpha)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    floating_tensor("celu", input)
    return where(constant(input._data > 0), input, elu(input / alpha) * alpha)


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(floating_tensor("gelu", input), approximate)


def silu(input, inplace=False):
    if inplace:
        return apply_inplace(input, "silu_", silu)
    return Silu.apply(floating_tensor("silu", input))


def mish(input, inplace=False):
    if inplace:
        return apply_inplace(input, "mish_", mish)
    return input * _tanh(softplus(input))


def sigmoid(input):
    return _sigmoid(floating_tensor("sigmoid", input))


def tanh(input):
    return _tanh(floating_tensor("tanh", input))


def logsigmoid(input):
    return -softplus(-floating_tensor("logsigmoid", input))


def softplus(input, beta=1.0, threshold=20.0):
    if beta == 0:
        raise ValueError("softplus: beta must not be 0")
    return Softplus.apply(floating_tensor("softplus", input), float(beta), float(threshold))


def softsign(input):
    floating_tensor("softsign", input)
    return input / (input.abs() + 1)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if inplace:
        return apply_inplace(input, "hardtanh_", hardtanh, min_val, max_val)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return Hardtanh.apply(floating_tensor("hardtanh", input), float(min_val), float(max_val))


def hardsigmoid(input, inplace=False):
    if inplace:
        return apply_inplace(input, "hardsigmoid_", hardsigmoid)
    return Hardsigmoid.apply(floating_tensor("hardsigmoid", input))


def hardswish(input, inplace=False):
    if inplace:
        return apply_inplace(input, "hardswish_", hardswish)
    return Hardswish.apply(floating_tensor("hardswish", input))


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _softmax(input, dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _log_softmax(input, dim, dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return _softmax(-input, dim, dtype)
