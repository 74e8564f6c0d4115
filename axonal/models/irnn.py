"""IRNN (Le, Jaitly & Hinton 2015) and a recurrent sequence classifier.

Layer 8. An IRNN is a plain ReLU RNN, h_t = relu(W_hh h_{t-1} + W_ih x_t + b), initialized with
W_hh = I and b = 0 (and small random W_ih). At initialization the recurrence copies the state forward
(h_t = h_{t-1} + input drive, for a positive state), so the Jacobian dh_t/dh_{t-1} = diag(relu') W_hh
is the identity on active units: gradients neither vanish nor explode over long spans, unlike a
tanh RNN whose Jacobian carries a factor (1 - h^2) < 1 at every step. That lets a vanilla RNN learn
long-range dependencies about as well as an LSTM on tasks like pixel- or row-by-row MNIST.

`SequenceClassifier` reads a sequence (B, T, F) with an RNN ('irnn', 'rnn' (tanh), 'lstm' or 'gru')
and classifies from the last hidden state; images (B, 1, H, W) are read as H steps of W pixels.
"""
from .. import nn
from .._config import no_grad
from ..nn.layers.rnn import GRU, LSTM, RNN

__all__ = ["IRNN", "SequenceClassifier", "identity_init_"]


def identity_init_(rnn, scale=1.0, input_std=1e-3):
    """IRNN init of an nn.RNN in place: W_hh = scale * I, biases 0, W_ih ~ N(0, input_std^2)."""
    import numpy as np

    with no_grad():
        for name, p in rnn.named_parameters():
            if name.startswith("weight_hh"):
                p._data[...] = scale * np.eye(p.shape[0], dtype=p._data.dtype)
            elif name.startswith("bias"):
                p._data[...] = 0
            else:
                p._data[...] = np.random.default_rng(0).normal(0, input_std, p.shape)
    return rnn


class IRNN(RNN):
    """nn.RNN with nonlinearity='relu' and the identity initialization."""

    def __init__(self, input_size, hidden_size, num_layers=1, batch_first=True, scale=1.0,
                 input_std=1e-3):
        super().__init__(input_size, hidden_size, num_layers, nonlinearity="relu",
                         batch_first=batch_first)
        self.scale, self.input_std = float(scale), float(input_std)
        identity_init_(self, self.scale, self.input_std)


class SequenceClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes, cell="lstm", num_layers=1):
        super().__init__()
        self.cell = cell
        if cell == "irnn":
            self.rnn = IRNN(input_size, hidden_size, num_layers, input_std=1.0 / input_size)
        elif cell == "rnn":
            self.rnn = RNN(input_size, hidden_size, num_layers, batch_first=True)
        elif cell in ("lstm", "gru"):
            self.rnn = (LSTM if cell == "lstm" else GRU)(input_size, hidden_size, num_layers,
                                                         batch_first=True)
        else:
            raise ValueError(f"SequenceClassifier: unknown cell {cell!r}, expected irnn, rnn, "
                             "lstm or gru")
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        if x.ndim == 4:  # images (B, 1, H, W): H steps of W pixels
            x = x.reshape(x.shape[0], x.shape[2], x.shape[3])
        out, _ = self.rnn(x)
        return self.head(out[:, -1])
