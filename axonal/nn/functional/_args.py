"""Argument handling shared by the functional forms: dtype checks, tensor coercion, reductions and
the shape checks of the losses.

Every check names the function and the offending shapes or values, so a user reading the error
knows which call to fix. Shape problems raise `ShapeError` (a ValueError and a RuntimeError).
"""
import warnings

import numpy as np

from ..._errors import DTypeError, ShapeError
from ...ops import broadcast_tensors
from ...ops._util import as_tensor
from ...tensor import Tensor

REDUCTIONS = ("none", "mean", "sum")


def reduction_arg(op, size_average, reduce, reduction, allowed=REDUCTIONS):
    """The reduction string, after PyTorch's legacy flags (which win when given) are mapped."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in allowed:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction (expected one "
                         f"of {', '.join(repr(r) for r in allowed)})")
    return reduction


def reduce_loss(loss, reduction):
    if reduction == "mean":
        return loss.mean()      # the mean of an empty loss is nan, as in PyTorch
    return loss.sum() if reduction == "sum" else loss


def tensor_arg(x, like=None):
    return x if isinstance(x, Tensor) else as_tensor(x, like=like)


def floating_tensor(op, x):
    """x itself, after checking that it is a floating point Tensor (activations, dropout: no
    coercion of arrays, as in PyTorch)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind not in "fV":
        raise DTypeError(f"{op}: expected a floating point tensor, got dtype {x.dtype}")
    return x


def floating(op, x, name="input"):
    """x as a Tensor (arrays and numbers are wrapped), checked to be floating point (losses)."""
    x = tensor_arg(x)
    if x._data.dtype.kind not in "fV":
        raise DTypeError(f"{op}: expected a floating point {name}, got {x.dtype}")
    return x


def broadcast_pair(op, input, target, warn=True):
    """input and target broadcast to one shape; like PyTorch, warn when their shapes differ."""
    input = floating(op, input)
    target = tensor_arg(target, like=input)
    if tuple(target.shape) == tuple(input.shape):
        return input, target
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
    except ValueError:
        raise ShapeError(f"{op}: input of shape {tuple(input.shape)} and target of shape "
                         f"{tuple(target.shape)} cannot be broadcast together") from None
    if warn:
        warnings.warn(f"{op}: using a target size {tuple(target.shape)} that is different to the "
                      f"input size {tuple(input.shape)}; this will likely lead to incorrect "
                      "results due to broadcasting. Please ensure they have the same size.",
                      stacklevel=3)
    return broadcast_tensors(input, target)


def same_shape(op, input, other, what="target"):
    if tuple(other.shape) != tuple(input.shape):
        raise ShapeError(f"{op}: {what} of shape {tuple(other.shape)} must have the same shape as "
                         f"input {tuple(input.shape)}")


def check_broadcastable(op, x, shape, what):
    """`x` must broadcast to exactly `shape` (an optional weight of an element-wise loss)."""
    try:
        ok = np.broadcast_shapes(tuple(x.shape), tuple(shape)) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(f"{op}: {what} of shape {tuple(x.shape)} cannot be broadcast to the "
                         f"input shape {tuple(shape)}")


def weighted(op, loss, weight, reduction, input, mean_by_weight=True):
    """The optional element weight of mse/l1/huber (PyTorch 2.6+): same shape as input; 'mean'
    divides by the summed weights (mse, l1) or by the element count (huber)."""
    if weight is None:
        return reduce_loss(loss, reduction)
    weight = tensor_arg(weight, like=input)
    same_shape(op, input, weight, "weight")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / weight.sum()
    return reduce_loss(loss, reduction)

