"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d.

Parameters and their defaults are PyTorch's. weight is (out, in/groups, *kernel) for a convolution
and (in, out/groups, *kernel) for a transposed one (the weight of the convolution it reverses); bias
is (out,). Both are drawn like PyTorch: weight with kaiming_uniform_(a=sqrt(5)), which is
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) since gain sqrt(2 / (1 + 5)) times sqrt(3 / fan_in) equals
1/sqrt(fan_in), with fan_in = weight.size(1) * prod(kernel); bias from the same interval.

padding_mode 'reflect', 'replicate' and 'circular' pad explicitly (a gather of border pixels, which
is differentiable) and then convolve without padding, like PyTorch.
"""
import math

import numpy as np

from ...backend import xp_of
from ...ops.indexing import getitem
from .. import functional as F
from .. import init
from ..module import Module
from ._util import new_param, shape_error

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, n):
    return (int(v),) * n if isinstance(v, (int, np.integer)) else tuple(int(x) for x in v)


def _border_index(size, before, after, mode):
    """Source index of each padded position along one dim for reflect / replicate / circular."""
    i = np.arange(-before, size + after)
    if mode == "reflect":
        period = 2 * (size - 1)
        i = np.abs(i) % period if period else np.zeros_like(i)
        return np.where(i >= size, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, size - 1)
    return i % size  # circular


def _pad_nonzero(x, pads, mode, who):
    """F.pad with mode reflect/replicate/circular; pads = (left, right, top, bottom, ...) from the
    last dim backwards, as in PyTorch."""
    y = x
    for k in range(len(pads) // 2):
        dim = x.ndim - 1 - k
        before, after = pads[2 * k], pads[2 * k + 1]
        if before == after == 0:
            continue
        size = x.shape[dim]
        limit = size - 1 if mode == "reflect" else size
        if max(before, after) > limit:
            raise shape_error(who, f"{mode} padding ({before}, {after}) must be at most "
                              f"{limit} for dim {dim} of input {tuple(x.shape)}")
        idx = xp_of(x._data).asarray(_border_index(size, before, after, mode))  # on x's device
        key = (slice(None),) * dim + (idx,)
        y = getitem(y, key)
    return y


class _ConvNd(Module):
    _n = 2
    _transposed = False
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", output_padding=0, device=None,
                 dtype=None):
        super().__init__()
        n, name = self._n, type(self).__name__
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups "
                             f"({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups "
                             f"({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only 'zeros' padding mode is supported")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride, n)
        self.dilation = _ntuple(dilation, n)
        self.output_padding = _ntuple(output_padding, n)
        self.groups, self.padding_mode = int(groups), padding_mode
        if isinstance(padding, str):
            if padding not in ("same", "valid") or self._transposed:
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                                 "'valid' or 'same'" + (" (and none for a transposed "
                                                        "convolution)" if self._transposed else ""))
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
            tot = [d * (k - 1) if padding == "same" else 0
                   for d, k in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in tot]
        else:
            self.padding = _ntuple(padding, n)
            pairs = [(p, p) for p in self.padding]
        self._reversed_padding_repeated_twice = tuple(v for pr in reversed(pairs) for v in pr)
        k = self.kernel_size
        if self._transposed:
            wshape = (self.in_channels, self.out_channels // groups) + k
        else:
            wshape = (self.out_channels, self.in_channels // groups) + k
        self.weight = new_param(wshape, dtype, device)
        if bias:
            self.bias = new_param((self.out_channels,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _check_input(self, x):
        n = self._n
        if x.ndim not in (n + 1, n + 2):
            raise shape_error(self, f"expected {n + 1}D (unbatched) or {n + 2}D (batched) input, "
                              f"got {x.ndim}D input of shape {tuple(x.shape)}")
        c = x.shape[-n - 1]
        if c != self.in_channels:
            raise shape_error(self, f"expected input with {self.in_channels} channels (dim "
                              f"{x.ndim - n - 1}), got shape {tuple(x.shape)}")

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
            f"stride={self.stride}"
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, 0, device, dtype)

    def forward(self, input):
        self._check_input(input)
        fn = type(self)._fn
        if self.padding_mode != "zeros":
            x = _pad_nonzero(input, self._reversed_padding_repeated_twice, self.padding_mode, self)
            return fn(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                  self.groups)


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L) or (C_in, L) input."""

    _n = 1
    _fn = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W) input."""

    _n = 2
    _fn = staticmethod(F.conv2d)


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, output_padding, device, dtype)

    def _output_padding(self, input, output_size):
        """output_padding that makes the output exactly `output_size` (spatial, or with batch and
        channel dims), checked against the range the geometry allows."""
        if output_size is None:
            return self.output_padding
        n = self._n
        non_spatial = 2 if input.ndim == n + 2 else 1
        size = [int(s) for s in output_size]
        if len(size) == non_spatial + n:
            size = size[non_spatial:]
        if len(size) != n:
            raise shape_error(self, f"for {input.ndim}D input, output_size must have {n} or "
                              f"{non_spatial + n} elements, got {tuple(output_size)}")
        pads = []
        for d in range(n):
            lo = (input.shape[input.ndim - n + d] - 1) * self.stride[d] - 2 * self.padding[d] + \
                self.dilation[d] * (self.kernel_size[d] - 1) + 1
            hi = lo + self.stride[d] - 1
            if not lo <= size[d] <= hi:
                raise shape_error(self, f"requested an output size of {tuple(size)}, but valid "
                                  f"sizes in dim {d} range from {lo} to {hi} (for an input of "
                                  f"shape {tuple(input.shape)})")
            pads.append(size[d] - lo)
        return tuple(pads)

    def forward(self, input, output_size=None):
        self._check_input(input)
        op = self._output_padding(input, output_size)
        return type(self)._fn(input, self.weight, self.bias, self.stride, self.padding, op,
                              self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution (the adjoint of Conv1d with the same weight)."""

    _n = 1
    _fn = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-D convolution ("deconvolution"), the adjoint of Conv2d with the same weight;
    forward(input, output_size=None) resolves the output_padding ambiguity of strided layers."""

    _n = 2
    _fn = staticmethod(F.conv_transpose2d)


__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]
