"""Fused recurrent cell kernels: one time step of an LSTM, GRU or Elman RNN on a batch of rows.

The recurrent GEMM (h_{t-1} W_hh^T) stays in BLAS; everything element-wise that follows it - the
bias add, the gate nonlinearities, the cell update and, in backward, the local derivatives of all of
them - runs in one pass over the (rows, H) block instead of ~15 NumPy ufunc calls, each of which would
read and write the whole block again. Each kernel is serial: a (32, 256) block is too small to be worth
waking a thread pool (KERNELS.md). Gates use `sigmoid32`/`tanh32`, which vectorize; FTZ/DAZ is on inside
(saturated gates otherwise produce denormals and a 20x slower backward).

Layouts follow PyTorch: the pre-activations of the G gates are concatenated along the last axis,
LSTM (i, f, g, o), GRU (r, z, n), each block H wide. Arguments are 2-D arrays of `rows` rows; `gx` is
the input projection of this step (x_t W_ih^T + b_ih), `gh` the recurrent GEMM h_{t-1} W_hh^T without
bias, `b` the recurrent bias b_hh (zeros when the layer has no bias). Outputs are written into the
arrays passed (no allocation per step). The public functions run the kernel for NumPy float32
C-contiguous arrays and the same formulas in NumPy/CuPy otherwise (float64 for gradcheck, GPU).

LSTM   i, f, o = sigmoid(a_i, a_f, a_o), g = tanh(a_g), a = gx + gh + b
       c = f * c_prev + i * g,  h = o * tanh(c)
GRU    r, z = sigmoid(gx_rz + gh_rz + b_rz),  hn = gh_n + b_n,  n = tanh(gx_n + r * hn)
       h = (1 - z) * n + z * h_prev
RNN    h = tanh(gx + gh + b)   or relu(...)
"""
import numpy as np
from numba import njit

from ._jit import JIT, ftz_enter, ftz_exit, is_f32c, xp_of
from ._math import exp32, sigmoid32, tanh32

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_TWO = np.float32(2.0)


# ---------------------------------------------------------------------------------------------
# kernels
#
# Written as a sequence of short loops over 1-D row views, each touching at most ~4 arrays. LLVM
# vectorizes a loop only if it can prove (or check at run time) that its output does not overlap its
# inputs, and it gives up when that takes more than 8 pointer comparisons: one loop computing all
# four gates, c, tanh(c) and h from ~10 arrays ran scalar, 5x slower than these (measured: LSTM
# forward of a (32, 256) block 470 us -> 90 us).


@njit(inline="always", **JIT)
def _add3(out, x, y, z):
    for j in range(out.size):
        out[j] = x[j] + y[j] + z[j]


@njit(inline="always", **JIT)
def _sigmoid_(x):
    for j in range(x.size):
        x[j] = sigmoid32(x[j])


@njit(inline="always", **JIT)
def _tanh(out, x):
    for j in range(x.size):
        out[j] = tanh32(x[j])


@njit(inline="always", **JIT)
def _tanh_fast(out, x):
    """tanh(x) = 1 - 2 / (e^{2x} + 1): one exp32 instead of tanh32's exp, polynomial and select
    (2.3x faster cell forward). Absolute error ~1e-7; relative error grows for |x| < 1e-3, which
    does not matter for gate values and cell outputs (absolute scale ~1)."""
    for j in range(x.size):
        out[j] = _ONE - _TWO / (exp32(x[j] + x[j]) + _ONE)


@njit(inline="always", **JIT)
def _fma_(out, x, y):
    for j in range(out.size):
        out[j] += x[j] * y[j]


@njit(inline="always", **JIT)
def _mul(out, x, y):
    for j in range(out.size):
        out[j] = x[j] * y[j]


@njit(**JIT)
def _lstm_fwd(gx, gh, b, c_prev, gates, c, tc, h):
    old = ftz_enter()
    n, hid = c.shape
    for r in range(n):
        a = gates[r]
        _add3(a, gx[r], gh[r], b)                   # pre-activations a = gx + gh + b
        _sigmoid_(a[:2 * hid])                      # i, f
        _tanh_fast(a[2 * hid:3 * hid], a[2 * hid:3 * hid])  # g
        _sigmoid_(a[3 * hid:])                      # o
        cr = c[r]
        _mul(cr, a[hid:2 * hid], c_prev[r])         # c = f * c_prev
        _fma_(cr, a[:hid], a[2 * hid:3 * hid])      #   + i * g
        _tanh_fast(tc[r], cr)
        _mul(h[r], a[3 * hid:], tc[r])
    ftz_exit(old)


