"""Convolutions: conv1d, conv2d, conv_transpose1d, conv_transpose2d (PyTorch semantics, NCHW).

conv2d computes a cross-correlation (no kernel flip, as every framework does):

    y[n, o, oh, ow] = b[o] + sum_{c,i,j} w[o,c,i,j] x[n, gC/G + c, oh s + i d - p, ow s + j d - p]

for output channel o in group g. It is linear in x and in w separately, so its derivatives are again
convolutions (see kernels.conv for the three bilinear maps conv, conv_t and conv_w):

* dL/dx = conv_t(g, w). The adjoint of a strided convolution spreads each output gradient back
  over the window it came from: a stride-s convolution reads pixel p*s + t*d, so its adjoint writes
  there, which is exactly a *transposed* convolution (input dilated by s, kernel rotated by 180
  degrees).
* dL/dw = conv_w(x, g): correlate the input with the output gradient, summed over the batch.
* dL/db = sum of g over batch and space.

Each of the three maps is a Function whose backward is written with the other two, e.g.
d conv_t(g, w) / dg = conv(., w) and / dw = conv_w(., g). So the backward of a convolution is itself
made of differentiable convolutions and gradients of any order work. conv_transpose2d is conv_t
itself, with a weight of shape (in, out/groups, KH, KW): the weight of the convolution it reverses.
"""
from .. import _autocast_state
from .. import kernels as K
from .._errors import DTypeError, ShapeError
from ..autograd.function import Function
from ..tensor import Tensor
from .shape import reshape, squeeze, unsqueeze


class ConvFn(Function):
    """y = conv(x, w) + b."""

    @staticmethod
    def forward(ctx, x, w, b, geo, groups):
        ctx.save(geo=geo, groups=groups)
        ctx.save_for_backward(x, w)
        return K.conv.conv2d(x._data, w._data, None if b is None else b._data, geo, groups)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = ConvTFn.apply(g, w, ctx.geo, ctx.groups, tuple(x.shape)) if need[0] else None
        gw = ConvWFn.apply(x, g, ctx.geo, ctx.groups, tuple(w.shape)) if need[1] else None
        gb = g.sum((0, 2, 3)) if need[2] else None
        return gx, gw, gb, None, None

    @staticmethod
    def backward_arrays(ctx, g):  # first order: one fused pass over g
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx, gw = K.conv.conv2d_backward(x._data, w._data, g, ctx.geo, ctx.groups, need[0],
                                        need[1])
        return gx, gw, g.sum(axis=(0, 2, 3)) if need[2] else None, None, None


class ConvTFn(Function):
    """dx = conv_t(g, w), x-shaped: the adjoint of x -> conv(x, w)."""

    @staticmethod
    def forward(ctx, g, w, geo, groups, x_shape):
        ctx.save(geo=geo, groups=groups)
        ctx.save_for_backward(g, w)
        return K.conv.conv2d_input_grad(g._data, w._data, geo, groups, x_shape)

    @staticmethod
    def backward(ctx, gg):
        g, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        # <conv_t(g, w), gg> = <g, conv(gg, w)>: conv(., w) in g; conv_w(gg, .) in w
        dg = ConvFn.apply(gg, w, None, ctx.geo, ctx.groups) if need[0] else None
        dw = ConvWFn.apply(gg, g, ctx.geo, ctx.groups, tuple(w.shape)) if need[1] else None
        return dg, dw, None, None, None


class ConvWFn(Function):
    """dw = conv_w(x, g), w-shaped: the adjoint of w -> conv(x, w)."""

    @staticmethod
    def forward(ctx, x, g, geo, groups, w_shape):
        ctx.save(geo=geo, groups=groups)
        ctx.save_for_backward(x, g)
        return K.conv.conv2d_weight_grad(x._data, g._data, geo, groups, w_shape)

    @staticmethod
    def backward(ctx, v):
        x, g = ctx.saved_tensors
        need = ctx.needs_input_grad
        # <conv_w(x, g), v> = <g, conv(x, v)> = <x, conv_t(g, v)>
        dx = ConvTFn.apply(g, v, ctx.geo, ctx.groups, tuple(x.shape)) if need[0] else None
        dg = ConvFn.apply(x, v, None, ctx.geo, ctx.groups) if need[1] else None
        return dx, dg, None, None, None


