"""Stride-1 convolution on "wide rows": im2col by contiguous copies, output already in NCHW.

With stride 1, compute each output plane on rows as wide as the padded input: output pixel
q = oh*WP + ow (WP = padded width; the last WP - WO columns of every row are garbage) reads the
padded input at q + i*dh*WP + j*dw for tap (i, j). So for one sample the column matrix

    Xs[(c, i, j), q] = xp[c].flat[q + i*dh*WP + j*dw]        (K = C*KH*KW rows, Q columns)

has rows that are contiguous slices of the padded NCHW planes (K memcpys, no layout change), and

    forward      out (CO, Q)  = Wm (CO, K) @ Xs (K, Q)        Wm = weight.reshape(CO, K)
    weight grad  dWm         += G (CO, Q) @ Xs^T              G = dY widened (garbage columns 0)
    input grad   dXs (K, Q)   = Wm^T @ G, each row added back to the slice it was copied from

where out is NCHW except for the garbage columns, dropped when copying out. Q stops at the last
valid pixel, Q = (HO - 1)*WP + WO, so no slice passes the end of a plane. The wasted work is the
garbage columns, (WP - WO)/WP of the GEMM: 6% for a 32x32 input with 3x3 kernels and padding 1.
Each thread runs this per sample of its block of the batch, calling sgemm itself (see _sgemm).
"""
import numpy as np
from numba import njit, prange

from ._jit import JIT, PJIT, ftz_enter, ftz_exit

_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


@njit(**JIT)
def _columns(xp, s, xs, kh, kw, dh, dw):
    """xs[(c, i, j), :] = the slice of plane xp[s, c] read by tap (i, j)."""
    C, WP = xp.shape[1], xp.shape[3]
    Q = xs.shape[1]
    r = 0
    for c in range(C):
        src = xp[s, c].reshape(-1)
        for i in range(kh):
            for j in range(kw):
                off = i * dh * WP + j * dw
                dst, sv = xs[r], src[off:off + Q]
                for q in range(Q):
                    dst[q] = sv[q]
                r += 1


@njit(**JIT)
def wide_fwd_core(xp, wm, bias, y, s0, s1, kh, kw, dh, dw, sgemm):
    old = ftz_enter()
    CO, K = wm.shape
    HO, WO = y.shape[2], y.shape[3]
    WP = xp.shape[3]
    Q = (HO - 1) * WP + WO
    xs = np.empty((K, Q), np.float32)
    out = np.empty((CO, HO * WP), np.float32)
    for s in range(s0, s1):
        _columns(xp, s, xs, kh, kw, dh, dw)
        sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, CO, Q, K, _ONE, wm.ctypes.data, K,
              xs.ctypes.data, Q, _ZERO, out.ctypes.data, HO * WP)
        for o in range(CO):
            b = bias[o]
            for oh in range(HO):
                dst, src = y[s, o, oh], out[o, oh * WP:oh * WP + WO]
                for q in range(WO):
                    dst[q] = src[q] + b
    ftz_exit(old)


@njit(**PJIT)
def wide_fwd_par(xp, wm, bias, y, kh, kw, dh, dw, sgemm, nb):
    N = xp.shape[0]
    for k in prange(nb):
        wide_fwd_core(xp, wm, bias, y, k * N // nb, (k + 1) * N // nb, kh, kw, dh, dw, sgemm)


@njit(**JIT)
def wide_bwd_core(xp, wm, g, gx, dwm, s0, s1, kh, kw, dh, dw, pt, pl, HP, WP, sgemm, need_x,
                  need_w):
    """dwm (CO, K) += G @ Xs^T over samples [s0, s1); gx[s] = input gradient (cropped from the
    padded (HP, WP) frame: pixel (ih, iw) of x is (ih + pt, iw + pl) there). xp is only read for
    the weight gradient."""
    old = ftz_enter()
    CO, HO, WO = g.shape[1], g.shape[2], g.shape[3]
    K = wm.shape[1]
    C = K // (kh * kw)
    Q = (HO - 1) * WP + WO
    xs = np.empty((K, Q), np.float32)
    gw = np.zeros((CO, HO * WP), np.float32)  # garbage columns stay 0
    dxp = np.empty((C, HP * WP), np.float32)
    H, W = gx.shape[2], gx.shape[3]
    r0, r1 = max(0, -pt), min(H, HP - pt)  # x rows/cols that lie inside the padded frame
    c0, c1 = max(0, -pl), min(W, WP - pl)
    for s in range(s0, s1):
        for o in range(CO):
            for oh in range(HO):
                dst, src = gw[o, oh * WP:oh * WP + WO], g[s, o, oh]
                for q in range(WO):
                    dst[q] = src[q]
        if need_w:
            _columns(xp, s, xs, kh, kw, dh, dw)
            sgemm(ROW_MAJOR, NO_TRANS, TRANS, CO, K, Q, _ONE, gw.ctypes.data, HO * WP,
                  xs.ctypes.data, Q, _ONE, dwm.ctypes.data, K)
        if need_x:
            sgemm(ROW_MAJOR, TRANS, NO_TRANS, K, Q, CO, _ONE, wm.ctypes.data, K,
                  gw.ctypes.data, HO * WP, _ZERO, xs.ctypes.data, Q)
            dxp[:, :] = 0.0
            r = 0
            for c in range(C):  # the adjoint of _columns: add each row back to its slice
                plane = dxp[c]
                for i in range(kh):
                    for j in range(kw):
                        off = i * dh * WP + j * dw
                        dst, src = plane[off:off + Q], xs[r]
                        for q in range(Q):
                            dst[q] += src[q]
                        r += 1
            for c in range(C):  # crop the padding (and zero what the padded frame cut off)
                gx[s, c] = 0.0
                if c1 > c0:
                    for ih in range(r0, r1):
                        dst = gx[s, c, ih, c0:c1]
                        src = dxp[c, (ih + pt) * WP + c0 + pl:(ih + pt) * WP + c1 + pl]
                        for q in range(c1 - c0):
                            dst[q] = src[q]
    ftz_exit(old)


@njit(**PJIT)
def wide_bwd_par(xp, wm, g, gx, part, kh, kw, dh, dw, pt, pl, HP, WP, sgemm, need_x, need_w,
                 nb):
    N = g.shape[0]
    for k in prange(nb):
        part[k] = 0.0
        wide_bwd_core(xp, wm, g, gx, part[k], k * N // nb, (k + 1) * N // nb, kh, kw, dh, dw,
                      pt, pl, HP, WP, sgemm, need_x, need_w)