@njit(**JIT)
def _lstm_bwd(dh, dc, gates, tc, c_prev, dg):
    """dh: dL/dh_t (total); dc: dL/dc_t from step t+1, overwritten with dL/dc_{t-1}; dg: dL/da."""
    old = ftz_enter()
    n, hid = dh.shape
    for r in range(n):
        a, d, dcr, t, cp, out = gates[r], dh[r], dc[r], tc[r], c_prev[r], dg[r]
        i, f, g, o = a[:hid], a[hid:2 * hid], a[2 * hid:3 * hid], a[3 * hid:]
        for j in range(hid):  # dL/dc_t: from step t+1 plus through h_t = o * tanh(c_t)
            dcr[j] = dcr[j] + d[j] * o[j] * (_ONE - t[j] * t[j])
        do = out[3 * hid:]
        for j in range(hid):
            do[j] = d[j] * t[j] * o[j] * (_ONE - o[j])
        di = out[:hid]
        for j in range(hid):
            di[j] = dcr[j] * g[j] * i[j] * (_ONE - i[j])
        df = out[hid:2 * hid]
        for j in range(hid):
            df[j] = dcr[j] * cp[j] * f[j] * (_ONE - f[j])
        dgg = out[2 * hid:3 * hid]
        for j in range(hid):
            dgg[j] = dcr[j] * i[j] * (_ONE - g[j] * g[j])
        _mul(dcr, dcr, f)  # dL/dc_{t-1} = f * dL/dc_t
    ftz_exit(old)


@njit(**JIT)
def _gru_fwd(gx, gh, b, h_prev, gates, hn, h):
    old = ftz_enter()
    n, hid = h.shape
    for r in range(n):
        a, x, y = gates[r], gx[r], gh[r]
        _add3(a[:2 * hid], x[:2 * hid], y[:2 * hid], b[:2 * hid])
        _sigmoid_(a[:2 * hid])                               # r, z
        m = hn[r]
        yn, bn = y[2 * hid:], b[2 * hid:]
        for j in range(hid):
            m[j] = yn[j] + bn[j]                             # W_hn h + b_hn
        rr, z, nn, xn = a[:hid], a[hid:2 * hid], a[2 * hid:], x[2 * hid:]
        for j in range(hid):
            nn[j] = xn[j] + rr[j] * m[j]
        _tanh_fast(nn, nn)
        hr, hp = h[r], h_prev[r]
        for j in range(hid):
            hr[j] = nn[j] + z[j] * (hp[j] - nn[j])
    ftz_exit(old)


@njit(**JIT)
def _gru_bwd(dh, gates, hn, h_prev, dgx, dgh, dh_prev):
    old = ftz_enter()
    n, hid = dh.shape
    for r in range(n):
        a, d, m, hp, ox, oh = gates[r], dh[r], hn[r], h_prev[r], dgx[r], dgh[r]
        rr, z, nn = a[:hid], a[hid:2 * hid], a[2 * hid:]
        dan = ox[2 * hid:]
        for j in range(hid):
            dan[j] = d[j] * (_ONE - z[j]) * (_ONE - nn[j] * nn[j])
        _mul(oh[2 * hid:], dan, rr)
        dar = ox[:hid]
        for j in range(hid):
            dar[j] = dan[j] * m[j] * rr[j] * (_ONE - rr[j])
        daz = ox[hid:2 * hid]
        for j in range(hid):
            daz[j] = d[j] * (hp[j] - nn[j]) * z[j] * (_ONE - z[j])
        ohrz, oxrz = oh[:2 * hid], ox[:2 * hid]
        for j in range(2 * hid):
            ohrz[j] = oxrz[j]
        _mul(dh_prev[r], d, z)
    ftz_exit(old)


@njit(**JIT)
def _rnn_fwd(gx, gh, b, h, relu):
    old = ftz_enter()
    n, hid = h.shape
    if relu:
        for r in range(n):
            for j in range(hid):
                a = gx[r, j] + gh[r, j] + b[j]
                h[r, j] = _ZERO if a < _ZERO else a  # noqa: FURB136 - keeps NaN
    else:
        for r in range(n):
            for j in range(hid):
                h[r, j] = tanh32(gx[r, j] + gh[r, j] + b[j])
    ftz_exit(old)


@njit(**JIT)
def _rnn_bwd(dh, h, dg, relu):
    old = ftz_enter()
    n, hid = h.shape
    if relu:
        for r in range(n):
            for j in range(hid):
                dg[r, j] = dh[r, j] if h[r, j] > _ZERO else _ZERO
    else:
        for r in range(n):
            for j in range(hid):
                y = h[r, j]
                dg[r, j] = dh[r, j] * (_ONE - y * y)
    ftz_exit(old)


# ---------------------------------------------------------------------------------------------
# public wrappers: kernel for float32 NumPy arrays, the same formulas in NumPy/CuPy otherwise


def _fast(*arrays):
    for a in arrays:
        if not is_f32c(a):
            return False
    return True


def _sig(xp, a):
    with np.errstate(over="ignore"):
        return 1 / (1 + xp.exp(-a))


def lstm_cell_forward(gx, gh, b, c_prev, gates, c, tc, h):
    """Writes gates (rows, 4H) = activated i, f, g, o; c, tc = tanh(c) and h (rows, H)."""
    if _fast(gx, gh, b, c_prev, gates, c, tc, h):
        _lstm_fwd(gx, gh, b, c_prev, gates, c, tc, h)
        return
    xp, hid = xp_of(gx), c.shape[1]
    a = gx + gh + b
    gates[:, :2 * hid] = _sig(xp, a[:, :2 * hid])
    gates[:, 2 * hid:3 * hid] = xp.tanh(a[:, 2 * hid:3 * hid])
    gates[:, 3 * hid:] = _sig(xp, a[:, 3 * hid:])
    c[...] = gates[:, hid:2 * hid] * c_prev + gates[:, :hid] * gates[:, 2 * hid:3 * hid]
    tc[...] = xp.tanh(c)
    h[...] = gates[:, 3 * hid:] * tc


