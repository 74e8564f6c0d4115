"""`axonal.nn.functional`: the stateless forms of the layers, with PyTorch's signatures.

This file only re-exports; each concept has one module beside it:

    _activation      relu, gelu, softmax, ... and their primitives (LeakyRelu, Elu, Gelu, ...)
    _linear          linear, bilinear
    _dropout         dropout, dropout1d, dropout2d, dropout3d, alpha_dropout, feature_alpha_dropout
    _normalization   batch_norm, layer_norm, group_norm, normalize (the fused Normalize primitive)
    _loss            mse_loss, l1_loss, binary cross-entropies, kl_div, margin losses, ...
    _cross_entropy   cross_entropy, nll_loss (the fused SoftmaxCrossEntropy primitive)
    _embedding       embedding, one_hot
    _loss_margin     distances, triplet and multi-class/multi-label margin losses
    _ctc             ctc_loss (the alpha-beta recursion)
    _extra           shrinks, glu, rrelu, lp_pool*, max_unpool*, *_with_indices spellings
    _norms           instance_norm, rms_norm, local_response_norm, pixel/channel shuffles
    _padding         pad (constant, reflect, replicate, circular)
    _volumetric      conv3d, conv_transpose3d, max/avg/adaptive pools over (N, C, D, H, W)
    _attention       scaled_dot_product_attention, causal_mask
    _args            argument checks shared by the above (dtypes, reductions, shapes)

Convolution, pooling, resampling and padding are ops (`axonal.ops`), re-exported here. The
submodules are private so that none of them shadows a function of the same name (`F.dropout`).
The layers (`nn.layers`) call these functions; nothing here imports a layer or `nn.module`.
"""
# Names that the single-file `functional.py` of earlier versions exposed as a side effect of its
# own imports; kept so that code reaching them as `F.<name>` keeps working.
import numpy as np

from ... import backend
from ..._config import no_grad
from ..._errors import DTypeError, ShapeError
from ...autograd.function import Function
from ...ops import clamp, matmul, norm, reshape, where
from ...ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ...ops.indexing import IndexAddZeros
from ...ops.pool import (
                         adaptive_avg_pool1d,
                         adaptive_avg_pool2d,
                         adaptive_max_pool1d,
                         adaptive_max_pool2d,
                         avg_pool1d,
                         avg_pool2d,
                         max_pool1d,
                         max_pool2d,
)
from ...ops.resample import fold, interpolate, unfold, upsample
from ...random import np_generator
from ...tensor import Tensor, constant
from . import _jvp  # the forward-mode AD rules of the fused primitives (attached on import)
from ._activation import (
                         celu,
                         elu,
                         gelu,
                         hardsigmoid,
                         hardswish,
                         hardtanh,
                         leaky_relu,
                         log_softmax,
                         logsigmoid,
                         mish,
                         prelu,
                         relu,
                         relu6,
                         selu,
                         sigmoid,
                         silu,
                         softmax,
                         softmin,
                         softplus,
                         softsign,
                         tanh,
                         threshold,
)
from ._attention import scaled_dot_product_attention
from ._cross_entropy import cross_entropy, nll_loss
from ._dropout import (alpha_dropout, dropout, dropout1d, dropout2d, dropout3d,
                       feature_alpha_dropout)
from ._embedding import embedding, one_hot, xp_take
from ._linear import bilinear, linear
from ._loss import (
                         binary_cross_entropy,
                         binary_cross_entropy_with_logits,
                         cosine_embedding_loss,
                         gaussian_nll_loss,
                         hinge_embedding_loss,
                         huber_loss,
                         kl_div,
                         l1_loss,
                         margin_ranking_loss,
                         mse_loss,
                         poisson_nll_loss,
                         smooth_l1_loss,
                         soft_margin_loss,
)
from ._ctc import ctc_loss
from ._embedding_bag import embedding_bag, gumbel_softmax
from ._fractional import (fractional_max_pool2d, fractional_max_pool2d_with_indices,
                          fractional_max_pool3d, fractional_max_pool3d_with_indices)
from ._grid import affine_grid, grid_sample
from ._extra import (adaptive_max_pool1d_with_indices, adaptive_max_pool2d_with_indices,
                     adaptive_max_pool3d_with_indices, glu, hardshrink, lp_pool1d, lp_pool2d,
                     lp_pool3d, max_pool1d_with_indices, max_pool2d_with_indices,
                     max_pool3d_with_indices, max_unpool1d, max_unpool2d, max_unpool3d, rrelu,
                     rrelu_, softshrink, tanhshrink, upsample_bilinear, upsample_nearest)
from ._loss_margin import (cosine_similarity, multi_margin_loss, multilabel_margin_loss,
                           multilabel_soft_margin_loss, pairwise_distance, pdist,
                           triplet_margin_loss, triplet_margin_with_distance_loss)
from ._normalization import batch_norm, group_norm, layer_norm, normalize
from ._norms import (channel_shuffle, instance_norm, local_response_norm, pixel_shuffle,
                     pixel_unshuffle, rms_norm)
from ._padding import pad  # all of PyTorch's modes (replaces ops.shape.pad's constant-only form)
from ._volumetric import (adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d, conv3d,
                          conv_transpose3d, max_pool3d)


# PyTorch's in-place spellings of the activations (F.relu_(x) is F.relu(x, inplace=True))
def relu_(input):
    return relu(input, inplace=True)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def selu_(input):
    return selu(input, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, inplace=True)


__all__ = ["batch_norm", "bilinear", "celu", "dropout", "elu", "embedding", "gelu",
           "hardsigmoid", "hardswish", "hardtanh",
           "layer_norm", "leaky_relu", "linear", "log_softmax", "logsigmoid", "mish", "normalize",
           "one_hot", "prelu", "relu", "relu6", "selu", "sigmoid", "silu", "softmax", "softmin",
           "softplus", "softsign", "tanh", "relu_", "elu_", "celu_", "selu_", "leaky_relu_",
           "hardtanh_", "threshold", "threshold_",
           # losses
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
           "cross_entropy", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss", "kl_div",
           "l1_loss", "margin_ranking_loss", "mse_loss", "nll_loss", "poisson_nll_loss",
           "smooth_l1_loss", "soft_margin_loss",
           # convolution, pooling, resampling and padding (ops), 2-D normalization, attention
           "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d",
           "avg_pool2d", "max_pool1d", "max_pool2d", "fold", "interpolate", "unfold", "upsample",
           "pad", "scaled_dot_product_attention", "dropout1d", "dropout2d", "group_norm",
           "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

from ..._compat import module_getattr as _module_getattr

# a PyTorch name that Axonal lacks: "axonal does not implement torch.nn.functional.X yet" (PEP 562)
__getattr__ = _module_getattr("torch.nn.functional", globals())

# PyTorch's autocast float32 list: under autocast these composites get float32 inputs (amp/)
from ...amp.autocast_mode import FP32_FUNCTIONALS as _FP32  # noqa: E402
from ...amp.autocast_mode import fp32_op as _fp32_op  # noqa: E402

for _name in sorted(_FP32 & set(globals())):
    globals()[_name] = _fp32_op(globals()[_name])
    globals()[_name].__module__ = __name__  # pickled by reference: F.<name> is the wrapper
del _name
