"""`recurrence`: all time steps of one recurrent layer in one direction, as one differentiable op.

A recurrent layer computes, for t = 1..T,

    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh,      h_t = cell(a_t, state_{t-1})

The input half of a_t does not depend on the recurrence, so the caller computes it for every step at
once - one large GEMM, `gx = linear(x, W_ih, b_ih)` of shape (N, G) - and passes it here. What is left
is inherently sequential: per step one small GEMM h_{t-1} W_hh^T (BLAS) and one fused cell kernel
(`axonal.kernels.rnn`, `.gru`; for float32 LSTMs one kernel runs every step, see
`lstm_sequence_forward`). Recording the whole loop as ONE graph node (instead of ~10 ops per step) keeps
the Python overhead per step at a few microseconds and the graph at a constant size, so a sequence
of 1,000 or 100,000 steps trains without recursion and with memory linear in T (the saved gate
activations).

Backward is backpropagation through time. Walking the steps in reverse with the incoming dL/dh_t
(from the output at t and from step t+1):

    dL/da_t     = dL/dh_t * cell'(a_t)                         (fused kernel)
    dL/dh_{t-1} = dL/da_t W_hh       (+ the direct path z * dL/dh_t of the GRU)
    dL/dW_hh    = sum_t dL/da_t^T h_{t-1},   dL/db_hh = sum_t dL/da_t,   dL/dgx_t = dL/da_t

The sums over t are done after the loop as one GEMM over the saved h_{t-1} of every step. The LSTM's
cell state c_t = f * c_{t-1} + i * g carries dL/dc back through the forget gate only
(dL/dc_{t-1} = f * dL/dc_t): an additive path with no W_hh product and no squashing derivative, which
is why the gradient does not vanish the way tanh RNN gradients, multiplied by W_hh^T diag(1 - h^2)
at every step, do.

Variable-length batches use PyTorch's packed layout: `batch_sizes[t]` sequences are active at step t
(sorted by decreasing length), rows of step t are gx[offset_t : offset_t + batch_sizes[t]]. A padded
batch of equal lengths is the special case batch_sizes = [B] * T, i.e. gx is just (T*B, G).

When the backward pass is itself recorded (create_graph=True: double backprop, e.g. the Pascanu
regularizer) the loop is recomputed with differentiable Tensor ops and the BPTT formulas above are
applied as Tensor ops (`_backward_graph`), so second derivatives are exact.
"""
import numpy as np

from .. import kernels as K
from .._errors import ShapeError
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import constant
from .linalg import matmul
from .shape import cat, transpose
from .unary import relu, sigmoid, tanh

GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


