"""Class-index losses: the fused softmax cross-entropy primitive, `cross_entropy` and `nll_loss`.

Every form of cross-entropy on logits x (one row of C classes) is

    loss = -sum_j q_j log p_j = s lse(x) - sum_j q_j x_j,     p = softmax(x), s = sum_j q_j,

for a constant target mass q:
    class index t, weight w:       q = w_t onehot(t)                        (q = 0 if t is ignored)
    label smoothing eps:           q = (1 - eps) w_t onehot(t) + (eps / C) w
    class probabilities P:         q = ((1 - eps) P + eps / C) * w
so its gradient is always  d loss / dx = s p - q  (for an index target: w_t (p - onehot(t))).

`SoftmaxCrossEntropy` computes that in one primitive on an (M, C) array: one pass for the max, exp,
row sums and log, no intermediate graph nodes; the first-order backward (`backward_arrays`) reuses
the saved probabilities. With `create_graph=True` the backward is instead built from differentiable
ops (softmax of the saved input), so double backward works. Reductions follow PyTorch: 'mean' divides by the summed weights of
the non-ignored targets (by M for probability targets), so all-ignored gives 0 / 0 = nan.
"""
import numpy as np

from ... import _config, kernels
from ..._errors import DTypeError, GraphError, ShapeError
from ...autograd.function import Function
from ...backend import xp_of
from ...ops import gather, log_softmax, movedim, reshape, softmax
from ...tensor import Tensor, constant
from ._args import floating, reduction_arg, tensor_arg


class SoftmaxCrossEntropy(Function):
    """Cross-entropy of (M, C) logits against index targets `t` (M,) with optional per-row weights
    `row_w` (None: all 1), or against a dense target mass `q` (M, C); reduced per `reduction` with
    'mean' dividing by `denom`. Returns a scalar, or (M,) for reduction 'none'."""

    @staticmethod
    def forward(ctx, x, t, row_w, q, reduction, denom):
        xd = x._data
        xp = xp_of(xd)
        ctx.save(reduction=reduction, denom=denom)
        if q is None and row_w is None and reduction == "mean":
            # the training hot case: the kernel (or its own array fallback) does it in one pass
            loss, probs = kernels.softmax_cross_entropy(xd, t)
            ctx.save(probs=probs, t=t, row_w=None, q=None)
            ctx.save_for_backward(x)
            return xp.asarray(loss, dtype=xd.dtype)
        shifted = xd - xd.max(axis=1, keepdims=True)     # log p = shifted - log sum exp(shifted)
        e = xp.exp(shifted)
        se = e.sum(axis=1, keepdims=True)
        log_se = xp.log(se)
        if q is None:   # -log p_t = log_se - shifted_t: no cancellation even for logits of 1e4
            per = (log_se - xp.take_along_axis(shifted, t[:, None], axis=1))[:, 0]
            if row_w is not None:
                per = per * row_w
        else:
            per = -(q * (shifted - log_se)).sum(axis=1)
        e /= se
        ctx.save(probs=e, t=t, row_w=row_w, q=q)   # all released after backward
        ctx.save_for_backward(x)
        if reduction == "none":
            return per
        total = per.sum()
        if reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                total = total / denom if denom else total * np.nan   # all ignored -> nan
        return xp.asarray(total, dtype=xd.dtype)

    @staticmethod
    def backward_arrays(ctx, g):
        """First order: (s p - q) * scale from the saved probabilities, as arrays."""
        scale = g
        if ctx.reduction == "mean":   # 0 / 0 (all targets ignored) has no gradient: PyTorch gives 0
            scale = scale / ctx.denom if ctx.denom else scale * 0
        return (_grad_arrays(ctx.probs, ctx.t, ctx.row_w, ctx.q, scale),
                None, None, None, None, None)

    @staticmethod
    def backward(ctx, g):
        """Recorded backward (create_graph=True): (s p - q) * scale from differentiable ops."""
        (x,) = ctx.saved_tensors
        t, row_w, q, denom = ctx.t, ctx.row_w, ctx.q, ctx.denom
        if ctx.reduction == "none":
            scale = reshape(g, (-1, 1))      # (M, 1): one upstream gradient per row
        elif ctx.reduction == "mean":
            scale = g / denom if denom else g * 0.0
        else:
            scale = g
        xp = xp_of(x._data)
        if q is None:
            m = x._data.shape[0]
            w = xp.ones(m, x._data.dtype) if row_w is None else row_w.astype(x._data.dtype)
            q = xp.zeros(x._data.shape, x._data.dtype)
            q[xp.arange(m), t] = w
        s = constant(q.sum(axis=1, keepdims=True))
        return (softmax(x, 1) * s - constant(q)) * scale, None, None, None, None, None


