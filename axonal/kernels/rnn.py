"""Fused LSTM kernels: one time step on a batch of rows, and whole sequences (the GRU and Elman RNN
cells are in kernels.gru; the row helpers they share are in _math).

The recurrent GEMM (h_{t-1} W_hh^T) stays in BLAS; everything element-wise that follows it - the
bias add, the gate nonlinearities, the cell update and, in backward, the local derivatives of all
of them - runs in one pass over the (rows, H) block instead of ~15 NumPy ufunc calls, each of which
would read and write the whole block again. The step kernels are serial: a (32, 256) block is too
small to be worth waking a thread pool (KERNELS.md); the sequence kernels (below) split the batch
rows between threads instead, once per layer. Gates use `sigmoid32` and a one-exp tanh, which
vectorize; FTZ/DAZ is on inside (saturated gates otherwise produce denormals and a 20x slower
backward).

Layouts follow PyTorch: the pre-activations of the G gates are concatenated along the last axis,
LSTM (i, f, g, o), GRU (r, z, n), each block H wide. Arguments are 2-D arrays of `rows` rows; `gx`
is the input projection of this step (x_t W_ih^T + b_ih), `gh` the recurrent GEMM h_{t-1} W_hh^T
without bias, `b` the recurrent bias b_hh (zeros when the layer has no bias). Outputs are written
into the arrays passed (no allocation per step). The public functions run the kernel for NumPy float32
C-contiguous arrays and the same formulas in NumPy/CuPy otherwise (float64 for gradcheck, GPU).

LSTM   i, f, o = sigmoid(a_i, a_f, a_o), g = tanh(a_g), a = gx + gh + b
       c = f * c_prev + i * g,  h = o * tanh(c)
"""
import numpy as np
from numba import njit, prange

from ..backend import xp_of
from ._jit import JIT, PJIT, ftz_enter, ftz_exit, is_f32c, is_i64c, parallel_blocks
from ._math import _add3, _fma_, _mul, _sigmoid_, _tanh_fast
from ._sgemm import SGEMM, single_threaded_blas

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_TWO = np.float32(2.0)
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


# ---------------------------------------------------------------------------------------------
# kernels (the row helpers _add3, _sigmoid_, _tanh_fast, _fma_, _mul are in _math)


@njit(inline="always", **JIT)
def _lstm_row_fwd(a, x, y, b, cp, cr, tcr, hr, hid):
    """One row: a (4H) <- activated gates of x + y + b; c, tanh(c), h (H) of the step."""
    _add3(a, x, y, b)                           # pre-activations a = gx + gh + b
    _sigmoid_(a[:2 * hid])                      # i, f
    _tanh_fast(a[2 * hid:3 * hid], a[2 * hid:3 * hid])  # g
    _sigmoid_(a[3 * hid:])                      # o
    _mul(cr, a[hid:2 * hid], cp)                # c = f * c_prev
    _fma_(cr, a[:hid], a[2 * hid:3 * hid])      #   + i * g
    _tanh_fast(tcr, cr)
    _mul(hr, a[3 * hid:], tcr)


@njit(**JIT)
def _lstm_fwd(gx, gh, b, c_prev, gates, c, tc, h):
    old = ftz_enter()
    n, hid = c.shape
    for r in range(n):
        _lstm_row_fwd(gates[r], gx[r], gh[r], b, c_prev[r], c[r], tc[r], h[r], hid)
    ftz_exit(old)


@njit(inline="always", **JIT)
def _lstm_row_bwd(a, d, dcr, t, cp, out, hid):
    """One row: out (4H) <- dL/da from d = dL/dh_t; dcr: dL/dc_t in, dL/dc_{t-1} out."""
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


@njit(**JIT)
def _lstm_bwd(dh, dc, gates, tc, c_prev, dg):
    """dh: dL/dh_t (total); dc: dL/dc_t from step t+1, overwritten with dL/dc_{t-1}; dg: dL/da."""
    old = ftz_enter()
    n, hid = dh.shape
    for r in range(n):
        _lstm_row_bwd(gates[r], dh[r], dc[r], tc[r], c_prev[r], dg[r], hid)
    ftz_exit(old)


