"""`axonal.nn.functional`: the stateless forms of the layers, with PyTorch's signatures.

Activations with a cheap NumPy forward and a differentiable backward live in `_act`, the fused
normalization in `_norm`; the rest is composed from differentiable ops. `inplace=` arguments are
accepted for compatibility but ignored: Axonal never modifies a differentiable tensor in place.
"""

import numpy as np

from .. import backend
from .._config import no_grad
from .._errors import DTypeError, ShapeError
from ..autograd.function import Function
from ..ops import clamp, matmul, norm, reshape, where
from ..ops import log_softmax as _log_softmax
from ..ops import relu as _relu
from ..ops import sigmoid as _sigmoid
from ..ops import softmax as _softmax
from ..ops import tanh as _tanh
from ..ops.indexing import IndexAddZeros
from ..ops.linalg import linear as _linear
from ..random import np_generator
from ..tensor import constant, Tensor
from . import _act
from ._norm import normalize as _normalize

__all__ = ["batch_norm", "bilinear", "celu", "dropout", "elu", "embedding", "gelu", "hardtanh",
           "layer_norm", "leaky_relu", "linear", "log_softmax", "logsigmoid", "mish", "normalize",
           "one_hot", "prelu", "relu", "relu6", "selu", "sigmoid", "silu", "softmax", "softmin",
           "softplus", "softsign", "tanh"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _floating(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point tensor, got dtype {x.dtype}")
    return x


# -- activations -------------------------------------------------------------------------------
def relu(input, inplace=False):
    return _relu(_floating("relu", input))


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _act.LeakyRelu.apply(_floating("leaky_relu", input), float(negative_slope))


def prelu(input, weight):
    """max(0, x) + w min(0, x) with one slope per channel (dim 1) or a single shared slope."""
    _floating("prelu", input)
    n = weight.numel()
    channels = input.shape[1] if input.ndim >= 2 else 1
    if n != 1 and n != channels:
        raise ShapeError(f"prelu: weight has {n} parameters but the input of shape "
                         f"{tuple(input.shape)} has {channels} channels (dim 1); expected 1 or "
                         f"{channels}")
    w = reshape(weight, (1, n) + (1,) * (input.ndim - 2)) if n > 1 else reshape(weight, ())
    return where(constant(input.data > 0), input, w * input)


def elu(input, alpha=1.0, inplace=False):
    return _act.Elu.apply(_floating("elu", input), float(alpha), 1.0)


def selu(input, inplace=False):
    return _act.Elu.apply(_floating("selu", input), _SELU_ALPHA, _SELU_SCALE)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)) = elu(x / alpha) * alpha below zero."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    _floating("celu", input)
    return where(constant(input.data > 0), input, elu(input / alpha) * alpha)


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _act.Gelu.apply(_floating("gelu", input), approximate)


def silu(input, inplace=False):
    return _act.Silu.apply(_floating("silu", input))


def mish(input, inplace=False):
    return input * _tanh(softplus(input))


def sigmoid(input):
    return _sigmoid(_floating("sigmoid", input))


def tanh(input):
    return _tanh(_floating("tanh", input))


def logsigmoid(input):
    return -softplus(-_floating("logsigmoid", input))


def softplus(input, beta=1.0, threshold=20.0):
    if beta == 0:
        raise ValueError("softplus: beta must not be 0")
    return _act.Softplus.apply(_floating("softplus", input), float(beta), float(threshold))


