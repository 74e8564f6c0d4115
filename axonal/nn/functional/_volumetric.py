"""3-D convolution and pooling over (N, C, D, H, W) volumes, built from the 2-D primitives.

conv3d. Output depth od reads input depths od sd + i dd - pd for i < KD, so

    y[:, :, od] = sum_i conv2d(x[:, :, od sd + i dd - pd], w[:, :, i])

The KD depth slices of each output plane are stacked along channels (channel order: group, depth
tap, channel within group) and the depth taps of the weight are moved next to its input channels,
so one grouped conv2d over N * Do planes computes all KD terms and their sum. Its gradients are
those of conv2d, slicing and stacking: no separate backward is needed and any order works.

conv_transpose3d is the adjoint: each input plane j goes through conv_transpose2d with every
depth tap i at once (taps stacked along output channels), and the result for tap i lands on output
depth j sd + i dd; the landing is a zero interleave (stride) and a shift (pad) per tap. The
uncropped depth (Di - 1) sd + dd (KD - 1) + 1 + output_padding loses pd planes at each end.

Pooling windows are boxes, so max and mean are separable: a 2-D pool of each depth plane, then a
1-D pool along depth. The per-dimension window rules (padding, ceil_mode, count_include_pad) of
PyTorch multiply the same way: a 3-D divisor is the product of the per-dimension ones. For max,
the first maximum in (d, h, w) order wins, as in PyTorch: the 2-D stage keeps the first in (h, w)
of each plane and the depth stage the first plane that reaches the maximum.
"""
import numpy as np

from ..._errors import ShapeError
from ...backend import xp_of
from ...ops import stack
from ...ops.conv import _check_operands, check_tensor, conv2d, conv_transpose2d, ntuple
from ...ops.pool import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from ...ops.shape import pad as constant_pad
from ...tensor import constant


def _batched(op, input):
    """(x, unbatched): a (C, D, H, W) input gets a batch dim of 1."""
    if input.ndim == 4:
        return input.unsqueeze(0), True
    return input, False


