"""Smaller functional forms: hardshrink, softshrink, tanhshrink, glu, rrelu, lp_pool1d/2d/3d,
max_unpool1d/2d/3d, the *_with_indices spellings of max pooling and the deprecated
upsample_nearest / upsample_bilinear. Compositions of differentiable ops, PyTorch's formulas:

    hardshrink(x)  = x where |x| > lambd, else 0
    softshrink(x)  = x - lambd where x > lambd, x + lambd where x < -lambd, else 0
    tanhshrink(x)  = x - tanh(x)
    glu(a | b)     = a * sigmoid(b), the input halved along dim
    rrelu(x)       = x where x >= 0, else a x with a ~ U(lower, upper) per element in training
                     and a = (lower + upper) / 2 in evaluation
    lp_pool(x)     = (sum over the window of x^p)^(1/p), as PyTorch computes it: the average
                     pool of x^p times the window size, sign(s) relu(|s|) before the root
    max_unpool     = zeros with each input value written at its max_pool index (the gradient
                     gathers back from those positions)
"""
import warnings

import numpy as np

from ..._errors import ShapeError
from ...backend import xp_of
from ...ops import relu, sigmoid, sign, tanh, where, zeros
from ...ops.conv import ntuple
from ...ops.inplace import apply_inplace
from ...ops.pool import (
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from ...ops.resample import interpolate
from ...random import np_generator
from ...tensor import constant
from ._args import floating_tensor
from ._volumetric import adaptive_max_pool3d, avg_pool3d, max_pool3d


def hardshrink(input, lambd=0.5):
    floating_tensor("hardshrink", input)
    keep = (input._data > lambd) | (input._data < -lambd)
    return where(constant(keep), input, 0.0)


def softshrink(input, lambd=0.5):
    floating_tensor("softshrink", input)
    if lambd < 0:
        raise ValueError(f"softshrink: lambda must be greater or equal to 0, but found to be "
                         f"{lambd}.")
    d = input._data
    return where(constant(d > lambd), input - lambd,
                 where(constant(d < -lambd), input + lambd, 0.0))


def tanhshrink(input):
    return input - tanh(floating_tensor("tanhshrink", input))


def glu(input, dim=-1):
    floating_tensor("glu", input)
    if input.ndim == 0:
        raise ShapeError("glu: glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        raise ShapeError(f"glu: Halving dimension must be even, but dimension {dim % input.ndim} "
                         f"is size {n} (input {tuple(input.shape)})")
    a, b = input.split(n // 2, dim)
    return a * sigmoid(b)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    if inplace:
        return apply_inplace(input, "rrelu_", rrelu, lower, upper, training)
    floating_tensor("rrelu", input)
    if not training:
        slope = (lower + upper) / 2
        return where(constant(input._data >= 0), input, input * slope)
    xp = xp_of(input._data)
    draw = np_generator().uniform(lower, upper, size=input._data.shape)
    a = constant(xp.asarray(draw.astype(input._data.dtype)))
    return where(constant(input._data >= 0), input, input * a)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def _lp_finish(out, norm_type, size):
    return ((sign(out) * relu(out.abs())) * size) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    k = ntuple(kernel_size, 1, "kernel_size", "lp_pool1d", 1)[0]
    out = avg_pool1d(input ** norm_type, k, stride if stride is not None else k, 0, ceil_mode)
    return _lp_finish(out, norm_type, k)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    kh, kw = ntuple(kernel_size, 2, "kernel_size", "lp_pool2d", 1)
    out = avg_pool2d(input ** norm_type, (kh, kw), stride if stride is not None else (kh, kw), 0,
                     ceil_mode)
    return _lp_finish(out, norm_type, kh * kw)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    kd, kh, kw = ntuple(kernel_size, 3, "kernel_size", "lp_pool3d", 1)
    out = avg_pool3d(input ** norm_type, (kd, kh, kw),
                     stride if stride is not None else (kd, kh, kw), 0, ceil_mode)
    return _lp_finish(out, norm_type, kd * kh * kw)


def _max_unpool(op, n, input, indices, kernel_size, stride, padding, output_size):
    floating_tensor(op, input)
    k = ntuple(kernel_size, n, "kernel_size", op, 1)
    s = k if stride is None else ntuple(stride, n, "stride", op, 1)
    p = ntuple(padding, n, "padding", op, 0)
    spatial = tuple(input.shape[-n:])
    default = tuple((spatial[i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(n))
    if output_size is None:
        size = default
    else:
        size = tuple(int(v) for v in output_size)[-n:]
        for i in range(n):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < size[i] < hi:
                raise ValueError(f"{op}: invalid output_size {tuple(output_size)} (dim {i} "
                                 f"must be between {lo} and {hi})")
    idx = indices._data
    if tuple(idx.shape) != tuple(input.shape):
        raise ShapeError(f"{op}: Expected shape of indices to be same as that of the input "
                         f"tensor ({tuple(input.shape)}) but got indices tensor with shape: "
                         f"{tuple(idx.shape)}")
    plane = int(np.prod(size))
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
        raise IndexError(f"{op}: Found an invalid max index: {int(idx.max())} (output volumes "
                         f"are of size {'x'.join(map(str, size))})")
    lead = tuple(input.shape[:-n])
    flat_x = input.reshape(lead + (-1,))
    flat_i = constant(idx.reshape(lead + (-1,)).astype(np.int64))
    out = zeros(lead + (plane,), dtype=input.dtype, device=input.device)
    out = out.scatter(out.ndim - 1, flat_i, flat_x)
    return out.reshape(lead + size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool3d(input, output_size, True)


def upsample_nearest(input, size=None, scale_factor=None):
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
