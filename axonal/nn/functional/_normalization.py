"""Normalization: `batch_norm`, `layer_norm`, `group_norm`, `normalize`, and their fused primitive.

Both normalize x over a set of dims D (M elements per group) and apply an element-wise affine map:

    mu = mean_D x,  var = mean_D (x - mu)^2 (biased),  r = 1 / sqrt(var + eps)
    xh = (x - mu) r,  y = xh w + b

With gh = g w the input gradient has the closed form

    dx = r (gh - mean_D gh - xh mean_D(gh xh)),   dw = sum g xh,   db = sum g

(summing dw/db over the dims that w is broadcast along). The forward and the first-order backward
(`backward_arrays`) use the cached xh and r arrays (one fused pass each). When the backward itself
is being recorded (create_graph=True), `backward` recomputes mu, r and xh from x with
differentiable ops, so second derivatives are exact.

Batch norm of a float32 (N, C, *) array with at least 8 values per channel row (conv activations)
runs on the per-channel kernels of `kernels.norm` instead: two passes forward (moments, then the
affine map x s + t) and two backward, without storing xh.

GroupNorm (Wu & He 2018) splits the C channels into G groups and normalizes each (sample, group)
over its C/G channels and all spatial positions, then applies a per-channel affine map:
x (N, C, *) -> view (N, G, C/G, *) -> normalized over dims 2.. -> * w + b. It uses no batch
statistics, so training and evaluation compute the same thing; G = 1 is LayerNorm over (C, *) with
a per-channel affine map, G = C is InstanceNorm.
"""
import math

import numpy as np

from ... import kernels
from ..._config import no_grad
from ..._errors import ShapeError
from ...autograd.function import Function
from ...backend import xp_of
from ...ops import clamp, norm, reshape, rsqrt
from ...tensor import constant
from ._args import floating_tensor


class Normalize(Function):
    """y = (x - mean) * invstd [* w] [+ b]; mean/invstd are precomputed arrays (keepdims shape).

    w and b arrive already reshaped to broadcast against x; `param_dims` are the dims of x that they
    are broadcast along (summed, keepdim) for their gradients."""

    @staticmethod
    def forward(ctx, x, w, b, mean, invstd, dims, param_dims, eps):
        ctx.save_for_backward(x, w)
        ctx.save(dims=dims, param_dims=param_dims, eps=eps)
        channels = _channel_view(x._data, dims)
        if channels is not None:  # batch norm of conv activations: the per-channel kernels
            c = x._data.shape[1]
            r = invstd.reshape(c)
            s = r * w._data.reshape(c) if w is not None else r
            t = -mean.reshape(c) * s + (b._data.reshape(c) if b is not None else 0)
            ctx.save(channels=channels, xh=None, mean=mean.reshape(c), invstd=r, scale=s)
            y = kernels.norm.channel_affine(channels, s, t.astype(s.dtype, copy=False))
            return y.reshape(x._data.shape)
        rows = _row_plan(x._data, w, b, mean, invstd, dims, param_dims)
        if rows is not None:  # layer norm: one pass per row (kernels.layer_norm)
            x2, wv, bv, mv, rv = rows
            y, xh = kernels.layer_norm.forward(x2, mv, rv, wv, bv)
            ctx.save(channels=None, xh=xh, invstd=rv, rows=wv)
            return y.reshape(x._data.shape)
        xh = (x._data - mean) * invstd
        ctx.save(channels=None, xh=xh, invstd=invstd, rows=None)
        y = xh * w._data if w is not None else xh
        if b is not None:
            y = y + b._data
        return y

    @staticmethod
    def backward_arrays(ctx, g):
        """First order, from the cached arrays: the per-channel kernels or the closed form."""
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        if ctx.xh is None:
            gx, gw, gb = _channel_backward(ctx, g, x)
        elif ctx.rows is not None:
            g2 = np.ascontiguousarray(g.reshape(ctx.xh.shape), dtype=np.float32)
            gx, gw, gb = kernels.layer_norm.backward(g2, ctx.xh, ctx.invstd, ctx.rows, need[0])
            pshape = (1,) * (x.ndim - len(ctx.dims)) + tuple(x.shape[x.ndim - len(ctx.dims):])
            gx = gx.reshape(x.shape) if need[0] else None
            gw = gw.reshape(pshape) if need[1] else None
            gb = gb.reshape(pshape) if need[2] else None
        else:
            dims, xh, r = ctx.dims, ctx.xh, ctx.invstd
            gx = gw = gb = None
            if need[0]:
                gh = g * w._data if w is not None else g
                gx = r * (gh - gh.mean(axis=dims, keepdims=True)
                          - xh * (gh * xh).mean(axis=dims, keepdims=True))
            if need[1]:
                gw = (g * xh).sum(axis=ctx.param_dims, keepdims=True)
            if need[2]:
                gb = g.sum(axis=ctx.param_dims, keepdims=True)
        return gx, gw, gb, None, None, None, None, None

    @staticmethod
    def backward(ctx, g):
        """Recorded backward (create_graph=True): everything as a function of x."""
        x, w = ctx.saved_tensors
        dims, need = ctx.dims, ctx.needs_input_grad
        xc = x - x.mean(dims, keepdim=True)
        r = rsqrt((xc * xc).mean(dims, keepdim=True) + ctx.eps)
        xh = xc * r
        gx = gw = gb = None
        if need[0]:
            gh = g * w if w is not None else g
            gx = r * (gh - gh.mean(dims, keepdim=True) - xh * (gh * xh).mean(dims, keepdim=True))
        if need[1]:
            gw = (g * xh).sum(ctx.param_dims, keepdim=True)
        if need[2]:
            gb = g.sum(ctx.param_dims, keepdim=True)
        return gx, gw, gb, None, None, None, None, None


