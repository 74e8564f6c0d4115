"""`torch.nn.modules.activation`'s import path: activations (and MultiheadAttention, which PyTorch
keeps here)."""
from ..layers.activation import (
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
from ..layers.attention import MultiheadAttention

__all__ = ["CELU", "ELU", "GELU", "SELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU",
           "Threshold",
           "LogSigmoid", "LogSoftmax", "Mish", "MultiheadAttention", "PReLU", "ReLU", "ReLU6",
           "SiLU", "Sigmoid", "Softmax", "Softmin", "Softplus", "Softsign", "Tanh"]

from ..layers.extra import GLU, Hardshrink, RReLU, Softmax2d, Softshrink, Tanhshrink  # noqa: E402

__all__ += ["GLU", "Hardshrink", "RReLU", "Softmax2d", "Softshrink", "Tanhshrink"]
