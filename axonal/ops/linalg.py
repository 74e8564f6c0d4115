"""Matrix products. The arithmetic is BLAS: kernels.mm for 2-D operands (MKL's sgemm when it is
installed, else numpy.matmul; see kernels.gemm), numpy.matmul / cupy.matmul for the rest.

For C = A B the adjoints are dA = dC B^T and dB = A^T dC; batch dimensions broadcast, so each
gradient is summed back to its operand's shape. 1-D operands are promoted to matrices and the added
dimension is removed again, as in NumPy and PyTorch.
"""

from .. import _autocast_state
from .. import kernels as K
from .._errors import ShapeError
from ..autograd.function import Function
from ..backend import xp_of
from .shape import reshape, sum_to, transpose, unsqueeze


def _mT(x):
    return transpose(x, -1, -2)


def _wide(a):
    """float16 and bfloat16 operands are multiplied in float32 (the BLAS has no such products;
    PyTorch's CPU kernels also accumulate them in float32) and the result is rounded back."""
    return a.astype("float32") if a.dtype.itemsize == 2 and a.dtype.kind in "fV" else a


class MatMul(Function):
    """Batched product of operands with >= 2 dims."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        low = a._data.dtype if a._data.dtype.itemsize == 2 else None
        if low is None:
            return K.matmul(a._data, b._data)
        x, y = _wide(a._data), _wide(b._data)  # 16-bit: computed in float32, rounded once
        out = K.matmul(x, y)
        return out.astype(low) if out.dtype != low else out

    @staticmethod
    def backward_arrays(ctx, g):  # first order without broadcasting: two products, no graph
        a, b = (t._data for t in ctx.saved_tensors)
        if a.shape[:-2] != g.shape[:-2] or b.shape[:-2] != g.shape[:-2] or a.dtype.itemsize == 2:
            return NotImplemented  # broadcast batch dims (summed back) or 16-bit: `backward`
        need = ctx.needs_input_grad
        return (K.matmul(g, b.swapaxes(-1, -2)) if need[0] else None,
                K.matmul(a.swapaxes(-1, -2), g) if need[1] else None)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = sum_to(matmul(g, _mT(b)), a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to(matmul(_mT(a), g), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Dot(Function):
    """The product of two vectors (matmul of 1-D operands), one node as PyTorch's DotBackward0,
    keeping the two vectors as they are. d/da = g b, d/db = g a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp_of(a._data).asarray(xp_of(a._data).dot(a._data, b._data))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None)


class Linear(Function):
    """y = x W^T + b for x of shape (N, in): one GEMM, bias added in place.

    dx = dy W, dW = dy^T x, db = sum over the batch of dy.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        low = x._data.dtype if x._data.dtype.itemsize == 2 else None
        if low is not None and low.kind in "fV":  # float16/bfloat16: in float32, rounded once
            out = K.mm(_wide(x._data), _wide(weight._data).T)
            if bias is not None:
                out += _wide(bias._data)
            return out.astype(low)
        out = K.mm(x._data, weight._data.T)
        if bias is not None:
            K.add_rowvec_inplace(out, bias._data)
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = matmul(g, w) if need[0] else None
        gw = matmul(_mT(g), x) if need[1] else None
        gb = g.sum(0) if need[2] else None
        return gx, gw, gb

    @staticmethod
    def backward_arrays(ctx, g):  # first order: three BLAS calls and a row sum, no graph
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        if g.dtype.itemsize == 2 and g.dtype.kind in "fV":  # float16/bfloat16: as forward
            low, g32, x32, w32 = g.dtype, _wide(g), _wide(x._data), _wide(w._data)
            return (K.mm(g32, w32).astype(low) if need[0] else None,
                    K.mm(g32.T, x32).astype(low) if need[1] else None,
                    g32.sum(0).astype(low) if need[2] else None)
        return (K.mm(g, w._data) if need[0] else None, K.mm(g.T, x._data) if need[1] else None,
                K.sum_rows(g) if need[2] else None)


def _check(op, a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"{op}: both arguments need at least 1 dimension, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ShapeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned: "
                         f"{ka} != {kb}")
    if a.dtype is not b.dtype and not _autocast_state.enabled_for(a.device.type):
        raise TypeError(f"{op}: expected both operands to have the same dtype, got {a.dtype} and "
                        f"{b.dtype}")


def matmul(a, b):
    _check("matmul", a, b)
    if a.ndim >= 2 and b.ndim >= 2:
        try:
            return MatMul.apply(a, b)
        except ValueError:
            raise ShapeError(f"matmul: batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} "
                             "cannot be broadcast together") from None
    if a.ndim == 1 and b.ndim == 1:
        return Dot.apply(a, b)
    if a.ndim == 1:
        out = matmul(unsqueeze(a, 0), b)
        return reshape(out, out.shape[:-2] + out.shape[-1:])
    out = matmul(a, unsqueeze(b, 1))
    return reshape(out, out.shape[:-1])


def mm(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: expected 2-D tensors, got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: expected 3-D tensors with the same batch size, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"dot: expected 1-D tensors, got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return matmul(a, b)


def mv(a, b):
    if a.ndim != 2 or b.ndim != 1:
        raise ShapeError(f"mv: expected a matrix and a vector, got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return matmul(a, b)


def outer(a, b):
    return unsqueeze(a, 1) * unsqueeze(b, 0)


def linear(x, weight, bias=None):
    """PyTorch's F.linear: x (..., in) @ weight(out, in)^T + bias(out)."""
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), got "
                         f"{tuple(weight.shape)}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input of shape {tuple(x.shape)} does not match weight of shape "
                         f"{tuple(weight.shape)}: last dim {x.shape[-1] if x.ndim else None} != "
                         f"in_features {weight.shape[1]}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ShapeError(f"linear: bias of shape {tuple(bias.shape)} does not match "
                         f"out_features {weight.shape[0]}")
    if x.ndim == 2:
        return Linear.apply(x, weight, bias)
    lead = x.shape[:-1]
    out = Linear.apply(reshape(x, -1, x.shape[-1]), weight, bias)
    return reshape(out, tuple(lead) + (weight.shape[0],))


