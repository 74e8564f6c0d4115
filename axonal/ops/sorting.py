"""Sorting along a dim: `sort`, `argsort`, `topk`, `msort`.

The order itself is not differentiable (it is piecewise constant in x), so each op finds the
indices with NumPy/CuPy and reads the values with `gather`: the gradient of the values flows back
to the positions they came from (a scatter-add), to any order of differentiation.

Orders are stable (equal values keep their order) and NaN counts as larger than every number, as in
PyTorch: last in an ascending sort, first in a descending one.
"""
from collections import namedtuple

import numpy as np

from .._errors import ShapeError
from ..backend import xp_of
from ..tensor import Tensor, constant
from ._util import norm_dim
from .indexing import gather

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


def _order(x, dim, descending, op):
    """int64 indices sorting x.data along dim (x.ndim >= 1)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    d = norm_dim(dim, x.ndim, op)
    a = x._data
    xp = xp_of(a)
    if a.dtype == np.bool_:
        a = a.astype(np.int8)
    if descending:  # an ascending sort of a decreasing key
        if a.dtype.kind in "fV":
            a = xp.where(xp.isnan(a), -xp.inf, -a)  # NaN first
        else:
            a = ~a  # -a - 1: decreasing, and no overflow at the smallest integer
    return xp.argsort(a, axis=d, kind="stable").astype(np.int64, copy=False)


def argsort(input, dim=-1, descending=False, stable=False):
    """Indices that sort `input` along `dim` (int64, not differentiable)."""
    if input.ndim == 0:
        return constant(xp_of(input._data).zeros((), np.int64))
    return constant(_order(input, dim, descending, "argsort"))


def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) of `input` sorted along `dim`; the values are differentiable."""
    if input.ndim == 0:
        return SortResult(input, constant(xp_of(input._data).zeros((), np.int64)))
    idx = constant(_order(input, dim, descending, "sort"))
    return SortResult(gather(input, dim, idx), idx)


def msort(input):
    """`input` sorted along dim 0."""
    return sort(input, dim=0).values


def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the k largest (or, largest=False, smallest) entries along `dim`, in
    sorted order."""
    k = int(k)
    if input.ndim == 0:
        if k not in (0, 1):
            raise ShapeError(f"topk: k ({k}) out of range for a 0-d tensor")
        return TopkResult(input, constant(xp_of(input._data).zeros((), np.int64)))
    d = norm_dim(dim, input.ndim, "topk")
    n = input.shape[d]
    if not 0 <= k <= n:
        raise ShapeError(f"topk: k ({k}) out of range for dim {dim} of size {n} (input of "
                         f"shape {tuple(input.shape)})")
    idx = _order(input, d, largest, "topk")
    idx = constant(xp_of(idx).take(idx, xp_of(idx).arange(k), axis=d))
    return TopkResult(gather(input, d, idx), idx)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values of `input` (of the whole tensor flattened, or the distinct slices along
    `dim`), in ascending order, and optionally where each element went (`inverse`, shaped like the
    input, or like dim) and how often each value occurs (`counts`). Not differentiable, as in
    PyTorch (the values are a selection; their positions are piecewise constant)."""
    a = input._data
    xp = xp_of(a)
    if dim is None:
        values, inverse, counts = xp.unique(a, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(a.shape)
    else:
        d = norm_dim(dim, a.ndim, "unique")
        values, inverse, counts = xp.unique(a, return_inverse=True, return_counts=True, axis=d)
        inverse = inverse.reshape(-1)
    out = [constant(values)]
    if return_inverse:
        out.append(constant(inverse.astype(np.int64, copy=False)))
    if return_counts:
        out.append(constant(counts.astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)
