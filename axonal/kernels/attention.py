"""Row-wise softmax along the last axis of a float32 array, its backward, and the causal variant
that scaled_dot_product_attention(is_causal=True) uses.

    y_j = exp(s x_j - m) / sum_k exp(s x_k - m),   m = max_k s x_k
    dx_j = s y_j (g_j - sum_k g_k y_k)

(s = 1 for softmax itself; s = 1/sqrt(d) folds attention's scale into the same pass). The NumPy
expression is five passes and two temporaries over the whole score tensor (max, subtract, exp,
sum, divide) and three more in the backward; each kernel here reads a row while it sits in L1.

Causal: the scores are (..., L, S) and query i sees keys j <= i (PyTorch's is_causal: the
top-left-aligned lower triangle). Masked entries are never read: y is 0 there and so is dx. Row i
then costs i + 1 exponentials instead of S, and no -inf mask is added to (or materialised next to)
the scores.

A row whose entries are all -inf (every key masked by the caller) gives NaN, as in NumPy and
PyTorch; NaN propagates.
"""
import numpy as np
from numba import njit, prange

from ..backend import xp_of
from ._jit import JIT, PJIT, ftz_enter, ftz_exit, is_f32c, parallel_blocks
from ._math import exp32
from ._thresholds import THRESHOLDS

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)


@njit(inline="always", **JIT)
def _row_max(x, i, n):
    """max of x[i, :n] (n >= 1) on 8 independent accumulators: a single running select-max is a
    serial dependency chain that LLVM does not vectorize without the no-NaN flag (2x slower for
    rows of 128). A NaN is skipped here but still turns the row's softmax into NaN via exp."""
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = x[i, 0]
    j = 0
    while j + 8 <= n:
        v = x[i, j]
        m0 = v if v > m0 else m0  # noqa: FURB136
        v = x[i, j + 1]
        m1 = v if v > m1 else m1  # noqa: FURB136
        v = x[i, j + 2]
        m2 = v if v > m2 else m2  # noqa: FURB136
        v = x[i, j + 3]
        m3 = v if v > m3 else m3  # noqa: FURB136
        v = x[i, j + 4]
        m4 = v if v > m4 else m4  # noqa: FURB136
        v = x[i, j + 5]
        m5 = v if v > m5 else m5  # noqa: FURB136
        v = x[i, j + 6]
        m6 = v if v > m6 else m6  # noqa: FURB136
        v = x[i, j + 7]
        m7 = v if v > m7 else m7  # noqa: FURB136
        j += 8
    for k in range(j, n):
        v = x[i, k]
        m0 = v if v > m0 else m0  # noqa: FURB136
    m0 = m1 if m1 > m0 else m0  # noqa: FURB136
    m2 = m3 if m3 > m2 else m2  # noqa: FURB136
    m4 = m5 if m5 > m4 else m4  # noqa: FURB136
    m6 = m7 if m7 > m6 else m6  # noqa: FURB136
    m0 = m2 if m2 > m0 else m0  # noqa: FURB136
    m4 = m6 if m6 > m4 else m4  # noqa: FURB136
    return m4 if m4 > m0 else m0  # noqa: FURB136


@njit(**JIT)
def _softmax_core(x, out, scale, causal_l, r0, r1):
    """Rows r0..r1 of the 2-D x (rows, S). causal_l > 0: row r is query r % causal_l and sees the
    first r % causal_l + 1 columns; the others are set to 0."""
    old = ftz_enter()
    c = x.shape[1]
    for i in range(r0, r1):
        n = c if causal_l == 0 else min(i % causal_l + 1, c)
        if scale > _ZERO:  # x -> scale x is increasing, and so is its rounding: max commutes
            m = _row_max(x, i, n) * scale
        else:
            m = x[i, 0] * scale
            for j in range(1, n):
                v = x[i, j] * scale
                m = v if v > m else m  # noqa: FURB136
        s = _ZERO
        for j in range(n):
            e = exp32(x[i, j] * scale - m)
            out[i, j] = e
            s += e
        inv = _ONE / s
        for j in range(n):
            out[i, j] *= inv
        for j in range(n, c):
            out[i, j] = _ZERO
    ftz_exit(old)