def lstm_cell_backward(dh, dc, gates, tc, c_prev, dg):
    """dg (rows, 4H) = dL/d(pre-activations); dc is updated in place from dL/dc_t to dL/dc_{t-1}."""
    if _fast(dh, dc, gates, tc, c_prev, dg):
        _lstm_bwd(dh, dc, gates, tc, c_prev, dg)
        return
    hid = dh.shape[1]
    i, f = gates[:, :hid], gates[:, hid:2 * hid]
    g, o = gates[:, 2 * hid:3 * hid], gates[:, 3 * hid:]
    dct = dc + dh * o * (1 - tc * tc)
    dg[:, :hid] = dct * g * i * (1 - i)
    dg[:, hid:2 * hid] = dct * c_prev * f * (1 - f)
    dg[:, 2 * hid:3 * hid] = dct * i * (1 - g * g)
    dg[:, 3 * hid:] = dh * tc * o * (1 - o)
    dc[...] = dct * f


def gru_cell_forward(gx, gh, b, h_prev, gates, hn, h):
    """Writes gates (rows, 3H) = r, z, n; hn = gh_n + b_n (needed by backward) and h."""
    if _fast(gx, gh, b, h_prev, gates, hn, h):
        _gru_fwd(gx, gh, b, h_prev, gates, hn, h)
        return
    xp, hid = xp_of(gx), h.shape[1]
    gates[:, :2 * hid] = _sig(xp, gx[:, :2 * hid] + gh[:, :2 * hid] + b[:2 * hid])
    hn[...] = gh[:, 2 * hid:] + b[2 * hid:]
    n = xp.tanh(gx[:, 2 * hid:] + gates[:, :hid] * hn)
    gates[:, 2 * hid:] = n
    h[...] = n + gates[:, hid:2 * hid] * (h_prev - n)


def gru_cell_backward(dh, gates, hn, h_prev, dgx, dgh, dh_prev):
    """dgx, dgh (rows, 3H): dL/d(gx), dL/d(gh); dh_prev (rows, H): the direct part dh * z of
    dL/dh_{t-1} (the caller adds dgh W_hh)."""
    if _fast(dh, gates, hn, h_prev, dgx, dgh, dh_prev):
        _gru_bwd(dh, gates, hn, h_prev, dgx, dgh, dh_prev)
        return
    hid = dh.shape[1]
    r, z, n = gates[:, :hid], gates[:, hid:2 * hid], gates[:, 2 * hid:]
    dan = dh * (1 - z) * (1 - n * n)
    dgx[:, :hid] = dan * hn * r * (1 - r)
    dgx[:, hid:2 * hid] = dh * (h_prev - n) * z * (1 - z)
    dgx[:, 2 * hid:] = dan
    dgh[:, :2 * hid] = dgx[:, :2 * hid]
    dgh[:, 2 * hid:] = dan * r
    dh_prev[...] = dh * z


def rnn_cell_forward(gx, gh, b, h, relu):
    """h = tanh(gx + gh + b), or relu(...) when `relu`."""
    if _fast(gx, gh, b, h):
        _rnn_fwd(gx, gh, b, h, bool(relu))
        return
    xp = xp_of(gx)
    a = gx + gh + b
    h[...] = xp.maximum(a, 0) if relu else xp.tanh(a)


def rnn_cell_backward(dh, h, dg, relu):
    """dg = dh * f'(a), written with the output h: 1 - h^2 (tanh) or [h > 0] (relu)."""
    if _fast(dh, h, dg):
        _rnn_bwd(dh, h, dg, bool(relu))
        return
    dg[...] = xp_of(dh).where(h > 0, dh, 0) if relu else dh * (1 - h * h)


def _warm_args():
    """(kernel, args) for `axonal.kernels.warmup`-style ahead-of-time compilation."""
    a2, a4, a3 = (np.ones((2, 16 * k), np.float32) for k in (1, 4, 3))
    b4, b3, b1 = np.zeros(64, np.float32), np.zeros(48, np.float32), np.zeros(16, np.float32)
    o = np.empty((2, 16), np.float32)
    return [(_lstm_fwd, (a4, a4, b4, a2, a4.copy(), o, o.copy(), o.copy())),
            (_lstm_bwd, (a2, a2.copy(), a4, a2, a2, a4.copy())),
            (_gru_fwd, (a3, a3, b3, a2, a3.copy(), o, o.copy())),
            (_gru_bwd, (a2, a3, a2, a2, a3.copy(), a3.copy(), o)),
            (_rnn_fwd, (a2, a2, b1, o, False)), (_rnn_bwd, (a2, a2, o.copy(), False))]


def warmup():
    for fn, args in _warm_args():
        fn(*args)