def _channel_view(a, dims):
    """a as (N, C, L) if normalizing over dims (0, 2, ...) of it can run on the channel kernels,
    else None. (This picks the algorithm, not only the kernel: the channel path keeps no xh.)"""
    if a.ndim < 3 or dims != (0, *range(2, a.ndim)):
        return None
    v = a.reshape(a.shape[0], a.shape[1], -1) if a.size else a
    return v if a.size and kernels.norm.channel_kernel_ok(v) else None


def _row_view(a, dims):
    """a as (R, D) if normalizing over its trailing dims (each row D contiguous floats) can run on
    the row kernels of kernels.layer_norm, else None."""
    k = len(dims)
    if not (k and dims == tuple(range(a.ndim - k, a.ndim)) and a.size and type(a) is np.ndarray
            and a.flags.c_contiguous):
        return None
    v = a.reshape(-1, math.prod(a.shape[a.ndim - k:]))
    return v if kernels.layer_norm.rows_ok(v) else None


def _f32c(v):
    return type(v) is np.ndarray and v.dtype == np.float32 and v.flags.carray


def _row_plan(a, w, b, mean, invstd, dims, param_dims):
    """(x2, w, b, mean, invstd) as the row kernels take them (1-D float32 vectors; w = 1 and b = 0
    when absent) when the affine parameters are per-column (layer norm), else None."""
    if param_dims != tuple(range(a.ndim - len(dims))):
        return None
    x2 = _row_view(a, dims)
    if x2 is None:
        return None
    r, d = x2.shape
    vec = [p._data.reshape(d) if p is not None else None for p in (w, b)]
    vec = [np.ones(d, np.float32) if vec[0] is None else vec[0],
           np.zeros(d, np.float32) if vec[1] is None else vec[1]]
    stats = [np.asarray(s).reshape(-1) for s in (mean, invstd)]
    if any(not _f32c(v) for v in vec + stats) or stats[0].size != r or stats[1].size != r:
        return None
    return (x2, *vec, *stats)


def _channel_backward(ctx, g, x):
    """(gx, gw, gb) arrays of the kernel path."""
    need = ctx.needs_input_grad
    x3 = ctx.channels
    g3 = g.reshape(x3.shape)
    if not g3.flags.c_contiguous:
        g3 = g3.copy()
    dx, sum_g, sum_gx = kernels.norm.batch_norm_backward(g3, x3, ctx.mean, ctx.invstd, ctx.scale)
    pshape = (1, -1) + (1,) * (x.ndim - 2)
    gx = dx.reshape(x.shape) if need[0] else None
    gw = sum_gx.reshape(pshape) if need[1] else None
    gb = sum_g.reshape(pshape) if need[2] else None
    return gx, gw, gb


def moments(x, dims, eps):
    """(mean, biased var, invstd) arrays over dims with keepdims, in x's dtype."""
    xp = xp_of(x._data)
    x2 = _row_view(x._data, dims)
    if x2 is not None:  # over trailing dims (layer and group norm): one pass per row
        mean, var, invstd = kernels.layer_norm.moments(x2, eps)
        shape = x.shape[:x.ndim - len(dims)] + (1,) * len(dims)
        return mean.reshape(shape), var.reshape(shape), invstd.reshape(shape)
    x3 = _channel_view(x._data, dims)
    if x3 is not None:
        mean, var = kernels.norm.channel_moments(x3)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        invstd = 1 / np.sqrt(var + np.float32(eps))
        return mean.reshape(shape), var.reshape(shape), invstd.reshape(shape)
    a = x._data
    if a.dtype.itemsize == 2:  # float16/bfloat16: accumulate in float32 (as PyTorch), round once
        a = a.astype(np.float32)
    mean = a.mean(axis=dims, keepdims=True)
    xc = a - mean
    var = (xc * xc).mean(axis=dims, keepdims=True)
    invstd = 1 / xp.sqrt(var + a.dtype.type(eps))
    if a is not x._data:
        dt = x._data.dtype
        return mean.astype(dt), var.astype(dt), invstd.astype(dt)
    return mean, var, invstd


