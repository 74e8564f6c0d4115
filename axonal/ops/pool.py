"""Pooling: max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool1d/2d, adaptive_max_pool1d/2d.

Max pooling picks one input per window, so it is "gather the values at the argmax positions": the
argmax is found on arrays (a numba kernel for float32, else NumPy/CuPy) and then the
differentiable part is PlaneGather. Its adjoint is PlaneScatter (add each gradient at its argmax,
accumulating where overlapping windows share one), and the adjoint of that is PlaneGather again,
so the pair gives gradients of any order; the argmax is piecewise constant and does not itself get
differentiated.

Average pooling is linear, y = A x with A the window-sum divided by the divisor. Its backward is the
transposed map A^T g (AvgPoolTFn), whose own backward is A again.

Adaptive average pooling over bins floor(i H / HO) .. ceil((i + 1) H / HO) is separable: the mean
over a rectangle is the mean over its rows of the means over its columns, i.e. P_h x P_w^T with the
bin-averaging matrices P. It is computed with matmul (or with mean, when the bins tile the input).

All functions accept batched (N, C, ...) and unbatched (C, ...) inputs; planes are independent.
"""
import numpy as np

from .. import kernels as K
from .._errors import ShapeError
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import constant
from . import _pool_arrays as pool_arrays
from .conv import check_tensor, conv2d, ntuple
from .linalg import matmul
from .shape import reshape, squeeze, unsqueeze
from .unary import relu


class PlaneGather(Function):
    """out[..., p] = x[..., idx[..., p]] over flattened (H, W) planes (`out` may be precomputed)."""

    @staticmethod
    def forward(ctx, x, idx, out=None):
        ctx.save(idx=idx)
        return out if out is not None else pool_arrays.plane_gather(x._data, idx)

    @staticmethod
    def backward(ctx, g):
        return PlaneScatter.apply(g, ctx.idx, ctx._in_meta[0][0]), None, None


class PlaneScatter(Function):
    """zeros(shape) with g added at the in-plane positions idx (the adjoint of PlaneGather)."""

    @staticmethod
    def forward(ctx, g, idx, shape):
        ctx.save(idx=idx)
        return K.pool.plane_scatter(g._data, idx, shape)

    @staticmethod
    def backward(ctx, gg):
        return PlaneGather.apply(gg, ctx.idx), None, None


class AvgPoolFn(Function):
    @staticmethod
    def forward(ctx, x, geo, div):
        ctx.save(geo=geo, div=div)
        return pool_arrays.avg_pool(x._data, geo, div)

    @staticmethod
    def backward(ctx, g):
        return AvgPoolTFn.apply(g, ctx.geo, ctx.div, ctx._in_meta[0][0]), None, None


class AvgPoolTFn(Function):
    @staticmethod
    def forward(ctx, g, geo, div, x_shape):
        ctx.save(geo=geo, div=div)
        return pool_arrays.avg_pool_t(g._data, geo, div, x_shape)

    @staticmethod
    def backward(ctx, gg):
        return AvgPoolFn.apply(gg, ctx.geo, ctx.div), None, None, None


# -- argument handling -------------------------------------------------------------------------
def _params(op, n, kernel_size, stride, padding, dilation, effective_pad_rule):
    k = ntuple(kernel_size, n, "kernel_size", op, 1)
    if stride is None or (not isinstance(stride, int) and len(stride) == 0):
        s = k
    else:
        s = ntuple(stride, n, "stride", op, 1)
    p = ntuple(padding, n, "padding", op, 0)
    d = ntuple(dilation, n, "dilation", op, 1)
    for kk, pp, dd in zip(k, p, d):
        half = ((kk - 1) * dd + 1) // 2 if effective_pad_rule else kk // 2
        if pp > half:
            raise ValueError(f"{op}: pad should be at most half of effective kernel size, but got "
                             f"padding={p}, kernel_size={k} and dilation={d}")
    return k, s, p, d


