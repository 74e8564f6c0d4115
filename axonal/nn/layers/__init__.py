"""The layer Modules (loss modules live in `loss.py`, re-exported by `axonal.nn`)."""
from .activation import (
                         CELU,
                         ELU,
                         GELU,
                         SELU,
                         Hardsigmoid,
                         Hardswish,
                         Hardtanh,
    Threshold,
                         LeakyReLU,
                         LogSigmoid,
                         LogSoftmax,
                         Mish,
                         PReLU,
                         ReLU,
                         ReLU6,
                         Sigmoid,
                         SiLU,
                         Softmax,
                         Softmin,
                         Softplus,
                         Softsign,
                         Tanh,
)

# convolutional, recurrent and attention layers
from .attention import MultiheadAttention
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .dropout import (AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d,
                      FeatureAlphaDropout)
from .fold import Fold, Unfold
from .leaky import EchoStateNetwork, LeakyRNN
from .linear import Bilinear, Flatten, Identity, Linear, Maxout, Unflatten
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .pooling import (
                         AdaptiveAvgPool1d,
                         AdaptiveAvgPool2d,
                         AdaptiveMaxPool1d,
                         AdaptiveMaxPool2d,
                         AvgPool1d,
                         AvgPool2d,
                         MaxPool1d,
                         MaxPool2d,
)
from .rnn import GRU, LSTM, RNN, RNNBase
from .rnn_cells import GRUCell, LSTMCell, RNNCell, RNNCellBase
from .sparse import Embedding, EmbeddingBag
from .transformer import (
                         PositionalEncoding,
                         Transformer,
                         TransformerDecoder,
                         TransformerDecoderLayer,
                         TransformerEncoder,
                         TransformerEncoderLayer,
)
from .upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .volumetric import __all__ as _volumetric_names
from .volumetric import *  # noqa: F403  (Conv3d, ConvTranspose3d, 3-D pools, BatchNorm3d)
from .padding import __all__ as _padding_names
from .padding import *  # noqa: F403  (Zero/Constant/Reflection/Replication/CircularPad1d/2d/3d)
from .norm_extra import __all__ as _norm_extra_names
from .norm_extra import *  # noqa: F403  (InstanceNorm*, RMSNorm, LocalResponseNorm, shuffles)

__all__ = ["CELU", "ELU", "GELU", "SELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU",
           "Threshold",
           "LogSigmoid", "LogSoftmax",
           "Mish", "PReLU", "ReLU", "ReLU6", "Sigmoid", "SiLU", "Softmax", "Softmin", "Softplus",
           "Softsign", "Tanh", "Dropout", "Bilinear", "Flatten", "Identity", "Linear", "Maxout",
           "Unflatten", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding", "EmbeddingBag",
           "MultiheadAttention", "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
           "EchoStateNetwork", "LeakyRNN", "Dropout1d", "Dropout2d", "GroupNorm",
           "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
           "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d", "GRU", "LSTM", "RNN", "RNNBase",
           "GRUCell", "LSTMCell", "RNNCell", "RNNCellBase", "PositionalEncoding", "Transformer",
           "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerEncoderLayer", "Fold", "Unfold", "Upsample", "UpsamplingBilinear2d",
           "UpsamplingNearest2d"]
from .adaptive import AdaptiveLogSoftmaxWithLoss
from .extra import __all__ as _extra_names
from .extra import *  # noqa: F403  (shrinks, GLU, RReLU, Softmax2d, LPPool*, MaxUnpool*)
from .lazy import __all__ as _lazy_names
from .lazy import *  # noqa: F403  (LazyLinear, LazyConv*, LazyConvTranspose*, LazyBatchNorm*, ...)

__all__ += (_volumetric_names + _padding_names + _norm_extra_names + _lazy_names +
            _extra_names + ["AdaptiveLogSoftmaxWithLoss"])