def _grad_arrays(probs, t, row_w, q, scale):
    """(s p - q) * scale on arrays; the hot case (index targets, no weights, scalar scale),
    (p - onehot(t)) * scale, is the kernel's (which computes it with arrays where it cannot run)."""
    scale = xp_of(probs).asarray(scale, dtype=probs.dtype)
    if scale.ndim == 0 and q is None and row_w is None:
        return kernels.softmax_cross_entropy_backward(
            probs, t, float(scale) if xp_of(probs) is np else scale)  # a device scale stays there
    scale = scale if scale.ndim == 0 else scale.reshape(-1)
    if q is None:
        w = scale if row_w is None else row_w * scale   # () or (M,)
        w = xp_of(probs).broadcast_to(xp_of(probs).asarray(w, probs.dtype), (probs.shape[0],))
        grad = probs * w[:, None]
        grad[xp_of(probs).arange(probs.shape[0]), t] -= w
        return grad.astype(probs.dtype, copy=False)
    row = scale[:, None] if scale.ndim else scale
    return ((probs * q.sum(axis=1, keepdims=True) - q) * row).astype(probs.dtype, copy=False)


# -- argument handling shared by cross_entropy and nll_loss ----------------------------------------
def class_weight(op, weight, n_classes, like):
    """The per-class weight as an array of the input's dtype (or None)."""
    if weight is None:
        return None
    w = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
    if w.ndim != 1 or w.shape[0] != n_classes:
        raise ShapeError(f"{op}: weight should have one entry per class ({n_classes},) but has "
                         f"shape {tuple(w.shape)}")
    if isinstance(weight, Tensor) and weight.requires_grad and _config.is_grad_enabled():
        raise GraphError(f"{op}: not differentiable with respect to weight (as in PyTorch); "
                         "pass weight.detach()")
    return xp_of(like._data).asarray(w, dtype=like._data.dtype)


def flatten_classes(op, input, target):
    """(M, C) rows of class scores (classes moved last) and the (M,) target array, after checking
    that target is input's shape without the class dim. Returns (x2d, t, out_shape)."""
    if input.ndim == 0:
        raise ShapeError(f"{op}: input must have a class dimension, got a 0-d tensor")
    t = target._data
    if t.dtype.kind not in "iu":
        raise DTypeError(f"{op}: class-index target must be an integer tensor, got {target.dtype} "
                         f"(a floating target must have the input's shape {tuple(input.shape)} "
                         "to be read as class probabilities)")
    cdim = 0 if input.ndim == 1 else 1
    expected = input.shape[:cdim] + input.shape[cdim + 1:]
    if tuple(t.shape) != tuple(expected):
        if input.ndim >= 2 and t.ndim >= 1 and t.shape[0] != input.shape[0]:
            raise ShapeError(f"{op}: expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({t.shape[0]}): input {tuple(input.shape)}, target "
                             f"{tuple(t.shape)}")
        raise ShapeError(f"{op}: expected target of shape {tuple(expected)} for input of shape "
                         f"{tuple(input.shape)} (classes in dim {cdim}), got {tuple(t.shape)}")
    c = input.shape[cdim]
    if input.ndim == 1:
        x2d = reshape(input, (1, c))
    elif input.ndim == 2:
        x2d = input
    else:
        x2d = reshape(movedim(input, 1, -1), (-1, c))
    return x2d, t.reshape(-1).astype(np.int64, copy=False), tuple(expected)


def index_targets(op, t, n_classes, ignore_index, w, dtype):
    """Validate labels. Returns (t with ignored entries set to 0, per-row weights w_t * valid or
    None when all are 1, the sum of the row weights (the 'mean' divisor), valid mask or None)."""
    lo, hi = (t.min().item(), t.max().item()) if t.size else (0, -1)
    if 0 <= lo and hi < n_classes and not lo <= ignore_index <= hi:
        # the common case, every label valid and none ignored: two reductions and no masks
        row_w = None if w is None else w[t]
        return t, row_w, float(t.shape[0]) if row_w is None else row_w.sum().item(), None
    xp = xp_of(t)
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"{op}: target {t[bad][0].item()} is out of bounds for {n_classes} classes "
                         f"(valid labels are 0..{n_classes - 1}, or ignore_index={ignore_index})")
    if bool(valid.all()):
        row_w = None if w is None else w[t]
        return t, row_w, float(t.shape[0]) if row_w is None else row_w.sum().item(), None
    t = xp.where(valid, t, 0)
    row_w = valid.astype(dtype)
    if w is not None:
        row_w *= w[t]
    return t, row_w, row_w.sum().item(), valid


def smoothed_mass(t, row_w, valid, w, eps, n_classes, dtype):
    """Dense q = (1 - eps) w_t onehot(t) + (eps / C) w, zero on ignored rows (see module doc)."""
    xp = xp_of(t)
    m = t.shape[0]
    if w is None:
        q = xp.full((m, n_classes), eps / n_classes, dtype)
    else:
        q = xp.broadcast_to((eps / n_classes) * w, (m, n_classes)).astype(dtype)
    if valid is not None:
        q *= valid[:, None]
    q[xp.arange(m), t] += (1 - eps) * (1 if row_w is None else row_w)
    return q


