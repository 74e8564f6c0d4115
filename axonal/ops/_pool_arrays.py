"""Array-level pooling: output sizes, the NumPy/CuPy reference paths and dispatch to the numba
kernels (axonal.kernels.pool) for float32 CPU arrays. Arrays are (..., H, W); the leading dims
are planes.

Max pooling is computed as (values, argmax) where the argmax is the flat in-plane position ih*W + iw
of each window's maximum (PyTorch's return_indices format). Everything after that is a gather at
those positions, whose adjoint is the scatter-add `plane_scatter` (and vice versa).

Average pooling is linear: y = (sum over the window) / divisor, with the divisor per output position
from `avg_divisors`; its adjoint spreads g / divisor back over each window (`avg_pool_t`).
"""
import numpy as np

from .. import kernels as K
from ..backend import xp_of

_F32 = np.dtype(np.float32)


def pool_out(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size; in ceil mode the last window must start inside the input or
    its left padding."""
    num = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _windows(xpad, kh, kw, sh, sw, dh, dw, ho, wo):
    """(i, j, view of xpad at tap (i, j) of every window) for every kernel tap."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, xpad[..., i * dh:i * dh + sh * (ho - 1) + 1:sh,
                             j * dw:j * dw + sw * (wo - 1) + 1:sw]


def _pad_to_windows(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, value):
    """x padded by (ph, pw) before and enough after (ceil mode) for every window, with `value`."""
    h, w = x.shape[-2:]
    hb = max(h + 2 * ph, (ho - 1) * sh + (kh - 1) * dh + 1)
    wb = max(w + 2 * pw, (wo - 1) * sw + (kw - 1) * dw + 1)
    if (hb, wb) == (h, w):
        return x
    out = xp_of(x).full(x.shape[:-2] + (hb, wb), value, dtype=x.dtype)
    out[..., ph:ph + h, pw:pw + w] = x
    return out


