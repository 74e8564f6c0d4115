"""Fused GRU and Elman RNN cell kernels: one time step on a batch of rows (see kernels.rnn for the
LSTM, the layouts and the conventions shared by all recurrent kernels).

GRU    r, z = sigmoid(gx_rz + gh_rz + b_rz),  hn = gh_n + b_n,  n = tanh(gx_n + r * hn)
       h = (1 - z) * n + z * h_prev
RNN    h = tanh(gx + gh + b)   or relu(...)
"""
import numpy as np
from numba import njit

from ..backend import xp_of
from ._jit import JIT, ftz_enter, ftz_exit
from ._math import _add3, _mul, _sigmoid_, _tanh_fast, tanh32
from .rnn import _fast, _sig

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)


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
# public wrappers


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


def warmup_cases():
    """(kernel, args) for `axonal.kernels.warmup` (ahead-of-time compilation)."""
    a2, a3 = np.ones((2, 16), np.float32), np.ones((2, 48), np.float32)
    b3, b1 = np.zeros(48, np.float32), np.zeros(16, np.float32)
    o = np.empty((2, 16), np.float32)
    return [(_gru_fwd, (a3, a3, b3, a2, a3.copy(), o, o.copy())),
            (_gru_bwd, (a2, a3, a2, a2, a3.copy(), a3.copy(), o)),
            (_rnn_fwd, (a2, a2, b1, o, False)), (_rnn_bwd, (a2, a2, o.copy(), False))]