def _same_pads(op, padding, stride, dilation, kernel):
    """(before, after) per spatial dim for an int/tuple/'same'/'valid' padding."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * 3
        if padding != "same":
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of "
                             "'valid' or 'same'")
        if stride != (1, 1, 1):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                             f"(stride={stride})")
        tot = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return [(t // 2, t - t // 2) for t in tot]
    return [(p, p) for p in ntuple(padding, 3, "padding", op, 0)]


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation of (N, C, D, H, W) or (C, D, H, W) input with weight
    (out_channels, C/groups, KD, KH, KW); padding is an int, a triple, 'valid' or 'same'."""
    op = "conv3d"
    _check_operands(op, input, weight, bias, groups, 3, False)
    x, unbatched = _batched(op, input)
    s = ntuple(stride, 3, "stride", op, 1)
    d = ntuple(dilation, 3, "dilation", op, 1)
    kd, kh, kw = weight.shape[2:]
    pads = _same_pads(op, padding, s, d, (kd, kh, kw))
    if pads[1][0] != pads[1][1] or pads[2][0] != pads[2][1]:  # odd 'same': explicit zeros
        x = constant_pad(x, (pads[2][0], pads[2][1], pads[1][0], pads[1][1]))
        hw_pad = (0, 0)
    else:
        hw_pad = (pads[1][0], pads[2][0])
    if pads[0] != (0, 0):
        x = constant_pad(x, (0, 0, 0, 0) + pads[0])
    n, c, depth, h, w = x.shape
    span = d[0] * (kd - 1) + 1
    if depth < span:
        raise ShapeError(f"{op}: kernel size {tuple(weight.shape[2:])} (dilation {d}) is larger "
                         f"in depth than the padded input {tuple(input.shape)} (depth {depth})")
    do = (depth - span) // s[0] + 1
    xt = x.permute(0, 2, 1, 3, 4)  # (N, D, C, H, W)
    taps = [xt[:, i * d[0]: i * d[0] + s[0] * (do - 1) + 1: s[0]] for i in range(kd)]
    g, cg = groups, c // groups
    # (N, Do, KD, G, C/G, H, W) -> channels ordered (G, KD, C/G), as the weight below
    xs = stack(taps, 2).reshape(n, do, kd, g, cg, h, w).permute(0, 1, 3, 2, 4, 5, 6)
    xs = xs.reshape(n * do, g * kd * cg, h, w)
    w2 = weight.permute(0, 2, 1, 3, 4).reshape(weight.shape[0], kd * cg, kh, kw)
    y = conv2d(xs, w2, None, s[1:], hw_pad, d[1:], groups)
    y = y.reshape((n, do) + tuple(y.shape[1:])).permute(0, 2, 1, 3, 4)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1, 1)
    return y.squeeze(0) if unbatched else y


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The adjoint of conv3d with weight (in, out/groups, KD, KH, KW). Output size per dim:
    (size - 1) s - 2 p + d (K - 1) + output_padding + 1."""
    op = "conv_transpose3d"
    _check_operands(op, input, weight, bias, groups, 3, True)
    x, unbatched = _batched(op, input)
    s = ntuple(stride, 3, "stride", op, 1)
    p = ntuple(padding, 3, "padding", op, 0)
    opad = ntuple(output_padding, 3, "output_padding", op, 0)
    d = ntuple(dilation, 3, "dilation", op, 1)
    for k in range(3):
        if opad[k] >= s[k] and opad[k] >= d[k]:
            raise ValueError(f"{op}: output padding must be smaller than either stride or "
                             f"dilation, got output_padding={opad}, stride={s}, dilation={d}")
    n, cin, di, h, w = x.shape
    kd, kh, kw = weight.shape[2:]
    g, cog = groups, weight.shape[1]
    out_d = (di - 1) * s[0] - 2 * p[0] + d[0] * (kd - 1) + opad[0] + 1
    if out_d < 1:
        raise ShapeError(f"{op}: input of shape {tuple(input.shape)} with weight "
                         f"{tuple(weight.shape)}, stride={s}, padding={p}, dilation={d} gives a "
                         f"non-positive output depth {out_d}")
    planes = x.permute(0, 2, 1, 3, 4).reshape(n * di, cin, h, w)
    w2 = weight.permute(0, 2, 1, 3, 4).reshape(cin, kd * cog, kh, kw)  # out channels (KD, C/G)
    y = conv_transpose2d(planes, w2, None, s[1:], p[1:], opad[1:], groups, d[1:])
    ho, wo = y.shape[-2:]
    # (N, Di, G, KD, Co/G, Ho, Wo) -> (N, KD, Di, 1, G * Co/G, Ho, Wo)
    y = y.reshape(n, di, g, kd, cog, ho, wo).permute(0, 3, 1, 2, 4, 5, 6)
    y = y.reshape(n, kd, di, 1, g * cog, ho, wo)
    if s[0] > 1:  # plane j goes to depth j * s: interleave s - 1 zero planes
        y = constant_pad(y, (0, 0, 0, 0, 0, 0, 0, s[0] - 1))
    y = y.reshape(n, kd, di * s[0], g * cog, ho, wo)[:, :, :(di - 1) * s[0] + 1]
    full = (di - 1) * s[0] + d[0] * (kd - 1) + 1 + opad[0]
    out = None
    for i in range(kd):  # tap i is shifted by i * d planes
        before = i * d[0]
        after = full - before - ((di - 1) * s[0] + 1)
        t = constant_pad(y[:, i], (0, 0, 0, 0, 0, 0, before, after))
        out = t if out is None else out + t
    out = out[:, p[0]: p[0] + out_d].permute(0, 2, 1, 3, 4)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out.squeeze(0) if unbatched else out


# -- pooling -------------------------------------------------------------------------------------
def _pool_args(op, kernel_size, stride, padding, dilation=1):
    k = ntuple(kernel_size, 3, "kernel_size", op, 1)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        ntuple(stride, 3, "stride", op, 1)
    return k, s, ntuple(padding, 3, "padding", op, 0), ntuple(dilation, 3, "dilation", op, 1)


def _planes(op, input):
    """(N, C, D, H, W) or (C, D, H, W) -> (N*C, D, H, W) planes and the leading shape."""
    check_tensor(op, "input", input, (4, 5))
    lead = tuple(input.shape[:-3])
    return input.reshape((-1,) + tuple(input.shape[-3:])), lead


def _along_depth(y):
    """(B, D, H, W) -> (B, H*W, D), the layout of a 1-D pool along depth."""
    b, dd, h, w = y.shape
    return y.reshape(b, dd, h * w).permute(0, 2, 1)


def _back(z, lead, h, w):
    """(B, H*W, Do) -> (*lead, Do, H, W)."""
    do = z.shape[-1]
    return z.permute(0, 2, 1).reshape(lead + (do, h, w))


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over each (KD, KH, KW) window; with return_indices also the flat position
    d * H * W + h * W + w of each maximum in its (D, H, W) volume (int64)."""
    op = "max_pool3d"
    x, lead = _planes(op, input)
    k, s, p, d = _pool_args(op, kernel_size, stride, padding, dilation)
    h, w = x.shape[2:]
    y, i2 = max_pool2d(x, k[1:], s[1:], p[1:], d[1:], ceil_mode, True)
    ho, wo = y.shape[-2:]
    z, i1 = max_pool1d(_along_depth(y), k[0], s[0], p[0], d[0], ceil_mode, True)
    out = _back(z, lead, ho, wo)
    if not return_indices:
        return out
    xp = xp_of(i2._data)
    plane = xp.take_along_axis(_along_depth_arr(i2._data), i1._data, axis=2)  # (B, Ho*Wo, Do)
    flat = i1._data * (h * w) + plane
    flat = flat.transpose(0, 2, 1).reshape(lead + (-1, ho, wo)).astype(np.int64)
    return out, constant(flat)


