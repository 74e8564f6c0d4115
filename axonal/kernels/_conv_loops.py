"""The numba loops of axonal.kernels.conv (see that module for the notation and the algorithms).

Serial cores work on a range of samples [s0, s1) and are combined by the parallel drivers, one block
of samples per thread. Inner loops index pre-sliced views with plain loop counters: an index such as
`src[off + q]` keeps numba's negative-index wrap-around check in the loop and stops LLVM from
vectorizing it (measured 5x slower).
"""
import numpy as np
from numba import njit, prange

from ._jit import JIT, PJIT, ftz_enter, ftz_exit

_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


# -- im2col / col2im (NHWC span layout) ---------------------------------------------------------
@njit(**JIT)
def fill_scratch(x, s, scr, pt, pl):
    """scr (hp, wp*C) <- sample s of x as NHWC, shifted by the padding; zeros outside the image."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    hp, wpc = scr.shape
    wp = wpc // C
    lo, hi = max(0, pl), min(wp, W + pl)
    for yy in range(hp):
        ih = yy - pt
        row = scr[yy]
        if ih < 0 or ih >= H:
            row[:] = 0.0
            continue
        row[:lo * C] = 0.0
        row[max(hi, lo) * C:] = 0.0
        if hi > lo:
            for c in range(C):
                src = x[s, c, ih, lo - pl:hi - pl]
                dst = row[lo * C + c:hi * C:C]
                for t in range(hi - lo):
                    dst[t] = src[t]


@njit(**JIT)
def im2col_rows(x, cols, r0, s0, s1, scr, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo):
    """cols[r0 + (s - s0)*ho*wo + oh*wo + ow, (i*kw + j)*C + c] for samples s in [s0, s1)."""
    C = x.shape[1]
    span = kw * C
    r = r0
    for s in range(s0, s1):
        fill_scratch(x, s, scr, pt, pl)
        for oh in range(ho):
            for ow in range(wo):
                dst = cols[r]
                for i in range(kh):
                    src = scr[oh * sh + i * dh]
                    if dw == 1:  # the whole kernel row is one contiguous span in NHWC
                        a, b = dst[i * span:(i + 1) * span], src[ow * sw * C:ow * sw * C + span]
                        for t in range(span):
                            a[t] = b[t]
                    else:
                        for j in range(kw):
                            st = (ow * sw + j * dw) * C
                            a, b = dst[(i * kw + j) * C:(i * kw + j + 1) * C], src[st:st + C]
                            for t in range(C):
                                a[t] = b[t]
                r += 1


@njit(**JIT)
def col2im_rows(cols, dx, r0, s0, s1, scr, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo):
    """The adjoint of im2col_rows: dx[s] (overwritten) = the rows' entries summed at the pixels
    they were read from; padding positions are dropped."""
    C, H, W = dx.shape[1], dx.shape[2], dx.shape[3]
    hp, wpc = scr.shape
    span = kw * C
    lo, hi = max(0, pl), min(wpc // C, W + pl)
    r = r0
    for s in range(s0, s1):
        scr[:, :] = 0.0
        for oh in range(ho):
            for ow in range(wo):
                src = cols[r]
                for i in range(kh):
                    dst = scr[oh * sh + i * dh]
                    if dw == 1:
                        a, b = dst[ow * sw * C:ow * sw * C + span], src[i * span:(i + 1) * span]
                        for t in range(span):
                            a[t] += b[t]
                    else:
                        for j in range(kw):
                            st = (ow * sw + j * dw) * C
                            a, b = dst[st:st + C], src[(i * kw + j) * C:(i * kw + j + 1) * C]
                            for t in range(C):
                                a[t] += b[t]
                r += 1
        for c in range(C):  # NHWC scratch -> NCHW gradient
            for ih in range(H):
                out = dx[s, c, ih]
                yy = ih + pt
                out[:] = 0.0
                if 0 <= yy < hp and hi > lo:
                    a, b = out[lo - pl:hi - pl], scr[yy, lo * C + c:hi * C:C]
                    for t in range(hi - lo):
                        a[t] = b[t]


@njit(**JIT)
def rows_to_nchw(t, y, s0, n, bias):
    """y[s0 + s, o, q] = t[s*L + q, o] + bias[o] (GEMM output rows -> NCHW, bias fused)."""
    CO = y.shape[1]
    L = y.shape[2] * y.shape[3]
    for s in range(n):
        dst = y[s0 + s].reshape(CO, L)
        src = t[s * L:(s + 1) * L]
        for o in range(CO):
            b, d = bias[o], dst[o]
            for q in range(L):
                d[q] = src[q, o] + b


@njit(**JIT)
def nchw_to_rows(g, t, s0, n):
    """t[s*L + q, o] = g[s0 + s, o, q] (the output gradient as GEMM rows)."""
    CO = g.shape[1]
    L = g.shape[2] * g.shape[3]
    for s in range(n):
        src = g[s0 + s].reshape(CO, L)
        dst = t[s * L:(s + 1) * L]
        for q in range(L):
            d = dst[q]
            for o in range(CO):
                d[o] = src[o, q]


def _scratch_shape(C, kh, kw, sh, sw, dh, dw, ho, wo):
    return (ho - 1) * sh + (kh - 1) * dh + 1, ((wo - 1) * sw + (kw - 1) * dw + 1) * C


scratch_shape = njit(**JIT)(_scratch_shape)


# -- fused per-thread pipelines: im2col -> sgemm -> layout, one block of samples per thread ------
@njit(**JIT)
def gemm_fwd_core(x, wp, bias, y, s0, s1, cs, kh, kw, sh, sw, pt, pl, dh, dw, sgemm):
    old = ftz_enter()
    CO, K = wp.shape
    ho, wo = y.shape[2], y.shape[3]
    L = ho * wo
    cols = np.empty((cs * L, K), np.float32)
    t = np.empty((cs * L, CO), np.float32)
    scr = np.empty(scratch_shape(x.shape[1], kh, kw, sh, sw, dh, dw, ho, wo), np.float32)
    for a in range(s0, s1, cs):
        n = min(cs, s1 - a)
        im2col_rows(x, cols, 0, a, a + n, scr, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo)
        # t (n L, CO) = cols (n L, K) @ wp^T (K, CO)
        sgemm(ROW_MAJOR, NO_TRANS, TRANS, n * L, CO, K, _ONE, cols.ctypes.data, K,
              wp.ctypes.data, K, _ZERO, t.ctypes.data, CO)
        rows_to_nchw(t, y, a, n, bias)
    ftz_exit(old)


@njit(**PJIT)
def gemm_fwd_par(x, wp, bias, y, cs, kh, kw, sh, sw, pt, pl, dh, dw, sgemm, nb):
    N = x.shape[0]
    for k in prange(nb):
        gemm_fwd_core(x, wp, bias, y, k * N // nb, (k + 1) * N // nb, cs, kh, kw, sh, sw, pt, pl,
                      dh, dw, sgemm)


@njit(**JIT)
def gemm_bwd_core(x, wp, g, gx, dwt, s0, s1, cs, kh, kw, sh, sw, pt, pl, dh, dw, sgemm, need_x,
                  need_w):
    """dwt (K, CO) += cols^T rows over the samples [s0, s1); gx[s] = col2im(rows @ wp)."""
    old = ftz_enter()
    CO, ho, wo = g.shape[1], g.shape[2], g.shape[3]
    K = dwt.shape[0]
    C = K // (kh * kw)
    L = ho * wo
    rows = np.empty((cs * L, CO), np.float32)
    cols = np.empty((cs * L, K), np.float32)
    scr = np.empty(scratch_shape(C, kh, kw, sh, sw, dh, dw, ho, wo), np.float32)
    for a in range(s0, s1, cs):
        n = min(cs, s1 - a)
        nchw_to_rows(g, rows, a, n)
        if need_w:
            im2col_rows(x, cols, 0, a, a + n, scr, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo)
            sgemm(ROW_MAJOR, TRANS, NO_TRANS, K, CO, n * L, _ONE, cols.ctypes.data, K,
                  rows.ctypes.data, CO, _ONE, dwt.ctypes.data, CO)
        if need_x:
            sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n * L, K, CO, _ONE, rows.ctypes.data, CO,
                  wp.ctypes.data, K, _ZERO, cols.ctypes.data, K)
            col2im_rows(cols, gx, 0, a, a + n, scr, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo)
    ftz_exit(old)


@njit(**PJIT)
def gemm_bwd_par(x, wp, g, gx, part, cs, kh, kw, sh, sw, pt, pl, dh, dw, sgemm, need_x, need_w,
                 nb):
    N = g.shape[0]
    for k in prange(nb):
        part[k] = 0.0
        gemm_bwd_core(x, wp, g, gx, part[k], k * N // nb, (k + 1) * N // nb, cs, kh, kw, sh, sw,
                      pt, pl, dh, dw, sgemm, need_x, need_w)


# -- the same steps one at a time, for the np.matmul fallback -----------------------------------
@njit(**PJIT)
def im2col_par(x, cols, b0, n, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, nb):
    for k in prange(nb):
        old = ftz_enter()
        s0, s1 = b0 + k * n // nb, b0 + (k + 1) * n // nb
        scr = np.empty(scratch_shape(x.shape[1], kh, kw, sh, sw, dh, dw, ho, wo), np.float32)
        im2col_rows(x, cols, (s0 - b0) * ho * wo, s0, s1, scr, kh, kw, sh, sw, pt, pl, dh, dw,
                    ho, wo)
        ftz_exit(old)


@njit(**PJIT)
def col2im_par(cols, dx, b0, n, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, nb):
    for k in prange(nb):
        old = ftz_enter()
        s0, s1 = b0 + k * n // nb, b0 + (k + 1) * n // nb
        scr = np.empty(scratch_shape(dx.shape[1], kh, kw, sh, sw, dh, dw, ho, wo), np.float32)
        col2im_rows(cols, dx, (s0 - b0) * ho * wo, s0, s1, scr, kh, kw, sh, sw, pt, pl, dh, dw,
                    ho, wo)
        ftz_exit(old)


@njit(**PJIT)
def rows_to_nchw_par(t, y, b0, n, bias, nb):
    L = y.shape[2] * y.shape[3]
    for k in prange(nb):
        s0, s1 = k * n // nb, (k + 1) * n // nb
        rows_to_nchw(t[s0 * L:], y, b0 + s0, s1 - s0, bias)


@njit(**PJIT)
def nchw_to_rows_par(g, t, b0, n, nb):
    L = g.shape[2] * g.shape[3]
    for k in prange(nb):
        s0, s1 = k * n // nb, (k + 1) * n // nb
        nchw_to_rows(g, t[s0 * L:], b0 + s0, s1 - s0)
