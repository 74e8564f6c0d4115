"""Leaky-integrator recurrent networks: LeakyRNN (trained by backprop) and EchoStateNetwork
(reservoir computing: only a linear readout is trained, in closed form). The Mackey-Glass series
they are usually tested on is `axonal.datasets.mackey_glass`.

LeakyRNN. Each unit is a leaky integrator with time constant 1 / (1 - alpha):

    h_t = alpha h_{t-1} + (1 - alpha) f(W_hh h_{t-1} + W_ih x_t + b)

alpha = 0 is the Elman RNN; alpha near 1 makes the state change slowly, so it keeps information
for ~1 / (1 - alpha) steps, and the Jacobian dh_t/dh_{t-1} = alpha I + (1 - alpha) diag(f') W_hh
keeps an identity part that slows the vanishing of gradients. alpha is fixed (a buffer) or learned
(stored as a logit so that alpha = sigmoid(alpha_logit) stays in (0, 1)).

EchoStateNetwork (Jaeger 2001). A fixed random sparse reservoir W (N x N), rescaled so that its
spectral radius rho(W) is below ~1 (the echo state property: the state forgets its initial
condition and becomes a function of the input history), driven through fixed input weights:

    x_t = (1 - a) x_{t-1} + a tanh(W_in [1; u_t] + W x_{t-1})        a = leak rate
    y_t = W_out [1; u_t; x_t]

Only W_out is learned, by ridge regression on the collected states (after a washout):
W_out = Y Z^T (Z Z^T + beta I)^{-1}, a linear least-squares problem solved exactly in one step.
"""
import math

import numpy as np

from ... import backend
from ..._errors import ShapeError
from ...ops import relu, sigmoid, stack, tanh
from ...ops.linalg import linear as _linear
from ...tensor import Tensor, constant
from .. import init
from ..module import Module, Parameter
from ._util import new_param, shape_error

__all__ = ["EchoStateNetwork", "LeakyRNN"]


class LeakyRNN(Module):
    """forward(input (T, B, in) or (B, T, in) with batch_first, h0 (B, H)) -> (output, h_n)."""

    def __init__(self, input_size, hidden_size, alpha=0.9, learn_alpha=False, nonlinearity="tanh",
                 bias=True, batch_first=False, device=None, dtype=None):
        super().__init__()
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"LeakyRNN: alpha must be in [0, 1), got {alpha}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"LeakyRNN: unknown nonlinearity {nonlinearity!r}")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.nonlinearity, self.batch_first = nonlinearity, bool(batch_first)
        self.learn_alpha = bool(learn_alpha)
        self.weight_ih = new_param((self.hidden_size, self.input_size), dtype, device)
        self.weight_hh = new_param((self.hidden_size, self.hidden_size), dtype, device)
        self.bias = new_param((self.hidden_size,), dtype, device) if bias else None
        logit = math.log(alpha / (1 - alpha)) if alpha > 0 else -30.0
        if self.learn_alpha:
            self.alpha_logit = Parameter(Tensor([logit], dtype=self.weight_hh.dtype))
        else:
            self.register_buffer("alpha_logit", Tensor([logit], dtype=self.weight_hh.dtype))
        self.reset_parameters()

    @property
    def alpha(self):
        return sigmoid(self.alpha_logit)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in (self.weight_ih, self.weight_hh, self.bias):
            if p is not None:
                init.uniform_(p, -stdv, stdv)

    def forward(self, input, h0=None):
        if input.ndim != 3 or input.shape[-1] != self.input_size:
            raise shape_error(self, f"expected input (T, B, {self.input_size}) (batch_first: "
                              f"(B, T, {self.input_size})), got {tuple(input.shape)}")
        x = input.transpose(0, 1) if self.batch_first else input
        t_len, batch = x.shape[0], x.shape[1]
        gx = _linear(x, self.weight_ih, self.bias)  # the input drive of every step: one GEMM
        h = h0 if h0 is not None else constant(backend.xp_of(x._data).zeros((batch, self.hidden_size), x._data.dtype))
        if tuple(h.shape) != (batch, self.hidden_size):
            raise shape_error(self, f"expected h0 of shape {(batch, self.hidden_size)}, got "
                              f"{tuple(h.shape)}")
        a = self.alpha
        f = tanh if self.nonlinearity == "tanh" else relu
        outs = []
        for t in range(t_len):
            h = a * h + (1 - a) * f(gx[t] + _linear(h, self.weight_hh))
            outs.append(h)
        out = stack(outs, 0)
        return (out.transpose(0, 1) if self.batch_first else out), h

    def extra_repr(self):
        return (f"{self.input_size}, {self.hidden_size}, alpha={float(self.alpha.item()):.4g}, "
                f"learn_alpha={self.learn_alpha}")


