"""Array-level pooling: output sizes, gathers at argmax positions, average and adaptive pooling.
Arrays are (..., H, W); the leading dims are planes.

Max pooling is computed as (values, argmax) by `kernels.pool.max_pool2d`, where the argmax is the
flat in-plane position ih*W + iw of each window's maximum (PyTorch's return_indices format).
Everything after that is a gather at those positions (`plane_gather`), whose adjoint is the
scatter-add `kernels.pool.plane_scatter` (and vice versa).

Average pooling is linear: y = (sum over the window) / divisor, with the divisor per output position
from `avg_divisors`; its adjoint spreads g / divisor back over each window (`avg_pool_t`).
"""
import numpy as np

from .. import kernels as K
from ..backend import xp_of


def pool_out(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size; in ceil mode the last window must start inside the input or
    its left padding."""
    num = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def plane_gather(x, idx):
    """out[..., p] = x[..., idx[..., p]] with (H, W) planes flattened; idx shaped like out."""
    xp = xp_of(x)
    lead = x.shape[:-2]
    flat = x.reshape(lead + (x.shape[-2] * x.shape[-1],))
    out = xp.take_along_axis(flat, idx.reshape(lead + (idx.shape[-2] * idx.shape[-1],)), axis=-1)
    return out.reshape(idx.shape)


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
    xpad = K.pool.pad_to_windows(x, kh, kw, sh, sw, ph, pw, 1, 1, ho, wo, 0)
    acc = None
    for _, _, v in K.pool.windows(xpad, kh, kw, sh, sw, 1, 1, ho, wo):
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
    for _, _, v in K.pool.windows(acc, kh, kw, sh, sw, 1, 1, ho, wo):
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