def nll_rows(x2d, t, row_w):
    """-x[i, t_i] * w_i as a differentiable (M,) tensor (gather's adjoint scatters back)."""
    per = -reshape(gather(x2d, 1, constant(t[:, None])), (-1,))
    return per if row_w is None else per * constant(row_w.astype(x2d._data.dtype, copy=False))


# -- public functions ------------------------------------------------------------------------------
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits `input` (C,), (N, C) or (N, C, d1, ...) against class indices
    (input's shape without dim 1) or class probabilities (input's shape). See the module doc."""
    op = "cross_entropy"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    input = floating(op, input)
    target = tensor_arg(target, like=input)
    if input.ndim == 0:
        raise ShapeError(f"{op}: input must have a class dimension, got a 0-d tensor")
    cdim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[cdim]
    if target._data.dtype.kind in "fV" and tuple(target.shape) == tuple(input.shape):
        if ignore_index >= 0:
            raise ValueError(f"{op}: ignore_index={ignore_index} is not supported for class "
                             "probability targets")
        return _prob_cross_entropy(input, target, weight, reduction, label_smoothing, cdim)
    w = class_weight(op, weight, n_classes, input)
    x2d, t, out_shape = flatten_classes(op, input, target)
    t, row_w, denom, valid = index_targets(op, t, n_classes, ignore_index, w, input._data.dtype)
    q = None
    if label_smoothing > 0:
        q = smoothed_mass(t, row_w, valid, w, label_smoothing, n_classes, input._data.dtype)
    out = SoftmaxCrossEntropy.apply(x2d, t, row_w, q, reduction, denom)
    return reshape(out, out_shape) if reduction == "none" else out


def _prob_cross_entropy(input, target, weight, reduction, eps, cdim):
    """-sum_c w_c P_c log p_c per position; 'mean' divides by the number of positions."""
    n_classes = input.shape[cdim]
    if weight is not None:
        class_weight("cross_entropy", weight.detach() if isinstance(weight, Tensor) else weight,
                     n_classes, input)   # shape check only
        weight = tensor_arg(weight, like=input)
    if target.dtype is not input.dtype:
        target = target.to(input.dtype)
    if eps > 0:
        target = target * (1 - eps) + eps / n_classes
    needs_graph = target.requires_grad or (weight is not None and weight.requires_grad)
    if needs_graph:   # composed from ops so target and weight receive gradients too
        prod = log_softmax(input, cdim) * target
        if weight is not None:
            prod = prod * reshape(weight, (n_classes,) + (1,) * (input.ndim - cdim - 1))
        if reduction == "none":
            return -prod.sum(cdim)
        total = -prod.sum()
        if reduction == "sum":
            return total
        n = input.numel() // n_classes if n_classes else 0
        return total / n if n else total * float("nan")
    q = target._data if weight is None else target._data * \
        weight._data.reshape((n_classes,) + (1,) * (input.ndim - cdim - 1))
    q = q.astype(input._data.dtype, copy=False)
    x2d = input
    if input.ndim != 2:
        x2d = reshape(input, (1, n_classes)) if input.ndim == 1 else \
            reshape(input.movedim(1, -1), (-1, n_classes))
        q = q.reshape(1, n_classes) if input.ndim == 1 else \
            xp_of(q).moveaxis(q, 1, -1).reshape(-1, n_classes)
    out = SoftmaxCrossEntropy.apply(x2d, None, None, q, reduction, float(x2d.shape[0]))
    if reduction == "none":
        return reshape(out, input.shape[:cdim] + input.shape[cdim + 1:])
    return out


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """-w_t input[t] for log-probabilities `input`; 'mean' divides by the summed target weights."""
    op = "nll_loss"
    reduction = reduction_arg(op, size_average, reduce, reduction)
    input = floating(op, input)
    target = tensor_arg(target, like=input)
    if input.ndim == 0:
        raise ShapeError(f"{op}: input must have a class dimension, got a 0-d tensor")
    n_classes = input.shape[0 if input.ndim == 1 else 1]
    w = class_weight(op, weight, n_classes, input)
    x2d, t, out_shape = flatten_classes(op, input, target)
    t, row_w, denom, _ = index_targets(op, t, n_classes, ignore_index, w, input._data.dtype)
    per = nll_rows(x2d, t, row_w)
    if reduction == "none":
        return reshape(per, out_shape)
    total = per.sum()
    if reduction == "sum":
        return total
    return total / denom if denom else total * 0.0 + float("nan")   # nan, gradient 0 (PyTorch)