# ---------------------------------------------------------------------------------------------
# whole-sequence LSTM drivers: every time step of one layer and direction in one kernel call
#
# Rows of the batch are independent through time: row r of h_t depends only on row r of h_{t-1}.
# So a thread that owns rows [r0, r1) runs the whole recurrence for them - per step one sgemm on
# its rows (OpenBLAS single-threaded) and the cell - with no synchronisation between steps. Two
# threads with 16 rows each replace 64 x 2 fork-joins per layer (one per GEMM and cell call) by one.
# Packed batches: step t has sizes[t] active rows (non-increasing), stored at rows offs[t]... of
# the (N, .) step-major arrays; a thread skips the steps where none of its rows is active.


@njit(inline="always", **JIT)
def _step_rows(k, offs, sizes, backwards, r0, r1):
    """(first array row, active row count) of the k-th step walked (from the last step when
    `backwards`) for the thread's batch rows [r0, r1); the count is <= 0 when none is active."""
    t = sizes.size - 1 - k if backwards else k
    return offs[t] + r0, min(r1, sizes[t]) - r0


@njit(inline="always", **JIT)
def _untranspose(src, dst, row0, m):
    """dst[row0 + r, :] = src[:, r] for r < m (a GEMM result computed transposed)."""
    for r in range(m):
        d = dst[row0 + r]
        for j in range(d.size):
            d[j] = src[j, r]


@njit(**JIT)
def lstm_seq_fwd(x, w, b, h, c, hprev, cprev, gates, tc, out, offs, sizes, reverse, r0, r1,
                 sgemm):
    """Forward over all steps for batch rows [r0, r1); h, c (B, H) hold the state in and out."""
    old = ftz_enter()
    g4, hid = w.shape
    ght = np.empty((g4, r1 - r0), np.float32)   # W_hh h^T of the active rows (transposed)
    gh = np.empty((r1 - r0, g4), np.float32)
    for k in range(sizes.size):
        o, m = _step_rows(k, offs, sizes, reverse, r0, r1)
        if m <= 0:
            continue
        for r in range(m):
            hp, cp, hs, cs = hprev[o + r], cprev[o + r], h[r0 + r], c[r0 + r]
            for j in range(hid):
                hp[j] = hs[j]
            for j in range(hid):
                cp[j] = cs[j]
        # ght (4H, m) = W_hh (4H, H) @ hprev[o:o+m]^T: OpenBLAS is faster in this orientation
        sgemm(ROW_MAJOR, NO_TRANS, TRANS, g4, m, hid, _ONE, w.ctypes.data, hid,
              hprev.ctypes.data + np.uint64(4 * o * hid), hid, _ZERO, ght.ctypes.data, r1 - r0)
        _untranspose(ght, gh, 0, m)
        for r in range(m):
            _lstm_row_fwd(gates[o + r], x[o + r], gh[r], b, cprev[o + r], c[r0 + r], tc[o + r],
                          out[o + r], hid)
            hs, orow = h[r0 + r], out[o + r]
            for j in range(hid):
                hs[j] = orow[j]
    ftz_exit(old)


@njit(**JIT)
def lstm_seq_bwd(gout, wt, dh, dc, gates, tc, cprev, dg, offs, sizes, reverse, r0, r1, sgemm):
    """BPTT for batch rows [r0, r1): dh, dc (B, H) come in as dL/dh_T, dL/dc_T and leave as the
    gradients of the initial state; dg (N, 4H) receives dL/da of every step. wt = W_hh^T (H, 4H)."""
    old = ftz_enter()
    hid, g4 = wt.shape
    dht = np.empty((hid, r1 - r0), np.float32)
    for k in range(sizes.size):
        o, m = _step_rows(k, offs, sizes, not reverse, r0, r1)
        if m <= 0:
            continue
        for r in range(m):
            d, go = dh[r0 + r], gout[o + r]
            for j in range(hid):
                d[j] += go[j]
            _lstm_row_bwd(gates[o + r], d, dc[r0 + r], tc[o + r], cprev[o + r], dg[o + r], hid)
        # dh_{t-1} = dL/da W_hh, computed as its transpose (H, m) = W_hh^T (H, 4H) @ dg[o:o+m]^T
        sgemm(ROW_MAJOR, NO_TRANS, TRANS, hid, m, g4, _ONE, wt.ctypes.data, g4,
              dg.ctypes.data + np.uint64(4 * o * g4), g4, _ZERO, dht.ctypes.data, r1 - r0)
        _untranspose(dht, dh, r0, m)
    ftz_exit(old)


