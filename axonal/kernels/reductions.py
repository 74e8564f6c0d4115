"""Row-wise kernels on 2-D float32 arrays: bias gradient (sum over rows), fused softmax +
cross-entropy and its backward, log-softmax.

Row kernels take the whole array and a row range [r0, r1): numba types a row slice x[r0:r1] of a
C-contiguous 2-D array as non-contiguous ('A'), which would stop the inner loops from vectorizing.
The inner loops run over the contiguous last axis from 0, so they vectorize.
"""
import math

import numpy as np
from numba import njit, prange

from ..backend import xp_of
from ._jit import JIT, PJIT, ftz_enter, ftz_exit, is_f32c, is_i64c, parallel_blocks
from ._math import exp32
from ._thresholds import THRESHOLDS

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_ROW_BLOCK = 64   # rows summed into a fresh float32 vector before it joins the running total


# ---------------------------------------------------------------------------------------------
# sum over rows (bias gradient)


@njit(**JIT)
def _sum_rows_core(x, r0, r1, acc):
    """acc = x[r0:r1].sum(0) in float32. Two levels (blocks of 64 rows, then the blocks) bound the
    rounding error by ~(64 + N/64) eps instead of N eps for a single running sum."""
    old = ftz_enter()
    c = x.shape[1]
    tmp = np.empty(c, np.float32)
    for j in range(c):
        acc[j] = _ZERO
    i = r0
    while i < r1:
        e = min(i + _ROW_BLOCK, r1)
        for j in range(c):
            tmp[j] = _ZERO
        for k in range(i, e):
            for j in range(c):
                tmp[j] += x[k, j]
        for j in range(c):
            acc[j] += tmp[j]
        i = e
    ftz_exit(old)


