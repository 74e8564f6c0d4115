"""Resampling: interpolate (nearest[-exact], linear, bilinear, bicubic, area) and unfold/fold.

interpolate. Every mode except 'area' is separable: output pixel (oh, ow) is a weighted sum of input
pixels whose weights are a product w_h[oh, ih] w_w[ow, iw]. So the op is y = M_h x M_w^T with one
small (out, in) matrix per spatial dim, built from PyTorch's source-coordinate rule

    align_corners=False:  src = (dst + 0.5) * scale - 0.5,  scale = in / out (or 1 / scale_factor)
    align_corners=True:   src = dst * (in - 1) / (out - 1)   (the corner pixels' centres line up)

linear modes take the two neighbours of src with weights (1 - frac, frac) (src clamped at 0, the
upper neighbour at in - 1); bicubic takes four with Keys' cubic convolution (A = -0.75), indices
clamped to the border. Being matmuls, these are differentiable to any order for free. Nearest modes
copy one source pixel (src = floor(dst * scale), or floor((dst + 0.5) * scale) for nearest-exact),
so they are a gather along each dim (an index_select, whose adjoint adds the gradients back);
an integer upscaling factor is a broadcast instead. 'area' is adaptive average pooling.

unfold (im2col) extracts every sliding block: (N, C, H, W) -> (N, C * KH * KW, L), with L the
number of block positions, ordered like conv2d's weight (c, i, j). fold is its adjoint: it sums
each column back into the block it came from (overlapping blocks add). So unfold's backward is fold
and fold's backward is unfold. conv2d(x, w) equals w.view(O, -1) @ unfold(x) reshaped.
"""
import math

import numpy as np

from .. import kernels as K
from .._errors import ShapeError
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import constant
from .conv import check_tensor, ntuple
from .indexing import getitem
from .linalg import matmul
from .pool import adaptive_avg_pool1d, adaptive_avg_pool2d
from .shape import expand, reshape, squeeze, unsqueeze

_MODES = {"nearest": (3, 4), "nearest-exact": (3, 4), "linear": (3,), "bilinear": (4,),
          "bicubic": (4,), "area": (3, 4)}
_CUBIC_A = -0.75


def _source_scale(n_in, n_out, align_corners, scale):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _nearest_index(n_in, n_out, scale, exact, dtype):
    s = dtype.type(_source_scale(n_in, n_out, False, scale))
    dst = np.arange(n_out, dtype=dtype)
    src = np.floor((dst + dtype.type(0.5)) * s) if exact else np.floor(dst * s)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _cubic_weights(t):
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _interp_matrix(n_in, n_out, mode, align_corners, scale):
    """(n_out, n_in) float64 matrix of the linear/cubic interpolation weights along one dim."""
    s = _source_scale(n_in, n_out, align_corners, scale)
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * s if align_corners else (dst + 0.5) * s - 0.5
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    if mode == "bicubic":
        i0 = np.floor(src).astype(np.int64)
        for k, wk in enumerate(_cubic_weights(src - i0)):
            np.add.at(m, (rows, np.clip(i0 - 1 + k, 0, n_in - 1)), wk)
        return m
    src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = src - i0
    np.add.at(m, (rows, i0), 1.0 - frac)
    np.add.at(m, (rows, i1), frac)
    return m