def _out_hw(op, x, k, s, p, d, ceil_mode):
    h, w = x.shape[-2:]
    ho = pool_arrays.pool_out(h, k[0], s[0], p[0], d[0], ceil_mode)
    wo = pool_arrays.pool_out(w, k[1], s[1], p[1], d[1], ceil_mode)
    if ho < 1 or wo < 1:
        raise ShapeError(f"{op}: output size ({ho}, {wo}) is too small for input of shape "
                         f"{tuple(x.shape)} (kernel_size={k}, stride={s}, padding={p}, "
                         f"dilation={d})")
    return ho, wo


def _as_2d(op, input, ndims_1d):
    """1-D pooling input (N, C, L) / (C, L) -> a height-1 image (..., 1, L)."""
    check_tensor(op, "input", input, ndims_1d)
    return unsqueeze(input, -2)


# -- max pooling -------------------------------------------------------------------------------
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over each window of (N, C, H, W) or (C, H, W) input; stride defaults to kernel_size.
    With return_indices, also the flat in-plane position (h * W + w) of each maximum (int64)."""
    op = "max_pool2d"
    check_tensor(op, "input", input, (3, 4))
    return _max_pool(op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _max_pool(op, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    k, s, p, d = _params(op, 2, kernel_size, stride, padding, dilation, True)
    ho, wo = _out_hw(op, x, k, s, p, d, ceil_mode)
    out, idx = K.pool.max_pool2d(x._data, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], ho, wo)
    y = PlaneGather.apply(x, idx, out)
    return (y, constant(idx)) if return_indices else y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    op = "max_pool1d"
    x = _as_2d(op, input, (2, 3))
    k = (1,) + ntuple(kernel_size, 1, "kernel_size", op, 1)
    s = None if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        (1,) + ntuple(stride, 1, "stride", op, 1)
    p = (0,) + ntuple(padding, 1, "padding", op, 0)
    d = (1,) + ntuple(dilation, 1, "dilation", op, 1)
    res = _max_pool(op, x, k, s, p, d, ceil_mode, return_indices)
    if return_indices:
        return squeeze(res[0], -2), squeeze(res[1], -2)
    return squeeze(res, -2)


# -- average pooling ---------------------------------------------------------------------------
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over each window of (N, C, H, W) or (C, H, W) input. Padding counts as zeros in the
    divisor when count_include_pad; divisor_override replaces the divisor."""
    op = "avg_pool2d"
    check_tensor(op, "input", input, (3, 4))
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{op}: divisor must be not zero")
    return _avg_pool(op, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _avg_pool(op, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    k, s, p, d = _params(op, 2, kernel_size, stride, padding, 1, False)
    ho, wo = _out_hw(op, x, k, s, p, d, ceil_mode)
    h, w = x.shape[-2:]
    div = pool_arrays.divisor_map(x._data, h, w, k[0], k[1], s[0], s[1], p[0], p[1], ho, wo,
                        count_include_pad, divisor_override)
    return AvgPoolFn.apply(x, (k[0], k[1], s[0], s[1], p[0], p[1], ho, wo), div)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    op = "avg_pool1d"
    x = _as_2d(op, input, (2, 3))
    k = (1,) + ntuple(kernel_size, 1, "kernel_size", op, 1)
    s = None if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        (1,) + ntuple(stride, 1, "stride", op, 1)
    p = (0,) + ntuple(padding, 1, "padding", op, 0)
    return squeeze(_avg_pool(op, x, k, s, p, ceil_mode, count_include_pad, None), -2)


# -- adaptive pooling --------------------------------------------------------------------------
def _adaptive_size(op, x, output_size, n):
    sizes = (output_size,) * n if output_size is None or isinstance(output_size, int) \
        else tuple(output_size)
    if len(sizes) != n:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {n}, got {output_size!r}")
    spatial = tuple(x.shape[-n:])
    out = tuple(spatial[i] if v is None else int(v) for i, v in enumerate(sizes))
    if any(v < 0 for v in out) or (any(v == 0 for v in out) and x.numel()):
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    if any(v == 0 for v in spatial):
        raise ShapeError(f"{op}: expected non-empty spatial dims, got input of shape "
                         f"{tuple(x.shape)}")
    return out


def _bin_matrix(size, out, xp, dtype):
    """(out, size) matrix averaging each adaptive bin."""
    m = np.zeros((out, size))
    for i, (a, b) in enumerate(pool_arrays.adaptive_bounds(size, out)):
        m[i, a:b] = 1.0 / (b - a)
    return constant(xp.asarray(m.astype(dtype)))


def adaptive_avg_pool2d(input, output_size):
    """Average over adaptive bins so that the output is (..., *output_size) for any input size;
    None in output_size keeps that input dim."""
    op = "adaptive_avg_pool2d"
    check_tensor(op, "input", input, (3, 4))
    ho, wo = _adaptive_size(op, input, output_size, 2)
    h, w = input.shape[-2:]
    lead = tuple(input.shape[:-2])
    if (ho, wo) == (h, w):
        return input + 0.0
    if (ho, wo) == (1, 1):
        return input.mean((-2, -1), keepdim=True)
    if h % ho == 0 and w % wo == 0:  # bins tile the input: a reshape and a mean
        return reshape(input, lead + (ho, h // ho, wo, w // wo)).mean((-3, -1))
    xp, dt = xp_of(input._data), input._data.dtype
    return matmul(matmul(_bin_matrix(h, ho, xp, dt), input), _bin_matrix(w, wo, xp, dt).T)


def adaptive_avg_pool1d(input, output_size):
    op = "adaptive_avg_pool1d"
    x = _as_2d(op, input, (2, 3))
    (lo,) = _adaptive_size(op, input, output_size, 1)
    return squeeze(adaptive_avg_pool2d(x, (1, lo)), -2)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over adaptive bins (see adaptive_avg_pool2d); indices as in max_pool2d."""
    op = "adaptive_max_pool2d"
    check_tensor(op, "input", input, (3, 4))
    ho, wo = _adaptive_size(op, input, output_size, 2)
    h, w = input.shape[-2:]
    if h % ho == 0 and w % wo == 0:  # equal bins: a plain max pool (kernel = stride = bin size)
        kh, kw = h // ho, w // wo
        out, idx = K.pool.max_pool2d(input._data, kh, kw, kh, kw, 0, 0, 1, 1, ho, wo)
    else:
        out, idx = pool_arrays.adaptive_max(input._data, ho, wo)
    y = PlaneGather.apply(input, idx, out)
    return (y, constant(idx)) if return_indices else y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    op = "adaptive_max_pool1d"
    x = _as_2d(op, input, (2, 3))
    (lo,) = _adaptive_size(op, input, output_size, 1)
    res = adaptive_max_pool2d(x, (1, lo), return_indices)
    if return_indices:
        return squeeze(res[0], -2), squeeze(res[1], -2)
    return squeeze(res, -2)


def conv2d_relu_maxpool(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                        pool_kernel_size=2, pool_stride=None, pool_padding=0):
    """max_pool2d(relu(conv2d(input, ...)), pool_kernel_size, pool_stride, pool_padding), computed
    as relu(max_pool2d(conv2d(...))): ReLU is monotone, so it commutes with max, and the ReLU then
    runs on the pooled map (a quarter of the data for 2x2 pooling). Outputs and gradients are the
    same: where a window's maximum is <= 0 both orders give 0 and a zero gradient; elsewhere both
    pick the first maximal element; a NaN propagates in both."""
    y = conv2d(input, weight, bias, stride, padding, dilation, groups)
    return relu(max_pool2d(y, pool_kernel_size, pool_stride, pool_padding))