@njit(**PJIT)
def _sum_rows_par(x, out, nb):
    n = x.shape[0]
    part = np.empty((nb, x.shape[1]), np.float32)   # one partial sum per thread: no write sharing
    for k in prange(nb):
        _sum_rows_core(x, k * n // nb, (k + 1) * n // nb, part[k])
    for j in range(x.shape[1]):
        s = part[0, j]
        for k in range(1, nb):
            s += part[k, j]
        out[j] = s


def sum_rows(x):
    """x.sum(0) of a 2-D array (the bias gradient of a linear layer), float32 accumulation."""
    if x.size >= THRESHOLDS["sum_rows"][0] and x.ndim == 2 and is_f32c(x):
        out = np.empty(x.shape[1], np.float32)
        nb = min(parallel_blocks(x.size, THRESHOLDS["sum_rows"][1]), x.shape[0] // _ROW_BLOCK)
        if nb >= 2:
            _sum_rows_par(x, out, nb)
        else:
            _sum_rows_core(x, 0, x.shape[0], out)
        return out
    return x.sum(0)


# ---------------------------------------------------------------------------------------------
# softmax cross-entropy


@njit(**JIT)
def _sce_core(x, t, probs, r0, r1):
    """Rows r0..r1: probs = softmax(x), returns (sum of -log p[t], number of targets outside
    [0, C)). With m = max(x), p = e^(x-m) / s and -log p_t = log s - (x_t - m): the shift makes
    every exponent <= 0 (no overflow), and the loss never takes the log of a tiny probability."""
    old = ftz_enter()
    c = x.shape[1]
    total = 0.0
    bad = 0
    for i in range(r0, r1):
        m = x[i, 0]
        for j in range(1, c):
            v = x[i, j]
            m = v if v > m else m  # noqa: FURB136 - NaN in column 0 stays: the row becomes NaN
        s = _ZERO
        for j in range(c):
            e = exp32(x[i, j] - m)
            probs[i, j] = e
            s += e
        inv = _ONE / s
        for j in range(c):
            probs[i, j] *= inv
        ti = t[i]
        if ti >= 0 and ti < c:
            total += math.log(np.float64(s)) - np.float64(x[i, ti] - m)
        else:
            bad += 1
    ftz_exit(old)
    return total, bad


@njit(**PJIT)
def _sce_par(x, t, probs, nb):
    n = x.shape[0]
    totals = np.zeros(nb, np.float64)
    bads = np.zeros(nb, np.int64)
    for k in prange(nb):
        totals[k], bads[k] = _sce_core(x, t, probs, k * n // nb, (k + 1) * n // nb)
    return totals.sum(), bads.sum()


@njit(**JIT)
def _sce_bwd_core(p, t, out, scale, r0, r1):
    old = ftz_enter()
    sc = np.float32(scale)
    c = p.shape[1]
    bad = 0
    for i in range(r0, r1):
        for j in range(c):
            out[i, j] = p[i, j] * sc
        ti = t[i]
        if ti >= 0 and ti < c:
            out[i, ti] = (p[i, ti] - _ONE) * sc
        else:
            bad += 1
    ftz_exit(old)
    return bad


@njit(**PJIT)
def _sce_bwd_par(p, t, out, scale, nb):
    n = p.shape[0]
    bads = np.zeros(nb, np.int64)
    for k in prange(nb):
        bads[k] = _sce_bwd_core(p, t, out, scale, k * n // nb, (k + 1) * n // nb)
    return bads.sum()


def _targets(logits, targets):
    if not hasattr(targets, "ndim"):
        targets = np.asarray(targets)
    if logits.ndim != 2 or targets.ndim != 1 or targets.shape[0] != logits.shape[0]:
        raise ValueError(f"softmax_cross_entropy expects (N, C) logits and (N,) targets, got "
                         f"{tuple(logits.shape)} and {tuple(targets.shape)}")
    if type(targets) is np.ndarray and targets.dtype.kind in "iu" and not is_i64c(targets):
        targets = np.ascontiguousarray(targets, dtype=np.int64)
    return targets


def _bad_targets(c):
    return IndexError(f"softmax_cross_entropy: a target is outside [0, {c})")


def softmax_cross_entropy(logits, targets):
    """(mean over rows of -log softmax(logits)[i, targets[i]] as a Python float, softmax probs).
    logits (N, C) float, targets (N,) integer class indices in [0, C) (IndexError otherwise).
    N = 0 gives nan, as PyTorch's mean reduction."""
    targets = _targets(logits, targets)
    n, c = logits.shape
    if logits.size >= THRESHOLDS["softmax_cross_entropy"][0] and is_f32c(logits) \
            and is_i64c(targets):
        probs = np.empty_like(logits)
        nb = min(parallel_blocks(logits.size, THRESHOLDS["softmax_cross_entropy"][1]), n)
        if nb >= 2:
            total, bad = _sce_par(logits, targets, probs, nb)
        else:
            total, bad = _sce_core(logits, targets, probs, 0, n)
        if bad:
            raise _bad_targets(c)
        return total / n, probs
    xp = xp_of(logits)
    if n and c and (targets.min().item() < 0 or targets.max().item() >= c):
        raise _bad_targets(c)
    if n == 0:
        return float("nan"), xp.empty_like(logits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = xp.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    picked = xp.take_along_axis(shifted, targets[:, None].astype(np.int64), axis=1)
    loss = (xp.log(s) - picked).astype(np.float64).mean()
    loss = float(loss) if xp is np else loss  # on a GPU the loss stays there (no sync)
    e /= s
    return loss, e


def softmax_cross_entropy_backward(probs, targets, scale):
    """(probs - onehot(targets)) * scale: the gradient of the loss above w.r.t. the logits, scale
    being the upstream gradient over N for the mean. A non-scalar scale broadcasts (NumPy path)."""
    targets = _targets(probs, targets)
    n, c = probs.shape
    if getattr(scale, "ndim", 0) == 0 and xp_of(scale) is np:  # a device scale stays there
        scale = float(scale)
        if probs.size >= THRESHOLDS["softmax_cross_entropy_backward"][0] and is_f32c(probs) \
                and is_i64c(targets):
            out = np.empty_like(probs)
            nb = min(parallel_blocks(probs.size, THRESHOLDS["softmax_cross_entropy_backward"][1]), n)
            if nb >= 2:
                bad = _sce_bwd_par(probs, targets, out, scale, nb)
            else:
                bad = _sce_bwd_core(probs, targets, out, scale, 0, n)
            if bad:
                raise _bad_targets(c)
            return out
    xp = xp_of(probs)
    if n and c and (targets.min().item() < 0 or targets.max().item() >= c):
        raise _bad_targets(c)
    out = probs.copy()
    out[xp.arange(n), targets] -= 1
    out *= scale
    return out


# ---------------------------------------------------------------------------------------------
# log-softmax


@njit(**JIT)
def _log_softmax_core(x, out, r0, r1):
    """out = x - m - log(sum exp(x - m)), m = row max."""
    old = ftz_enter()
    c = x.shape[1]
    for i in range(r0, r1):
        m = x[i, 0]
        for j in range(1, c):
            v = x[i, j]
            m = v if v > m else m  # noqa: FURB136 - as in _sce_core
        s = _ZERO
        for j in range(c):
            s += exp32(x[i, j] - m)
        ls = np.float32(math.log(np.float64(s)))
        for j in range(c):
            out[i, j] = (x[i, j] - m) - ls     # not x - (m + ls): m + ls would round at m's scale
    ftz_exit(old)


@njit(**PJIT)
def _log_softmax_par(x, out, nb):
    n = x.shape[0]
    for k in prange(nb):
        _log_softmax_core(x, out, k * n // nb, (k + 1) * n // nb)


def log_softmax(x, dim=-1):
    """log(softmax(x)) along `dim` (the kernel runs for the last one)."""
    if x.size >= THRESHOLDS["log_softmax"][0] and x.ndim >= 1 and dim in (-1, x.ndim - 1) \
            and is_f32c(x):
        out = np.empty_like(x)
        x2, o2 = x.reshape(-1, x.shape[-1]), out.reshape(-1, x.shape[-1])
        nb = min(parallel_blocks(x.size, THRESHOLDS["log_softmax"][1]), x2.shape[0])
        if nb >= 2:
            _log_softmax_par(x2, o2, nb)
        else:
            _log_softmax_core(x2, o2, 0, x2.shape[0])
        return out
    if x.size == 0:
        return x.copy()
    xp = xp_of(x)
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))


# ---------------------------------------------------------------------------------------------
# scatter-add of rows (the backward of a row gather such as an embedding lookup)


@njit(**JIT)
def _index_add_rows(out, idx, src):
    """out[idx[i]] += src[i] for every i, in order (repeated indices accumulate)."""
    old = ftz_enter()
    n = out.shape[0]
    for i in range(idx.size):
        k = idx[i]
        row, s = out[k + n if k < 0 else k], src[i]
        for j in range(s.size):
            row[j] += s[j]
    ftz_exit(old)


def index_add_rows(out, idx, src):
    """np.add.at(out, idx, src) for out (n, ...), integer idx (any shape, already bounds-checked)
    and src of shape idx.shape + out.shape[1:]; in place. NumPy's add.at is ~50x slower than this
    loop for rows of a few hundred floats (an embedding's backward)."""
    if idx.size == 0:  # nothing to add (reshape(n, -1) is undefined for an empty array)
        return out
    if (idx.ndim >= 1 and is_f32c(out) and out.ndim >= 1 and type(src) is np.ndarray
            and src.dtype == np.float32 and src.shape == idx.shape + out.shape[1:]):
        o2 = out.reshape(out.shape[0], math.prod(out.shape[1:]))
        _index_add_rows(o2, np.ascontiguousarray(idx.reshape(-1), np.int64),
                        np.ascontiguousarray(src).reshape(idx.size, o2.shape[1]))
        return out
    xp_of(out).add.at(out, idx, src)
    return out


def warmup_cases():
    x2, o2 = np.ones((4, 16), np.float32), np.empty((4, 16), np.float32)
    b, t = np.empty(16, np.float32), np.zeros(4, np.int64)
    return [(_sum_rows_core, (x2, 0, 4, b)), (_sum_rows_par, (x2, b, 2)),
            (_sce_core, (x2, t, o2, 0, 4)), (_sce_par, (x2, t, o2, 2)),
            (_sce_bwd_core, (x2, t, o2, 0.25, 0, 4)), (_sce_bwd_par, (x2, t, o2, 0.25, 2)),
            (_log_softmax_core, (x2, o2, 0, 4)), (_log_softmax_par, (x2, o2, 2)),
            (_index_add_rows, (o2, t, x2))]