# -- argument checking -------------------------------------------------------------------------
def ntuple(value, n, name, op, minimum=None):
    """An int or a sequence of 1 or n ints -> an n-tuple of ints (PyTorch's _pair/_single)."""
    if isinstance(value, str):
        raise ValueError(f"{op}: {name} must be an int or a tuple of ints, got {value!r}")
    vals = (value,) if isinstance(value, int) else tuple(value)
    if len(vals) == 1:
        vals = vals * n
    if len(vals) != n or not all(isinstance(v, int) or hasattr(v, "__index__") for v in vals):
        raise ValueError(f"{op}: expected {name} to be a single integer value or a list of {n} "
                         f"values to match the convolution dimensions, but got {name}={value!r}")
    vals = tuple(int(v) for v in vals)
    if minimum is not None and any(v < minimum for v in vals):
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {name}={vals}")
    return vals


def check_tensor(op, name, t, ndims):
    if not isinstance(t, Tensor):
        hint = ("; wrap it with axonal.from_numpy(x) (shares its memory) or axonal.tensor(x)"
                if hasattr(t, "__array_interface__") else "")
        raise TypeError(f"{op}: expected {name} to be a Tensor, got {type(t).__name__}{hint}")
    if t.ndim not in ndims:
        dims = " or ".join(f"{d}D" for d in ndims)
        raise ShapeError(f"{op}: expected {dims} {name}, got {t.ndim}D {name} of shape "
                         f"{tuple(t.shape)}")
    if t._data.dtype.kind not in "fV":
        raise DTypeError(f"{op}: expected a floating point {name}, got dtype {t.dtype}")


def _check_operands(op, x, weight, bias, groups, spatial, transposed):
    """Validate input/weight/bias of a (transposed) convolution with `spatial` spatial dims."""
    check_tensor(op, "input", x, (spatial + 1, spatial + 2))
    check_tensor(op, "weight", weight, (spatial + 2,))
    if bias is not None:
        check_tensor(op, "bias", bias, (1,))
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype is not x.dtype and not _autocast_state.enabled_for(
                x.device.type):  # autocast casts the operands itself
            raise DTypeError(f"{op}: input dtype {x.dtype} and {name} dtype {t.dtype} must be "
                             "the same")
        if t is not None and t.device != x.device:
            raise ValueError(f"{op}: input is on {x.device} but {name} is on {t.device}")
    c = x.shape[-spatial - 1]
    ws = tuple(weight.shape)
    if transposed:
        expected, out = ws[0], ws[1] * groups
        if ws[0] % groups:
            raise ShapeError(f"{op}: weight {ws} has {ws[0]} input channels (dim 0), which is not "
                             f"divisible by groups={groups}")
    else:
        expected, out = ws[1] * groups, ws[0]
        if ws[0] % groups:
            raise ShapeError(f"{op}: weight {ws} has {ws[0]} output channels, which is not "
                             f"divisible by groups={groups}")
    if c != expected:
        raise ShapeError(f"{op}: expected input with {expected} channels (weight {ws}, "
                         f"groups={groups}), got shape {tuple(x.shape)}")
    if bias is not None and tuple(bias.shape) != (out,):
        raise ShapeError(f"{op}: expected bias of shape ({out},) (weight {ws}, groups={groups}), "
                         f"got {tuple(bias.shape)}")


def conv_geometry(op, x_hw, k_hw, stride, padding, dilation):
    """geo tuple for a convolution over spatial size x_hw; padding: int/tuple/'same'/'valid'."""
    stride = ntuple(stride, 2, "stride", op, 1)
    dilation = ntuple(dilation, 2, "dilation", op, 1)
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            # total padding d (k - 1); any odd extra goes to the bottom/right, like PyTorch
            tot = [d * (k - 1) for d, k in zip(dilation, k_hw)]
            pads = (tot[0] // 2, tot[0] - tot[0] // 2, tot[1] // 2, tot[1] - tot[1] // 2)
        else:
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of "
                             "'valid' or 'same'")
    else:
        ph, pw = ntuple(padding, 2, "padding", op, 0)
        pads = (ph, ph, pw, pw)
    geo = (stride[0], stride[1], pads[0], pads[1], pads[2], pads[3], dilation[0], dilation[1])
    for d, (size, k) in enumerate(zip(x_hw, k_hw)):
        padded = size + pads[2 * d] + pads[2 * d + 1]
        eff = dilation[d] * (k - 1) + 1
        if padded < eff:
            raise ShapeError(f"{op}: kernel size {tuple(k_hw)} (dilation {dilation}, effective "
                             f"size {eff} in dim {d}) is larger than the padded input "
                             f"{size} + padding {pads[2 * d] + pads[2 * d + 1]} = {padded}")
    return geo


