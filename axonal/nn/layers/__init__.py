"""The layer Modules (loss modules live in `loss.py`, re-exported by `axonal.nn`)."""
from .activation import (CELU, ELU, GELU, SELU, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, Mish,
                         PReLU, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softmin, Softplus, Softsign,
                         Tanh)
from .dropout import Dropout
from .linear import Bilinear, Flatten, Identity, Linear, Maxout, Unflatten
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .sparse import Embedding

__all__ = ["CELU", "ELU", "GELU", "SELU", "Hardtanh", "LeakyReLU", "LogSigmoid", "LogSoftmax",
           "Mish", "PReLU", "ReLU", "ReLU6", "Sigmoid", "SiLU", "Softmax", "Softmin", "Softplus",
           "Softsign", "Tanh", "Dropout", "Bilinear", "Flatten", "Identity", "Linear", "Maxout",
           "Unflatten", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding"]
