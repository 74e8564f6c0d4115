"""instance_norm, rms_norm, local_response_norm, and the pixel/channel shuffles.

instance_norm normalizes each (sample, channel) over its spatial positions: group_norm with one
channel per group. With running statistics (track_running_stats) PyTorch folds the instances into
one batch-norm call over (1, N*C, *) with the running buffers repeated N times, then averages the N
updated copies, so

    running_mean = (1 - m) running_mean + m mean_n(instance mean)
    running_var  = (1 - m) running_var  + m mean_n(unbiased instance variance)

and without input statistics (eval with running stats) it is batch_norm's affine map.

rms_norm (Zhang & Sennrich 2019): x / sqrt(mean(x^2 over the trailing normalized_shape) + eps) *
weight; eps=None means the machine epsilon of the input's dtype, as in PyTorch.

local_response_norm (Krizhevsky et al. 2012) divides each element by
(k + alpha / n * sum of x^2 over the n channels around it)^beta, the window zero-padded with
n // 2 channels before and (n - 1) // 2 after.
"""
import numpy as np

from ..._config import no_grad
from ..._errors import ShapeError
from ...ops.shape import pad as constant_pad
from ._args import floating_tensor
from ._normalization import batch_norm, group_norm, moments


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each (sample, channel) of (N, C, *) over the trailing dims."""
    floating_tensor("instance_norm", input)
    if input.ndim < 3:
        raise ShapeError(f"instance_norm: expected input of shape (N, C, *) with at least one "
                         f"spatial dim, got {tuple(input.shape)}")
    n, c = input.shape[:2]
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: Expected running_mean and running_var to be defined "
                             "when use_input_stats is false")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    spatial = input.numel() // max(n * c, 1)
    if spatial <= 1:
        raise ValueError(f"instance_norm: Expected more than 1 spatial element when training, "
                         f"got input size {tuple(input.shape)}")
    out = group_norm(input, c, weight, bias, eps)
    if running_mean is not None or running_var is not None:
        with no_grad():
            dims = tuple(range(2, input.ndim))
            mean, var, _ = moments(input.detach(), dims, eps)
            m = float(momentum)
            for buf, stat in ((running_mean, mean), (running_var,
                                                     var * (spatial / (spatial - 1)))):
                if buf is not None:
                    new = (1 - m) * buf._data + m * stat.reshape(n, c).mean(axis=0)
                    buf._data[...] = new.astype(buf._data.dtype, copy=False)
    return out


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x * rsqrt(mean(x^2 over normalized_shape) + eps) * weight."""
    floating_tensor("rms_norm", input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise ShapeError(f"rms_norm: expected input with trailing dims {shape}, got shape "
                         f"{tuple(input.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise ShapeError(f"rms_norm: weight of shape {tuple(weight.shape)} does not match "
                         f"normalized_shape {shape}")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return y * weight if weight is not None else y


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Normalize over `size` neighbouring channels (dim 1) of (N, C, *)."""
    floating_tensor("local_response_norm", input)
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: Expected 3D or higher dimensionality input "
                         f"(got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    sq = (input * input).unsqueeze(1)  # (N, 1, C, *): pad and slide along C
    pads = [0, 0] * (input.ndim - 2) + [size // 2, (size - 1) // 2]
    sq = constant_pad(sq, pads)
    c = input.shape[1]
    total = None
    for i in range(size):
        t = sq[:, :, i: i + c]
        total = t if total is None else total + t
    div = (total.squeeze(1) * (alpha / size) + k) ** beta
    return input / div


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): channel c r^2 + i r + j goes to pixel
    (h r + i, w r + j)."""
    r = int(upscale_factor)
    if input.ndim < 3:
        raise ShapeError(f"pixel_shuffle: expected input of at least 3 dims (*, C, H, W), got "
                         f"{tuple(input.shape)}")
    *lead, c, h, w = input.shape
    if r <= 0 or c % (r * r):
        raise ShapeError(f"pixel_shuffle: expected the channels ({c}) of input "
                         f"{tuple(input.shape)} to be divisible by the square of "
                         f"upscale_factor={r}")
    lead = tuple(lead)
    k = len(lead)
    x = input.reshape(lead + (c // (r * r), r, r, h, w))
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(lead + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """The inverse of pixel_shuffle: (*, C, H r, W r) -> (*, C r^2, H, W)."""
    r = int(downscale_factor)
    if input.ndim < 3:
        raise ShapeError(f"pixel_unshuffle: expected input of at least 3 dims (*, C, H, W), "
                         f"got {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    if r <= 0 or h % r or w % r:
        raise ShapeError(f"pixel_unshuffle: expected height and width of input "
                         f"{tuple(input.shape)} to be divisible by downscale_factor={r}")
    lead = tuple(lead)
    k = len(lead)
    x = input.reshape(lead + (c, h // r, r, w // r, r))
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(lead + (c * r * r, h // r, w // r))


def channel_shuffle(input, groups):
    """(N, G * K, *) -> channels reordered as the transpose of a (G, K) grid (ShuffleNet)."""
    g = int(groups)
    if input.ndim < 3:
        raise ShapeError(f"channel_shuffle: expected input of at least 3 dims (N, C, *), got "
                         f"{tuple(input.shape)}")
    n, c = input.shape[:2]
    rest = tuple(input.shape[2:])
    if g <= 0 or c % g:
        raise ValueError(f"channel_shuffle: number of channels ({c}) must be divisible by "
                         f"groups={g}")
    x = input.reshape((n, g, c // g) + rest).transpose(1, 2)
    return x.reshape((n, c) + rest)