# -- public functions --------------------------------------------------------------------------
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of (N, C, H, W) or unbatched (C, H, W) input with weight
    (out_channels, C/groups, KH, KW); padding is an int, a pair, 'valid' or 'same'."""
    _check_operands("conv2d", input, weight, bias, groups, 2, False)
    unbatched = input.ndim == 3
    x = unsqueeze(input, 0) if unbatched else input
    geo = conv_geometry("conv2d", x.shape[2:], weight.shape[2:], stride, padding, dilation)
    y = ConvFn.apply(x, weight, bias, geo, groups)
    return squeeze(y, 0) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of (N, C, L) or (C, L) input with weight (out, C/groups, K): a conv2d
    over a height-1 image."""
    _check_operands("conv1d", input, weight, bias, groups, 1, False)
    s = ntuple(stride, 1, "stride", "conv1d", 1)[0]
    d = ntuple(dilation, 1, "dilation", "conv1d", 1)[0]
    p = padding if isinstance(padding, str) else (0, ntuple(padding, 1, "padding", "conv1d", 0)[0])
    y = conv2d(unsqueeze(input, -2), unsqueeze(weight, 2), bias, (1, s), p, (1, d), groups)
    return squeeze(y, -2)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The adjoint of conv2d with the same weight (in, out/groups, KH, KW), often called
    "deconvolution". Output size: (H - 1) s - 2 p + d (K - 1) + output_padding + 1."""
    op = "conv_transpose2d"
    _check_operands(op, input, weight, bias, groups, 2, True)
    unbatched = input.ndim == 3
    x = unsqueeze(input, 0) if unbatched else input
    s = ntuple(stride, 2, "stride", op, 1)
    p = ntuple(padding, 2, "padding", op, 0)
    op_ = ntuple(output_padding, 2, "output_padding", op, 0)
    d = ntuple(dilation, 2, "dilation", op, 1)
    for k in range(2):
        if op_[k] >= s[k] and op_[k] >= d[k]:
            raise ValueError(f"{op}: output padding must be smaller than either stride or "
                             f"dilation, got output_padding={op_}, stride={s}, dilation={d}")
    kh, kw = weight.shape[2:]
    n, _, h, w = x.shape
    out_hw = tuple((size - 1) * s[k] - 2 * p[k] + d[k] * (kk - 1) + op_[k] + 1
                   for k, (size, kk) in enumerate(((h, kh), (w, kw))))
    if min(out_hw) < 1:
        raise ShapeError(f"{op}: input of shape {tuple(input.shape)} with weight "
                         f"{tuple(weight.shape)}, stride={s}, padding={p}, dilation={d} gives a "
                         f"non-positive output size {out_hw}")
    # conv_t is the adjoint of a convolution of the *output* with pads (p, p - output_padding):
    # rows past the last full window (output_padding > padding) are cropped by that convolution
    geo = (s[0], s[1], p[0], p[0] - op_[0], p[1], p[1] - op_[1], d[0], d[1])
    x_shape = (n, weight.shape[1] * groups) + out_hw
    y = ConvTFn.apply(x, weight, geo, groups, x_shape)
    if bias is not None:
        y = y + reshape(bias, (1, -1, 1, 1))
    return squeeze(y, 0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """conv_transpose2d over a height-1 image; weight (in, out/groups, K)."""
    op = "conv_transpose1d"
    _check_operands(op, input, weight, bias, groups, 1, True)
    one = [ntuple(v, 1, name, op, m)[0] for v, name, m in
           ((stride, "stride", 1), (padding, "padding", 0), (output_padding, "output_padding", 0),
            (dilation, "dilation", 1))]
    y = conv_transpose2d(unsqueeze(input, -2), unsqueeze(weight, 2), bias, (1, one[0]),
                         (0, one[1]), (0, one[2]), groups, (1, one[3]))
    return squeeze(y, -2)