@njit(**PJIT)
def _softmax_par(x, out, scale, causal_l, nb):
    n = x.shape[0]
    for k in prange(nb):
        _softmax_core(x, out, scale, causal_l, k * n // nb, (k + 1) * n // nb)


@njit(**JIT)
def _softmax_bwd_core(y, g, out, scale, causal_l, r0, r1):
    old = ftz_enter()
    c = y.shape[1]
    for i in range(r0, r1):
        n = c if causal_l == 0 else min(i % causal_l + 1, c)
        d = _ZERO
        for j in range(n):
            d += g[i, j] * y[i, j]
        for j in range(n):
            out[i, j] = scale * y[i, j] * (g[i, j] - d)
        for j in range(n, c):
            out[i, j] = _ZERO
    ftz_exit(old)


@njit(**PJIT)
def _softmax_bwd_par(y, g, out, scale, causal_l, nb):
    n = y.shape[0]
    for k in prange(nb):
        _softmax_bwd_core(y, g, out, scale, causal_l, k * n // nb, (k + 1) * n // nb)


def _rows(a):
    return a.reshape(-1, a.shape[-1])


def _run(core, par, arrays, out, scale, causal_l, key):
    rows = _rows(out)
    nb = min(parallel_blocks(out.size, THRESHOLDS[key][1]), rows.shape[0])
    args = tuple(_rows(a) for a in arrays) + (rows, np.float32(scale), causal_l)
    if nb >= 2:
        par(*args, nb)
    else:
        core(*args, 0, rows.shape[0])
    return out


def kernel_ok(x, key="softmax"):
    """True when `softmax`/`causal_softmax` of x runs on the kernel (else NumPy)."""
    return x.ndim >= 1 and x.size >= THRESHOLDS[key][0] and x.shape[-1] > 0 and is_f32c(x)


def softmax(x, scale=1.0):
    """softmax(scale * x) along the last axis."""
    if kernel_ok(x):
        return _run(_softmax_core, _softmax_par, (x,), np.empty_like(x), scale, 0, "softmax")
    z = x * x.dtype.type(scale) if scale != 1.0 else x
    e = xp_of(x).exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def softmax_backward(y, g, scale=1.0):
    """scale * y * (g - sum(g * y)) along the last axis: the gradient of softmax(scale * x) given
    its output y and the output gradient g."""
    if kernel_ok(y, "softmax_backward") and is_f32c(g) and g.shape == y.shape:
        return _run(_softmax_bwd_core, _softmax_bwd_par, (y, g), np.empty_like(y), scale, 0,
                    "softmax_backward")
    gx = y * (g - (g * y).sum(axis=-1, keepdims=True))
    return gx * y.dtype.type(scale) if scale != 1.0 else gx


def causal_keep(xp, rows, cols):
    """(rows, cols) bool array, True where query i may see key j (j <= i)."""
    return xp.tril(xp.ones((rows, cols), dtype=bool))


def causal_softmax(x, scale=1.0):
    """softmax(scale * x) along the last axis of (..., L, S) scores with keys j > i masked out
    (their weights are exactly 0)."""
    if x.ndim < 2:
        raise ValueError(f"causal_softmax: expected scores of shape (..., L, S), got {x.shape}")
    if kernel_ok(x):
        return _run(_softmax_core, _softmax_par, (x,), np.empty_like(x), scale, x.shape[-2],
                    "softmax")
    xp = xp_of(x)
    z = xp.where(causal_keep(xp, *x.shape[-2:]), x * x.dtype.type(scale), -np.inf)
    e = xp.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e.astype(x.dtype, copy=False)


def causal_softmax_backward(y, g, scale=1.0):
    """The gradient of causal_softmax given its output y and output gradient g (0 where masked)."""
    if kernel_ok(y, "softmax_backward") and is_f32c(g) and g.shape == y.shape:
        return _run(_softmax_bwd_core, _softmax_bwd_par, (y, g), np.empty_like(y), scale,
                    y.shape[-2], "softmax_backward")
    return softmax_backward(y, g, scale)  # y is 0 where masked, so the product is too


def warmup_cases():
    x, o = np.ones((4, 16), np.float32), np.empty((4, 16), np.float32)
    one = np.float32(1.0)
    return [(_softmax_core, (x, o, one, 0, 0, 4)), (_softmax_par, (x, o, one, 0, 2)),
            (_softmax_bwd_core, (x, x, o, one, 0, 0, 4)), (_softmax_bwd_par, (x, x, o, one, 0, 2))]