class Recurrence(Function):
    """Positional inputs (gx, h0, c0, w_hh, b_hh); outputs (out (N, H), h_n (B, H)[, c_n])."""

    @staticmethod
    def forward(ctx, gx, h0, c0, w_hh, b_hh, *, mode, batch_sizes, reverse):
        x = gx._data
        xp, dt = xp_of(x), x.dtype
        k_rnn, k_gru = K.rnn, K.gru
        x = xp.ascontiguousarray(x)
        n_rows, g = x.shape
        hid, b0 = w_hh.shape[1], int(batch_sizes[0])
        offs = np.concatenate([[0], np.cumsum(batch_sizes)]).tolist()
        sizes = [int(s) for s in batch_sizes]
        steps = range(len(sizes) - 1, -1, -1) if reverse else range(len(sizes))
        h = xp.array(h0._data, dtype=dt) if h0 is not None else xp.zeros((b0, hid), dt)
        w = w_hh._data
        gemm = _RowGemm(xp, xp.ascontiguousarray(w), b0)  # gh = h_{t-1} W_hh^T
        b = xp.ascontiguousarray(b_hh._data) if b_hh is not None else xp.zeros(g, dt)
        out = xp.empty((n_rows, hid), dt)
        hprev = xp.empty((n_rows, hid), dt)
        gh = xp.empty((b0, g), dt)
        saved = {"hprev": hprev, "out": out}
        if mode == "lstm":
            c = xp.array(c0._data, dtype=dt) if c0 is not None else xp.zeros((b0, hid), dt)
            gates, cprev, tc = xp.empty((n_rows, g), dt), xp.empty((n_rows, hid), dt), \
                xp.empty((n_rows, hid), dt)
            saved.update(gates=gates, cprev=cprev, tc=tc)
            if k_rnn.lstm_sequence_forward(x, gemm.m, b, h, c, hprev, cprev, gates, tc, out,
                                       *_packing(offs, sizes), reverse):
                steps = ()  # the sequence kernel ran every step
            for t in steps:
                o, n = offs[t], sizes[t]
                e = o + n
                hp, cp, ght = hprev[o:e], cprev[o:e], gh[:n]
                hp[...] = h[:n]
                cp[...] = c[:n]
                gemm(hp, ght)
                k_rnn.lstm_cell_forward(x[o:e], ght, b, cp, gates[o:e], c[:n], tc[o:e], out[o:e])
                h[:n] = out[o:e]
        elif mode == "gru":
            gates, hn = xp.empty((n_rows, g), dt), xp.empty((n_rows, hid), dt)
            saved.update(gates=gates, hn=hn)
            for t in steps:
                o, n = offs[t], sizes[t]
                e = o + n
                hp, ght = hprev[o:e], gh[:n]
                hp[...] = h[:n]
                gemm(hp, ght)
                k_gru.gru_cell_forward(x[o:e], ght, b, hp, gates[o:e], hn[o:e], out[o:e])
                h[:n] = out[o:e]
        else:
            use_relu = mode == "rnn_relu"
            for t in steps:
                o, n = offs[t], sizes[t]
                e = o + n
                hp, ght = hprev[o:e], gh[:n]
                hp[...] = h[:n]
                gemm(hp, ght)
                k_gru.rnn_cell_forward(x[o:e], ght, b, out[o:e], use_relu)
                h[:n] = out[o:e]
        ctx.save_for_backward(gx, h0, c0, w_hh, b_hh)
        ctx.save(mode=mode, offs=offs, sizes=sizes, reverse=reverse, arrays=saved)
        return (out, h, c) if mode == "lstm" else (out, h)

    @staticmethod
    def backward(ctx, dout, dhn, dcn=None):
        return _backward_graph(ctx, dout, dhn, dcn)

    @staticmethod
    def backward_arrays(ctx, dout, dhn, dcn=None):
        """First-order BPTT on the saved gate activations, with the fused cell kernels."""
        w, s = ctx.saved_tensors[3]._data, ctx.arrays
        mode, offs, sizes = ctx.mode, ctx.offs, ctx.sizes
        k_rnn, k_gru = K.rnn, K.gru
        xp, dt = xp_of(w), w.dtype
        gout = xp.ascontiguousarray(dout, dtype=dt)
        n_rows = gout.shape[0]
        g = w.shape[0]
        dh = xp.array(dhn, dtype=dt)
        back_gemm = _RowGemm(xp, xp.ascontiguousarray(w.T), dh.shape[0])  # dh = dg W_hh
        dgx = xp.empty((n_rows, g), dt)
        dgh = xp.empty((n_rows, g), dt) if mode == "gru" else dgx
        back = range(len(sizes)) if ctx.reverse else range(len(sizes) - 1, -1, -1)
        if mode == "lstm":
            dc = xp.array(dcn, dtype=dt)
            gates, tc, cprev = s["gates"], s["tc"], s["cprev"]
            if k_rnn.lstm_sequence_backward(gout, back_gemm.m, dh, dc, gates, tc, cprev, dgx,
                                        *_packing(offs, sizes), ctx.reverse):
                back = ()  # the sequence kernel ran every step
            for t in back:
                o, n = offs[t], sizes[t]
                e = o + n
                d = dh[:n]
                d += gout[o:e]
                k_rnn.lstm_cell_backward(d, dc[:n], gates[o:e], tc[o:e], cprev[o:e], dgx[o:e])
                back_gemm(dgx[o:e], d)
        elif mode == "gru":
            dc = None
            gates, hn, hprev = s["gates"], s["hn"], s["hprev"]
            direct = xp.empty_like(dh)
            for t in back:
                o, n = offs[t], sizes[t]
                e = o + n
                d = dh[:n]
                d += gout[o:e]
                k_gru.gru_cell_backward(d, gates[o:e], hn[o:e], hprev[o:e], dgx[o:e], dgh[o:e],
                                    direct[:n])
                back_gemm(dgh[o:e], d)
                d += direct[:n]
        else:
            dc, out, use_relu = None, s["out"], mode == "rnn_relu"
            for t in back:
                o, n = offs[t], sizes[t]
                e = o + n
                d = dh[:n]
                d += gout[o:e]
                k_gru.rnn_cell_backward(d, out[o:e], dgx[o:e], use_relu)
                back_gemm(dgx[o:e], d)
        need = ctx.needs_input_grad
        return (dgx if need[0] else None, dh if need[1] else None,
                dc if need[2] and dc is not None else None,
                K.mm(dgh.T, s["hprev"]) if need[3] else None, dgh.sum(0) if need[4] else None)