def _along_depth_arr(a):
    b, dd, h, w = a.shape
    return a.reshape(b, dd, h * w).transpose(0, 2, 1)


def _depth_divisor(size, k, s, p, out, count_include_pad):
    """PyTorch's avg-pool divisor of each output position along one dim."""
    div = np.empty(out)
    for o in range(out):
        start = o * s - p
        end = min(start + k, size + p)
        pool = end - start
        start, end = max(start, 0), min(end, size)
        div[o] = pool if count_include_pad else end - start
    return div


def _pool_out(size, k, s, p, d, ceil_mode):
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over each (KD, KH, KW) window (see avg_pool2d for the divisor rules)."""
    op = "avg_pool3d"
    x, lead = _planes(op, input)
    k, s, p, _ = _pool_args(op, kernel_size, stride, padding)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{op}: divisor must be not zero")
    if p[0] > k[0] // 2:
        raise ValueError(f"{op}: pad should be at most half of kernel size, but got "
                         f"padding={p} and kernel_size={k}")
    depth = x.shape[1]
    # plane means (or sums, for divisor_override), then window sums along depth
    y = avg_pool2d(x, k[1:], s[1:], p[1:], ceil_mode, count_include_pad,
                   1 if divisor_override is not None else None)
    ho, wo = y.shape[-2:]
    do = _pool_out(depth, k[0], s[0], p[0], 1, ceil_mode)
    if do < 1:
        raise ShapeError(f"{op}: output depth {do} is too small for input of shape "
                         f"{tuple(input.shape)} (kernel_size={k}, stride={s}, padding={p})")
    need = (do - 1) * s[0] + k[0]  # padded depth the windows read
    yp = constant_pad(y, (0, 0, 0, 0, p[0], max(need - depth - p[0], 0)))
    total = None
    for i in range(k[0]):
        t = yp[:, i: i + s[0] * (do - 1) + 1: s[0]]
        total = t if total is None else total + t
    if divisor_override is not None:
        out = total / float(divisor_override)
    else:
        div = _depth_divisor(depth, k[0], s[0], p[0], do, count_include_pad)
        xp = xp_of(y._data)
        out = total / constant(xp.asarray(div.astype(y._data.dtype).reshape(1, -1, 1, 1)))
    return out.reshape(lead + (do, ho, wo))


def _adaptive3(op, input, output_size):
    sizes = (output_size,) * 3 if output_size is None or isinstance(output_size, int) \
        else tuple(output_size)
    if len(sizes) != 3:
        raise ValueError(f"{op}: output_size must be an int or a tuple of 3, got {output_size!r}")
    return tuple(input.shape[-3 + i] if v is None else int(v) for i, v in enumerate(sizes))


def adaptive_avg_pool3d(input, output_size):
    """Average over adaptive bins so that the output is (..., *output_size)."""
    op = "adaptive_avg_pool3d"
    x, lead = _planes(op, input)
    od, oh, ow = _adaptive3(op, input, output_size)
    y = adaptive_avg_pool2d(x, (oh, ow))
    z = adaptive_avg_pool1d(_along_depth(y), od)
    return _back(z, lead, oh, ow)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max over adaptive bins; indices as in max_pool3d."""
    op = "adaptive_max_pool3d"
    x, lead = _planes(op, input)
    h, w = x.shape[-2:]
    od, oh, ow = _adaptive3(op, input, output_size)
    y, i2 = adaptive_max_pool2d(x, (oh, ow), True)
    z, i1 = adaptive_max_pool1d(_along_depth(y), od, True)
    out = _back(z, lead, oh, ow)
    if not return_indices:
        return out
    xp = xp_of(i2._data)
    plane = xp.take_along_axis(_along_depth_arr(i2._data), i1._data, axis=2)
    flat = (i1._data * (h * w) + plane).transpose(0, 2, 1).reshape(lead + (-1, oh, ow))
    return out, constant(flat.astype(np.int64))