def _output_size(op, x, size, scale_factor, n):
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: either size or scale_factor should be defined (exactly one)")
    spatial = tuple(x.shape[2:])
    if size is not None:
        sizes = (size,) * n if isinstance(size, int) else tuple(size)
        if len(sizes) != n:
            raise ValueError(f"{op}: size {size!r} must have {n} entries for a {x.ndim}D input")
        return tuple(int(s) for s in sizes), (None,) * n
    scales = (scale_factor,) * n if isinstance(scale_factor, (int, float)) else \
        tuple(scale_factor)
    if len(scales) != n:
        raise ValueError(f"{op}: scale_factor {scale_factor!r} must have {n} entries for a "
                         f"{x.ndim}D input")
    return tuple(int(math.floor(float(s) * float(f))) for s, f in zip(spatial, scales)), \
        tuple(float(f) for f in scales)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize (N, C, L) or (N, C, H, W) input to `size` or by `scale_factor` (PyTorch's
    F.interpolate)."""
    op = "interpolate"
    if mode not in _MODES:
        raise ValueError(f"{op}: unknown mode {mode!r}; expected one of {sorted(_MODES)}")
    check_tensor(op, "input", input, _MODES[mode])
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported")
    linear = mode in ("linear", "bilinear", "bicubic")
    if align_corners is not None and not linear:
        raise ValueError(f"{op}: align_corners option can only be set with the interpolating "
                         "modes: linear | bilinear | bicubic")
    n = input.ndim - 2
    out, scales = _output_size(op, input, size, scale_factor, n)
    if any(o <= 0 for o in out):
        raise ShapeError(f"{op}: output size {out} must be positive (input {tuple(input.shape)})")
    if recompute_scale_factor:
        scales = (None,) * n
    if mode == "area":
        return (adaptive_avg_pool1d if n == 1 else adaptive_avg_pool2d)(input, out)
    y = input
    xp, dt = xp_of(input._data), input._data.dtype
    for axis in range(n):  # one spatial dim at a time (separable)
        dim = 2 + axis
        n_in, n_out = input.shape[dim], out[axis]
        if linear:
            m = _interp_matrix(n_in, n_out, mode, bool(align_corners), scales[axis])
            mt = constant(xp.asarray(m.astype(dt)))
            y = matmul(y, mt.T) if dim == y.ndim - 1 else matmul(mt, y)
        else:
            y = _nearest_along(y, dim, _nearest_index(n_in, n_out, scales[axis],
                                                       mode == "nearest-exact", dt), xp)
    return y


def _nearest_along(x, dim, idx, xp):
    n_in = x.shape[dim]
    if len(idx) == n_in and (idx == np.arange(n_in)).all():
        return x
    k = len(idx) // n_in
    if len(idx) % n_in == 0 and (idx == np.arange(len(idx)) // k).all():  # integer upscale
        shape = tuple(x.shape)
        y = expand(unsqueeze(x, dim + 1), shape[:dim + 1] + (k,) + shape[dim + 1:])
        return reshape(y, shape[:dim] + (n_in * k,) + shape[dim + 1:])
    key = (slice(None),) * dim + (xp.asarray(idx),)
    return getitem(x, key)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


# -- unfold / fold -------------------------------------------------------------------------------
class UnfoldFn(Function):
    @staticmethod
    def forward(ctx, x, kh, kw, geo):
        ctx.save(args=(kh, kw, geo))
        cols = K.conv.im2col(x._data, kh, kw, geo)
        n, c = cols.shape[:2]
        return cols.reshape(n, c * kh * kw, cols.shape[-2] * cols.shape[-1])

    @staticmethod
    def backward(ctx, g):
        return FoldFn.apply(g, ctx._in_meta[0][0], *ctx.args), None, None, None


class FoldFn(Function):
    @staticmethod
    def forward(ctx, cols, x_shape, kh, kw, geo):
        ctx.save(args=(kh, kw, geo))
        ho, wo = K.conv.out_hw(geo, x_shape[2], x_shape[3], kh, kw)
        n = cols.shape[0]
        c6 = cols._data.reshape(n, x_shape[1], kh, kw, ho, wo)
        return K.conv.col2im(c6, x_shape, geo)

    @staticmethod
    def backward(ctx, g):
        return UnfoldFn.apply(g, *ctx.args), None, None, None, None


def _block_geo(op, kernel_size, dilation, padding, stride):
    k = ntuple(kernel_size, 2, "kernel_size", op, 1)
    d = ntuple(dilation, 2, "dilation", op, 1)
    p = ntuple(padding, 2, "padding", op, 0)
    s = ntuple(stride, 2, "stride", op, 1)
    return k, (s[0], s[1], p[0], p[0], p[1], p[1], d[0], d[1])


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of (N, C, H, W) or (C, H, W) input as columns: (N, C*KH*KW, L)."""
    op = "unfold"
    check_tensor(op, "input", input, (3, 4))
    (kh, kw), geo = _block_geo(op, kernel_size, dilation, padding, stride)
    x = unsqueeze(input, 0) if input.ndim == 3 else input
    ho, wo = K.conv.out_hw(geo, x.shape[2], x.shape[3], kh, kw)
    if ho < 1 or wo < 1:
        raise ShapeError(f"{op}: kernel_size {(kh, kw)} (dilation {geo[6:]}) does not fit the "
                         f"padded input of shape {tuple(input.shape)} (padding {geo[2], geo[4]})")
    y = UnfoldFn.apply(x, kh, kw, geo)
    return squeeze(y, 0) if input.ndim == 3 else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns (N, C*KH*KW, L) back into an image (N, C, *output_size): unfold's adjoint."""
    op = "fold"
    check_tensor(op, "input", input, (2, 3))
    (kh, kw), geo = _block_geo(op, kernel_size, dilation, padding, stride)
    oh, ow = ntuple(output_size, 2, "output_size", op, 1)
    x = unsqueeze(input, 0) if input.ndim == 2 else input
    n, ck, length = x.shape
    if ck % (kh * kw):
        raise ShapeError(f"{op}: expected size of input's dimension 1 to be divisible by the "
                         f"product of kernel_size {(kh, kw)}, got input of shape "
                         f"{tuple(input.shape)}")
    ho, wo = K.conv.out_hw(geo, oh, ow, kh, kw)
    if ho < 1 or wo < 1 or ho * wo != length:
        raise ShapeError(f"{op}: given output_size={(oh, ow)}, kernel_size={(kh, kw)}, "
                         f"dilation={geo[6:]}, padding={(geo[2], geo[4])}, stride={geo[:2]}, "
                         f"expected size of input's dimension 2 to match the calculated number "
                         f"of sliding blocks {max(ho, 0)} * {max(wo, 0)} = {max(ho * wo, 0)}, "
                         f"but got input of shape {tuple(input.shape)}")
    y = FoldFn.apply(x, (n, ck // (kh * kw), oh, ow), kh, kw, geo)
    return squeeze(y, 0) if input.ndim == 2 else y