def max_pool(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):
    """(values, int64 in-plane argmax) of max pooling x (..., H, W)."""
    if type(x) is np.ndarray and x.dtype == _F32 and x.size:
        return K.pool.max_pool2d(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)
    xp = xp_of(x)
    h, w = x.shape[-2:]
    xpad = _pad_to_windows(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, -np.inf)
    r0 = xp.arange(ho) * sh - ph  # window origins (may be in the padding)
    c0 = xp.arange(wo) * sw - pw
    # PyTorch starts each window's argmax at its first element inside the input
    first_r = r0 + (-(-xp.maximum(-r0, 0) // dh)) * dh
    first_c = c0 + (-(-xp.maximum(-c0, 0) // dw)) * dw
    idx = xp.broadcast_to(first_r[:, None] * w + first_c[None, :], x.shape[:-2] + (ho, wo))
    best = xp.full(x.shape[:-2] + (ho, wo), -np.inf, dtype=x.dtype)
    for i, j, v in _windows(xpad, kh, kw, sh, sw, dh, dw, ho, wo):
        upd = (v > best) | xp.isnan(v)  # a larger value or a NaN takes over (first max wins ties)
        best = xp.where(upd, v, best)
        pos = (r0 + i * dh)[:, None] * w + (c0 + j * dw)[None, :]
        idx = xp.where(upd, pos, idx)
    return best, xp.ascontiguousarray(idx).astype(np.int64, copy=False)


def plane_gather(x, idx):
    """out[..., p] = x[..., idx[..., p]] with (H, W) planes flattened; idx shaped like out."""
    xp = xp_of(x)
    lead = x.shape[:-2]
    flat = x.reshape(lead + (x.shape[-2] * x.shape[-1],))
    out = xp.take_along_axis(flat, idx.reshape(lead + (idx.shape[-2] * idx.shape[-1],)), axis=-1)
    return out.reshape(idx.shape)


def plane_scatter(g, idx, shape):
    """zeros(shape) with g added at the in-plane positions idx: the adjoint of plane_gather."""
    if type(g) is np.ndarray and g.dtype == _F32 and g.size:
        return K.pool.plane_scatter(g, idx, shape)
    xp = xp_of(g)
    planes = int(np.prod(shape[:-2]))
    hw = shape[-2] * shape[-1]
    if planes == 0 or hw == 0 or g.size == 0:
        return xp.zeros(shape, g.dtype)
    offs = (xp.arange(planes) * hw).reshape(-1, 1)
    flat = (idx.reshape(planes, -1) + offs).reshape(-1)
    acc = xp.bincount(flat, weights=g.reshape(-1), minlength=planes * hw)
    return acc.astype(g.dtype, copy=False).reshape(shape)


# -- average pooling ---------------------------------------------------------------------------
def avg_divisors(size, k, s, p, out, count_include_pad):
    """Divisor of each output position along one dim, as in PyTorch: windows are clipped to the
    padded input (ceil mode may overhang it), and to the input itself unless count_include_pad."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, size) - np.maximum(start, 0)).astype(np.float64)


def divisor_map(x, h, w, kh, kw, sh, sw, ph, pw, ho, wo, count_include_pad, divisor_override):
    if divisor_override:
        div = np.full((ho, wo), float(divisor_override))
    else:
        div = np.outer(avg_divisors(h, kh, sh, ph, ho, count_include_pad),
                       avg_divisors(w, kw, sw, pw, wo, count_include_pad))
    return xp_of(x).asarray(div.astype(x.dtype))


def avg_pool(x, geo, div):
    """Window sums (zeros outside the input) / div; geo = (kh, kw, sh, sw, ph, pw, ho, wo)."""
    kh, kw, sh, sw, ph, pw, ho, wo = geo
    xpad = _pad_to_windows(x, kh, kw, sh, sw, ph, pw, 1, 1, ho, wo, 0)
    acc = None
    for _, _, v in _windows(xpad, kh, kw, sh, sw, 1, 1, ho, wo):
        acc = v.copy() if acc is None else acc.__iadd__(v)
    return acc / div


def avg_pool_t(g, geo, div, x_shape):
    """The adjoint of avg_pool: each g / div added to every pixel of its window, padding dropped."""
    kh, kw, sh, sw, ph, pw, ho, wo = geo
    h, w = x_shape[-2:]
    xp = xp_of(g)
    gs = g / div
    hb = max(h + 2 * ph, (ho - 1) * sh + kh)
    wb = max(w + 2 * pw, (wo - 1) * sw + kw)
    acc = xp.zeros(tuple(x_shape[:-2]) + (hb, wb), g.dtype)
    for _, _, v in _windows(acc, kh, kw, sh, sw, 1, 1, ho, wo):
        v += gs
    return xp.ascontiguousarray(acc[..., ph:ph + h, pw:pw + w])


def adaptive_bounds(size, out):
    """[start, end) of each adaptive bin: floor(i size / out) .. ceil((i + 1) size / out)."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def adaptive_max(x, ho, wo):
    """(values, in-plane argmax) of adaptive max pooling; bins may have different sizes."""
    xp = xp_of(x)
    h, w = x.shape[-2:]
    lead = x.shape[:-2]
    out = xp.empty(lead + (ho, wo), x.dtype)
    idx = xp.empty(lead + (ho, wo), np.int64)
    for i, (h0, h1) in enumerate(adaptive_bounds(h, ho)):
        for j, (w0, w1) in enumerate(adaptive_bounds(w, wo)):
            win = x[..., h0:h1, w0:w1].reshape(lead + ((h1 - h0) * (w1 - w0),))
            a = xp.argmax(win, axis=-1)  # first maximum (a NaN counts as the maximum)
            out[..., i, j] = xp.take_along_axis(win, a[..., None], axis=-1)[..., 0]
            idx[..., i, j] = (h0 + a // (w1 - w0)) * w + w0 + a % (w1 - w0)
    return out, idx