def _packing(offs, sizes):
    """(first row of each step, active rows of each step) as int64 arrays for the kernels."""
    return np.asarray(offs[:-1], np.int64), np.asarray(sizes, np.int64)


class _RowGemm:
    """out[...] = x @ m^T for the few rows x (n, Q) of one step; m (P, Q) is C-contiguous.

    Computed as the transpose of m x^T, (P, Q) x (Q, n), then copied back transposed (a few
    microseconds). With n = 32 rows OpenBLAS runs that orientation 1.3-1.5x faster single-threaded
    (0.22 against 0.33 ms for the backward 32 x 1024 x 256 product), and with 2 threads it does not
    stall: the (n, Q) x (Q, P) form split over two threads took 10-25x longer on a loaded 2-core
    machine (both measured with benchmarks-style interleaved runs)."""

    def __init__(self, xp, m, batch):
        self.xp, self.m = xp, m
        self.buf = xp.empty((m.shape[0], batch), m.dtype)

    def __call__(self, x, out):
        n = x.shape[0]
        buf = self.buf if n == self.buf.shape[1] else self.xp.empty((self.m.shape[0], n),
                                                                     self.m.dtype)
        K.mm(self.m, x.T, out=buf)
        out[...] = buf.T


def _rows(x, n, total):
    return x if n == total else x[:n]


def _merge(new, old, n, total):
    """The state after a step: new rows for the n active sequences, the others unchanged."""
    return new if n == total else cat([new, old[n:]], 0)


def _backward_graph(ctx, dout, dhn, dcn):
    """BPTT as differentiable Tensor ops (create_graph=True). The forward is recomputed from the saved
    inputs so that every activation is a function of them in the graph; then the same formulas as
    the kernels are applied step by step in reverse."""
    gx, h0, c0, w, b = ctx.saved_tensors
    mode, offs, sizes = ctx.mode, ctx.offs, ctx.sizes
    hid, b0 = w.shape[1], sizes[0]
    xp = xp_of(w._data)
    zeros = constant(xp.zeros((b0, hid), w._data.dtype))
    h = h0 if h0 is not None else zeros
    c = (c0 if c0 is not None else zeros) if mode == "lstm" else None
    steps = list(range(len(sizes) - 1, -1, -1) if ctx.reverse else range(len(sizes)))
    wt = transpose(w, 0, 1)
    cache = {}
    for t in steps:  # forward, recorded
        o, n = offs[t], sizes[t]
        hp, xt = _rows(h, n, b0), gx[o:o + n]
        gh = matmul(hp, wt)
        gh = gh + b if b is not None else gh
        if mode == "lstm":
            cp = _rows(c, n, b0)
            a = xt + gh
            i, f = sigmoid(a[:, :hid]), sigmoid(a[:, hid:2 * hid])
            g, og = tanh(a[:, 2 * hid:3 * hid]), sigmoid(a[:, 3 * hid:])
            cn = f * cp + i * g
            tc = tanh(cn)
            hn = og * tc
            cache[t] = (hp, cp, i, f, g, og, tc)
            c = _merge(cn, c, n, b0)
        elif mode == "gru":
            r = sigmoid(xt[:, :hid] + gh[:, :hid])
            z = sigmoid(xt[:, hid:2 * hid] + gh[:, hid:2 * hid])
            m = gh[:, 2 * hid:]
            nn = tanh(xt[:, 2 * hid:] + r * m)
            hn = nn + z * (hp - nn)
            cache[t] = (hp, r, z, nn, m)
        else:
            hn = relu(xt + gh) if mode == "rnn_relu" else tanh(xt + gh)
            cache[t] = (hp, hn)
        h = _merge(hn, h, n, b0)
    dh, dc = dhn, dcn
    dgx, dw, db = {}, None, None
    for t in reversed(steps):  # backward through time, recorded
        o, n = offs[t], sizes[t]
        d = _rows(dh, n, b0) + dout[o:o + n]
        if mode == "lstm":
            hp, cp, i, f, g, og, tc = cache[t]
            dct = _rows(dc, n, b0) + d * og * (1 - tc * tc)
            da = cat([dct * g * i * (1 - i), dct * cp * f * (1 - f), dct * i * (1 - g * g),
                      d * tc * og * (1 - og)], 1)
            dc = _merge(dct * f, dc, n, b0)
            dax, prev = da, matmul(da, w)
        elif mode == "gru":
            hp, r, z, nn, m = cache[t]
            dan = d * (1 - z) * (1 - nn * nn)
            dar = dan * m * r * (1 - r)
            daz = d * (hp - nn) * z * (1 - z)
            dax, da = cat([dar, daz, dan], 1), cat([dar, daz, dan * r], 1)
            prev = d * z + matmul(da, w)
        else:
            hp, hn = cache[t]
            da = d * (hn > 0).to(d.dtype) if mode == "rnn_relu" else d * (1 - hn * hn)
            dax, prev = da, matmul(da, w)
        dgx[t] = dax
        gw, gb = matmul(transpose(da, 0, 1), hp), da.sum(0)
        dw = gw if dw is None else dw + gw
        db = gb if db is None else db + gb
        dh = _merge(prev, dh, n, b0)
    need = ctx.needs_input_grad
    return (cat([dgx[t] for t in range(len(sizes))], 0) if need[0] else None,
            dh if need[1] else None, dc if need[2] else None,
            dw if need[3] else None, db if need[4] else None)


