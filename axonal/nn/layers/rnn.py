"""Recurrent layers with PyTorch's API: RNN (tanh / relu), LSTM, GRU.

    lstm = nn.LSTM(input_size=10, hidden_size=20, num_layers=2, batch_first=True)
    out, (h_n, c_n) = lstm(x)          # x (B, T, 10) -> out (B, T, 20), h_n, c_n (2, B, 20)

Parameters, names and layouts are PyTorch's, so `load_state_dict(torch_model.state_dict())` works:
for layer k and direction suffix '' or '_reverse',

    weight_ih_l{k}{suffix}  (G*H, input)   input projection, input = input_size or D*H for k > 0
    weight_hh_l{k}{suffix}  (G*H, H)       recurrent weight
    bias_ih_l{k}{suffix}, bias_hh_l{k}{suffix}  (G*H,)

with the gates stacked as LSTM (i, f, g, o) G=4, GRU (r, z, n) G=3, RNN G=1; all drawn from
U(-1/sqrt(H), 1/sqrt(H)).

How a layer runs (see `axonal.ops.rnn`): the input projection of all T steps is ONE GEMM,
gx = x W_ih^T + b_ih over the (T*B, input) matrix; then `recurrence` walks the steps with one small
GEMM and one fused cell kernel per step, recorded as a single graph node (constant graph size, no
recursion: 1,000-step sequences train fine; memory linear in T). A bidirectional layer runs a second
recurrence over the same gx layout in reverse time and concatenates the two outputs per step. Dropout
(training only) is applied to the output of every layer but the last.

Variable lengths: pass an `axonal.nn.utils.rnn.PackedSequence` (pack_padded_sequence); the layer
then updates only the sequences still running at each step, so h_n holds each sequence's state at
its own last step (first step for the reverse direction), and the output is a PackedSequence.
Unbatched input (T, input) with h0 (L*D, H) is accepted too.
"""
import math
import warnings

import numpy as np

from ..._errors import DTypeError
from ...ops import cat, index_select, reshape, stack, transpose
from ...ops.linalg import linear as _linear
from ...ops.rnn import GATES, recurrence
from .. import functional as F
from .. import init
from ..module import Module
from ..utils.rnn import PackedSequence
from ._util import check_tensor, new_param, shape_error, who

__all__ = ["GRU", "LSTM", "RNN", "RNNBase"]


