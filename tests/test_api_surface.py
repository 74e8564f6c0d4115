"""The names a PyTorch program uses exist under the same paths (`import axonal as torch` ports)."""
import pytest

import axonal
import axonal.nn as nn
import axonal.nn.functional as F

NN = """Module Parameter Sequential ModuleList ModuleDict Identity Flatten Unflatten Linear Bilinear
Embedding ReLU LeakyReLU PReLU ELU SELU GELU SiLU Sigmoid Tanh Softplus Softsign Hardtanh Hardsigmoid Hardswish Softmax
LogSoftmax Maxout Dropout BatchNorm1d LayerNorm Conv1d Conv2d ConvTranspose2d MaxPool1d MaxPool2d
AvgPool1d AvgPool2d AdaptiveAvgPool2d AdaptiveMaxPool2d BatchNorm2d GroupNorm Dropout2d Upsample
Unfold Fold RNN LSTM GRU RNNCell LSTMCell GRUCell LeakyRNN EchoStateNetwork MultiheadAttention
TransformerEncoderLayer TransformerDecoderLayer TransformerEncoder TransformerDecoder Transformer
MSELoss L1Loss CrossEntropyLoss NLLLoss BCELoss BCEWithLogitsLoss KLDivLoss""".split()

FUNCTIONAL = """relu sigmoid tanh softmax log_softmax linear dropout batch_norm layer_norm embedding
one_hot mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy
binary_cross_entropy_with_logits cross_entropy nll_loss kl_div gaussian_nll_loss conv1d conv2d
conv_transpose2d max_pool1d max_pool2d avg_pool1d avg_pool2d adaptive_avg_pool2d
adaptive_max_pool2d interpolate unfold fold pad group_norm dropout2d
scaled_dot_product_attention""".split()


@pytest.mark.parametrize("name", NN)
def test_nn_names(name):
    assert hasattr(nn, name), f"axonal.nn.{name} is missing"
    assert name in nn.__all__ or name in ("Module", "Parameter")


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_functional_names(name):
    assert callable(getattr(F, name, None)), f"axonal.nn.functional.{name} is missing"


def test_a_small_cnn_and_lstm_from_nn_alone():
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    assert tuple(cnn(axonal.randn(2, 1, 8, 8)).shape) == (2, 3)
    out, (h, c) = nn.LSTM(5, 7, batch_first=True)(axonal.randn(2, 3, 5))
    assert tuple(out.shape) == (2, 3, 7) and tuple(h.shape) == (1, 2, 7)
