"""2-D convolution on float32 NCHW arrays: numba kernels around OpenBLAS GEMMs (rank 0: arrays only).

Notation. x (N, C, H, W), weight (O, C, KH, KW), y (N, O, HO, WO); geometry `geo` = (sh, sw, pt, pb,
pl, pr, dh, dw): strides, paddings (top, bottom, left, right) and dilations. A negative padding crops
the input instead (the transposed convolution with output_padding > padding needs it). Output
position (oh, ow), kernel tap (i, j) reads input pixel (oh*sh + i*dh - pt, ow*sw + j*dw - pl); pixels
outside the input read 0. groups == 1 only (the caller routes grouped convolutions elsewhere).

Two algorithms (shared/research/KERNELS.md measured both against PyTorch on this machine):

* im2col + GEMM, for any C. For each output pixel, one row of `cols` holds the KH*KW*C inputs it
  reads, in (i, j, c) order. Copying the sample into a zero-padded NHWC scratch first makes each
  kernel row (i) one contiguous span of KW*C floats, so a row of cols is KH span copies instead of
  KH*KW*C scattered loads. Then, with the weight permuted to (O, KH*KW*C):
      forward       Y^T (rows, O) = cols @ Wp^T           (one tall GEMM, transposed to NCHW + bias)
      weight grad   dWp (O, K)    = G^T @ cols            (G = dY as (rows, O))
      input grad    dcols         = G @ Wp, scattered back (col2im: the adjoint of im2col)
  GEMMs with M = rows (thousands) and N = O are several times faster in OpenBLAS than the
  (O x K) @ (K x HW) form with M = O. The batch is cut into chunks so `cols` stays ~8 MB.
* direct convolution for few input channels (C <= 4, e.g. an RGB or grey image): im2col would copy
  every input pixel KH*KW times for a GEMM with a tiny K, while the direct loop keeps one output row
  in L1 and streams over it once per tap (output width innermost, so it vectorizes). Its weight
  gradient sums into per-thread vector accumulators (one per tap, along the output width) that are
  reduced once at the end; the reduction per (tap, row) would cost a horizontal add each time.
"""
import numpy as np
from numba import njit, prange

from ._jit import JIT, PJIT, ftz_enter, ftz_exit

F32 = np.float32
CHUNK_FLOATS = 1 << 21  # ~8 MB of im2col rows per chunk
DIRECT_MAX_C = 4


# -- im2col / col2im (NHWC span layout) ---------------------------------------------------------
@njit(**JIT)
def _fill_scratch(x, s, scr, pt, pl):
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
        for t in range(lo * C):
            row[t] = 0.0
        for t in range(max(hi, lo) * C, wpc):
            row[t] = 0.0
        for c in range(C):
            src = x[s, c, ih]
            for xx in range(lo, hi):
                row[xx * C + c] = src[xx - pl]


@njit(**JIT)
def _im2col_core(x, cols, b0, s0, s1, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo):
    """Rows of samples [s0, s1) (row r = (s - b0)*ho*wo + oh*wo + ow), K in (i, j, c) order."""
    old = ftz_enter()
    C = x.shape[1]
    hp = (ho - 1) * sh + (kh - 1) * dh + 1
    wp = (wo - 1) * sw + (kw - 1) * dw + 1
    scr = np.empty((hp, wp * C), np.float32)
    span = kw * C
    for s in range(s0, s1):
        _fill_scratch(x, s, scr, pt, pl)
        r = (s - b0) * ho * wo
        for oh in range(ho):
            for ow in range(wo):
                dst = cols[r]
                for i in range(kh):
                    src = scr[oh * sh + i * dh]
                    if dw == 1:
                        st = ow * sw * C
                        for t in range(span):
                            dst[i * span + t] = src[st + t]
                    else:
                        for j in range(kw):
                            st = (ow * sw + j * dw) * C
                            d0 = (i * kw + j) * C
                            for c in range(C):
                                dst[d0 + c] = src[st + c]
                r += 1
    ftz_exit(old)