class RNNBase(Module):
    """Shared machinery; `mode` is 'lstm', 'gru', 'rnn_tanh' or 'rnn_relu'."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if mode not in GATES:
            raise ValueError(f"unknown RNN mode {mode!r}")
        if proj_size:
            raise NotImplementedError(f"{type(self).__name__}: proj_size is not supported")
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or \
                not 0 <= dropout <= 1:
            raise ValueError(f"dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        if int(hidden_size) <= 0 or int(num_layers) <= 0:
            raise ValueError(f"{type(self).__name__}: hidden_size and num_layers must be positive, "
                             f"got {hidden_size} and {num_layers}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        self.mode = mode
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers, self.bias = int(num_layers), bool(bias)
        self.batch_first, self.dropout = bool(batch_first), float(dropout)
        self.bidirectional, self.proj_size = bool(bidirectional), 0
        g = GATES[mode] * self.hidden_size
        dirs = 2 if self.bidirectional else 1
        self._flat_weights_names = []
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else self.hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (g, in_size)), ("weight_hh", (g, self.hidden_size))]
                if self.bias:
                    shapes += [("bias_ih", (g,)), ("bias_hh", (g,))]
                for name, shape in shapes:
                    setattr(self, name + sfx, new_param(shape, dtype, device))
                    self._flat_weights_names.append(name + sfx)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    @property
    def num_directions(self):
        return 2 if self.bidirectional else 1

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in self._flat_weights_names if n.endswith(sfx)]
                for sfx in self._suffixes()]

    def flatten_parameters(self):
        """PyTorch's cuDNN weight packing; the weights are used where they are, so a no-op (as on
        PyTorch's CPU)."""

    def _suffixes(self):
        return [f"_l{k}" + ("_reverse" if d else "") for k in range(self.num_layers)
                for d in range(self.num_directions)]

    def _weights(self, sfx):
        get = self._parameters.get
        return (get("weight_ih" + sfx), get("weight_hh" + sfx), get("bias_ih" + sfx),
                get("bias_hh" + sfx))

    def _check_input(self, x, batched):
        check_tensor(self, x)
        if x.ndim != (3 if batched else 2) or x.shape[-1] != self.input_size:
            raise shape_error(self, f"expected input of shape (T, B, {self.input_size})"
                              f"{' with batch_first=True: (B, T, ' + str(self.input_size) + ')' if self.batch_first else ''}"
                              f" or unbatched (T, {self.input_size}), got {tuple(x.shape)}")
        w = self.weight_ih_l0
        if x.dtype is not w.dtype:
            raise DTypeError(f"{who(self)}: expected input of dtype {w.dtype} (the weights'), got "
                             f"{x.dtype}; use x.to({w.dtype}) or model.to(dtype)")

    def _check_state(self, h, batch, name):
        want = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if h is not None and tuple(h.shape) != want:
            raise shape_error(self, f"expected {name} of shape {want} "
                              f"(num_layers * num_directions, batch, hidden_size), got "
                              f"{tuple(h.shape)}")

    def _run(self, x2d, batch_sizes, h0, c0):
        """All layers on time-major 2-D input (N, input); returns (out (N, D*H), h_n, c_n)."""
        layer_in, hs, cs = x2d, [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                w_ih, w_hh, b_ih, b_hh = self._weights(self._suffixes()[k])
                gx = _linear(layer_in, w_ih, b_ih)
                out, h, c = recurrence(self.mode, gx, w_hh, b_hh,
                                       h0[k] if h0 is not None else None,
                                       c0[k] if c0 is not None else None,
                                       batch_sizes, reverse=d == 1)
                outs.append(out)
                hs.append(h)
                cs.append(c)
            layer_in = outs[0] if len(outs) == 1 else cat(outs, 1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        return layer_in, stack(hs, 0), (stack(cs, 0) if self.mode == "lstm" else None)

    def forward(self, input, hx=None):
        lstm = self.mode == "lstm"
        h0, c0 = (hx if hx is not None else (None, None)) if lstm else (hx, None)
        if lstm and hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"{who(self)}: hx must be a tuple (h_0, c_0) for an LSTM")
        if isinstance(input, PackedSequence):
            data, sizes = input.data, np.asarray(input.batch_sizes._data, dtype=np.int64)
            self._check_input(data, batched=False)
            batch = int(sizes[0])
            for name, h in (("h_0", h0), ("c_0", c0)):
                self._check_state(h, batch, name)
            if input.sorted_indices is not None:  # states come in the caller's batch order
                order = input.sorted_indices._data
                h0 = index_select(h0, 1, order) if h0 is not None else None
                c0 = index_select(c0, 1, order) if c0 is not None else None
            out, hn, cn = self._run(data, sizes, h0, c0)
            if input.unsorted_indices is not None:
                inv = input.unsorted_indices._data
                hn = index_select(hn, 1, inv)
                cn = index_select(cn, 1, inv) if cn is not None else None
            output = PackedSequence(out, input.batch_sizes, input.sorted_indices,
                                    input.unsorted_indices)
            return output, ((hn, cn) if lstm else hn)
        batched = input.ndim == 3
        self._check_input(input, batched)
        if not batched:  # (T, input) with states (L*D, H): run as a batch of one
            for name, h in (("h_0", h0), ("c_0", c0)):
                if h is not None and h.ndim != 2:
                    raise shape_error(self, f"for unbatched input {name} must be 2-D "
                                      f"(num_layers * num_directions, hidden_size), got "
                                      f"{tuple(h.shape)}")
            input = reshape(input, (input.shape[0], 1, input.shape[1]))
            h0, c0 = (s.unsqueeze(1) if s is not None else None for s in (h0, c0))
        elif self.batch_first:
            input = transpose(input, 0, 1)
        t_len, batch = input.shape[0], input.shape[1]
        for name, h in (("h_0", h0), ("c_0", c0)):
            self._check_state(h, batch, name)
        x2d = reshape(input, (t_len * batch, self.input_size))
        out, hn, cn = self._run(x2d, np.full(t_len, batch, np.int64), h0, c0)
        out = reshape(out, (t_len, batch, out.shape[1]))
        if not batched:
            out, hn = reshape(out, (t_len, out.shape[2])), hn.squeeze(1)
            cn = cn.squeeze(1) if cn is not None else None
        elif self.batch_first:
            out = transpose(out, 0, 1)
        return out, ((hn, cn) if lstm else hn)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}, expected 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("rnn_" + nonlinearity, input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, device=device, dtype=dtype)

    def extra_repr(self):
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, o = sigmoid(.), candidate g = tanh(.),
    c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t). Returns (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit: r, z = sigmoid(.), n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h_t = (1 - z) * n + z * h_{t-1}."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("gru", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)
