"""The Lazy layers: LazyLinear, LazyConv1d/2d/3d, LazyConvTranspose1d/2d/3d,
LazyBatchNorm1d/2d/3d and LazyInstanceNorm1d/2d/3d (see `nn.lazy` for the mechanism).

Each infers its input size (in_features, in_channels, num_features) from the first input, then
becomes its eager class with the same initialization as if it had been built with that size.
"""
from ..lazy import (
    LazyModuleMixin,
    UninitializedBuffer,
    UninitializedParameter,
    materialize_reset,
    rng_neutral,
)
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .linear import Linear
from .norm import BatchNorm1d, BatchNorm2d
from .norm_extra import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .volumetric import BatchNorm3d, Conv3d, ConvTranspose3d

__all__ = [
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "LazyLinear",
]


def _uninit(module, names, dtype, device):
    for name in names:
        if getattr(module, name) is not None:
            module.__dict__["_parameters"][name] = UninitializedParameter(dtype=dtype,
                                                                          device=device)


class LazyLinear(LazyModuleMixin, Linear):
    """Linear whose in_features is the last dim of the first input."""

    cls_to_become = Linear
    _lazy_size = "in_features"

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        rng_neutral(lambda: Linear.__init__(self, 1, out_features, bias, device, dtype))
        self.in_features = 0
        _uninit(self, ("weight", "bias"), dtype, device)
        self._lazy_setup()

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():  # loaded from a state dict
            self.in_features = int(self.weight.shape[1])
        else:
            self.in_features = int(input.shape[-1])
            materialize_reset(self, {"weight": (self.out_features, self.in_features),
                                     "bias": (self.out_features,)})


class _LazyConv(LazyModuleMixin):
    _lazy_size = "in_channels"
    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():  # loaded from a state dict
            w = self.weight.shape
            self.in_channels = int(w[0] if self._transposed else w[1] * self.groups)
            return
        n = self._n
        if input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{type(self).__name__}: expected {n + 1}D (unbatched) or "
                             f"{n + 2}D (batched) input, got input of shape "
                             f"{tuple(input.shape)}")
        self.in_channels = int(input.shape[1] if input.ndim == n + 2 else input.shape[0])
        if self.in_channels % self.groups:
            raise ValueError(f"{type(self).__name__}: in_channels ({self.in_channels}) must be "
                             f"divisible by groups ({self.groups})")
        k = self.kernel_size
        if self._transposed:
            wshape = (self.in_channels, self.out_channels // self.groups) + k
        else:
            wshape = (self.out_channels, self.in_channels // self.groups) + k
        materialize_reset(self, {"weight": wshape, "bias": (self.out_channels,)})


def _lazy_conv(name, base):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        rng_neutral(lambda: base.__init__(self, groups, out_channels, kernel_size, stride,
                                          padding, dilation, groups, bias, padding_mode,
                                          device, dtype))
        self.in_channels = 0
        _uninit(self, ("weight", "bias"), dtype, device)
        self._lazy_setup()

    def __init_t__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                   groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                   dtype=None):
        rng_neutral(lambda: base.__init__(self, groups, out_channels, kernel_size, stride,
                                          padding, output_padding, groups, bias, dilation,
                                          padding_mode, device, dtype))
        self.in_channels = 0
        _uninit(self, ("weight", "bias"), dtype, device)
        self._lazy_setup()

    init = __init_t__ if base._transposed else __init__
    doc = f"{base.__name__} whose in_channels is dim 1 (dim 0 unbatched) of the first input."
    cls = type(name, (_LazyConv, base), {"__init__": init, "cls_to_become": base,
                                         "__doc__": doc, "__module__": __name__,
                                         "__qualname__": name})
    return cls


LazyConv1d = _lazy_conv("LazyConv1d", Conv1d)
LazyConv2d = _lazy_conv("LazyConv2d", Conv2d)
LazyConv3d = _lazy_conv("LazyConv3d", Conv3d)
LazyConvTranspose1d = _lazy_conv("LazyConvTranspose1d", ConvTranspose1d)
LazyConvTranspose2d = _lazy_conv("LazyConvTranspose2d", ConvTranspose2d)
LazyConvTranspose3d = _lazy_conv("LazyConvTranspose3d", ConvTranspose3d)


class _LazyNorm(LazyModuleMixin):
    _lazy_size = "num_features"
    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def reset_running_stats(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_running_stats()

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            # loaded from a state dict, or nothing to materialize (affine=False without running
            # statistics: PyTorch then leaves num_features at 0, which the eager check here
            # would reject, so it is read from the input)
            stats = self.weight if self.weight is not None else self.running_mean
            self.num_features = int(stats.shape[0] if stats is not None else input.shape[1])
            return
        self.num_features = int(input.shape[1])
        c = (self.num_features,)
        materialize_reset(self, {"weight": c, "bias": c, "running_mean": c, "running_var": c})


def _lazy_norm(name, base):
    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        base.__init__(self, 0, eps, momentum, affine, track_running_stats, device, dtype,
                      bias=bias)
        _uninit(self, ("weight", "bias"), dtype, device)
        for buf in ("running_mean", "running_var"):
            if self._buffers.get(buf) is not None:
                self._buffers[buf] = UninitializedBuffer(dtype=dtype, device=device)
        self._lazy_setup()

    doc = f"{base.__name__} whose num_features is dim 1 of the first input."
    cls = type(name, (_LazyNorm, base), {"__init__": __init__, "cls_to_become": base,
                                         "__doc__": doc, "__module__": __name__,
                                         "__qualname__": name})
    return cls


LazyBatchNorm1d = _lazy_norm("LazyBatchNorm1d", BatchNorm1d)
LazyBatchNorm2d = _lazy_norm("LazyBatchNorm2d", BatchNorm2d)
LazyBatchNorm3d = _lazy_norm("LazyBatchNorm3d", BatchNorm3d)
# PyTorch's lazy instance norms default to affine=True, track_running_stats=True (the eager
# ones to False)
LazyInstanceNorm1d = _lazy_norm("LazyInstanceNorm1d", InstanceNorm1d)
LazyInstanceNorm2d = _lazy_norm("LazyInstanceNorm2d", InstanceNorm2d)
LazyInstanceNorm3d = _lazy_norm("LazyInstanceNorm3d", InstanceNorm3d)
