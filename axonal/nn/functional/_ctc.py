"""ctc_loss: Connectionist Temporal Classification (Graves et al. 2006), PyTorch's semantics.

A target l of length L is extended with blanks, l' = (b, l1, b, l2, ..., lL, b) of length 2L + 1.
In log space, with lp = log_probs of one sample (T, C):

    alpha[0, 0] = lp[0, b],  alpha[0, 1] = lp[0, l1]
    alpha[t, s] = lse(alpha[t-1, s], alpha[t-1, s-1], alpha[t-1, s-2] if l'_s != b and
                      l'_s != l'_{s-2}) + lp[t, l'_s]
    nll = -lse(alpha[T-1, 2L], alpha[T-1, 2L-1])

and beta is the same recursion run backwards from t = T - 1. The gradient is PyTorch's formula

    d nll / d lp[t, c] = exp(lp[t, c])
                         - exp(lse_{s: l'_s = c}(alpha[t, s] + beta[t, s]) + nll - lp[t, c])

which is the gradient with respect to the *logits* of a log_softmax (the exp(lp) term is the
softmax's share): chained through log_softmax, as CTC inputs always are, it equals the exact
gradient; on raw log-probabilities it is what PyTorch returns too. Time steps past a sample's
input length get zero gradient. The recursion is vectorized over the batch and the extended
label positions; it loops over time in Python (NumPy or CuPy arrays).

reduction='mean' divides each sample's loss by its target length (at least 1) and then averages
over the batch; zero_infinity=True replaces infinite losses (impossible alignments) and their
gradients by zeros.
"""
import numpy as np

from ..._errors import ShapeError
from ...autograd.function import Function
from ...backend import xp_of
from ...tensor import Tensor, constant
from ._args import floating, reduction_arg

_NEG = -np.inf


def _lse(*terms):
    xp = xp_of(terms[0])
    m = terms[0]
    for t in terms[1:]:
        m = xp.maximum(m, t)
    safe = xp.where(xp.isfinite(m), m, 0)
    total = sum(xp.exp(t - safe) for t in terms)
    with np.errstate(divide="ignore"):
        return xp.where(xp.isfinite(m), safe + xp.log(total), m)


def _extended(xp, targets, lengths, blank):
    """(N, 2 Smax + 1) extended labels (blank where past the end) and the 'skip allowed' mask."""
    n, smax = targets.shape
    ext = xp.full((n, 2 * smax + 1), blank, dtype=np.int64)
    ext[:, 1::2] = targets
    pos = xp.arange(2 * smax + 1)
    inside = pos[None, :] < (2 * lengths[:, None] + 1)
    ext = xp.where(inside, ext, blank)
    prev2 = xp.concatenate([xp.full((n, 2), -1, dtype=np.int64), ext[:, :-2]], axis=1)
    skip = (ext != blank) & (ext != prev2)
    return ext, inside, skip


def _shift(a, k, fill=_NEG):
    xp = xp_of(a)
    out = xp.full_like(a, fill)
    if k > 0:
        out[:, k:] = a[:, :-k]
    else:
        out[:, :k] = a[:, -k:]
    return out


def _forward_backward(lp, targets, in_len, tgt_len, blank):
    """(nll (N,), grad (T, N, C)) for log_probs lp (T, N, C)."""
    xp = xp_of(lp)
    tmax, n, c = lp.shape
    ext, inside, skip = _extended(xp, targets, tgt_len, blank)
    s = ext.shape[1]
    rows = xp.arange(n)[:, None]
    lpe = lp[:, rows, ext]                                   # (T, N, S): lp[t, n, l'_s]
    lpe = xp.where(inside[None], lpe, _NEG)
    alpha = xp.full((tmax, n, s), _NEG, dtype=lp.dtype)
    alpha[0, :, 0] = lpe[0, :, 0]
    alpha[0, :, 1] = xp.where(tgt_len > 0, lpe[0, :, 1], _NEG) if s > 1 else _NEG
    for t in range(1, tmax):
        a = alpha[t - 1]
        a2 = xp.where(skip, _shift(a, 2), _NEG)
        alpha[t] = _lse(a, _shift(a, 1), a2) + lpe[t]
    end = 2 * tgt_len                                         # last blank of each sample
    last = alpha[in_len - 1, xp.arange(n)]                    # (N, S) at t = T_n - 1
    a_end = last[xp.arange(n), end]
    a_prev = xp.where(tgt_len > 0, last[xp.arange(n), xp.maximum(end - 1, 0)], _NEG)
    nll = -_lse(a_end, a_prev)
    # beta: started at each sample's own last step
    beta = xp.full((tmax, n, s), _NEG, dtype=lp.dtype)
    skip_next = _shift(skip.astype(np.int8), -2, 0).astype(bool)  # l'_{s+2} may skip to s
    pos = xp.arange(s)[None, :]
    init = xp.where((pos == end[:, None]) | ((pos == end[:, None] - 1) & (tgt_len[:, None] > 0)),
                    0.0, _NEG)
    nxt = xp.full((n, s), _NEG, dtype=lp.dtype)
    for t in range(tmax - 1, -1, -1):
        b2 = xp.where(skip_next, _shift(nxt, -2), _NEG)
        rec = _lse(nxt, _shift(nxt, -1), b2)
        here = xp.where((t == in_len - 1)[:, None], init, rec)
        here = xp.where((t < in_len)[:, None], here + lpe[t], _NEG)
        beta[t] = here
        nxt = here
    # gradient: exp(lp) - exp(lse over positions of label c of (alpha + beta) + nll - lp)
    ab = alpha + beta                                         # (T, N, S)
    lcab = xp.full((tmax, n, c), _NEG, dtype=lp.dtype)
    for k in range(s):  # scatter-logsumexp of column k into its label
        lab = ext[:, k]
        cur = lcab[:, xp.arange(n), lab]
        lcab[:, xp.arange(n), lab] = _lse(cur, ab[:, :, k])
    with np.errstate(over="ignore", invalid="ignore"):
        grad = xp.exp(lp) - xp.exp(lcab + nll[None, :, None] - lp)
    valid_t = xp.arange(tmax)[:, None] < in_len[None, :]
    grad = xp.where(valid_t[:, :, None], grad, 0)
    return nll, grad


