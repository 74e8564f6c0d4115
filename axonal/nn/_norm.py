"""Normalization primitives for `nn.functional.batch_norm` and `layer_norm`.

Both normalize x over a set of dims D (M elements per group) and apply an element-wise affine map:

    mu = mean_D x,  var = mean_D (x - mu)^2 (biased),  r = 1 / sqrt(var + eps)
    xh = (x - mu) r,  y = xh w + b

With gh = g w the input gradient has the closed form

    dx = r (gh - mean_D gh - xh mean_D(gh xh)),   dw = sum g xh,   db = sum g

(summing dw/db over the dims that w is broadcast along). The forward and the plain backward use the
cached xh and r arrays (one fused pass each). When the backward itself is being recorded
(create_graph=True), mu, r and xh are recomputed from x with differentiable ops, so second
derivatives are exact.
"""
from .._config import is_grad_enabled
from ..autograd.function import Function
from ..backend import xp_of
from ..ops import rsqrt
from ..ops.elementwise import _const


class Normalize(Function):
    """y = (x - mean) * invstd [* w] [+ b]; mean/invstd are precomputed arrays (keepdims shape).

    w and b arrive already reshaped to broadcast against x; `param_dims` are the dims of x that they
    are broadcast along (summed, keepdim) for their gradients."""

    @staticmethod
    def forward(ctx, x, w, b, mean, invstd, dims, param_dims, eps):
        xh = (x.data - mean) * invstd
        ctx.xh, ctx.invstd, ctx.dims, ctx.param_dims, ctx.eps = xh, invstd, dims, param_dims, eps
        ctx.save_for_backward(x, w)
        y = xh * w.data if w is not None else xh
        if b is not None:
            y = y + b.data
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        dims, need = ctx.dims, ctx.needs_input_grad
        if is_grad_enabled():  # recording the backward: everything as a function of x
            xc = x - x.mean(dims, keepdim=True)
            r = rsqrt((xc * xc).mean(dims, keepdim=True) + ctx.eps)
            xh = xc * r
        else:
            xh, r = _const(ctx.xh), _const(ctx.invstd)
        gx = gw = gb = None
        if need[0]:
            gh = g * w if w is not None else g
            gx = r * (gh - gh.mean(dims, keepdim=True) - xh * (gh * xh).mean(dims, keepdim=True))
        if len(need) > 1 and need[1]:
            gw = (g * xh).sum(ctx.param_dims, keepdim=True)
        if len(need) > 2 and need[2]:
            gb = g.sum(ctx.param_dims, keepdim=True)
        return gx, gw, gb, None, None, None, None, None


def moments(x, dims, eps):
    """(mean, biased var, invstd) arrays over dims with keepdims, in x's dtype."""
    xp = xp_of(x.data)
    mean = x.data.mean(axis=dims, keepdims=True)
    xc = x.data - mean
    var = (xc * xc).mean(axis=dims, keepdims=True)
    invstd = 1 / xp.sqrt(var + x.data.dtype.type(eps))
    return mean, var, invstd


def normalize(x, w, b, dims, param_dims, eps):
    mean, var, invstd = moments(x, dims, eps)
    return Normalize.apply(x, w, b, mean, invstd, dims, param_dims, eps), mean, var
