"""Single-step recurrent cells with PyTorch's API: RNNCell, LSTMCell, GRUCell.

    cell = nn.LSTMCell(10, 20)
    h, c = cell(x_t, (h, c))       # x_t (B, 10) -> h, c (B, 20); unbatched (10,) works too

Parameters `weight_ih` (G*H, input), `weight_hh` (G*H, H), `bias_ih`, `bias_hh` (G*H,), gate order and
init as in the multi-step layers (`rnn.py`). A cell is the same computation as one step of the layer:
it calls `recurrence` with a single step, so the fused kernels (and the double-backward path) are
shared. Use a cell in a Python loop when each step needs custom logic (attention decoders,
scheduled sampling, per-step regularizers such as `axonal.nn.bptt.omega`); use the layer otherwise,
it is much faster.
"""
import math

from ..._errors import DTypeError
from ...ops.linalg import linear as _linear
from ...ops.rnn import GATES, recurrence
from .. import init
from ..module import Module
from ._util import new_param, shape_error, who

__all__ = ["GRUCell", "LSTMCell", "RNNCell", "RNNCellBase"]


class RNNCellBase(Module):
    def __init__(self, mode, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bool(bias)
        g = GATES[mode] * self.hidden_size
        self.weight_ih = new_param((g, self.input_size), dtype, device)
        self.weight_hh = new_param((g, self.hidden_size), dtype, device)
        if bias:
            self.bias_ih = new_param((g,), dtype, device)
            self.bias_hh = new_param((g,), dtype, device)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def _step(self, input, h0, c0):
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise shape_error(self, f"expected input of shape (B, {self.input_size}) or "
                              f"({self.input_size},), got {tuple(input.shape)}")
        if input.dtype is not self.weight_ih.dtype:
            raise DTypeError(f"{who(self)}: expected input of dtype {self.weight_ih.dtype} (the "
                             f"weights'), got {input.dtype}")
        unbatched = input.ndim == 1
        if unbatched:
            input = input.unsqueeze(0)
            h0, c0 = (s.unsqueeze(0) if s is not None else None for s in (h0, c0))
        batch = input.shape[0]
        for name, s in (("hx", h0), ("cx", c0)):
            if s is not None and tuple(s.shape) != (batch, self.hidden_size):
                raise shape_error(self, f"expected {name} of shape {(batch, self.hidden_size)}, "
                                  f"got {tuple(s.shape)}")
        gx = _linear(input, self.weight_ih, self.bias_ih)
        h, _, c = recurrence(self.mode, gx, self.weight_hh, self.bias_hh, h0, c0)
        if unbatched:
            h, c = h.squeeze(0), (c.squeeze(0) if c is not None else None)
        return h, c

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        nl = getattr(self, "nonlinearity", "tanh")
        return s + (f", nonlinearity={nl}" if nl != "tanh" else "")


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("rnn_" + nonlinearity, input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        return self._step(input, hx, None)[0]


class LSTMCell(RNNCellBase):
    """(h', c') from (h, c): c' = f * c + i * g, h' = o * tanh(c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("lstm", input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        h0, c0 = hx if hx is not None else (None, None)
        return self._step(input, h0, c0)


class GRUCell(RNNCellBase):
    """h' = (1 - z) * n + z * h with n = tanh(W_in x + b_in + r * (W_hn h + b_hn))."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("gru", input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        return self._step(input, hx, None)[0]
