"""Loss functions with PyTorch's signatures and semantics (cross-entropy and nll_loss: in
`_cross_entropy`).

Every loss checks its inputs and names itself and the offending shapes or values in its errors.
Reductions: 'none' keeps the element-wise loss, 'sum' adds it up, 'mean' divides by the number of
elements (or, for class-weighted losses, by the summed weights). The legacy `size_average` /
`reduce` flags are accepted in their PyTorch positions and mapped to a reduction.

Numerics: log-probabilities are formed as shifted - log sum exp(shifted) (never log of a softmax),
and logits losses use softplus(-x) = -log sigmoid(x) = max(-x, 0) + log1p(exp(-|x|)), which is
finite for any x. Cross-entropy (`_cross_entropy`) and the binary cross-entropies are single
primitives.
"""
import math
import warnings

import numpy as np

from ..._errors import ShapeError
from ...autograd.function import Function
from ...backend import xp_of
from ...ops import clamp, exp, log, log1p, sigmoid, sqrt, where
from ...ops.shape import sum_to
from ...tensor import constant
from ._args import (
    REDUCTIONS,
    broadcast_pair,
    check_broadcastable,
    floating,
    reduce_loss,
    reduction_arg,
    same_shape,
    tensor_arg,
    weighted,
)


def _softplus(z):
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|): finite for any z. The branches are chosen by a
    constant mask so that the gradient is exactly sigmoid(z), also at z = 0 (abs or relu would
    give 0 or 1 there)."""
    pos = constant(z._data > 0)
    return where(pos, z, 0.0) + log1p(exp(where(pos, -z, z)))


# -- regression ------------------------------------------------------------------------------------
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = reduction_arg("mse_loss", size_average, reduce, reduction)
    input, target = broadcast_pair("mse_loss", input, target)
    d = input - target
    return weighted("mse_loss", d * d, weight, reduction, input)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = reduction_arg("l1_loss", size_average, reduce, reduction)
    input, target = broadcast_pair("l1_loss", input, target)
    return weighted("l1_loss", (input - target).abs(), weight, reduction, input)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (continuous, C1 at |d| = beta)."""
    reduction = reduction_arg("smooth_l1_loss", size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    input, target = broadcast_pair("smooth_l1_loss", input, target)
    d = input - target
    ad = d.abs()
    if beta == 0:
        return reduce_loss(ad, reduction)
    return reduce_loss(where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): smooth_l1 scaled by delta."""
    reduction = reduction_arg("huber_loss", None, None, reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = broadcast_pair("huber_loss", input, target)
    d = input - target
    ad = d.abs()
    loss = where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    # PyTorch's weighted huber 'mean' is the plain mean of the weighted loss (unlike mse/l1)
    return weighted("huber_loss", loss, weight, reduction, input, mean_by_weight=False)


# -- binary cross-entropy --------------------------------------------------------------------------
class BinaryCrossEntropy(Function):
    """-(y log x + (1 - y) log(1 - x)), each log clamped at -100 as in PyTorch so that x in {0, 1}
    gives a finite loss. d/dx = (x - y) / max(x (1 - x), 1e-12) (PyTorch's clamp of the
    denominator); d/dy = log(1 - x) - log(x)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        xp = xp_of(x._data)
        with np.errstate(divide="ignore"):
            lx = xp.maximum(xp.log(x._data), -100)
            l1x = xp.maximum(xp.log1p(-x._data), -100)
        return -(y._data * lx + (1 - y._data) * l1x)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = g * (x - y) / clamp(x * (1 - x), min=1e-12) if ctx.needs_input_grad[0] else None
        gy = g * (log1p(-x) - log(x)) if ctx.needs_input_grad[1] else None
        return gx, gy


class BCEWithLogits(Function):
    """(1 - y) x + L softplus(-x), L = 1 + (pw - 1) y (L = 1 without pos_weight); the positive term
    -pw y log sigmoid(x) is weighted by pw.  d/dx = L sigmoid(x) - pw y,
    d/dy = -x + (pw - 1) softplus(-x),  d/dpw = y softplus(-x)."""

    @staticmethod
    def forward(ctx, x, y, pw):
        ctx.save_for_backward(x, y, pw)
        xp = xp_of(x._data)
        xd, yd = x._data, y._data
        sp = xp.maximum(-xd, 0) + xp.log1p(xp.exp(-xp.abs(xd)))
        if pw is None:
            return (1 - yd) * xd + sp
        return (1 - yd) * xd + (1 + (pw._data - 1) * yd) * sp

    @staticmethod
    def backward(ctx, g):
        x, y, pw = ctx.saved_tensors
        gx = gy = gpw = None
        if ctx.needs_input_grad[0]:
            gx = sigmoid(x) - y if pw is None else (1 + (pw - 1) * y) * sigmoid(x) - pw * y
            gx = g * gx
            gx = sum_to(gx, ctx._in_meta[0][0])
        if ctx.needs_input_grad[1]:
            gy = -x if pw is None else (pw - 1) * _softplus(-x) - x
            gy = sum_to(g * gy, ctx._in_meta[1][0])
        if ctx.needs_input_grad[2]:
            gpw = sum_to(g * y * _softplus(-x), ctx._in_meta[2][0])
        return gx, gy, gpw


def _apply_weight(op, loss, weight, input):
    if weight is None:
        return loss
    weight = tensor_arg(weight, like=input)
    check_broadcastable(op, weight, input.shape, "weight")
    return loss * weight


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    op = "binary_cross_entropy"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    input = floating(op, input)
    target = tensor_arg(target, like=input)
    same_shape(op, input, target)
    for name, t in (("input", input), ("target", target)):
        d = t._data
        if d.size and bool(((d < 0) | (d > 1)).any()):
            raise ValueError(f"{op}: all elements of {name} should be between 0 and 1, got values "
                             f"in [{d.min().item()}, {d.max().item()}]")
    if target.dtype is not input.dtype:
        target = target.to(input.dtype)
    loss = BinaryCrossEntropy.apply(input, target)
    return reduce_loss(_apply_weight(op, loss, weight, input), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    op = "binary_cross_entropy_with_logits"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    input = floating(op, input)
    target = tensor_arg(target, like=input)
    same_shape(op, input, target)
    if target.dtype is not input.dtype:
        target = target.to(input.dtype)
    if pos_weight is not None:   # usually one weight per class: the last dim
        pos_weight = tensor_arg(pos_weight, like=input)
        check_broadcastable(op, pos_weight, input.shape, "pos_weight")
        pos_weight = pos_weight.to(input.dtype)
    loss = BCEWithLogits.apply(input, target, pos_weight)
    return reduce_loss(_apply_weight(op, loss, weight, input), reduction)


# -- distributions ---------------------------------------------------------------------------------
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise KL term for log-probabilities `input`: target (log target - input), with
    0 log 0 = 0; or exp(target) (target - input) when the target is given as log-probabilities.
    'batchmean' (sum / batch size) is the true KL divergence; 'mean' divides by every element."""
    op = "kl_div"
    legacy = size_average is not None or reduce is not None
    reduction = reduction_arg(op, size_average, reduce, reduction, REDUCTIONS + ("batchmean",))
    if reduction == "mean" and not legacy:
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size and "
                      "the support size; 'batchmean' divides only by the batch size and matches "
                      "the definition of the KL divergence.", stacklevel=2)
    input, target = broadcast_pair(op, input, target, warn=False)
    if log_target:
        loss = exp(target) * (target - input)
    else:   # xlogy(t, t): the where on the log's argument keeps its gradient finite at t = 0
        pos = constant(target._data > 0)
        loss = where(pos, target * log(where(pos, target, 1.0)), 0.0) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return reduce_loss(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log var + (input - target)^2 / var) [+ 0.5 log 2 pi], var clamped below at eps.

    The clamp changes the value only (as PyTorch's in-place clamp under no_grad): the gradient
    reaches `var` as if unclamped (a straight-through estimator)."""
    op = "gaussian_nll_loss"
    reduction = reduction_arg(op, None, None, reduction)
    input = floating(op, input)
    target = tensor_arg(target, like=input)
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError(f"{op}: var must be non-negative, got {var}")
        var = input.new_full(tuple(input.shape), float(var))
    var = tensor_arg(var, like=input)
    if tuple(var.shape) != tuple(input.shape):
        ishape, vshape = tuple(input.shape), tuple(var.shape)
        if ishape[:-1] == vshape:    # homoscedastic: one variance per row of the last dim
            var = var.unsqueeze(-1)
        elif not (len(ishape) == len(vshape)
                  and sum(v for i, v in zip(ishape, vshape) if i != v) == 1):
            raise ShapeError(f"{op}: var of shape {vshape} is of incorrect size for input "
                             f"{ishape} (expected {ishape}, {ishape[:-1]}, or a shape with one "
                             "dimension of size 1 where input's differs)")
    vd = var._data
    if vd.size and bool((vd < 0).any()):
        raise ValueError(f"{op}: var has negative entries (min {vd.min().item()})")
    var = var + constant(xp_of(vd).maximum(vd, eps) - vd)
    d = input - target
    loss = (log(var) + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """exp(input) - target input (log_input), else input - target log(input + eps); `full` adds
    Stirling's approximation of log(target!) for targets > 1."""
    op = "poisson_nll_loss"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    input, target = broadcast_pair(op, input, target, warn=False)
    loss = exp(input) - target * input if log_input else input - target * log(input + eps)
    if full:
        big = constant(target._data > 1)
        t = where(big, target, 1.0)
        stirling = t * log(t) - t + 0.5 * log(t * (2 * math.pi))
        loss = loss + where(big, stirling, 0.0)
    return reduce_loss(loss, reduction)


# -- margins and embeddings ------------------------------------------------------------------------
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -y (x1 - x2) + margin): x1 should rank above x2 when y = 1, below when y = -1."""
    op = "margin_ranking_loss"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    input1, input2 = floating(op, input1, "input1"), floating(op, input2, "input2")
    target = tensor_arg(target, like=input1)
    if not input1.ndim == input2.ndim == target.ndim:
        raise ShapeError(f"{op}: input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)} and "
                         f"target {tuple(target.shape)} must have the same number of dimensions")
    return reduce_loss(clamp(-target * (input1 - input2) + margin, min=0.0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """x where y = 1, max(0, margin - x) where y = -1 (an element with another y contributes both
    terms where neither matches, exactly as PyTorch's where(y != 1) + where(y != -1))."""
    op = "hinge_embedding_loss"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    input, target = broadcast_pair(op, input, target, warn=False)
    margin_term = where(constant(target._data != 1), clamp(margin - input, min=0.0), 0.0)
    self_term = where(constant(target._data != -1), input, 0.0)
    return reduce_loss(margin_term + self_term, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-y x)), as a softplus so that large |x| stays finite."""
    op = "soft_margin_loss"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    input, target = broadcast_pair(op, input, target, warn=False)
    return reduce_loss(_softplus(-target * input), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1; cos uses
    |x|^2 + 1e-12 in its denominator (PyTorch's epsilon) so zero vectors give a finite loss."""
    op = "cosine_embedding_loss"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    input1, input2 = floating(op, input1, "input1"), floating(op, input2, "input2")
    target = tensor_arg(target, like=input1)
    if input1.ndim not in (1, 2) or tuple(input1.shape) != tuple(input2.shape):
        raise ShapeError(f"{op}: input1 {tuple(input1.shape)} and input2 "
                         f"{tuple(input2.shape)} must be equal 1-D or 2-D shapes")
    expected = tuple(input1.shape[:-1])
    if tuple(target.shape) != expected:
        raise ShapeError(f"{op}: target of shape {tuple(target.shape)} does not match inputs "
                         f"{tuple(input1.shape)} (expected {expected})")
    dim = input1.ndim - 1
    dot = (input1 * input2).sum(dim)
    cos = dot / sqrt(((input1 * input1).sum(dim) + 1e-12) * ((input2 * input2).sum(dim) + 1e-12))
    pos = where(constant(target._data == 1), 1 - cos, 0.0)
    neg = where(constant(target._data == -1), clamp(cos - margin, min=0.0), 0.0)
    return reduce_loss(pos + neg, reduction)
