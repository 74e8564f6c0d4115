"""Row kernels for layer normalization of a float32 (R, D) array (all leading dims as rows, the
normalized trailing dims as D contiguous floats).

    mu = mean_j x_j,  var = mean_j (x_j - mu)^2,  r = 1 / sqrt(var + eps)
    xh = (x - mu) r,  y = xh w + b
    gh = g w,  dx = r (gh - mean_j gh - xh mean_j(gh xh)),  dw = sum_rows g xh,  db = sum_rows g

NumPy takes ~6 passes over the whole array for the moments and the affine map and ~10 for the
backward, with as many temporaries; here each row is read while it sits in L1: moments (sums in
float64), then y and xh in one pass; in the backward the two row means, then dx, with dw and db
accumulated in the same pass. Rows are independent, so the parallel drivers give each thread a
block of rows; dw and db are summed per thread (blocks of 64 rows into a fresh vector, then into
the thread's total, bounding the float32 rounding error by ~(64 + R/64) eps) and the per-thread
totals are added at the end (no shared writes).
"""
import numpy as np
from numba import njit, prange

from ._jit import JIT, PJIT, ftz_enter, ftz_exit, is_f32c, parallel_blocks
from ._thresholds import THRESHOLDS

_ZERO = np.float32(0.0)
_ROW_BLOCK = 64


@njit(**JIT)
def _moments_core(x, eps, mean, var, invstd, r0, r1):
    old = ftz_enter()
    d = x.shape[1]
    for i in range(r0, r1):
        s = 0.0
        for j in range(d):
            s += x[i, j]
        mu = s / d
        q = 0.0
        for j in range(d):
            c = x[i, j] - mu
            q += c * c
        v = q / d
        mean[i] = mu
        var[i] = v
        invstd[i] = 1.0 / np.sqrt(v + eps)
    ftz_exit(old)


@njit(**PJIT)
def _moments_par(x, eps, mean, var, invstd, nb):
    n = x.shape[0]
    for k in prange(nb):
        _moments_core(x, eps, mean, var, invstd, k * n // nb, (k + 1) * n // nb)


@njit(**JIT)
def _forward_core(x, mean, invstd, w, b, y, xh, r0, r1):
    old = ftz_enter()
    d = x.shape[1]
    for i in range(r0, r1):
        mu, r = mean[i], invstd[i]
        for j in range(d):
            h = (x[i, j] - mu) * r
            xh[i, j] = h
            y[i, j] = h * w[j] + b[j]
    ftz_exit(old)


@njit(**PJIT)
def _forward_par(x, mean, invstd, w, b, y, xh, nb):
    n = x.shape[0]
    for k in prange(nb):
        _forward_core(x, mean, invstd, w, b, y, xh, k * n // nb, (k + 1) * n // nb)


@njit(**JIT)
def _backward_core(g, xh, invstd, w, gx, gw, gb, need_x, r0, r1):
    """gx rows r0..r1 (if need_x); gw = sum g xh and gb = sum g over these rows (overwritten)."""
    old = ftz_enter()
    d = g.shape[1]
    tw = np.zeros(d, np.float32)
    tb = np.zeros(d, np.float32)
    for j in range(d):
        gw[j] = _ZERO
        gb[j] = _ZERO
    for i in range(r0, r1):
        if need_x:
            a = _ZERO
            c = _ZERO
            for j in range(d):
                gh = g[i, j] * w[j]
                a += gh
                c += gh * xh[i, j]
            a /= d
            c /= d
            r = invstd[i]
            for j in range(d):
                gx[i, j] = r * (g[i, j] * w[j] - a - xh[i, j] * c)
        for j in range(d):
            tw[j] += g[i, j] * xh[i, j]
            tb[j] += g[i, j]
        if (i - r0) % _ROW_BLOCK == _ROW_BLOCK - 1 or i == r1 - 1:
            for j in range(d):
                gw[j] += tw[j]
                gb[j] += tb[j]
                tw[j] = _ZERO
                tb[j] = _ZERO
    ftz_exit(old)


@njit(**PJIT)
def _backward_par(g, xh, invstd, w, gx, gw, gb, need_x, nb):
    n = g.shape[0]
    pw = np.empty((nb, g.shape[1]), np.float32)
    pb = np.empty((nb, g.shape[1]), np.float32)
    for k in prange(nb):
        _backward_core(g, xh, invstd, w, gx, pw[k], pb[k], need_x, k * n // nb, (k + 1) * n // nb)
    for j in range(g.shape[1]):
        sw = pw[0, j]
        sb = pb[0, j]
        for k in range(1, nb):
            sw += pw[k, j]
            sb += pb[k, j]
        gw[j] = sw
        gb[j] = sb


def _blocks(n_rows, size, name):
    return min(parallel_blocks(size, THRESHOLDS[name][1]), n_rows)


def rows_ok(x2):
    """Whether the kernels run for the (R, D) array x2 (float32, C-contiguous, D >= 8)."""
    return x2.ndim == 2 and x2.shape[1] >= 8 and x2.shape[0] >= 1 and \
        x2.size >= THRESHOLDS["layer_norm"][0] and is_f32c(x2)


def moments(x2, eps):
    """(mean, biased var, invstd) float32 vectors of the rows of x2 (rows_ok(x2) must hold)."""
    n = x2.shape[0]
    mean, var, invstd = (np.empty(n, np.float32) for _ in range(3))
    nb = _blocks(n, x2.size, "layer_norm")
    if nb >= 2:
        _moments_par(x2, float(eps), mean, var, invstd, nb)
    else:
        _moments_core(x2, float(eps), mean, var, invstd, 0, n)
    return mean, var, invstd


def forward(x2, mean, invstd, w, b):
    """(y, xh) with xh = (x - mean) invstd per row and y = xh w + b (w, b: (D,) float32)."""
    y, xh = np.empty_like(x2), np.empty_like(x2)
    n = x2.shape[0]
    nb = _blocks(n, x2.size, "layer_norm")
    if nb >= 2:
        _forward_par(x2, mean, invstd, w, b, y, xh, nb)
    else:
        _forward_core(x2, mean, invstd, w, b, y, xh, 0, n)
    return y, xh


def backward(g2, xh, invstd, w, need_x):
    """(dx or None, dw, db) for the rows (g2 and xh C-contiguous float32 (R, D))."""
    n, d = g2.shape
    gx = np.empty_like(g2) if need_x else np.empty((1, d), np.float32)
    gw, gb = np.empty(d, np.float32), np.empty(d, np.float32)
    nb = _blocks(n, g2.size, "layer_norm_backward")
    if nb >= 2:
        _backward_par(g2, xh, invstd, w, gx, gw, gb, need_x, nb)
    else:
        _backward_core(g2, xh, invstd, w, gx, gw, gb, need_x, 0, n)
    return (gx if need_x else None), gw, gb


def warmup_cases():
    x = np.ones((4, 16), np.float32)
    v = np.ones(4, np.float32)
    w = np.ones(16, np.float32)
    o = np.empty_like(x)
    return [(_moments_core, (x, 1e-5, v, v, v, 0, 4)), (_moments_par, (x, 1e-5, v, v, v, 2)),
            (_forward_core, (x, v, v, w, w, o, o, 0, 4)), (_forward_par, (x, v, v, w, w, o, o, 2)),
            (_backward_core, (x, x, v, w, o, w, w, True, 0, 4)),
            (_backward_par, (x, x, v, w, o, w, w, True, 2))]
