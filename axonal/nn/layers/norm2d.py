"""Layers for feature maps: BatchNorm2d (defined with BatchNorm1d in normalization.py and
re-exported here), GroupNorm (Wu & He 2018), Dropout1d/Dropout2d (channel dropout, Tompson et
al. 2015).

GroupNorm splits the C channels into G groups and normalizes each (sample, group) over its C/G
channels and all spatial positions (biased variance), then applies a per-channel affine map:

    x (N, C, *) -> view (N, G, C/G, *) -> (x - mean) / sqrt(var + eps) over dims 2.. -> * w + b

It uses no batch statistics, so training and evaluation compute the same thing and any batch
size works. G = 1 is LayerNorm over (C, *) with per-channel affine; G = C is InstanceNorm. The
normalization is nn._norm's fused primitive (closed-form backward, recomputed with differentiable
ops when the backward is itself recorded).

Channel dropout zeroes whole feature maps: neighbouring pixels of one map are strongly correlated,
so element-wise dropout barely regularizes a convolutional layer, while dropping the entire channel
does. Survivors are scaled by 1 / (1 - p), as in Dropout.
"""
import warnings

import numpy as np

from ... import backend
from ..._errors import DTypeError, ShapeError
from ...ops.shape import reshape
from ...random import np_generator
from .. import init
from .._norm import normalize as _normalize
from ..module import Module
from ._util import new_param, shape_error
from .normalization import BatchNorm2d
from ...tensor import constant

__all__ = ["BatchNorm2d", "GroupNorm", "Dropout1d", "Dropout2d", "group_norm", "dropout1d",
           "dropout2d"]


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """F.group_norm: normalize (N, C, *) over groups of C / num_groups channels and all of *."""
    if input.data.dtype.kind != "f":
        raise DTypeError(f"group_norm: expected a floating point input, got dtype {input.dtype}")
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
    return reshape(_normalize(x, w, b, dims, param_dims, eps)[0], tuple(input.shape))


def _channel_dropout(op, input, p, training, mask_shape):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if input.data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point input, got dtype {input.dtype}")
    if p == 1.0:
        return input * 0.0
    keep = np_generator(None).random(mask_shape) >= p
    mask = keep.astype(input.data.dtype) * input.data.dtype.type(1.0 / (1.0 - p))
    return input * constant(backend.to_device(mask, input.device))


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) or (C, H, W) input with probability p."""
    if input.ndim not in (3, 4):
        raise ShapeError(f"dropout2d: expected 3D or 4D input, got shape {tuple(input.shape)}")
    if input.ndim == 3:  # PyTorch's behaviour: a 3-D input is read as (N, C, L)
        warnings.warn("dropout2d: received a 3D input; as in PyTorch it is treated as (N, C, L) "
                      "and channel-wise 1D dropout is applied. Use dropout1d for that, or pass "
                      "a 4D (N, C, H, W) input.", UserWarning, stacklevel=2)
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _channel_dropout("dropout2d", input, p, training, shape)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) input with probability p."""
    if input.ndim not in (2, 3):
        raise ShapeError(f"dropout1d: expected 2D or 3D input, got shape {tuple(input.shape)}")
    shape = tuple(input.shape[:-1]) + (1,)
    return _channel_dropout("dropout1d", input, p, training, shape)


class GroupNorm(Module):
    """Group normalization of (N, C, *) inputs; weight (ones) and bias (zeros) per channel."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None,
                 *, bias=True):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = eps, affine
        if affine:
            self.weight = new_param((self.num_channels,), dtype, device)
            if bias:
                self.bias = new_param((self.num_channels,), dtype, device)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise shape_error(self, f"expected input of shape (N, {self.num_channels}, *), got "
                              f"{tuple(input.shape)}")
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _DropoutNd(Module):
    _fn = None

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not isinstance(p, (int, float, np.floating)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 "
                             f"and 1, but got {p}")
        self.p, self.inplace = float(p), inplace

    def forward(self, input):
        return type(self)._fn(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(_DropoutNd):
    """Channel dropout for (N, C, H, W) feature maps (identity in eval mode)."""

    _fn = staticmethod(dropout2d)


class Dropout1d(_DropoutNd):
    """Channel dropout for (N, C, L) sequences of features (identity in eval mode)."""

    _fn = staticmethod(dropout1d)
