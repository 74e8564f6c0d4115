"""Dropout (Srivastava et al. 2014), inverted, and channel dropout (Tompson et al. 2015).

Inverted dropout zeroes each element with probability p and scales the survivors by 1 / (1 - p),
so the expected output equals the input and evaluation needs no rescaling. Channel dropout zeroes
whole feature maps instead: neighbouring pixels of one map are strongly correlated, so element-wise
dropout barely regularizes a convolutional layer, while dropping the entire channel does.

Masks are drawn with the input's array module, on the input's device (no host-to-device copy):
for NumPy arrays from the axonal generator itself (`axonal.manual_seed` fixes them); for another
array module (CuPy) from that module's own generator, seeded with one draw from the axonal
generator, so a seed still makes a run reproducible, but the masks differ from the CPU's.
"""
import contextlib
import warnings

import numpy as np

from ..._errors import ShapeError
from ...backend import device_of, xp_of
from ...random import np_generator
from ...tensor import constant
from ._args import floating_tensor


def on_device_of(xp, like):
    """Context in which array module xp allocates on `like`'s GPU (nothing to do for NumPy)."""
    if xp is np:
        return contextlib.nullcontext()
    return xp.cuda.Device(device_of(like).index)


def _uniform(like, shape, dtype, generator):
    """Uniform [0, 1) samples of `shape` drawn with the array module of `like`, on its device
    (see the module doc)."""
    xp = xp_of(like)
    rng = np_generator(generator)
    if xp is np:
        return rng.random(shape, dtype=dtype)
    seed = int(rng.integers(0, 2**63 - 1))
    with on_device_of(xp, like):
        return xp.random.default_rng(seed).random(shape, dtype=dtype)


def _masked(op, input, p, training, mask_shape, generator=None, input_dtype_draw=False,
            inplace=False):
    """input * keep / (1 - p), keep ~ Bernoulli(1 - p) of `mask_shape` (None: input's shape;
    broadcast to input). The uniforms are float64, or the input's float32/float64 type with
    `input_dtype_draw` (dropout's long-standing draw, kept so that seeded masks do not change)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    floating_tensor(op, input)
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    a = input._data
    draw = a.dtype if input_dtype_draw and a.dtype in (np.float32, np.float64) else np.float64
    shape = tuple(input.shape) if mask_shape is None else mask_shape
    keep = _uniform(a, shape, draw, generator) >= p
    mask = constant(keep.astype(a.dtype) * a.dtype.type(1.0 / (1.0 - p)))
    return input.mul_(mask) if inplace else input * mask


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Inverted dropout of every element (see the module doc)."""
    return _masked("dropout", input, p, training, None, generator, True, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) input with probability p. Other ranks behave as in
    PyTorch 2.x, with its warnings: a 3-D input is read as (N, C, L), and a 2-D (N, C) or 5-D input
    drops per (N, C) entry (2-D: element-wise, i.e. plain dropout)."""
    if input.ndim < 2:
        raise ShapeError(f"dropout2d: expected at least a 2D input, got shape {tuple(input.shape)}")
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      "deprecated and will result in an error in a future release. To retain the "
                      "behavior and silence this warning, please use dropout instead. Note that "
                      "dropout2d exists to provide channel-wise dropout on inputs with 2 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D "
                      "or 4D inputs).", UserWarning, stacklevel=2)
    if input.ndim == 3:  # PyTorch's behaviour (and words): a 3-D input is read as (N, C, L)
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape (C, H, "
                      "W). To maintain the 1D channel-wise dropout behavior, please switch to "
                      "using dropout1d instead.", UserWarning, stacklevel=2)
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _masked("dropout2d", input, p, training, shape, inplace=inplace)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) input with probability p."""
    if input.ndim not in (2, 3):
        raise ShapeError(f"dropout1d: expected 2D or 3D input, got shape {tuple(input.shape)}")
    shape = tuple(input.shape[:-1]) + (1,)
    return _masked("dropout1d", input, p, training, shape, inplace=inplace)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability p. Other
    ranks behave as in PyTorch 2.x, with its warning: an input that is not 5-D is read as one
    unbatched sample, so its first dimension holds the channels."""
    if input.ndim == 0:
        raise ShapeError("Feature dropout requires at least 2 dimensions in the input")
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is "
                      "deprecated and will result in an error in a future release. To retain the "
                      "behavior and silence this warning, please use dropout instead. Note that "
                      "dropout3d exists to provide channel-wise dropout on inputs with 3 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 4D "
                      "or 5D inputs).", UserWarning, stacklevel=2)
    lead = 2 if input.ndim == 5 else 1  # (N, C) entries, or the channels of one sample
    shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    return _masked("dropout3d", input, p, training, shape, inplace=inplace)


# -- alpha dropout (Klambauer et al. 2017, self-normalizing networks) ------------------------------
# SELU keeps activations at mean 0 / variance 1; zeroing would break that, so a dropped unit is set
# to SELU's negative saturation -alpha' (alpha' = scale * alpha = 1.7580993...) and the result is
# mapped affinely, y = a * (x * keep + alpha' * (keep - 1)) + b, with a and b chosen so that mean and
# variance are kept: a = ((1 - p) * (1 + p * alpha'^2))^(-1/2), b = a * alpha' * p. The gradient is
# `a` where a unit is kept and 0 where it is dropped. (PyTorch's formula, operation for operation.)
_SELU_SATURATION = 1.7580993408473766


def _alpha(op, input, p, training, inplace, feature):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0 or input.numel() == 0:
        return input
    floating_tensor(op, input)
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    if feature and input.ndim < 2:
        raise ShapeError("Feature dropout requires at least 2 dimensions in the input")
    a_ = input._data
    shape = (tuple(input.shape[:2]) + (1,) * (input.ndim - 2)) if feature else tuple(input.shape)
    keep = (_uniform(a_, shape, np.float64, None) >= p).astype(a_.dtype)
    alpha = _SELU_SATURATION
    a = 1.0 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
    shift = constant((keep - 1) * (alpha * a) + alpha * a * p)  # b - a * alpha' * (1 - keep)
    scale = constant(keep * a_.dtype.type(a))
    return input.mul_(scale).add_(shift) if inplace else input * scale + shift


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of every element (see above); the identity unless `training`."""
    return _alpha("alpha_dropout", input, p, training, inplace, feature=False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels: one decision per (N, C) entry of an input of >= 2 dims."""
    return _alpha("feature_alpha_dropout", input, p, training, inplace, feature=True)
