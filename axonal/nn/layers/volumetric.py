"""3-D layers over (N, C, D, H, W) volumes: Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d,
AdaptiveAvgPool3d, AdaptiveMaxPool3d and BatchNorm3d.

They share their 1-D/2-D siblings' base classes (constructor arguments, defaults, initialization,
printed form, errors); the math is in `nn.functional._volumetric` (built from the 2-D primitives).
"""
from .. import functional as F
from ..module import Module
from .conv import _Conv, _ConvTranspose
from .norm import _BatchNorm
from .pooling import _AdaptiveNd, _check_dims, _MaxPoolNd

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


class AvgPool3d(Module):
    """Mean over sliding (kD, kH, kW) windows of (N, C, D, H, W) or (C, D, H, W) input."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        _check_dims(self, input, (4, 5))
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


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
