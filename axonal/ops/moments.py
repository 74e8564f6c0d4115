"""Variance, standard deviation and log-sum-exp, each one graph node as PyTorch's (VarBackward0,
StdBackward0, LogsumexpBackward0), keeping what PyTorch keeps for backward: the input (var), the
input and the result (std, logsumexp). So an in-place write into one of them before backward raises
PyTorch's error with PyTorch's versions, and a write into anything else is harmless, as there.

With c = x - mean(x) over the reduced dims and D = N - correction:
  var  = sum(c^2) / D                     d var / dx  = 2 c / D
  std  = sqrt(var)                        d std / dx  = c / (D std)   (0 where std == 0, as PyTorch)
  lse  = m + log sum exp(x - m)           d lse / dx  = exp(x - lse)  (m = max x: only for range)
Each backward is written with differentiable ops, so higher derivatives stay in the graph.
"""
import builtins

import numpy as np

from .._dtype import get_default_dtype
from ..autograd.function import Function
from ..backend import xp_of
from ._util import norm_dims
from .compare import where
from .reduction import _keep_shape, _restore, mean
from .shape import reshape
from .unary import exp


def _count(shape, dims):
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _divisor(shape, dims, correction):
    return builtins.max(_count(shape, dims) - correction, 0)


def _variance(a, dims, keepdim, correction):
    centered = a - a.mean(axis=dims, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # D = 0 gives inf / nan, as PyTorch
        return (centered * centered).sum(axis=dims, keepdims=keepdim) / \
            a.dtype.type(_divisor(a.shape, dims, correction))


def _scale(d):
    return 1.0 / d if d else float("inf")


class Var(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, correction):
        ctx.save_for_backward(x)
        ctx.save(dims=dims, keepdim=keepdim, correction=correction)
        return _variance(x._data, dims, keepdim, correction)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        d = _divisor(x._data.shape, ctx.dims, ctx.correction)
        centered = x - mean(x, ctx.dims, keepdim=True)
        gx = _restore(g, x._data.shape, ctx.dims, ctx.keepdim) * centered * (2.0 * _scale(d))
        return gx, None, None, None


class Std(Function):
    save_output = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, correction):
        ctx.save_for_backward(x)
        ctx.save(dims=dims, keepdim=keepdim, correction=correction)
        return xp_of(x._data).sqrt(_variance(x._data, dims, keepdim, correction))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        out = ctx.output()
        d = _divisor(x._data.shape, ctx.dims, ctx.correction)
        g_over = where(out == 0, 0.0, g / where(out == 0, 1.0, out))
        centered = x - mean(x, ctx.dims, keepdim=True)
        gx = _restore(g_over, x._data.shape, ctx.dims, ctx.keepdim) * centered * _scale(d)
        return gx, None, None, None


class Logsumexp(Function):
    save_output = True

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.save_for_backward(x)
        ctx.save(dims=dims, keepdim=keepdim)
        a = x._data
        xp = xp_of(a)
        m = a.max(axis=dims, keepdims=True) if a.size else \
            xp.zeros(_keep_shape(a.shape, dims), a.dtype)
        m = xp.where(xp.isfinite(m), m, a.dtype.type(0))
        with np.errstate(divide="ignore"):  # log 0 = -inf for an all -inf group, as PyTorch
            out = xp.log(xp.exp(a - m).sum(axis=dims, keepdims=True)) + m
        return out if keepdim else out.reshape(tuple(s for i, s in enumerate(out.shape)
                                                      if i not in dims))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        keep = _keep_shape(x._data.shape, ctx.dims)
        out = ctx.output()
        if not ctx.keepdim:
            g, out = reshape(g, keep), reshape(out, keep)
        return g * exp(x - out), None, None


def _all_if_empty(dim):
    """PyTorch's var/std read an empty dim list as 'all dims'."""
    return None if isinstance(dim, (tuple, list)) and len(dim) == 0 else dim


def _float_or_default(x):
    return x if x._data.dtype.kind == "f" else x.to(get_default_dtype())


def _moment_args(op, x, dim, unbiased, correction):
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    x = _float_or_default(x)
    return x, norm_dims(_all_if_empty(dim), x.ndim, op), correction


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance with Bessel's correction by default: sum (x - mean)^2 / (N - correction)."""
    x, dims, correction = _moment_args("var", x, dim, unbiased, correction)
    return Var.apply(x, dims, keepdim, correction)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    x, dims, correction = _moment_args("std", x, dim, unbiased, correction)
    return Std.apply(x, dims, keepdim, correction)


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return std(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def logsumexp(x, dim=None, keepdim=False):
    """log sum exp(x) over `dim`, computed stably (see the module doc)."""
    return Logsumexp.apply(x, norm_dims(dim, x.ndim, "logsumexp"), keepdim)
