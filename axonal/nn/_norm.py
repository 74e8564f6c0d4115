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

Batch norm of a float32 (N, C, *) array with at least 8 values per channel row (conv activations)
runs on the per-channel kernels of `kernels.norm` instead: two passes forward (moments, then the
affine map x s + t) and two backward, without storing xh.
"""
import numpy as np

from .._config import is_grad_enabled
from ..autograd.function import Function
from ..backend import xp_of
from ..kernels import norm as _kn
from ..ops import rsqrt
from ..tensor import constant


class Normalize(Function):
    """y = (x - mean) * invstd [* w] [+ b]; mean/invstd are precomputed arrays (keepdims shape).

    w and b arrive already reshaped to broadcast against x; `param_dims` are the dims of x that they
    are broadcast along (summed, keepdim) for their gradients."""

    @staticmethod
    def forward(ctx, x, w, b, mean, invstd, dims, param_dims, eps):
        ctx.dims, ctx.param_dims, ctx.eps = dims, param_dims, eps
        ctx.save_for_backward(x, w)
        ctx.channels = _channel_view(x.data, dims)
        if ctx.channels is not None:  # batch norm of conv activations: the per-channel kernels
            c = x.data.shape[1]
            r = invstd.reshape(c)
            s = r * w.data.reshape(c) if w is not None else r
            t = -mean.reshape(c) * s + (b.data.reshape(c) if b is not None else 0)
            ctx.xh, ctx.mean, ctx.invstd, ctx.scale = None, mean.reshape(c), r, s
            y = _kn.channel_affine(ctx.channels, s, t.astype(s.dtype, copy=False))
            return y.reshape(x.data.shape)
        xh = (x.data - mean) * invstd
        ctx.xh, ctx.invstd = xh, invstd
        y = xh * w.data if w is not None else xh
        if b is not None:
            y = y + b.data
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        dims, need = ctx.dims, ctx.needs_input_grad
        if ctx.xh is None and not is_grad_enabled():
            return _channel_backward(ctx, g, x, w) + (None,) * (len(need) - 3)
        if is_grad_enabled():  # recording the backward: everything as a function of x
            xc = x - x.mean(dims, keepdim=True)
            r = rsqrt((xc * xc).mean(dims, keepdim=True) + ctx.eps)
            xh = xc * r
        else:
            xh, r = constant(ctx.xh), constant(ctx.invstd)
        gx = gw = gb = None
        if need[0]:
            gh = g * w if w is not None else g
            gx = r * (gh - gh.mean(dims, keepdim=True) - xh * (gh * xh).mean(dims, keepdim=True))
        if len(need) > 1 and need[1]:
            gw = (g * xh).sum(ctx.param_dims, keepdim=True)
        if len(need) > 2 and need[2]:
            gb = g.sum(ctx.param_dims, keepdim=True)
        return gx, gw, gb, None, None, None, None, None


def _channel_view(a, dims):
    """a as (N, C, L) if normalizing over dims (0, 2, ...) of it can run on the channel kernels,
    else None."""
    if a.ndim < 3 or dims != (0, *range(2, a.ndim)):
        return None
    v = a.reshape(a.shape[0], a.shape[1], -1) if a.size else a
    return v if a.size and _kn.channel_kernel_ok(v) else None


def _channel_backward(ctx, g, x, w):
    """(gx, gw, gb) of the kernel path (first order: arrays wrapped as constants)."""
    need = ctx.needs_input_grad
    x3 = ctx.channels
    g3 = g.data.reshape(x3.shape)
    if not g3.flags.c_contiguous:
        g3 = g3.copy()
    dx, sum_g, sum_gx = _kn.batch_norm_backward(g3, x3, ctx.mean, ctx.invstd, ctx.scale)
    pshape = (1, -1) + (1,) * (x.ndim - 2)
    gx = constant(dx.reshape(x.shape)) if need[0] else None
    gw = constant(sum_gx.reshape(pshape)) if len(need) > 1 and need[1] else None
    gb = constant(sum_g.reshape(pshape)) if len(need) > 2 and need[2] else None
    return gx, gw, gb


def moments(x, dims, eps):
    """(mean, biased var, invstd) arrays over dims with keepdims, in x's dtype."""
    xp = xp_of(x.data)
    x3 = _channel_view(x.data, dims)
    if x3 is not None:
        mean, var = _kn.channel_moments(x3)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        invstd = 1 / np.sqrt(var + np.float32(eps))
        return mean.reshape(shape), var.reshape(shape), invstd.reshape(shape)
    mean = x.data.mean(axis=dims, keepdims=True)
    xc = x.data - mean
    var = (xc * xc).mean(axis=dims, keepdims=True)
    invstd = 1 / xp.sqrt(var + x.data.dtype.type(eps))
    return mean, var, invstd


def normalize(x, w, b, dims, param_dims, eps):
    mean, var, invstd = moments(x, dims, eps)
    return Normalize.apply(x, w, b, mean, invstd, dims, param_dims, eps), mean, var
