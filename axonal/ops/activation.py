"""Softmax and log-softmax along a dim, computed stably (shifted by the max).

softmax:     y = exp(x - m) / sum exp(x - m);  dx = y * (g - sum(g * y))
log_softmax: y = x - m - log sum exp(x - m);   dx = g - exp(y) * sum(g)
"""
from .. import _dtype as _dt
from .. import kernels as K
from ..autograd.function import Function
from ..backend import xp_of
from ._util import norm_dim
from .unary import exp


class Softmax(Function):
    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.save(dim=dim)
        if dim == x.ndim - 1:  # rows in L1, one fused pass (kernels.attention; NumPy otherwise)
            return K.softmax(x._data)
        xp = xp_of(x._data)
        e = xp.exp(x._data - x._data.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        return e

    @staticmethod
    def backward_arrays(ctx, g):  # first order, along the last dim: one fused pass
        if ctx.dim != g.ndim - 1:
            return NotImplemented
        return K.softmax_backward(ctx.output()._data, g), None

    @staticmethod
    def backward(ctx, g):
        y = ctx.output()
        return y * (g - (g * y).sum(ctx.dim, keepdim=True)), None


class LogSoftmax(Function):
    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.save(dim=dim)
        return K.log_softmax(x._data, dim)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output()
        return g - exp(y) * g.sum(ctx.dim, keepdim=True), None


def _prep(x, dim, dtype, op):
    if dtype is not None:
        x = x.to(dtype)
    elif x._data.dtype.kind not in "fV":
        x = x.to(_dt.get_default_dtype())
    if dim is None:
        dim = 0 if x.ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit dim
    return x, norm_dim(dim, x.ndim, op)


def softmax(x, dim=None, dtype=None):
    x, d = _prep(x, dim, dtype, "softmax")
    if x._data.size == 0:
        return x
    return Softmax.apply(x, d)


def log_softmax(x, dim=None, dtype=None):
    x, d = _prep(x, dim, dtype, "log_softmax")
    if x._data.size == 0:
        return x
    return LogSoftmax.apply(x, d)
