"""Cumulative ops along a dim: cumprod, cummax, cummin, logcumsumexp; and PyTorch's remaining
aliases of existing ops (greater, less, not_equal ..., ravel, tile, sinc, vander).

cumprod's gradient is exact with zeros in the input (no division): with P_i the product of the
elements before i, d out_j / d x_i = P_i * x_(i+1) ... x_j for j >= i, so the gradient is
P_i * S_i with the reverse recurrence S_i = g_i + x_(i+1) S_(i+1). Without zeros it is the usual
reverse cumulative sum of g * out divided by x. cummax/cummin gather the running extreme (the last
index among ties, as PyTorch), so the gradient reaches that element. logcumsumexp subtracts the
slice's maximum when no element is so far below it that exp underflows; otherwise it accumulates
with logaddexp step by step (exact, slower).
"""
import math
from collections import namedtuple

import numpy as np

from .. import _dtype as _dt
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import constant
from ._util import norm_dim
from .compare import ge, gt, le, lt, ne, where
from .creation import ones_like
from .indexing import gather, narrow
from .pointwise import logaddexp
from .reduction import cumsum
from .shape import cat, flip, reshape, stack
from .unary import exp, log, sin

__all__ = ["cummax", "cummin", "cumprod", "greater", "greater_equal", "less", "less_equal",
           "logcumsumexp", "not_equal", "ravel", "sinc", "tile", "vander"]

CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])


class Cumprod(Function):
    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.save_for_backward(x)
        ctx.save(dim=dim)
        return xp_of(x._data).cumprod(x._data, axis=dim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        d, n = ctx.dim, x.shape[ctx.dim]
        if n == 0:
            return g, None
        if not (x._data == 0).any():
            return flip(cumsum(flip(g * ctx.output(), [d]), d), [d]) / x, None
        ones = narrow(x, d, 0, 1) * 0 + 1
        before = cat([ones, narrow(cumprod(x, d), d, 0, n - 1)], d) if n > 1 else ones
        s = [narrow(g, d, n - 1, 1)]
        for i in range(n - 2, -1, -1):
            s.append(narrow(g, d, i, 1) + narrow(x, d, i + 1, 1) * s[-1])
        return before * cat(s[::-1], d), None


def cumprod(input, dim, *, dtype=None):
    x = input if dtype is None else input.to(dtype)
    if x.ndim == 0:
        return x.clone()
    if not x.dtype.is_floating_point:
        return constant(xp_of(x._data).cumprod(x._data, axis=norm_dim(dim, x.ndim, "cumprod")))
    return Cumprod.apply(x, norm_dim(dim, x.ndim, "cumprod"))


def _cum_extreme(input, dim, take_max, name):
    if input.ndim == 0:
        return input.clone(), constant(xp_of(input._data).zeros((), np.int64))
    d = norm_dim(dim, input.ndim, name)
    a = input._data
    xp = xp_of(a)
    run = (xp.maximum if take_max else xp.minimum).accumulate(a, axis=d)
    shape = [1] * a.ndim
    shape[d] = a.shape[d]
    pos = xp.arange(a.shape[d]).reshape(shape)
    # the last index where the running extreme was reached (ties: the later one, as PyTorch)
    idx = xp.maximum.accumulate(xp.where(a == run, pos, -1), axis=d).astype(np.int64)
    idx = constant(idx)
    return gather(input, d, idx), idx


def cummax(input, dim):
    return CummaxResult(*_cum_extreme(input, dim, True, "cummax"))


def cummin(input, dim):
    return CumminResult(*_cum_extreme(input, dim, False, "cummin"))


def logcumsumexp(input, dim):
    if input.ndim == 0:
        return input.clone()
    d = norm_dim(dim, input.ndim, "logcumsumexp")
    n = input.shape[d]
    if n == 0:
        return input.clone()
    a = input._data
    xp = xp_of(a)
    m = xp.max(a, axis=d, keepdims=True)
    finite_m = xp.where(xp.isfinite(m), m, 0)
    spread = float(xp.max(xp.where(xp.isfinite(a), finite_m - a, 0))) if a.size else 0.0
    limit = 600.0 if a.dtype == np.float64 else 80.0  # exp(-limit) stays a normal number
    if spread < limit:
        mt = constant(finite_m)
        return log(cumsum(exp(input - mt), d)) + mt
    outs = [narrow(input, d, 0, 1)]
    for i in range(1, n):
        outs.append(logaddexp(outs[-1], narrow(input, d, i, 1)))
    return cat(outs, d)


# -- aliases ---------------------------------------------------------------------------------------

greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def ravel(input):
    return reshape(input, (-1,))


def tile(input, dims):
    """repeat with dims padded by leading 1s when shorter than input's."""
    dims = tuple(dims)
    dims = (1,) * (input.ndim - len(dims)) + dims
    return input.repeat(*dims)


def sinc(input):
    """sin(pi x) / (pi x), 1 at x = 0 (gradient 0 there, as PyTorch)."""
    x = input if input.dtype.is_floating_point else input.to(_dt.get_default_dtype())
    zero = constant(x._data == 0)
    px = where(zero, 1.0, x) * math.pi
    return where(zero, 1.0, sin(px) / px)


def vander(x, N=None, increasing=False):
    """torch.vander: columns x^(N-1) ... x^0 (x^0 ... x^(N-1) with `increasing`), as running
    products of x."""
    n = x.shape[0] if N is None else N
    if n == 0:
        return reshape(x, (-1, 1))[:, :0]
    cols = [ones_like(x)]
    for _ in range(1, n):
        cols.append(cols[-1] * x)
    out = stack(cols, 1)
    return out if increasing else flip(out, [1])
