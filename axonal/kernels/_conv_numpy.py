"""2-D convolution with NumPy or CuPy (no numba): the geometry, and the three maps for the arrays
the numba kernels do not take (float64, CuPy, empty, many groups); `kernels.conv` chooses.

Geometry `geo` = (sh, sw, pt, pb, pl, pr, dh, dw): strides, paddings (top, bottom, left, right) and
dilations. Paddings may be negative, meaning the input is cropped there: a transposed convolution
with output_padding > padding is the adjoint of a convolution that ignores the last input rows.
The output of a convolution has HO = (H + pt + pb - dh (KH - 1) - 1) // sh + 1 rows.

The three maps every convolution op is built from, each bilinear in its two arguments:

    forward       y  = conv(x, w)     y[n,o,p] = sum_{c,t} w[o,c,t] x[n,c,p*s + t*d - pad]
    input grad    dx = conv_t(g, w)   adjoint of x -> conv(x, w): <conv(x, w), g> = <x, dx>
    weight grad   dw = conv_w(x, g)   adjoint of w -> conv(x, w): <conv(x, w), g> = <w, dw>

The reference path writes all three with im2col: cols[n, c, i, j, oh, ow] = xpad[n, c,
oh*sh + i*dh, ow*sw + j*dw], one strided slice per kernel tap (the same code runs on NumPy and
CuPy). Then conv = W @ cols, conv_t = col2im(W^T @ g) and conv_w = sum_n g cols^T, per group.
col2im is the adjoint of im2col: it adds each tap's slice back into a zero image, so overlapping
windows accumulate.
"""
from ..backend import xp_of


def out_hw(geo, h, w, kh, kw):
    sh, sw, pt, pb, pl, pr, dh, dw = geo
    return (h + pt + pb - dh * (kh - 1) - 1) // sh + 1, (w + pl + pr - dw * (kw - 1) - 1) // sw + 1


def pad_signed(x, pt, pb, pl, pr):
    """Zero-pad the last two dims of x by (pt, pb, pl, pr); negative amounts crop instead."""
    if pt == pb == pl == pr == 0:
        return x
    h, w = x.shape[-2:]
    x = x[..., max(0, -pt):h - max(0, -pb), max(0, -pl):w - max(0, -pr)]
    if max(pt, pb, pl, pr) <= 0:
        return x
    xp = xp_of(x)
    out = xp.zeros(x.shape[:-2] + (x.shape[-2] + max(pt, 0) + max(pb, 0),
                                   x.shape[-1] + max(pl, 0) + max(pr, 0)), x.dtype)
    out[..., max(pt, 0):max(pt, 0) + x.shape[-2], max(pl, 0):max(pl, 0) + x.shape[-1]] = x
    return out


def im2col(x, kh, kw, geo):
    """cols (N, C, KH, KW, HO, WO) of x (N, C, H, W): what each output pixel reads at each tap."""
    sh, sw, pt, pb, pl, pr, dh, dw = geo
    ho, wo = out_hw(geo, x.shape[2], x.shape[3], kh, kw)
    xpad = pad_signed(x, pt, pb, pl, pr)
    cols = xp_of(x).empty(x.shape[:2] + (kh, kw, ho, wo), x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xpad[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                                    j * dw:j * dw + sw * (wo - 1) + 1:sw]
    return cols


def col2im(cols, x_shape, geo):
    """The adjoint of im2col: x-shaped sum of every tap's columns at the pixels that tap read."""
    sh, sw, pt, pb, pl, pr, dh, dw = geo
    n, c, kh, kw, ho, wo = cols.shape
    h, w = x_shape[2], x_shape[3]
    xp = xp_of(cols)
    hp, wp = h + pt + pb, w + pl + pr
    # rows/cols past hp/wp are never read by a window; allocate enough for every slice
    hb, wb = max(hp, (ho - 1) * sh + (kh - 1) * dh + 1), max(wp, (wo - 1) * sw + (kw - 1) * dw + 1)
    acc = xp.zeros((n, c, hb, wb), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            acc[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                j * dw:j * dw + sw * (wo - 1) + 1:sw] += cols[:, :, i, j]
    acc = acc[:, :, :hp, :wp]
    return pad_signed(acc, -pt, -pb, -pl, -pr)  # the adjoint of padding is cropping (and back)


# -- the three maps -----------------------------------------------------------------------------
def conv_forward(x, w, b, geo, groups):
    """conv(x, w) + b for x (N, C, H, W), w (O, C/groups, KH, KW), b (O,) or None."""
    xp = xp_of(x)
    n, o, (kh, kw) = x.shape[0], w.shape[0], w.shape[2:]
    kg = w.shape[1] * kh * kw  # columns per group
    cols = im2col(x, kh, kw, geo)
    ho, wo = cols.shape[-2:]
    y = xp.matmul(w.reshape(groups, o // groups, kg), cols.reshape(n, groups, kg, ho * wo))
    y = y.reshape(n, o, ho, wo)
    if b is not None:
        y += b.reshape(1, o, 1, 1)
    return y


def conv_input_grad(g, w, geo, groups, x_shape):
    """conv_t(g, w): the x-shaped adjoint of conv(., w) applied to g (N, O, HO, WO)."""
    xp = xp_of(g)
    n, o, ho, wo = g.shape
    c, kh, kw = x_shape[1], w.shape[2], w.shape[3]
    wg = w.reshape(groups, o // groups, w.shape[1] * kh * kw)
    dcols = xp.matmul(wg.transpose(0, 2, 1), g.reshape(n, groups, o // groups, ho * wo))
    return col2im(dcols.reshape(n, c, kh, kw, ho, wo), x_shape, geo)


def conv_weight_grad(x, g, geo, groups, w_shape):
    """conv_w(x, g): the w-shaped adjoint of conv(x, .) applied to g."""
    xp = xp_of(x)
    n, o, ho, wo = g.shape
    kh, kw = w_shape[2], w_shape[3]
    cols = im2col(x, kh, kw, geo).reshape(n, groups, w_shape[1] * kh * kw, ho * wo)
    gr = g.reshape(n, groups, o // groups, ho * wo)
    dw = xp.stack([xp.tensordot(gr[:, k], cols[:, k], axes=([0, 2], [0, 2]))
                   for k in range(groups)])
    return dw.reshape(w_shape).astype(x.dtype, copy=False)