@njit(**PJIT)
def lstm_seq_fwd_par(x, w, b, h, c, hprev, cprev, gates, tc, out, offs, sizes, reverse, sgemm,
                     nb):
    rows = h.shape[0]
    for k in prange(nb):
        lstm_seq_fwd(x, w, b, h, c, hprev, cprev, gates, tc, out, offs, sizes, reverse,
                     k * rows // nb, (k + 1) * rows // nb, sgemm)


@njit(**PJIT)
def lstm_seq_bwd_par(gout, wt, dh, dc, gates, tc, cprev, dg, offs, sizes, reverse, sgemm, nb):
    rows = dh.shape[0]
    for k in prange(nb):
        lstm_seq_bwd(gout, wt, dh, dc, gates, tc, cprev, dg, offs, sizes, reverse,
                     k * rows // nb, (k + 1) * rows // nb, sgemm)


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


SEQ_MIN_ROWS = 8  # batch rows per thread below which the sequence kernels run on one thread


def _seq_ok(arrays, offs, sizes):
    return SGEMM is not None and _fast(*arrays) and is_i64c(offs) and is_i64c(sizes)


def _seq_blocks(rows):
    return parallel_blocks(rows, SEQ_MIN_ROWS)


def lstm_sequence_forward(gx, w, b, h, c, hprev, cprev, gates, tc, out, offs, sizes, reverse):
    """All steps of one LSTM layer and direction (see lstm_seq_fwd) if the arrays suit the kernel
    (float32 NumPy, C-contiguous, OpenBLAS found); returns False otherwise (nothing written)."""
    if not _seq_ok((gx, w, b, h, c, hprev, cprev, gates, tc, out), offs, sizes):
        return False
    nb = _seq_blocks(h.shape[0])
    if nb >= 2:
        with single_threaded_blas():
            lstm_seq_fwd_par(gx, w, b, h, c, hprev, cprev, gates, tc, out, offs, sizes, reverse,
                             SGEMM, nb)
    else:
        lstm_seq_fwd(gx, w, b, h, c, hprev, cprev, gates, tc, out, offs, sizes, reverse, 0,
                     h.shape[0], SGEMM)
    return True


def lstm_sequence_backward(gout, wt, dh, dc, gates, tc, cprev, dg, offs, sizes, reverse):
    """BPTT of one LSTM layer and direction (see lstm_seq_bwd), or False if the arrays do not
    suit the kernel (nothing written)."""
    if not _seq_ok((gout, wt, dh, dc, gates, tc, cprev, dg), offs, sizes):
        return False
    nb = _seq_blocks(dh.shape[0])
    if nb >= 2:
        with single_threaded_blas():
            lstm_seq_bwd_par(gout, wt, dh, dc, gates, tc, cprev, dg, offs, sizes, reverse, SGEMM,
                             nb)
    else:
        lstm_seq_bwd(gout, wt, dh, dc, gates, tc, cprev, dg, offs, sizes, reverse, 0,
                     dh.shape[0], SGEMM)
    return True


def warmup_cases():
    """(kernel, args) for `axonal.kernels.warmup` (ahead-of-time compilation)."""
    a2, a4 = (np.ones((2, 16 * k), np.float32) for k in (1, 4))
    b4 = np.zeros(64, np.float32)
    o = np.empty((2, 16), np.float32)
    w, wt = np.zeros((64, 16), np.float32), np.zeros((16, 64), np.float32)
    offs, sizes = np.zeros(1, np.int64), np.full(1, 2, np.int64)
    fwd = (a4, w, b4, o, o.copy(), a2.copy(), a2.copy(), a4.copy(), a2.copy(), a2.copy(), offs,
           sizes, False)
    bwd = (a2, wt, o, o.copy(), a4, a2, a2, a4.copy(), offs, sizes, False)
    cases = [(_lstm_fwd, (a4, a4, b4, a2, a4.copy(), o, o.copy(), o.copy())),
             (_lstm_bwd, (a2, a2.copy(), a4, a2, a2, a4.copy())),
             ]
    if SGEMM is not None:
        cases += [(lstm_seq_fwd, (*fwd, 0, 2, SGEMM)), (lstm_seq_fwd_par, (*fwd, SGEMM, 1)),
                  (lstm_seq_bwd, (*bwd, 0, 2, SGEMM)), (lstm_seq_bwd_par, (*bwd, SGEMM, 1))]
    return cases
