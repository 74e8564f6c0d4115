"""Normalization layers: BatchNorm1d/2d (Ioffe & Szegedy 2015), LayerNorm (Ba et al. 2016) and
GroupNorm (Wu & He 2018); the math is in `nn.functional._normalization`.

BatchNorm normalizes each channel with the batch's mean and biased variance while training and
keeps running estimates for evaluation:

    running = (1 - momentum) running + momentum batch_stat  (running_var: the unbiased variance)

With momentum=None the running estimates are the cumulative average over all batches seen
(momentum = 1 / num_batches_tracked). Running statistics are updated on `.data`, outside autograd.

LayerNorm and GroupNorm use no batch statistics, so training and evaluation compute the same thing.
"""
import numpy as np

from ... import _dtype as _dt
from ...ops import ones, tensor, zeros
from .. import functional as F
from .. import init
from ..module import Module
from ._util import check_ndim, new_param, shape_error

__all__ = ["BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm"]


def _affine_params(module, shape, affine, bias, dtype, device):
    """Register `weight` and `bias` of `shape` (ones and zeros after reset_parameters), or None
    for what is turned off: no affine map at all, or a weight without a bias."""
    if affine:
        module.weight = new_param(shape, dtype, device)
        if bias:
            module.bias = new_param(shape, dtype, device)
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module):
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _BatchNorm(Module):
    _ndims = ()
    _what = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_params(self, (self.num_features,), affine, bias, dtype, device)
        if track_running_stats:
            dt = dtype if dtype is not None else _dt.get_default_dtype()
            self.register_buffer("running_mean", zeros(self.num_features, dtype=dt, device=device))
            self.register_buffer("running_var", ones(self.num_features, dtype=dt, device=device))
            self.register_buffer("num_batches_tracked",
                                 tensor(0, dtype=_dt.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        _reset_affine(self)

    def forward(self, input):
        check_ndim(self, input, self._ndims, self._what)
        if input.shape[1] != self.num_features:
            raise shape_error(self, f"expected input with {self.num_features} channels (dim 1), "
                              f"got shape {tuple(input.shape)}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        # without running statistics the batch statistics are used in eval mode too
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch, factor, self.eps)

    def _load_fill_defaults(self, state_dict, prefix):
        # checkpoints from before num_batches_tracked existed: keep the current count
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked._data.copy()

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs over N (and L), per channel C."""

    _ndims = (2, 3)
    _what = "2D or 3D"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs over N, H and W, per channel C."""

    _ndims = (4,)
    _what = "4D"


class LayerNorm(Module):
    """Normalizes over the trailing `normalized_shape` dims of each sample (biased variance), then
    applies an element-wise weight (ones) and bias (zeros) of that shape."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None,
                 dtype=None):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine_params(self, self.normalized_shape, elementwise_affine, bias, dtype, device)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        k = len(self.normalized_shape)
        if input.ndim < k or tuple(input.shape[input.ndim - k:]) != self.normalized_shape:
            raise shape_error(self, f"expected input with trailing dims {self.normalized_shape}, "
                              f"got shape {tuple(input.shape)}")
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalization of (N, C, *) inputs over groups of C / num_groups channels; weight
    (ones) and bias (zeros) per channel."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None,
                 *, bias=True):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = eps, affine
        _affine_params(self, (self.num_channels,), affine, bias, dtype, device)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise shape_error(self, f"expected input of shape (N, {self.num_channels}, *), got "
                              f"{tuple(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