class CTCLossFn(Function):
    """Per-sample negative log-likelihood (N,) of log_probs (T, N, C)."""

    @staticmethod
    def forward(ctx, log_probs, targets, in_len, tgt_len, blank, zero_infinity):
        lp = log_probs._data
        nll, grad = _forward_backward(lp, targets, in_len, tgt_len, blank)
        xp = xp_of(lp)
        if zero_infinity:
            inf = xp.isinf(nll)
            nll = xp.where(inf, 0, nll)
            grad = xp.where(inf[None, :, None], 0, grad)
        ctx.save(grad=grad)
        return nll.astype(lp.dtype)

    @staticmethod
    def backward(ctx, g):
        return (g.reshape(1, -1, 1) * constant(ctx.grad.astype(g._data.dtype)), None, None, None,
                None, None)


def _lengths(op, name, v, n, xp):
    a = v._data if isinstance(v, Tensor) else np.asarray(v)
    a = xp.asarray(a).reshape(-1).astype(np.int64)
    if a.shape[0] != n:
        raise ShapeError(f"{op}: {name} must have {n} entries (one per sample), got {a.shape[0]}")
    return a


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """CTC loss of log_probs (T, N, C) or (T, C), targets (N, S) padded or 1-D concatenated."""
    op = "ctc_loss"
    reduction = reduction_arg(op, None, None, reduction)
    log_probs = floating(op, log_probs, "log_probs")
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.ndim != 3:
        raise ShapeError(f"{op}: expected log_probs of shape (T, N, C) or (T, C), got "
                         f"{tuple(log_probs.shape)}")
    tmax, n, c = lp.shape
    xp = xp_of(lp._data)
    tg = targets._data if isinstance(targets, Tensor) else np.asarray(targets)
    tg = xp.asarray(tg).astype(np.int64)
    in_len = _lengths(op, "input_lengths", input_lengths, n, xp)
    tgt_len = _lengths(op, "target_lengths", target_lengths, n, xp)
    if unbatched and tg.ndim == 1:
        tg = tg.reshape(1, -1)
    if tg.ndim == 1:  # concatenated targets: split by target_lengths into padded rows
        smax = int(tgt_len.max().item()) if n else 0
        if int(tgt_len.sum().item()) > tg.shape[0]:
            raise ShapeError(f"{op}: target_lengths sum to {int(tgt_len.sum().item())} but "
                             f"targets has {tg.shape[0]} entries")
        padded = xp.full((n, max(smax, 1)), blank, dtype=np.int64)
        offs = np.concatenate([[0], np.cumsum(np.asarray(tgt_len.tolist()))])
        lengths = tgt_len.tolist()
        for i in range(n):
            padded[i, :lengths[i]] = tg[int(offs[i]):int(offs[i + 1])]
        tg = padded
    elif tg.shape[0] != n:
        raise ShapeError(f"{op}: targets of shape {tuple(tg.shape)} for a batch of {n}")
    if tg.shape[1] == 0:
        tg = xp.full((n, 1), blank, dtype=np.int64)
    if int(in_len.max().item()) > tmax or int(in_len.min().item()) < 1:
        raise ValueError(f"{op}: input_lengths must be in [1, {tmax}], got {in_len.tolist()}")
    if int(tgt_len.max().item()) > tg.shape[1]:
        raise ValueError(f"{op}: target_lengths {tgt_len.tolist()} exceed the target width "
                         f"{tg.shape[1]}")
    if not 0 <= blank < c:
        raise ValueError(f"{op}: blank must be in label range [0, {c - 1}], got {blank}")
    nll = CTCLossFn.apply(lp, tg, in_len, tgt_len, int(blank), bool(zero_infinity))
    if reduction == "none":
        return nll.squeeze(0) if unbatched else nll
    if reduction == "sum":
        return nll.sum()
    div = constant(xp.maximum(tgt_len, 1).astype(lp._data.dtype))
    return (nll / div).mean()