class _Triangle(Function):
    """tril / triu: keep the elements on and below (tril) or on and above (triu) the k-th diagonal
    of the last two dims. The map is a fixed 0/1 mask M, so y = M * x and dx = M * g: the gradient
    is the same triangle of g, computed by the same op (so it can be differentiated again)."""

    @staticmethod
    def forward(ctx, x, diagonal, upper):
        ctx.save(diagonal=diagonal, upper=upper)
        xp = xp_of(x._data)
        return (xp.triu if upper else xp.tril)(x._data, diagonal)

    @staticmethod
    def backward(ctx, g):
        return _Triangle.apply(g, ctx.diagonal, ctx.upper), None, None


def _triangle(name, x, diagonal, upper):
    if x.ndim < 2:
        raise ShapeError(f"{name}: input tensor must have at least 2 dimensions, "
                         f"got shape {tuple(x.shape)}")
    if isinstance(diagonal, bool) or not isinstance(diagonal, int):
        raise TypeError(f"{name}: diagonal must be an int, got {type(diagonal).__name__}")
    return _Triangle.apply(x, diagonal, upper)


def tril(x, diagonal=0):
    """The lower triangle of the last two dims (elements with column - row <= diagonal)."""
    return _triangle("tril", x, diagonal, False)


def triu(x, diagonal=0):
    """The upper triangle of the last two dims (elements with column - row >= diagonal)."""
    return _triangle("triu", x, diagonal, True)


def _diag_index(shape, k, xp):
    """(rows, cols) of the k-th diagonal of a matrix of `shape` (k > 0 above the main one), as
    index arrays of the array module `xp` (on the data's device)."""
    r, c = shape
    n = max(0, min(r, c - k) if k >= 0 else min(r + k, c))
    i = xp.arange(n)
    return (i, i + k) if k >= 0 else (i - k, i)


class _DiagTake(Function):
    """The k-th diagonal of a matrix, as a new vector; the adjoint writes the gradient back onto
    that diagonal of a zero matrix (`_DiagEmbed`), and the two ops are each other's backward."""

    @staticmethod
    def forward(ctx, m, k):
        ctx.save(k=k, shape=m.shape)
        return m._data[_diag_index(m.shape, k, xp_of(m._data))]

    @staticmethod
    def backward(ctx, g):
        return _DiagEmbed.apply(g, ctx.k, ctx.shape), None


class _DiagEmbed(Function):
    """A zero matrix of `shape` with v on its k-th diagonal."""

    @staticmethod
    def forward(ctx, v, k, shape):
        ctx.save(k=k)
        xp = xp_of(v._data)
        out = xp.zeros(tuple(shape), v._data.dtype)
        out[_diag_index(shape, k, xp)] = v._data
        return out

    @staticmethod
    def backward(ctx, g):
        return _DiagTake.apply(g, ctx.k), None, None


def diag(x, diagonal=0):
    """PyTorch's diag: a 1-D x becomes the square matrix with x on its `diagonal`-th diagonal
    (above the main one for > 0, below for < 0); a 2-D x gives that diagonal as a 1-D tensor."""
    if isinstance(diagonal, bool) or not isinstance(diagonal, int):
        raise TypeError(f"diag: diagonal must be an int, got {type(diagonal).__name__}")
    if x.ndim == 1:
        n = x.shape[0] + abs(diagonal)
        return _DiagEmbed.apply(x, diagonal, (n, n))
    if x.ndim == 2:
        return _DiagTake.apply(x, diagonal)
    raise ShapeError(f"diag: expected a 1-D or 2-D tensor, got shape {tuple(x.shape)}")
