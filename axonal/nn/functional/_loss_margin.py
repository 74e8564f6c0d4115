"""Distances and the metric/multi-class margin losses: pairwise_distance, cosine_similarity, pdist,
triplet_margin_loss (+ with a distance function), multi_margin_loss, multilabel_margin_loss,
multilabel_soft_margin_loss. All are compositions of differentiable ops, so their gradients (of
any order) follow; the formulas are PyTorch's, term for term:

    pairwise_distance(x1, x2)  = || x1 - x2 + eps ||_p over the last dim
    cosine_similarity(x1, x2)  = sum(x1 / max(|x1|, eps) * x2 / max(|x2|, eps)) over dim
    triplet                    = max(0, margin + d(a, p) - d(a, n))
                                 (swap: d(a, n) -> min(d(a, n), d(p, n)))
    multi_margin (class y)     = sum_{i != y} w[y] max(0, margin - x[y] + x[i])^p / C
    multilabel_margin          = sum_{j in targets} sum_{i not in targets}
                                     max(0, 1 - (x[j] - x[i])) / C
    multilabel_soft_margin     = -mean_c w_c (y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c))

The target list of multilabel_margin_loss is the prefix of each target row before its first -1.
"""
import numpy as np

from ..._errors import ShapeError
from ...backend import xp_of
from ...ops import clamp, gather, minimum, norm, where
from ...tensor import constant
from ._activation import logsigmoid
from ._args import floating, reduce_loss, reduction_arg, tensor_arg


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """p-norm of x1 - x2 + eps along the last dim (of the broadcast shape)."""
    op = "pairwise_distance"
    x1, x2 = floating(op, x1, "x1"), floating(op, x2, "x2")
    nd = max(x1.ndim, x2.ndim)
    diff = x1 - x2 + eps
    if nd == 0:
        raise ShapeError(f"{op}: expected inputs with at least one dim, got {tuple(x1.shape)} "
                         f"and {tuple(x2.shape)}")
    return norm(diff, p, nd - 1, keepdim=keepdim)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along dim (broadcast); each norm is clamped at eps
    before dividing, as in PyTorch."""
    op = "cosine_similarity"
    x1, x2 = floating(op, x1, "x1"), floating(op, x2, "x2")
    n1 = clamp(norm(x1, 2, dim, keepdim=True), min=eps)
    n2 = clamp(norm(x2, 2, dim, keepdim=True), min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pdist(input, p=2.0):
    """The p-norm distances between the rows of an (N, M) input, upper triangle row by row:
    an N (N - 1) / 2 vector."""
    op = "pdist"
    input = floating(op, input)
    if input.ndim != 2:
        raise ShapeError(f"{op}: expected a 2-D input, got shape {tuple(input.shape)}")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    xp = xp_of(input._data)
    diff = input[xp.asarray(i)] - input[xp.asarray(j)]
    return norm(diff, p, 1)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) with any distance d (pairwise_distance by default)."""
    op = "triplet_margin_with_distance_loss"
    reduction = reduction_arg(op, None, None, reduction)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ShapeError(f"{op}: anchor {tuple(anchor.shape)}, positive "
                         f"{tuple(positive.shape)} and negative {tuple(negative.shape)} must "
                         f"have the same number of dimensions")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = minimum(d_neg, dist(positive, negative))
    return reduce_loss(clamp(margin + d_pos - d_neg, min=0.0), reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """Triplet loss with the p-norm pairwise distance (Balntas et al. 2016 for swap)."""
    op = "triplet_margin_loss"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    a, pos, neg = (floating(op, t, n) for t, n in ((anchor, "anchor"), (positive, "positive"),
                                                    (negative, "negative")))
    if not a.ndim == pos.ndim == neg.ndim or a.ndim not in (1, 2):
        raise ShapeError(f"{op}: expected 1-D or 2-D anchor, positive and negative of the same "
                         f"number of dims, got {tuple(a.shape)}, {tuple(pos.shape)} and "
                         f"{tuple(neg.shape)}")
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    return reduce_loss(clamp(margin + d_pos - d_neg, min=0.0), reduction)


def _class_rows(op, input, target):
    """(input as (N, C), target as (N,) int64 array, unbatched?) with range checks."""
    if input.ndim not in (1, 2):
        raise ShapeError(f"{op}: expected 1-D or 2-D input, got shape {tuple(input.shape)}")
    unbatched = input.ndim == 1
    x = input.unsqueeze(0) if unbatched else input
    t = tensor_arg(target)._data.reshape(-1)
    if t.shape[0] != x.shape[0]:
        raise ShapeError(f"{op}: inconsistent target size {tuple(target.shape)} for input of "
                         f"shape {tuple(input.shape)}")
    c = x.shape[1]
    if t.size and (int(t.min().item()) < 0 or int(t.max().item()) >= c):
        raise IndexError(f"{op}: target values must be in [0, {c - 1}], got "
                         f"[{int(t.min().item())}, {int(t.max().item())}]")
    return x, t.astype(np.int64), unbatched


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Multi-class hinge loss (Weston & Watkins): see the module docstring."""
    op = "multi_margin_loss"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 supported, got p={p}")
    input = floating(op, input)
    x, t, unbatched = _class_rows(op, input, target)
    n, c = x.shape
    xp = xp_of(x._data)
    idx = constant(xp.asarray(t).reshape(n, 1))
    xy = gather(x, 1, idx)                                   # (N, 1) the target's score
    z = clamp(margin - xy + x, min=0.0)
    if p == 2:
        z = z * z
    if weight is not None:
        if tuple(weight.shape) != (c,):
            raise ShapeError(f"{op}: weight of shape {tuple(weight.shape)} must be ({c},)")
        z = z * weight[xp.asarray(t)].reshape(n, 1)
    not_target = xp.arange(c).reshape(1, c) != xp.asarray(t).reshape(n, 1)
    loss = where(constant(not_target), z, 0.0).sum(1) / c
    if unbatched:  # PyTorch: the target's shape, () or (1,)
        loss = loss.reshape(tuple(tensor_arg(target).shape))
    return reduce_loss(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge loss: every target class should score 1 above every non-target class."""
    op = "multilabel_margin_loss"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    input = floating(op, input)
    if input.ndim not in (0, 1, 2):
        raise ShapeError(f"{op}: expected 0-D, 1-D or 2-D input, got {tuple(input.shape)}")
    unbatched = input.ndim < 2
    x = input.reshape(1, -1) if unbatched else input
    t = tensor_arg(target)._data
    if tuple(t.shape) != tuple(input.shape):
        raise ShapeError(f"{op}: inconsistent target size {tuple(t.shape)} for input of shape "
                         f"{tuple(input.shape)}")
    xp = xp_of(x._data)
    t = xp.asarray(t).reshape(x.shape).astype(np.int64)
    n, c = x.shape
    # slot j of a row is a target while no -1 came before it
    valid = xp.cumprod(t >= 0, axis=1).astype(bool)
    if bool(((t >= c) & valid).any()):
        raise IndexError(f"{op}: target values must be -1 or in [0, {c - 1}]")
    safe = xp.where(valid, t, 0)
    is_target = xp.zeros((n, c), dtype=bool)
    rows = xp.repeat(xp.arange(n), c)
    is_target[rows[valid.ravel()], safe.ravel()[valid.ravel()]] = True
    xy = gather(x, 1, constant(safe))                        # (N, slots)
    hinge = clamp(1.0 - xy.unsqueeze(2) + x.unsqueeze(1), min=0.0)  # (N, slots, C)
    mask = valid[:, :, None] & xp.logical_not(is_target)[:, None, :]
    loss = where(constant(mask), hinge, 0.0).sum((1, 2)) / c
    if unbatched:
        loss = loss.reshape(())
    return reduce_loss(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """One-vs-all logistic loss averaged over the classes (the last dim)."""
    op = "multilabel_soft_margin_loss"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    input = floating(op, input)
    target = tensor_arg(target, like=input)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return reduce_loss(loss, reduction)
