"""Per-channel kernels for batch normalization of an (N, C, L) float32 array (NCHW with L = H W).

Batch norm normalizes channel c over its M = N L values:

    mu_c = mean x[:, c, :],  var_c = mean (x - mu_c)^2,  r_c = 1 / sqrt(var_c + eps)
    y = (x - mu_c) r_c w_c + b_c  =  x s_c + t_c   with  s_c = r_c w_c,  t_c = b_c - mu_c s_c

and, with xh = (x - mu_c) r_c, its input gradient has the closed form

    dx = s_c (g - Sg_c / M - xh Sgx_c / M),   Sg_c = sum g  (= db_c),   Sgx_c = sum g xh  (= dw_c).

NumPy computes these with broadcasting over axes (0, 2, 3): every reduction and every product is
one more pass over the whole tensor (about 12 passes forward and backward together, plus
temporaries). Here the forward is two passes (moments, then the affine map) and the backward two
(the two sums, then dx), each reading the channel's N rows of L contiguous floats. Sums are
accumulated in float64: M reaches 10^5 and more (a 128 x 16 x 28 x 28 activation has 100k values per
channel), where a float32 running sum loses digits. Channels are independent, so the parallel
drivers give each thread whole channels (no shared writes, no reduction across threads).
"""
import numpy as np
from numba import njit, prange

from ..backend import xp_of
from ._jit import JIT, PJIT, ftz_enter, ftz_exit, is_f32c, parallel_blocks
from ._thresholds import THRESHOLDS


@njit(**JIT)
def _moments_core(x, mean, var, c0, c1):
    """mean[c], biased var[c] of x[:, c, :] for c in [c0, c1): two passes in float64."""
    old = ftz_enter()
    n, _, l = x.shape
    m = n * l
    for c in range(c0, c1):
        s = 0.0
        for i in range(n):
            row = x[i, c]
            for j in range(l):
                s += row[j]
        mu = s / m
        q = 0.0
        for i in range(n):
            row = x[i, c]
            for j in range(l):
                d = row[j] - mu
                q += d * d
        mean[c] = mu
        var[c] = q / m
    ftz_exit(old)


@njit(**JIT)
def _affine_core(x, scale, shift, out, c0, c1):
    """out[:, c, :] = x[:, c, :] scale[c] + shift[c]."""
    old = ftz_enter()
    n, _, l = x.shape
    for c in range(c0, c1):
        s, t = scale[c], shift[c]
        for i in range(n):
            row, orow = x[i, c], out[i, c]
            for j in range(l):
                orow[j] = row[j] * s + t
    ftz_exit(old)


@njit(**JIT)
def _bn_bwd_core(g, x, mean, invstd, scale, dx, sum_g, sum_gx, c0, c1):
    """sum_g[c] = sum g, sum_gx[c] = sum g xh and dx = scale (g - sum_g/M - xh sum_gx/M)."""
    old = ftz_enter()
    n, _, l = x.shape
    m = n * l
    for c in range(c0, c1):
        mu, r = mean[c], invstd[c]
        sg = 0.0
        sgx = 0.0
        for i in range(n):
            grow, xrow = g[i, c], x[i, c]
            for j in range(l):
                gv = grow[j]
                sg += gv
                sgx += gv * ((xrow[j] - mu) * r)
        sum_g[c] = sg
        sum_gx[c] = sgx
        a = np.float32(sg / m)
        b = np.float32(sgx / m)
        s = scale[c]
        for i in range(n):
            grow, xrow, drow = g[i, c], x[i, c], dx[i, c]
            for j in range(l):
                drow[j] = s * (grow[j] - a - ((xrow[j] - mu) * r) * b)
    ftz_exit(old)


