"""Max pooling on planes: the forward with its argmax, and the scatter of the gradient back to the
argmax positions (rank 0: arrays only). Numba kernels for float32 NumPy arrays, the same results
with NumPy/CuPy for any other array: the wrappers `max_pool2d` and `plane_scatter` choose.

Arrays are viewed as P = N*C independent planes: x (P, H, W), out and idx (P, HO, WO). `idx` holds
the flat position ih*W + iw of each window's maximum inside its plane (PyTorch's `return_indices`
format). Window (oh, ow) covers rows oh*sh - ph + i*dh and columns ow*sw - pw + j*dw; positions
outside the plane are skipped (the same as padding with -inf).

Semantics follow PyTorch's CPU kernel exactly: the running maximum starts at -inf with the index of
the window's first valid element, and a value replaces it when it is larger *or NaN*, so the first
maximum wins ties, a NaN propagates (the last NaN's index is kept), and an all -inf window points at
its first element. (Starting from the first element itself, as the unrolled 2x2 case does, gives
the same result.) The kernels therefore use the IEEE-preserving FASTMATH set of `_jit` (no `nnan`).

The scatter is the adjoint of "gather the values at idx": dx[p, idx[p, q]] += g[p, q]. Windows may
overlap (stride < kernel), so two outputs can share an argmax; planes are independent, so threads
split the planes and never write the same element.
"""
import numpy as np
from numba import njit, prange

from ..backend import xp_of
from ._jit import JIT, PJIT, ftz_enter, ftz_exit, parallel_blocks

F32 = np.float32
_NEG_INF = np.float32(-np.inf)
PAR_MIN_ELEMENTS = 1 << 18  # input elements per thread below which the serial core runs


@njit(**JIT)
def _maxpool_core(x, out, idx, p0, p1, kh, kw, sh, sw, ph, pw, dh, dw):
    """Planes [p0, p1). Each window is clipped to the plane once (ranges precomputed per output
    row and column), then scanned row by row: the scan order of PyTorch's kernel."""
    old = ftz_enter()
    H, W = x.shape[1], x.shape[2]
    HO, WO = out.shape[1], out.shape[2]
    if kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0 and dh == 1 and \
            dw == 1 and 2 * HO <= H and 2 * WO <= W:
        _maxpool_2x2(x, out, idx, p0, p1)
        ftz_exit(old)
        return
    i0, i1 = _clip(HO, kh, sh, ph, dh, H)
    j0, j1 = _clip(WO, kw, sw, pw, dw, W)
    for p in range(p0, p1):
        plane = x[p]
        for oh in range(HO):
            r = oh * sh - ph
            for ow in range(WO):
                c = ow * sw - pw
                best = _NEG_INF
                bi = (r + i0[oh] * dh) * W + c + j0[ow] * dw
                for i in range(i0[oh], i1[oh]):
                    row = plane[r + i * dh]
                    for j in range(j0[ow], j1[ow]):
                        v = row[c + j * dw]
                        if v > best or v != v:  # larger, or NaN: PyTorch's rule
                            best = v
                            bi = (r + i * dh) * W + c + j * dw
                out[p, oh, ow] = best
                idx[p, oh, ow] = bi
    ftz_exit(old)


@njit(**JIT)
def _clip(n_out, k, s, p, d, size):
    """Per output position o, the taps [t0, t1) whose input index o*s - p + t*d is in [0, size)."""
    t0 = np.zeros(n_out, np.int64)
    t1 = np.zeros(n_out, np.int64)
    for o in range(n_out):
        start = o * s - p
        a = 0
        while a < k and start + a * d < 0:
            a += 1
        b = a
        while b < k and start + b * d < size:
            b += 1
        t0[o], t1[o] = a, b
    return t0, t1


@njit(**JIT)
def _maxpool_2x2(x, out, idx, p0, p1):
    """The common case (2x2 windows, stride 2, no padding) with the four reads unrolled."""
    W = x.shape[2]
    HO, WO = out.shape[1], out.shape[2]
    for p in range(p0, p1):
        plane = x[p]
        for oh in range(HO):
            r0, r1 = plane[2 * oh], plane[2 * oh + 1]
            o, ii = out[p, oh], idx[p, oh]
            for ow in range(WO):
                m, k = r0[2 * ow], 0
                v = r0[2 * ow + 1]
                if v > m or v != v:
                    m, k = v, 1
                v = r1[2 * ow]
                if v > m or v != v:
                    m, k = v, W
                v = r1[2 * ow + 1]
                if v > m or v != v:
                    m, k = v, W + 1
                o[ow] = m
                ii[ow] = 2 * oh * W + 2 * ow + k


