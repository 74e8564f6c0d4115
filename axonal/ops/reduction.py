"""Reductions: sum, mean, prod, max/min, cumsum, norm, argmax (var/std/logsumexp: ops/moments.py).

The adjoint of a sum is a broadcast of the gradient back over the reduced axes. Max-type reductions
route the gradient to the maximal elements (split evenly between ties for the full `amax`, to the
returned index for `max(dim)`), as PyTorch does.
"""
import builtins
from collections import namedtuple

import numpy as np

from .. import _dtype as _dt
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import Tensor, constant
from ._util import norm_dim, norm_dims
from .compare import maximum, minimum, where
from .indexing import scatter_add_zeros
from .shape import expand, flip, permute, reshape
from .unary import abs

MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def _keep_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _restore(g, in_shape, dims, keepdim):
    """Reshape a reduced gradient to keepdim form and broadcast it over the input shape."""
    if not keepdim:
        g = reshape(g, _keep_shape(in_shape, dims))
    return expand(g, *in_shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.save(dims=dims, keepdim=keepdim)
        return x._data.sum(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return _restore(g, ctx._in_meta[0][0], ctx.dims, ctx.keepdim), None, None


class Prod(Function):
    """d prod / d x_i = prod of the others. Computed as out / x_i when no element is zero;
    otherwise by explicit products that leave one element out: with NumPy for a first-order
    backward, and as prod(where(I, 1, x)) over an (n, n) leave-one-out matrix per reduced group when
    the backward itself is recorded (create_graph), so higher derivatives stay exact with zeros."""

    save_output = True

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.save_for_backward(x)
        ctx.save(dims=dims, keepdim=keepdim)
        return x._data.prod(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        shape = x._data.shape
        out = ctx.output()
        g_full = _restore(g, shape, ctx.dims, ctx.keepdim)
        if not (x._data == 0).any():
            return g_full * _restore(out, shape, ctx.dims, ctx.keepdim) / x, None, None
        keep = [i for i in range(x.ndim) if i not in ctx.dims]
        return g_full * _leave_one_out(x, keep, list(ctx.dims)), None, None

    @staticmethod
    def backward_arrays(ctx, g):
        (x,) = ctx.saved_tensors
        if not (x._data == 0).any():
            return NotImplemented  # out / x, as in backward
        # leave-one-out products: move reduced dims to the end and flatten them
        xp, shape, dims = xp_of(x._data), x._data.shape, list(ctx.dims)
        keep = [i for i in range(x.ndim) if i not in ctx.dims]
        moved = x._data.transpose(keep + dims).reshape([shape[i] for i in keep] + [-1])
        n = moved.shape[-1]
        others = xp.stack([xp.delete(moved, k, axis=-1).prod(-1) for k in range(n)], axis=-1)
        others = others.reshape([shape[i] for i in keep] + [shape[i] for i in dims])
        order = keep + dims  # transpose by its inverse permutation (host ints, not an array)
        others = others.transpose(sorted(range(len(order)), key=order.__getitem__))
        g = g if ctx.keepdim else g.reshape(_keep_shape(shape, ctx.dims))
        return g * others, None, None


def _leave_one_out(x, keep, dims):
    """Tensor of x's shape: at each position the product of the other elements of its group (the
    elements sharing the `keep` indices), built from differentiable ops."""
    shape = x._data.shape
    order = keep + dims
    moved = reshape(permute(x, order), [shape[i] for i in keep] + [-1])
    n = moved.shape[-1]
    xp = xp_of(x._data)  # the constants live where x lives
    eye = constant(xp.eye(n, dtype=bool))
    rows = where(eye, constant(xp.ones((), x._data.dtype)), moved.unsqueeze(-2))  # (..., n, n)
    others = Prod.apply(rows, (rows.ndim - 1,), False)
    others = reshape(others, [shape[i] for i in keep] + [shape[i] for i in dims])
    return permute(others, sorted(range(len(order)), key=order.__getitem__))  # inverse of order


class AMax(Function):
    """amax / amin over `dims`; `everything` marks max() / min() of all elements (PyTorch names
    that node MaxBackward1)."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, take_max, everything=False):
        ctx.save_for_backward(x)
        ctx.save(dims=dims, keepdim=keepdim)
        red = x._data.max if take_max else x._data.min
        return red(axis=dims, keepdims=keepdim)

    save_output = True

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        shape = x._data.shape
        out = ctx.output()._data
        if not ctx.keepdim:
            out = out.reshape(_keep_shape(shape, ctx.dims))
        mask = (x._data == out).astype(g._data.dtype)
        mask /= mask.sum(axis=ctx.dims, keepdims=True)  # ties share the gradient evenly
        return _restore(g, shape, ctx.dims, ctx.keepdim) * constant(mask), None, None, None, None


class MaxDim(Function):
    """max/min along one dim: (values, indices); the gradient goes to the returned index."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, take_max):
        xp = xp_of(x._data)
        idx = (xp.argmax if take_max else xp.argmin)(x._data, axis=dim, keepdims=True)
        vals = xp.take_along_axis(x._data, idx, axis=dim)
        ctx.save(dim=dim, keepdim=keepdim, idx=idx)
        if not keepdim:
            vals, idx = vals.squeeze(dim), idx.squeeze(dim)
        return vals, idx.astype(np.int64)

    @staticmethod
    def backward(ctx, g, _gi):
        if not ctx.keepdim:
            g = reshape(g, _keep_shape(ctx._in_meta[0][0], (ctx.dim,)))
        return scatter_add_zeros(g, ctx.dim, ctx.idx, ctx._in_meta[0][0]), None, None, None


class Cumsum(Function):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.save(dim=dim)
        return xp_of(x._data).cumsum(x._data, axis=dim, dtype=x._data.dtype).reshape(x._data.shape)

    @staticmethod
    def backward(ctx, g):
        # out_j = sum_{i<=j} x_i  =>  dL/dx_i = sum_{j>=i} g_j: a reversed cumulative sum
        return flip(cumsum(flip(g, ctx.dim), ctx.dim), ctx.dim), None


class Norm2(Function):
    """Euclidean norm; its gradient x / ||x|| is taken as 0 where the norm is 0."""

    save_output = True

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.save_for_backward(x)
        ctx.save(dims=dims, keepdim=keepdim)
        xp = xp_of(x._data)
        return xp.sqrt((x._data * x._data).sum(axis=dims, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        shape = x._data.shape
        out = _restore(ctx.output(), shape, ctx.dims, ctx.keepdim)
        zero = constant(out._data == 0)
        safe = where(zero, 1.0, out)
        return where(zero, 0.0, _restore(g, shape, ctx.dims, ctx.keepdim) * x / safe), None, None


# -- public functions --------------------------------------------------------------------------
def _all_if_empty(dim):
    """PyTorch's sum/mean/var/norm read an empty dim list as 'all dims'."""
    return None if isinstance(dim, (tuple, list)) and len(dim) == 0 else dim


def _float_or_default(x):
    return x if x._data.dtype.kind in "fV" else x.to(_dt.get_default_dtype())


def sum(x, dim=None, keepdim=False, *, dtype=None):  # noqa: A001
    if dtype is not None:
        x = x.to(dtype)
    elif x._data.dtype.kind in "bui" and x._data.dtype != np.int64:
        x = x.to(_dt.int64)
    dims = norm_dims(_all_if_empty(dim), x.ndim, "sum")
    return Sum.apply(x, dims, keepdim)


def mean(x, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind not in "fV":
        raise TypeError(f"mean: expected a floating point tensor, got {x.dtype}; pass dtype=")
    dims = norm_dims(_all_if_empty(dim), x.ndim, "mean")
    n = 1
    for d in dims:
        n *= x._data.shape[d]
    total = Sum.apply(x, dims, keepdim)
    return total / n if n else total * float("nan")  # the mean of nothing is NaN, as in NumPy


def prod(x, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    return Prod.apply(x, norm_dims(dim, x.ndim, "prod"), keepdim)


def _check_nonempty(op, x, dims):
    if builtins.any(x._data.shape[d] == 0 for d in dims if d < x._data.ndim):
        raise ValueError(f"{op}: cannot reduce over an empty dimension (shape {tuple(x.shape)})")


def amax(x, dim=None, keepdim=False):
    dims = norm_dims(dim, x.ndim, "amax") if dim != () else tuple(range(x.ndim))
    _check_nonempty("amax", x, dims)
    return AMax.apply(x, dims, keepdim, True)


def amin(x, dim=None, keepdim=False):
    dims = norm_dims(dim, x.ndim, "amin") if dim != () else tuple(range(x.ndim))
    _check_nonempty("amin", x, dims)
    return AMax.apply(x, dims, keepdim, False)


def _maxmin(x, dim, keepdim, take_max, other):
    name = "max" if take_max else "min"
    if isinstance(dim, Tensor):  # torch.max(a, b) is the element-wise maximum
        return (maximum if take_max else minimum)(x, dim)
    if dim is None:
        _check_nonempty(name, x, tuple(range(x.ndim)))
        return AMax.apply(x, tuple(range(x.ndim)), False, take_max, True)
    d = norm_dim(dim, x.ndim, name)
    _check_nonempty(name, x, (d,))
    if x.ndim == 0:
        return other(x, constant(xp_of(x._data).zeros((), np.int64)))
    vals, idx = MaxDim.apply(x, d, keepdim, take_max)
    return other(vals, idx)


def max(x, dim=None, keepdim=False):  # noqa: A001
    return _maxmin(x, dim, keepdim, True, MaxResult)


def min(x, dim=None, keepdim=False):  # noqa: A001
    return _maxmin(x, dim, keepdim, False, MinResult)


def _arg(x, dim, keepdim, fn, name):
    xp = xp_of(x._data)
    if dim is None:
        out = getattr(xp, fn)(x._data.reshape(-1))
        return constant(xp.asarray(out, dtype=np.int64).reshape((1,) * x.ndim if keepdim else ()))
    d = norm_dim(dim, x.ndim, name)
    _check_nonempty(name, x, (d,))
    return constant(getattr(xp, fn)(x._data, axis=d, keepdims=keepdim).astype(np.int64))


def argmax(x, dim=None, keepdim=False):
    return _arg(x, dim, keepdim, "argmax", "argmax")


def argmin(x, dim=None, keepdim=False):
    return _arg(x, dim, keepdim, "argmin", "argmin")


def cumsum(x, dim, *, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    return Cumsum.apply(x, norm_dim(dim, x.ndim, "cumsum"))


def norm(x, p="fro", dim=None, keepdim=False):
    """Vector p-norm over `dim` (all elements by default); 'fro' is the 2-norm of the elements."""
    x = _float_or_default(x)
    dims = norm_dims(_all_if_empty(dim), x.ndim, "norm")
    if p in ("fro", 2, 2.0):
        return Norm2.apply(x, dims, keepdim)
    if p in (float("inf"), "inf"):
        return amax(abs(x), dims, keepdim)
    if p in (float("-inf"), "-inf"):
        return amin(abs(x), dims, keepdim)
    if p == 1:
        return sum(abs(x), dims, keepdim)
    if p == 0:
        return sum((x != 0).to(x.dtype), dims, keepdim)
    return sum(abs(x) ** p, dims, keepdim) ** (1.0 / p)


def all(x, dim=None, keepdim=False):  # noqa: A001
    dims = norm_dims(dim, x.ndim, "all")
    return constant(x._data.astype(bool).all(axis=dims, keepdims=keepdim))


def any(x, dim=None, keepdim=False):  # noqa: A001
    dims = norm_dims(dim, x.ndim, "any")
    return constant(x._data.astype(bool).any(axis=dims, keepdims=keepdim))


def count_nonzero(x, dim=None):
    dims = norm_dims(_all_if_empty(dim), x.ndim, "count_nonzero")
    return constant(xp_of(x._data).asarray((x._data != 0).sum(axis=dims)).astype(np.int64))
