"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d.

Thin Modules over axonal.ops.pool with PyTorch's constructor arguments, defaults (stride defaults to
kernel_size) and printed form. They hold no parameters or buffers, so their state_dict is empty.
"""
from .. import functional as F
from ..module import Module
from ._util import shape_error

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


def _check_dims(module, x, dims):
    if x.ndim not in dims:
        raise shape_error(module, f"expected {dims[0]}D (unbatched) or {dims[1]}D (batched) "
                          f"input, got {x.ndim}D input of shape {tuple(x.shape)}")


class _MaxPoolNd(Module):
    _dims = (3, 4)
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        _check_dims(self, input, self._dims)
        return type(self)._fn(input, self.kernel_size, self.stride, self.padding, self.dilation,
                              self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over sliding windows of (N, C, L) or (C, L) input."""

    _dims = (2, 3)
    _fn = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """Max over sliding windows of (N, C, H, W) or (C, H, W) input."""

    _dims = (3, 4)
    _fn = staticmethod(F.max_pool2d)


class AvgPool1d(Module):
    """Mean over sliding windows of (N, C, L) or (C, L) input (sizes stored as 1-tuples)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()

        def one(v):
            return (int(v),) if isinstance(v, int) else tuple(v)

        self.kernel_size = one(kernel_size)
        self.stride = one(stride if stride is not None else kernel_size)
        self.padding = one(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        _check_dims(self, input, (2, 3))
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AvgPoolNd(Module):
    """Mean over sliding windows; `_dims` the accepted input ranks, `_fn` the functional form."""

    _dims = (3, 4)
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        _check_dims(self, input, self._dims)
        return self._fn(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                        self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """Mean over sliding windows of (N, C, H, W) or (C, H, W) input."""

    _fn = staticmethod(F.avg_pool2d)


class _AdaptiveNd(Module):
    _dims = (3, 4)
    _fn = None
    _has_indices = False

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        if self._has_indices:
            self.return_indices = return_indices
        elif return_indices:
            raise TypeError(f"{type(self).__name__} does not take return_indices")

    def forward(self, input):
        _check_dims(self, input, self._dims)
        if self._has_indices:
            return type(self)._fn(input, self.output_size, self.return_indices)
        return type(self)._fn(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveNd):
    """Average over adaptive bins so that (N, C, L) becomes (N, C, output_size)."""

    _dims = (2, 3)
    _fn = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveNd):
    """Average over adaptive bins so that (N, C, H, W) becomes (N, C, *output_size); e.g.
    AdaptiveAvgPool2d(1) is global average pooling."""

    _dims = (3, 4)
    _fn = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveMaxPool1d(_AdaptiveNd):
    _dims = (2, 3)
    _fn = staticmethod(F.adaptive_max_pool1d)
    _has_indices = True


class AdaptiveMaxPool2d(_AdaptiveNd):
    """Max over adaptive bins (see AdaptiveAvgPool2d)."""

    _dims = (3, 4)
    _fn = staticmethod(F.adaptive_max_pool2d)
    _has_indices = True