def softsign(input):
    _floating("softsign", input)
    return input / (input.abs() + 1)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return _act.Hardtanh.apply(_floating("hardtanh", input), float(min_val), float(max_val))


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _softmax(input, dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _log_softmax(input, dim, dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return _softmax(-input, dim, dtype)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p, eps) along dim."""
    return input / clamp(norm(input, p, dim, keepdim=True), min=eps)


# -- linear maps -------------------------------------------------------------------------------
def linear(input, weight, bias=None):
    if input.dtype is not weight.dtype:
        raise DTypeError(f"linear: input has dtype {input.dtype} but weight has dtype "
                         f"{weight.dtype}; convert one of them (e.g. model.double() or x.float())")
    return _linear(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """y_k = x1^T W_k x2 + b_k, weight (out, in1, in2); as one GEMM x1 [W_0 .. W_out] then a
    row-wise dot with x2."""
    if weight.ndim != 3:
        raise ShapeError(f"bilinear: weight must be 3-D (out, in1, in2), got {tuple(weight.shape)}")
    out_f, in1, in2 = weight.shape
    if input1.ndim == 0 or input1.shape[-1] != in1 or input2.ndim == 0 or \
            input2.shape[-1] != in2 or input1.shape[:-1] != input2.shape[:-1]:
        raise ShapeError(f"bilinear: inputs of shapes {tuple(input1.shape)} and "
                         f"{tuple(input2.shape)} do not match weight {tuple(weight.shape)}: "
                         f"expected (..., {in1}) and (..., {in2}) with equal leading dims")
    if bias is not None and tuple(bias.shape) != (out_f,):
        raise ShapeError(f"bilinear: bias of shape {tuple(bias.shape)} does not match "
                         f"out_features {out_f}")
    lead = tuple(input1.shape[:-1])
    a, c = reshape(input1, -1, in1), reshape(input2, -1, in2)
    t = matmul(a, reshape(weight.permute(1, 0, 2), in1, out_f * in2))
    y = (reshape(t, -1, out_f, in2) * c.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return reshape(y, lead + (out_f,))


# -- regularization ----------------------------------------------------------------------------
def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Inverted dropout: zero each element with probability p and scale the rest by 1 / (1 - p),
    so the expected output equals the input and evaluation needs no rescaling."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    _floating("dropout", input)
    if p == 1.0:
        return input * 0.0
    npd = input.data.dtype if input.data.dtype in (np.float32, np.float64) else np.float64
    keep = np_generator(generator).random(tuple(input.shape), dtype=npd) >= p
    mask = keep.astype(input.data.dtype) * input.data.dtype.type(1.0 / (1.0 - p))
    return input * constant(backend.to_device(mask, input.device))


# -- normalization -----------------------------------------------------------------------------
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel (dim 1) of (N, C, *) over N and the trailing dims. In training the
    batch statistics are used and the running ones updated in place:
    running = (1 - momentum) running + momentum batch_stat, with the unbiased variance."""
    _floating("batch_norm", input)
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of shape (N, C, *), got {tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"batch_norm: {name} of shape {tuple(t.shape)} does not match the "
                             f"{c} channels of input {tuple(input.shape)}")
    bshape = (1, c) + (1,) * (input.ndim - 2)
    dims = (0,) + tuple(range(2, input.ndim))
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var must be given in "
                             "evaluation mode (training=False)")
        # constant statistics: an affine map, (x - mean) * (w / sqrt(var + eps)) + b
        xp, dt = backend.xp_of(input.data), input.data.dtype
        scale = constant(1 / xp.sqrt(running_var.data.astype(dt) + dt.type(eps)))
        scale = weight * scale if weight is not None else scale
        mean = reshape(constant(running_mean.data.astype(dt)), bshape)
        out = (input - mean) * reshape(scale, bshape)
        return out + reshape(bias, bshape) if bias is not None else out
    n = input.numel() // c
    if n <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got "
                         f"input of shape {tuple(input.shape)}")
    w = reshape(weight, bshape) if weight is not None else None
    b = reshape(bias, bshape) if bias is not None else None
    out, mean, var = _normalize(input, w, b, dims, dims, eps)
    if running_mean is not None or running_var is not None:
        with no_grad():
            m = 0.0 if momentum is None else float(momentum)
            if running_mean is not None:
                new = (1 - m) * running_mean.data + m * mean.reshape(c)
                running_mean.data[...] = new.astype(running_mean.data.dtype, copy=False)
            if running_var is not None:
                new = (1 - m) * running_var.data + m * var.reshape(c) * (n / (n - 1))
                running_var.data[...] = new.astype(running_var.data.dtype, copy=False)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last len(normalized_shape) dims, then scale and shift element-wise."""
    _floating("layer_norm", input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[-k:]) != shape:
        raise ShapeError(f"layer_norm: expected input with trailing dims {shape}, got shape "
                         f"{tuple(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ShapeError(f"layer_norm: {name} of shape {tuple(t.shape)} does not match "
                             f"normalized_shape {shape}")
    bshape = (1,) * (input.ndim - k) + shape
    dims = tuple(range(input.ndim - k, input.ndim))
    lead = tuple(range(input.ndim - k))
    w = reshape(weight, bshape) if weight is not None else None
    b = reshape(bias, bshape) if bias is not None else None
    return _normalize(input, w, b, dims, lead, eps)[0]


# -- embeddings --------------------------------------------------------------------------------
class _Embedding(Function):
    """out[...] = weight[idx[...]]; the weight gradient adds each output row back to its index
    (repeated indices accumulate), with rows of padding_idx left at zero."""

    @staticmethod
    def forward(ctx, weight, idx, row_scale):
        ctx.idx, ctx.row_scale = idx, row_scale
        return xp_take(weight.data, idx)

    @staticmethod
    def backward(ctx, g):
        dim = ctx._in_meta[0][0][1]
        if ctx.row_scale is not None:
            g = g * constant(ctx.row_scale.astype(g.data.dtype))
        g = reshape(g, -1, dim)
        return IndexAddZeros.apply(g, (ctx.idx.reshape(-1),), False, ctx._in_meta[0][0]), None, None


def xp_take(w, idx):
    return backend.xp_of(w).take(w, idx, axis=0)


def _check_indices(idx, num, who):
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"{who}: expected an integer index tensor (int64 or int32), got dtype "
                         f"{idx.dtype}")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        bad = hi if hi >= num else lo if lo < 0 else None
        if bad is not None:
            raise IndexError(f"{who}: index {bad} is out of range for num_embeddings={num} "
                             f"(valid indices are 0..{num - 1})")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False, _who="embedding"):
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported")
    if weight.ndim != 2:
        raise ShapeError(f"{_who}: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"{tuple(weight.shape)}")
    num = weight.shape[0]
    idx = input.data if isinstance(input, Tensor) else np.asarray(input)
    _check_indices(idx, num, _who)
    idx = idx.astype(np.int64, copy=False)
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"{_who}: padding_idx {padding_idx} must be within num_embeddings "
                             f"{num}")
        padding_idx = padding_idx % num
    if max_norm is not None:  # renormalize the looked-up rows in place (outside the graph)
        xp = backend.xp_of(weight.data)
        rows = xp.unique(idx.reshape(-1))
        norms = xp.linalg.norm(weight.data[rows].astype(np.float64), ord=norm_type, axis=1)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight.data[rows] *= scale[:, None].astype(weight.data.dtype)
    row_scale = None
    if padding_idx is not None or scale_grad_by_freq:
        xp = backend.xp_of(idx)
        row_scale = xp.ones(idx.shape, dtype=np.float64)
        if scale_grad_by_freq:  # each row's gradient divided by its count in this batch
            counts = xp.bincount(idx.reshape(-1), minlength=num)
            row_scale = row_scale / counts[idx]
        if padding_idx is not None:
            row_scale = row_scale * (idx != padding_idx)
        row_scale = row_scale[..., None]
    return _Embedding.apply(weight, idx, row_scale)


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each index."""
    idx = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: expected an integer tensor, got dtype {idx.dtype}")
    xp = backend.xp_of(idx)
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num_classes):
        raise IndexError(f"one_hot: class values must be in [0, {num_classes}), got values in "
                         f"[{int(idx.min())}, {int(idx.max())}]")
    out = (idx[..., None] == xp.arange(num_classes)).astype(np.int64)
    return constant(out)


from . import _losses as _l
from ._losses import *

__all__ += list(_l.__all__)
del _l

# -- convolution, pooling, resampling and padding (ops layer), the 2-D normalizations and
# attention (defined beside their modules; imported last because they use this module)
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ..ops.pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d,
                        adaptive_max_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d)
from ..ops.resample import fold, interpolate, unfold, upsample
from ..ops.shape import pad
from .layers.attention import scaled_dot_product_attention
from .layers.norm2d import dropout1d, dropout2d, group_norm

__all__ += ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "adaptive_avg_pool1d",
            "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d",
            "avg_pool2d", "max_pool1d", "max_pool2d", "fold", "interpolate", "unfold", "upsample",
            "pad", "scaled_dot_product_attention", "dropout1d", "dropout2d", "group_norm"]