@njit(**PJIT)
def _im2col_par(x, cols, b0, n, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, nb):
    for k in prange(nb):
        _im2col_core(x, cols, b0, b0 + k * n // nb, b0 + (k + 1) * n // nb,
                     kh, kw, sh, sw, pt, pl, dh, dw, ho, wo)


@njit(**JIT)
def _col2im_core(cols, dx, b0, s0, s1, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo):
    """The adjoint of _im2col_core: dx[s] = sum of the rows' entries at the pixels they read."""
    old = ftz_enter()
    C, H, W = dx.shape[1], dx.shape[2], dx.shape[3]
    hp = (ho - 1) * sh + (kh - 1) * dh + 1
    wp = (wo - 1) * sw + (kw - 1) * dw + 1
    scr = np.empty((hp, wp * C), np.float32)
    span = kw * C
    lo, hi = max(0, pl), min(wp, W + pl)
    for s in range(s0, s1):
        scr[:, :] = 0.0
        r = (s - b0) * ho * wo
        for oh in range(ho):
            for ow in range(wo):
                src = cols[r]
                for i in range(kh):
                    dst = scr[oh * sh + i * dh]
                    if dw == 1:
                        st = ow * sw * C
                        for t in range(span):
                            dst[st + t] += src[i * span + t]
                    else:
                        for j in range(kw):
                            st = (ow * sw + j * dw) * C
                            d0 = (i * kw + j) * C
                            for c in range(C):
                                dst[st + c] += src[d0 + c]
                r += 1
        for c in range(C):  # NHWC scratch -> NCHW gradient; padding positions are dropped
            for ih in range(H):
                yy = ih + pt
                out = dx[s, c, ih]
                if yy < 0 or yy >= hp:
                    out[:] = 0.0
                    continue
                row = scr[yy]
                for iw in range(W):
                    xx = iw + pl
                    out[iw] = row[xx * C + c] if lo <= xx < hi else np.float32(0.0)
    ftz_exit(old)


@njit(**PJIT)
def _col2im_par(cols, dx, b0, n, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, nb):
    for k in prange(nb):
        _col2im_core(cols, dx, b0, b0 + k * n // nb, b0 + (k + 1) * n // nb,
                     kh, kw, sh, sw, pt, pl, dh, dw, ho, wo)