@njit(**PJIT)
def _moments_par(x, mean, var, nb):
    c = x.shape[1]
    for k in prange(nb):
        _moments_core(x, mean, var, k * c // nb, (k + 1) * c // nb)


@njit(**PJIT)
def _affine_par(x, scale, shift, out, nb):
    c = x.shape[1]
    for k in prange(nb):
        _affine_core(x, scale, shift, out, k * c // nb, (k + 1) * c // nb)


@njit(**PJIT)
def _bn_bwd_par(g, x, mean, invstd, scale, dx, sum_g, sum_gx, nb):
    c = x.shape[1]
    for k in prange(nb):
        _bn_bwd_core(g, x, mean, invstd, scale, dx, sum_g, sum_gx, k * c // nb, (k + 1) * c // nb)


# ---------------------------------------------------------------------------------------------
# public wrappers: x is (N, C, L); per-channel vectors are 1-D of length C


def _blocks(x, name):
    return min(parallel_blocks(x.size, THRESHOLDS[name][1]), x.shape[1])


def channel_kernel_ok(x):
    """Whether the kernels below run for x (N, C, L): float32 C-contiguous with rows long enough to
    vectorize; otherwise they compute the same with NumPy."""
    return x.ndim == 3 and x.shape[2] >= 8 and x.size >= THRESHOLDS["channel_moments"][0] \
        and is_f32c(x)


def channel_moments(x):
    """(mean, biased variance) of every channel of x (N, C, L), float32 vectors (float64 sums)."""
    if channel_kernel_ok(x):
        mean = np.empty(x.shape[1], np.float64)
        var = np.empty(x.shape[1], np.float64)
        nb = _blocks(x, "channel_moments")
        if nb >= 2:
            _moments_par(x, mean, var, nb)
        else:
            _moments_core(x, mean, var, 0, x.shape[1])
        return mean.astype(np.float32), var.astype(np.float32)
    mean = x.mean(axis=(0, 2))
    xc = x - mean[:, None]
    return mean, (xc * xc).mean(axis=(0, 2))


def channel_affine(x, scale, shift):
    """x[:, c, :] * scale[c] + shift[c] for x (N, C, L)."""
    if channel_kernel_ok(x) and is_f32c(scale) and is_f32c(shift):
        out = np.empty_like(x)
        nb = _blocks(x, "channel_affine")
        if nb >= 2:
            _affine_par(x, scale, shift, out, nb)
        else:
            _affine_core(x, scale, shift, out, 0, x.shape[1])
        return out
    return x * scale[:, None] + shift[:, None]


def batch_norm_backward(g, x, mean, invstd, scale):
    """(dx, sum g, sum g xh) of batch norm over x (N, C, L) with xh = (x - mean) invstd and
    y = xh w + b, scale = invstd w: dx = scale (g - mean g - xh mean(g xh)) per channel."""
    if channel_kernel_ok(x) and is_f32c(g) and g.shape == x.shape and all(
            is_f32c(v) for v in (mean, invstd, scale)):
        dx = np.empty_like(x)
        sum_g = np.empty(x.shape[1], np.float64)
        sum_gx = np.empty(x.shape[1], np.float64)
        nb = _blocks(x, "batch_norm_backward")
        if nb >= 2:
            _bn_bwd_par(g, x, mean, invstd, scale, dx, sum_g, sum_gx, nb)
        else:
            _bn_bwd_core(g, x, mean, invstd, scale, dx, sum_g, sum_gx, 0, x.shape[1])
        return dx, sum_g.astype(np.float32), sum_gx.astype(np.float32)
    xp = xp_of(x)
    m = x.shape[0] * x.shape[2]
    xh = (x - mean[:, None]) * invstd[:, None]
    sum_g = g.sum(axis=(0, 2))
    sum_gx = (g * xh).sum(axis=(0, 2))
    dx = scale[:, None] * (g - (sum_g / m)[:, None] - xh * (sum_gx / m)[:, None])
    return xp.asarray(dx, dtype=x.dtype), sum_g, sum_gx


def warmup_cases():
    x = np.ones((2, 4, 16), np.float32)
    v = np.ones(4, np.float32)
    d = np.empty(4, np.float64)
    o = np.empty_like(x)
    return [(_moments_core, (x, d, d, 0, 4)), (_moments_par, (x, d, d, 2)),
            (_affine_core, (x, v, v, o, 0, 4)), (_affine_par, (x, v, v, o, 2)),
            (_bn_bwd_core, (x, x, v, v, v, o, d, d, 0, 4)),
            (_bn_bwd_par, (x, x, v, v, v, o, d, d, 2))]