class EchoStateNetwork(Module):
    """Leaky ESN with a ridge-regression readout; see the module docstring.

    Args:
        input_size, reservoir_size, output_size: dimensions of u_t, x_t, y_t.
        spectral_radius: rho(W) after rescaling. density: fraction of nonzero reservoir weights.
        input_scaling: W_in ~ U(-input_scaling, input_scaling). leak_rate: a in (0, 1].
        ridge: beta, the Tikhonov regularization of the readout. seed: reservoir generator seed.

    fit(u, y, washout) trains the readout; forward(u) returns y for a driving sequence (T, in) or
    (T, B, in); generate(n, u_warmup) runs the ESN autonomously, feeding each output back as the
    next input (output_size == input_size).
    """

    def __init__(self, input_size, reservoir_size, output_size, spectral_radius=0.9, density=0.1,
                 input_scaling=1.0, leak_rate=1.0, ridge=1e-6, seed=0):
        super().__init__()
        if not 0 < leak_rate <= 1 or not 0 < density <= 1:
            raise ValueError(f"EchoStateNetwork: leak_rate and density must be in (0, 1], got "
                             f"{leak_rate} and {density}")
        self.input_size, self.reservoir_size = int(input_size), int(reservoir_size)
        self.output_size, self.leak_rate, self.ridge = int(output_size), float(leak_rate), float(ridge)
        self.spectral_radius, self.density = float(spectral_radius), float(density)
        self.input_scaling = float(input_scaling)
        rng = np.random.default_rng(seed)
        n = self.reservoir_size
        w = rng.uniform(-1, 1, (n, n)) * (rng.random((n, n)) < density)
        radius = np.abs(np.linalg.eigvals(w)).max()
        w *= spectral_radius / radius if radius > 0 else 0.0
        w_in = rng.uniform(-input_scaling, input_scaling, (n, 1 + self.input_size))
        self.register_buffer("weight_res", Tensor(w))
        self.register_buffer("weight_in", Tensor(w_in))
        self.register_buffer("readout", Tensor(np.zeros((self.output_size,
                                                         1 + self.input_size + n))))

    def _check(self, u):
        arr = np.asarray(u._data if isinstance(u, Tensor) else u, dtype=np.float64)
        if arr.ndim == 1 and self.input_size == 1:
            arr = arr[:, None]
        if arr.ndim not in (2, 3) or arr.shape[-1] != self.input_size:
            raise ShapeError(f"EchoStateNetwork({self.input_size}, {self.reservoir_size}): "
                             f"expected input (T, {self.input_size}) or (T, B, "
                             f"{self.input_size}), got {arr.shape}")
        return arr

    def states(self, u, x0=None):
        """Reservoir states (T, [B,] N) driven by u, from x0 (default zeros)."""
        u = self._check(u)
        w, w_in, a = self.weight_res._data, self.weight_in._data, self.leak_rate
        x = np.zeros(u.shape[1:-1] + (self.reservoir_size,)) if x0 is None else np.array(x0)
        out = np.empty(u.shape[:-1] + (self.reservoir_size,))
        drive = u @ w_in[:, 1:].T + w_in[:, 0]  # the input part of every step at once
        for t in range(u.shape[0]):
            x = (1 - a) * x + a * np.tanh(drive[t] + x @ w.T)
            out[t] = x
        return out

    def _features(self, u, x):
        ones = np.ones(u.shape[:-1] + (1,))
        return np.concatenate([ones, u, x], axis=-1)

    def fit(self, u, y, washout=100):
        """Ridge-regression readout from the states after `washout` steps; returns the training
        NRMSE (root mean squared error / std of y)."""
        u = self._check(u)
        y = np.asarray(y._data if isinstance(y, Tensor) else y, dtype=np.float64)
        y = y[:, None] if y.ndim == 1 else y
        if y.shape[:-1] != u.shape[:-1] or y.shape[-1] != self.output_size:
            raise ShapeError(f"EchoStateNetwork.fit: targets {y.shape} do not match inputs "
                             f"{u.shape} and output_size {self.output_size}")
        z = self._features(u, self.states(u))[washout:].reshape(-1, self.readout.shape[1])
        yt = y[washout:].reshape(-1, self.output_size)
        gram = z.T @ z + self.ridge * np.eye(z.shape[1])
        w_out = np.linalg.solve(gram, z.T @ yt).T  # = Y Z^T (Z Z^T + beta I)^-1
        self.readout._data[...] = w_out
        pred = z @ w_out.T
        return float(np.sqrt(np.mean((pred - yt) ** 2)) / (yt.std() + 1e-12))

    def forward(self, u):
        u = self._check(u)
        y = self._features(u, self.states(u)) @ self.readout._data.T
        return Tensor(y.astype(np.float32 if isinstance(u, np.ndarray) else y.dtype))

    def generate(self, n_steps, u_warmup):
        """Drive with u_warmup (T, in), then run closed-loop for n_steps; returns (n_steps, out)."""
        if self.output_size != self.input_size:
            raise ValueError("EchoStateNetwork.generate needs output_size == input_size")
        u = self._check(u_warmup)
        x = self.states(u)[-1]
        w, w_in, a, w_out = self.weight_res._data, self.weight_in._data, self.leak_rate, \
            self.readout._data
        y = self._features(u[-1], x) @ w_out.T
        out = np.empty((n_steps, self.output_size))
        for t in range(n_steps):
            out[t] = y
            x = (1 - a) * x + a * np.tanh(w_in[:, 0] + w_in[:, 1:] @ y + w @ x)
            y = self._features(y, x) @ w_out.T
        return Tensor(out)

    def extra_repr(self):
        return (f"{self.input_size}, {self.reservoir_size}, {self.output_size}, "
                f"spectral_radius={self.spectral_radius}, leak_rate={self.leak_rate}")