# -- layout changes around the GEMMs ------------------------------------------------------------
@njit(**PJIT)
def _rows_to_nchw(t, y, b0, n, bias, nb):
    """y[b0 + s, o, l] = t[s*L + l, o] + bias[o] (GEMM output rows -> NCHW, bias fused)."""
    O = y.shape[1]
    L = y.shape[2] * y.shape[3]
    for k in prange(nb):
        old = ftz_enter()
        for s in range(k * n // nb, (k + 1) * n // nb):
            dst = y[b0 + s].reshape(O, L)
            src = t[s * L:(s + 1) * L]
            for o in range(O):
                b = bias[o]
                for l in range(L):
                    dst[o, l] = src[l, o] + b
        ftz_exit(old)


@njit(**PJIT)
def _nchw_to_rows(g, t, b0, n, nb):
    """t[s*L + l, o] = g[b0 + s, o, l] (the gradient as GEMM rows)."""
    O = g.shape[1]
    L = g.shape[2] * g.shape[3]
    for k in prange(nb):
        for s in range(k * n // nb, (k + 1) * n // nb):
            src = g[b0 + s].reshape(O, L)
            dst = t[s * L:(s + 1) * L]
            for l in range(L):
                for o in range(O):
                    dst[l, o] = src[o, l]


# -- direct convolution (few input channels) ---------------------------------------------------
@njit(**PJIT)
def _direct_fwd(xp, w, bias, y, sh, sw, dh, dw, nb):
    """y[n, o] = bias[o] + sum_{c,i,j} w[o,c,i,j] xp[n, c, oh*sh + i*dh, ow*sw + j*dw];
    xp is the input already padded. Work items are (n, o) planes, split into nb blocks."""
    N, O, HO, WO = y.shape
    C, KH, KW = w.shape[1], w.shape[2], w.shape[3]
    P = N * O
    for k in prange(nb):
        old = ftz_enter()
        acc = np.empty(WO, np.float32)
        for p in range(k * P // nb, (k + 1) * P // nb):
            n, o = p // O, p % O
            for oh in range(HO):
                acc[:] = bias[o]
                for c in range(C):
                    for i in range(KH):
                        src = xp[n, c, oh * sh + i * dh]
                        for j in range(KW):
                            wv = w[o, c, i, j]
                            off = j * dw
                            if sw == 1:
                                for ow in range(WO):
                                    acc[ow] += wv * src[off + ow]
                            else:
                                for ow in range(WO):
                                    acc[ow] += wv * src[off + ow * sw]
                y[n, o, oh, :] = acc
        ftz_exit(old)


@njit(**PJIT)
def _direct_dw(xp, g, part, sh, sw, dh, dw, nb):
    """part[k, o, c, i, j, ow] = sum over samples of block k and rows oh of
    g[n, o, oh, ow] * xp[n, c, oh*sh + i*dh, ow*sw + j*dw]; summed over k and ow by the caller."""
    N, O, HO, WO = g.shape
    C, KH, KW = part.shape[2], part.shape[3], part.shape[4]
    for k in prange(nb):
        old = ftz_enter()
        acc = part[k]
        acc[:] = 0.0
        for n in range(k * N // nb, (k + 1) * N // nb):
            for c in range(C):
                for i in range(KH):
                    for oh in range(HO):
                        src = xp[n, c, oh * sh + i * dh]
                        for o in range(O):
                            grow = g[n, o, oh]
                            for j in range(KW):
                                a = acc[o, c, i, j]
                                off = j * dw
                                if sw == 1:
                                    for ow in range(WO):
                                        a[ow] += grow[ow] * src[off + ow]
                                else:
                                    for ow in range(WO):
                                        a[ow] += grow[ow] * src[off + ow * sw]
        ftz_exit(old)


# -- drivers (plain Python) --------------------------------------------------------------------
def _threads():
    from .. import _threads as th

    return max(1, th.get_num_threads())


def out_size(geo, h, w, kh, kw):
    sh, sw, pt, pb, pl, pr, dh, dw = geo
    return (h + pt + pb - dh * (kh - 1) - 1) // sh + 1, (w + pl + pr - dw * (kw - 1) - 1) // sw + 1


def _chunk(n, per_sample):
    nt = _threads()
    c = max(1, CHUNK_FLOATS // max(per_sample, 1))
    if c >= nt:
        c -= c % nt
    return min(n, c)


def _pad_planes(x, geo, kh, kw, ho, wo):
    """x zero-padded (or cropped, for negative paddings) to exactly the rows/cols the windows read."""
    sh, sw, pt, pb, pl, pr, dh, dw = geo
    N, C, H, W = x.shape
    hp, wp = (ho - 1) * sh + (kh - 1) * dh + 1, (wo - 1) * sw + (kw - 1) * dw + 1
    if pt == 0 and pl == 0 and hp == H and wp == W:
        return x
    xp = np.zeros((N, C, hp, wp), F32)
    r0, r1 = max(0, -pt), min(H, hp - pt)
    c0, c1 = max(0, -pl), min(W, wp - pl)
    if r1 > r0 and c1 > c0:
        xp[:, :, r0 + pt:r1 + pt, c0 + pl:c1 + pl] = x[:, :, r0:r1, c0:c1]
    return xp


def use_direct(c_in, kh, kw):
    return c_in <= DIRECT_MAX_C


def _im2col_args(geo, kh, kw, ho, wo):
    sh, sw, pt, pb, pl, pr, dh, dw = geo
    return kh, kw, sh, sw, pt, pl, dh, dw, ho, wo


def forward(x, w, bias, geo):
    """y = conv2d(x, w) + bias for float32 C-contiguous x (N, C, H, W), w (O, C, KH, KW)."""
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    ho, wo = out_size(geo, H, W, kh, kw)
    bias = np.zeros(O, F32) if bias is None else np.ascontiguousarray(bias, F32)
    y = np.empty((N, O, ho, wo), F32)
    nt = _threads()
    if use_direct(C, kh, kw):
        xp = _pad_planes(x, geo, kh, kw, ho, wo)
        _direct_fwd(xp, np.ascontiguousarray(w), bias, y, geo[0], geo[1], geo[6], geo[7],
                    max(1, min(nt, N * O)))
        return y
    L, K = ho * wo, kh * kw * C
    wp = np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(O, K)
    cs = _chunk(N, L * K)
    cols = np.empty((cs * L, K), F32)
    t = np.empty((cs * L, O), F32)
    args = _im2col_args(geo, kh, kw, ho, wo)
    for b0 in range(0, N, cs):
        n = min(cs, N - b0)
        nb = max(1, min(nt, n))
        c, tc = cols[:n * L], t[:n * L]
        _im2col_par(x, c, b0, n, *args, nb)
        np.matmul(c, wp.T, out=tc)
        _rows_to_nchw(tc, y, b0, n, bias, nb)
    return y


def backward(x, w, g, geo, need_x=True, need_w=True, x_shape=None, w_shape=None):
    """(dL/dx, dL/dw) of y = conv2d(x, w) given g = dL/dy (float32 C-contiguous arrays). `x` may be
    None when only the input gradient is wanted (then x_shape gives its shape), `w` may be None when
    only the weight gradient is wanted (w_shape)."""
    N, O, ho, wo = g.shape
    N, C, H, W = x.shape if x is not None else x_shape
    O, _, kh, kw = w.shape if w is not None else w_shape
    L, K = ho * wo, kh * kw * C
    nt = _threads()
    gx = gw = None
    if need_w and use_direct(C, kh, kw):
        xp = _pad_planes(x, geo, kh, kw, ho, wo)
        nb = max(1, min(nt, N))
        part = np.empty((nb, O, C, kh, kw, wo), F32)
        _direct_dw(xp, g, part, geo[0], geo[1], geo[6], geo[7], nb)
        gw = part.sum(axis=(0, 5))
        need_w = False
        if not need_x:
            return None, gw
    cs = _chunk(N, L * K)
    rows = np.empty((cs * L, O), F32)
    cols = np.empty((cs * L, K), F32)
    args = _im2col_args(geo, kh, kw, ho, wo)
    if need_w:
        dwp = np.zeros((O, K), F32)
        tmp = np.empty((O, K), F32)
    if need_x:
        wp = np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(O, K)
        gx = np.empty((N, C, H, W), F32)
    for b0 in range(0, N, cs):
        n = min(cs, N - b0)
        nb = max(1, min(nt, n))
        r, c = rows[:n * L], cols[:n * L]
        _nchw_to_rows(g, r, b0, n, nb)
        if need_w:
            _im2col_par(x, c, b0, n, *args, nb)
            np.matmul(r.T, c, out=tmp)
            dwp += tmp
        if need_x:
            np.matmul(r, wp, out=c)
            _col2im_par(c, gx, b0, n, *args, nb)
    if need_w:
        gw = np.ascontiguousarray(dwp.reshape(O, kh, kw, C).transpose(0, 3, 1, 2))
    return gx, gw


def warmup_args():
    """(kernel, args) pairs compiling every kernel of this module once (see kernels.warmup)."""
    x = np.ones((2, 3, 5, 5), F32)
    y = np.empty((2, 2, 3, 3), F32)
    cols = np.empty((18, 27), F32)
    dx = np.empty_like(x)
    a = (3, 3, 1, 1, 0, 0, 1, 1, 3, 3)
    t = np.empty((18, 2), F32)
    b = np.zeros(2, F32)
    return [(_im2col_par, (x, cols, 0, 2) + a + (1,)), (_col2im_par, (cols, dx, 0, 2) + a + (1,)),
            (_rows_to_nchw, (t, y, 0, 2, b, 1)), (_nchw_to_rows, (y, t, 0, 2, 1)),
            (_direct_fwd, (x, np.ones((2, 3, 3, 3), F32), b, y, 1, 1, 1, 1, 1)),
            (_direct_dw, (x, y, np.empty((1, 2, 3, 3, 3, 3), F32), 1, 1, 1, 1, 1))]
