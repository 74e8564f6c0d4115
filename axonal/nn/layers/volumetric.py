"""3-D layers over (N, C, D, H, W) volumes: Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d,
AdaptiveAvgPool3d, AdaptiveMaxPool3d and BatchNorm3d.

They share their 1-D/2-D siblings' base classes (constructor arguments, defaults, initialization,
printed form, errors); the math is in `nn.functional._volumetric` (built from the 2-D primitives).
"""
from .. import functional as F
from .conv import _Conv, _ConvTranspose
from .norm import _BatchNorm
from .pooling import _AdaptiveNd, _AvgPoolNd, _MaxPoolNd

__all__ = [
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool3d",
    "AvgPool3d",
    "BatchNorm3d",
    "Conv3d",
    "ConvTranspose3d",
    "MaxPool3d",
]


class Conv3d(_Conv):
    """3-D convolution over (N, C_in, D, H, W) or (C_in, D, H, W) input."""

    _n = 3
    _fn = staticmethod(F.conv3d)


class ConvTranspose3d(_ConvTranspose):
    """Transposed 3-D convolution, the adjoint of Conv3d with the same weight."""

    _n = 3
    _fn = staticmethod(F.conv_transpose3d)


class MaxPool3d(_MaxPoolNd):
    """Max over sliding (kD, kH, kW) windows of (N, C, D, H, W) or (C, D, H, W) input."""

    _dims = (4, 5)
    _fn = staticmethod(F.max_pool3d)


class AvgPool3d(_AvgPoolNd):
    """Mean over sliding (kD, kH, kW) windows of (N, C, D, H, W) or (C, D, H, W) input."""

    _dims = (4, 5)
    _fn = staticmethod(F.avg_pool3d)


class AdaptiveAvgPool3d(_AdaptiveNd):
    """Average over adaptive bins so that (N, C, D, H, W) becomes (N, C, *output_size)."""

    _dims = (4, 5)
    _fn = staticmethod(F.adaptive_avg_pool3d)


class AdaptiveMaxPool3d(_AdaptiveNd):
    """Max over adaptive bins (see AdaptiveAvgPool3d)."""

    _dims = (4, 5)
    _fn = staticmethod(F.adaptive_max_pool3d)
    _has_indices = True


class BatchNorm3d(_BatchNorm):
    """Batch normalization of (N, C, D, H, W) inputs over N, D, H and W, per channel C."""

    _ndims = (5,)
    _what = "5D"