@njit(**PJIT)
def _maxpool_par(x, out, idx, kh, kw, sh, sw, ph, pw, dh, dw, nb):
    P = x.shape[0]
    for k in prange(nb):
        _maxpool_core(x, out, idx, k * P // nb, (k + 1) * P // nb, kh, kw, sh, sw, ph, pw, dh, dw)


@njit(**JIT)
def _scatter_core(g, idx, dx, p0, p1):
    """dx[p] = 0, then dx[p, idx[p, q]] += g[p, q] for planes p in [p0, p1); g, idx (P, Q)."""
    old = ftz_enter()
    for p in range(p0, p1):
        row = dx[p]
        row[:] = 0.0
        gp, ip = g[p], idx[p]
        for q in range(gp.size):
            row[ip[q]] += gp[q]
    ftz_exit(old)


@njit(**PJIT)
def _scatter_par(g, idx, dx, nb):
    P = g.shape[0]
    for k in prange(nb):
        _scatter_core(g, idx, dx, k * P // nb, (k + 1) * P // nb)


def _blocks(planes, plane_size):
    return parallel_blocks(planes, max(1, -(-PAR_MIN_ELEMENTS // max(plane_size, 1))))


def windows(xpad, kh, kw, sh, sw, dh, dw, ho, wo):
    """(i, j, view of xpad at tap (i, j) of every window) for every kernel tap."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, xpad[..., i * dh:i * dh + sh * (ho - 1) + 1:sh,
                             j * dw:j * dw + sw * (wo - 1) + 1:sw]


def pad_to_windows(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, value):
    """x padded by (ph, pw) before and enough after (ceil mode) for every window, with `value`."""
    h, w = x.shape[-2:]
    hb = max(h + 2 * ph, (ho - 1) * sh + (kh - 1) * dh + 1)
    wb = max(w + 2 * pw, (wo - 1) * sw + (kw - 1) * dw + 1)
    if (hb, wb) == (h, w):
        return x
    out = xp_of(x).full(x.shape[:-2] + (hb, wb), value, dtype=x.dtype)
    out[..., ph:ph + h, pw:pw + w] = x
    return out


def max_pool2d(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):
    """(values, int64 in-plane argmax) of max pooling x (..., H, W)."""
    if type(x) is not np.ndarray or x.dtype != F32 or not x.size:
        return _max_pool_reference(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)
    x = np.ascontiguousarray(x)
    lead = x.shape[:-2]
    H, W = x.shape[-2:]
    xv = x.reshape(int(np.prod(lead)), H, W)
    P = xv.shape[0]
    out = np.empty((P, ho, wo), F32)
    idx = np.empty((P, ho, wo), np.int64)
    nb = _blocks(P, H * W)
    if nb:
        _maxpool_par(xv, out, idx, kh, kw, sh, sw, ph, pw, dh, dw, nb)
    elif P:
        _maxpool_core(xv, out, idx, 0, P, kh, kw, sh, sw, ph, pw, dh, dw)
    return out.reshape(lead + (ho, wo)), idx.reshape(lead + (ho, wo))


def _max_pool_reference(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):
    xp = xp_of(x)
    w = x.shape[-1]
    xpad = pad_to_windows(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, -np.inf)
    r0 = xp.arange(ho) * sh - ph  # window origins (may be in the padding)
    c0 = xp.arange(wo) * sw - pw
    # PyTorch starts each window's argmax at its first element inside the input
    first_r = r0 + (-(-xp.maximum(-r0, 0) // dh)) * dh
    first_c = c0 + (-(-xp.maximum(-c0, 0) // dw)) * dw
    idx = xp.broadcast_to(first_r[:, None] * w + first_c[None, :], x.shape[:-2] + (ho, wo))
    best = xp.full(x.shape[:-2] + (ho, wo), -np.inf, dtype=x.dtype)
    for i, j, v in windows(xpad, kh, kw, sh, sw, dh, dw, ho, wo):
        upd = (v > best) | xp.isnan(v)  # a larger value or a NaN takes over (first max wins ties)
        best = xp.where(upd, v, best)
        pos = (r0 + i * dh)[:, None] * w + (c0 + j * dw)[None, :]
        idx = xp.where(upd, pos, idx)
    return best, xp.ascontiguousarray(idx).astype(np.int64, copy=False)


def plane_scatter(g, idx, shape):
    """zeros(shape) with g added at the flat in-plane positions idx (g, idx: shape[:-2] + (...)):
    the adjoint of gathering at idx."""
    if type(g) is not np.ndarray or g.dtype != F32 or not g.size:
        return _plane_scatter_reference(g, idx, shape)
    H, W = shape[-2:]
    P = int(np.prod(shape[:-2]))
    Q = g.shape[-2] * g.shape[-1]
    gv = np.ascontiguousarray(g).reshape(P, Q)
    iv = np.ascontiguousarray(idx, dtype=np.int64).reshape(P, Q)
    dx = np.empty((P, H * W), F32)
    nb = _blocks(P, H * W)
    if nb:
        _scatter_par(gv, iv, dx, nb)
    elif P:
        _scatter_core(gv, iv, dx, 0, P)
    return dx.reshape(shape)


def _plane_scatter_reference(g, idx, shape):
    xp = xp_of(g)
    planes = int(np.prod(shape[:-2]))
    hw = shape[-2] * shape[-1]
    if planes == 0 or hw == 0 or g.size == 0:
        return xp.zeros(shape, g.dtype)
    offs = (xp.arange(planes) * hw).reshape(-1, 1)
    flat = (idx.reshape(planes, -1) + offs).reshape(-1)
    acc = xp.bincount(flat, weights=g.reshape(-1), minlength=planes * hw)
    return acc.astype(g.dtype, copy=False).reshape(shape)


def warmup_cases():
    x = np.ones((2, 4, 4), F32)
    out = np.empty((2, 2, 2), F32)
    idx = np.zeros((2, 2, 2), np.int64)
    g, i, dx = out.reshape(2, 4), idx.reshape(2, 4), x.reshape(2, 16)
    return [(_maxpool_par, (x, out, idx, 2, 2, 2, 2, 0, 0, 1, 1, 1)),
            (_maxpool_core, (x, out, idx, 0, 2, 2, 2, 2, 2, 0, 0, 1, 1)),
            (_scatter_par, (g, i, dx, 1)), (_scatter_core, (g, i, dx, 0, 2))]