def recurrence(mode, gx, w_hh, b_hh=None, h0=None, c0=None, batch_sizes=None, reverse=False):
    """Run one recurrent layer over precomputed input projections.

    Args:
        mode: 'lstm', 'gru', 'rnn_tanh' or 'rnn_relu'.
        gx: (N, G*H) input projections x_t W_ih^T + b_ih of every step, time-major: the B rows of
            step 0, then step 1, ... (packed layout when `batch_sizes` varies).
        w_hh: (G*H, H) recurrent weight; b_hh: (G*H,) recurrent bias or None.
        h0, c0: (B, H) initial states or None (zeros); c0 for 'lstm' only.
        batch_sizes: active sequences per step (non-increasing); default: one step of all N rows.
        reverse: process the steps from last to first (the backward direction of a bidirectional
            layer); outputs stay in time order.

    Returns (out (N, H), h_n (B, H), c_n (B, H) or None).
    """
    if mode not in GATES:
        raise ValueError(f"recurrence: unknown mode {mode!r}, expected one of {list(GATES)}")
    hid = w_hh.shape[1] if w_hh.ndim == 2 else -1
    if w_hh.ndim != 2 or w_hh.shape[0] != GATES[mode] * hid:
        raise ShapeError(f"recurrence({mode}): w_hh must be ({GATES[mode]}*H, H), got "
                         f"{tuple(w_hh.shape)}")
    if gx.ndim != 2 or gx.shape[1] != GATES[mode] * hid:
        raise ShapeError(f"recurrence({mode}): gx must be (N, {GATES[mode] * hid}), got "
                         f"{tuple(gx.shape)}")
    if batch_sizes is None:
        batch_sizes = [gx.shape[0]]
    batch_sizes = np.asarray(batch_sizes, dtype=np.int64).reshape(-1)
    if batch_sizes.sum() != gx.shape[0] or (batch_sizes <= 0).any() or \
            (np.diff(batch_sizes) > 0).any():
        raise ShapeError(f"recurrence({mode}): batch_sizes must be positive, non-increasing and sum "
                         f"to the {gx.shape[0]} rows of gx, got {batch_sizes.tolist()}")
    b0 = int(batch_sizes[0])
    for name, s in (("h0", h0), ("c0", c0)):
        if s is not None and tuple(s.shape) != (b0, hid):
            raise ShapeError(f"recurrence({mode}): {name} must be ({b0}, {hid}), got "
                             f"{tuple(s.shape)}")
    if mode != "lstm":
        c0 = None
    res = Recurrence.apply(gx, h0, c0, w_hh, b_hh, mode=mode, batch_sizes=batch_sizes,
                           reverse=bool(reverse))
    return (res[0], res[1], res[2] if mode == "lstm" else None)
