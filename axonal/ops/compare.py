"""Comparisons and selections: where, maximum/minimum, clamp (differentiable), and the
non-differentiable comparisons, logical and bitwise ops, isnan/isinf/isfinite, isclose.

Selections route the gradient to the operand that was selected: `where` by its condition,
maximum/minimum to the winner (half to each side on a tie), clamp to the elements inside [lo, hi].
"""
import numpy as np

from .._errors import ShapeError
from .. import kernels as K
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import Tensor, constant
from ._util import as_tensor, binary_error, coerce, data, nondiff, result_dtype
from .shape import grad_for_input


class Clamp(Function):
    """Clamp to [lo, hi]; the gradient passes where lo <= x <= hi (as in PyTorch)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = xp_of(x._data)
        mask = xp.ones(x._data.shape, dtype=bool)
        if lo is not None:
            mask &= x._data >= lo
        if hi is not None:
            mask &= x._data <= hi
        ctx.save(mask=mask)
        ctx.save_for_backward(x)  # as PyTorch's (only for its version check: writing x is an error)
        return xp.clip(x._data, lo, hi).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return g * constant(ctx.mask.astype(g._data.dtype)), None, None


class Maximum(Function):
    """Element-wise max of two tensors; on ties each side receives half the gradient."""

    @staticmethod
    def forward(ctx, a, b, take_max=True):
        try:
            out = (xp_of(a._data).maximum if take_max else xp_of(a._data).minimum)(a._data, b._data)
        except ValueError:
            raise binary_error("maximum" if take_max else "minimum", a, b) from None
        win = (a._data > b._data) if take_max else (a._data < b._data)
        ctx.save(wa=win + 0.5 * (a._data == b._data))  # a's share of the gradient
        ctx.save_for_backward(a, b)  # as PyTorch's (for its version check only)
        return out

    @staticmethod
    def backward(ctx, g):
        wa = constant(ctx.wa.astype(g._data.dtype))
        return grad_for_input(ctx, 0, g * wa), grad_for_input(ctx, 1, g * (1 - wa)), None


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)  # as PyTorch: writing into cond before backward is an error
        out = K.where_rows(cond._data, data(a), data(b))  # a number and a float32 array: kernel
        if out is not None:
            return out
        try:
            out = xp_of(cond._data, data(a), data(b)).where(cond._data, data(a), data(b))
        except ValueError:
            raise ShapeError(f"where: shapes {tuple(cond.shape)}, {np.shape(data(a))} and "
                             f"{np.shape(data(b))} cannot be broadcast together") from None
        dt = result_dtype(a, b) if isinstance(a, Tensor) or isinstance(b, Tensor) else None
        return out.astype(dt.np, copy=False) if dt is not None else out

    @staticmethod
    def backward(ctx, g):
        cond = ctx.saved_tensors[0]
        ga = grad_for_input(ctx, 1, where(cond, g, 0.0)) if ctx.needs_input_grad[1] else None
        gb = grad_for_input(ctx, 2, where(cond, 0.0, g)) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def clamp(x, min=None, max=None):  # noqa: A002
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, as_tensor(min, like=x))
        if max is not None:
            out = minimum(out, as_tensor(max, like=x))
        return out
    return Clamp.apply(x, min, max)


def maximum(a, b):
    a, b = coerce("maximum", as_tensor(a), as_tensor(b))
    return Maximum.apply(a, b, True)


def minimum(a, b):
    a, b = coerce("minimum", as_tensor(a), as_tensor(b))
    return Maximum.apply(a, b, False)


def where(cond, a=None, b=None):
    cond = as_tensor(cond)
    if a is None and b is None:
        return tuple(constant(i) for i in xp_of(cond._data).nonzero(cond._data))
    if cond._data.dtype != np.bool_:
        cond = constant(cond._data.astype(bool))
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype is not b.dtype:
        a, b = coerce("where", a, b)
    return Where.apply(cond, a, b)


# -- non-differentiable: comparisons and logic -------------------------------------------------
def _binary(ufunc):
    def op(a, b):
        return nondiff(ufunc, a, b)

    op.__name__ = ufunc.__name__
    return op


eq, ne, lt, le, gt, ge = (_binary(u) for u in (np.equal, np.not_equal, np.less, np.less_equal,
                                                np.greater, np.greater_equal))
logical_and, logical_or, logical_xor = (_binary(u) for u in (np.logical_and, np.logical_or,
                                                              np.logical_xor))
bitwise_and, bitwise_or, bitwise_xor = (_binary(u) for u in (np.bitwise_and, np.bitwise_or,
                                                              np.bitwise_xor))


def logical_not(x):
    return nondiff(np.logical_not, x)


def bitwise_not(x):
    return nondiff(np.invert, x)


def isnan(x):
    return nondiff(np.isnan, x)


def isinf(x):
    return nondiff(np.isinf, x)


def isfinite(x):
    return nondiff(np.isfinite, x)


def equal(a, b) -> bool:
    return tuple(a.shape) == tuple(b.shape) and bool((a._data == b._data).all())


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    return bool(xp_of(a._data).allclose(a._data, data(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    return constant(xp_of(a._data).isclose(a._data, data(b), rtol=rtol, atol=atol,
                                          equal_nan=equal_nan))