def _normalized(x, w, b, dims, param_dims, eps):
    """(Normalize's output, mean, var): x normalized over dims, then scaled by w and shifted by b."""
    mean, var, invstd = moments(x, dims, eps)
    return Normalize.apply(x, w, b, mean, invstd, dims, param_dims, eps), mean, var


# -- the functional forms ------------------------------------------------------------------------
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel (dim 1) of (N, C, *) over N and the trailing dims. In training the
    batch statistics are used and the running ones updated in place:
    running = (1 - momentum) running + momentum batch_stat, with the unbiased variance."""
    floating_tensor("batch_norm", input)
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of shape (N, C, *), got {tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"batch_norm: {name} of shape {tuple(t.shape)} does not match the "
                             f"{c} channels of input {tuple(input.shape)}")
    bshape = (1, c) + (1,) * (input.ndim - 2)
    dims = (0,) + tuple(range(2, input.ndim))
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var must be given in "
                             "evaluation mode (training=False)")
        # constant statistics: an affine map, (x - mean) * (w / sqrt(var + eps)) + b
        xp, dt = xp_of(input._data), input._data.dtype
        scale = constant(1 / xp.sqrt(running_var._data.astype(dt) + dt.type(eps)))
        scale = weight * scale if weight is not None else scale
        mean = reshape(constant(running_mean._data.astype(dt)), bshape)
        out = (input - mean) * reshape(scale, bshape)
        return out + reshape(bias, bshape) if bias is not None else out
    n = input.numel() // c
    if n <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got "
                         f"input of shape {tuple(input.shape)}")
    w = reshape(weight, bshape) if weight is not None else None
    b = reshape(bias, bshape) if bias is not None else None
    out, mean, var = _normalized(input, w, b, dims, dims, eps)
    if running_mean is not None or running_var is not None:
        with no_grad():
            m = 0.0 if momentum is None else float(momentum)
            if running_mean is not None:
                new = (1 - m) * running_mean._data + m * mean.reshape(c)
                running_mean._data[...] = new.astype(running_mean._data.dtype, copy=False)
            if running_var is not None:
                new = (1 - m) * running_var._data + m * var.reshape(c) * (n / (n - 1))
                running_var._data[...] = new.astype(running_var._data.dtype, copy=False)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last len(normalized_shape) dims, then scale and shift element-wise."""
    floating_tensor("layer_norm", input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[-k:]) != shape:
        raise ShapeError(f"layer_norm: expected input with trailing dims {shape}, got shape "
                         f"{tuple(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ShapeError(f"layer_norm: {name} of shape {tuple(t.shape)} does not match "
                             f"normalized_shape {shape}")
    bshape = (1,) * (input.ndim - k) + shape
    dims = tuple(range(input.ndim - k, input.ndim))
    lead = tuple(range(input.ndim - k))
    w = reshape(weight, bshape) if weight is not None else None
    b = reshape(bias, bshape) if bias is not None else None
    return _normalized(input, w, b, dims, lead, eps)[0]


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize (N, C, *) over groups of C / num_groups channels and all of * (see above)."""
    floating_tensor("group_norm", input)
    if input.ndim < 2:
        raise ShapeError(f"group_norm: expected input of shape (N, C, *), got {tuple(input.shape)}")
    n, c = input.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise ShapeError(f"group_norm: expected number of channels in input to be divisible by "
                         f"num_groups, but got input of shape {tuple(input.shape)} and "
                         f"num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"group_norm: expected {name} of shape ({c},), got "
                             f"{tuple(t.shape)} (input {tuple(input.shape)})")
    rest = tuple(input.shape[2:])
    x = reshape(input, (n, num_groups, c // num_groups) + rest)
    dims = tuple(range(2, x.ndim))            # statistics per (sample, group)
    pshape = (1, num_groups, c // num_groups) + (1,) * len(rest)
    param_dims = (0,) + tuple(range(3, x.ndim))  # affine parameters are per channel
    w = reshape(weight, pshape) if weight is not None else None
    b = reshape(bias, pshape) if bias is not None else None
    return reshape(_normalized(x, w, b, dims, param_dims, eps)[0], tuple(input.shape))


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p, eps) along dim."""
    return input / clamp(norm(input, p, dim, keepdim=True), min=eps)
