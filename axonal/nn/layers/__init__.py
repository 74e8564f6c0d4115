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
from .sparse import Embedding
from .transformer import (
                         PositionalEncoding,
                         Transformer,
                         TransformerDecoder,
                         TransformerDecoderLayer,
                         TransformerEncoder,
                         TransformerEncoderLayer,
)
from .upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["CELU", "ELU", "GELU", "SELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU",
           "Threshold",
           "LogSigmoid", "LogSoftmax",
           "Mish", "PReLU", "ReLU", "ReLU6", "Sigmoid", "SiLU", "Softmax", "Softmin", "Softplus",
           "Softsign", "Tanh", "Dropout", "Bilinear", "Flatten", "Identity", "Linear", "Maxout",
           "Unflatten", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding",
           "MultiheadAttention", "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
           "EchoStateNetwork", "LeakyRNN", "Dropout1d", "Dropout2d", "GroupNorm",
           "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
           "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d", "GRU", "LSTM", "RNN", "RNNBase",
           "GRUCell", "LSTMCell", "RNNCell", "RNNCellBase", "PositionalEncoding", "Transformer",
           "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerEncoderLayer", "Fold", "Unfold", "Upsample", "UpsamplingBilinear2d",
           "UpsamplingNearest2d"]
