"""Views with explicit geometry: `diagonal` and `as_strided` (PyTorch's names and semantics).

Both return a view of the input's storage (writes go through, the version counter is shared,
autograd/versions.py links the output to its base because its array lives in the base's memory).

diagonal(x, offset, dim1, dim2): the elements x[..., i, ..., i + offset, ...] of the two dims, with
the other dims first in order and the diagonal last (NumPy's `diagonal` gives exactly this layout;
it returns a read-only view, which is made writable again, as PyTorch's is). Its adjoint scatters
the gradient onto the diagonal of a zero tensor, and that scatter's adjoint is the diagonal again,
so derivatives of any order stay in the graph.

as_strided(x, size, stride, storage_offset): element `i` of the result is storage element
`storage_offset + sum_k i_k * stride_k` (strides and offset in elements, counted from the start of
the storage, PyTorch's rule; the offset defaults to x's own). The adjoint of a gather from storage
positions is a scatter-add into them: the result's gradient is summed per storage element
(elements the result reads twice get both contributions), and the input's gradient reads the
storage gradient back at the input's own positions (PyTorch's as_strided_backward for an input whose
elements do not overlap; an input that overlaps itself is refused).
"""
import numpy as np

from .. import backend
from ..autograd.function import Function
from ..backend import xp_of
from ._util import norm_dim

# -- diagonal ------------------------------------------------------------------------------------


def _diagonal_view(a, offset, dim1, dim2):
    d = a.diagonal(offset, dim1, dim2)
    if isinstance(d, np.ndarray) and not d.flags.writeable and a.flags.writeable:
        d.flags.writeable = True  # NumPy's diagonal is read-only by policy, not by necessity
    return d


class Diagonal(Function):
    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.save(offset=offset, dim1=dim1, dim2=dim2)
        return _diagonal_view(x._data, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, g):
        shape = ctx._in_meta[0][0]
        return DiagonalScatter.apply(g, shape, ctx.offset, ctx.dim1, ctx.dim2), None, None, None


class DiagonalScatter(Function):
    """A zero tensor of `shape` whose (offset, dim1, dim2) diagonal is g (diagonal's adjoint)."""

    @staticmethod
    def forward(ctx, g, shape, offset, dim1, dim2):
        ctx.save(offset=offset, dim1=dim1, dim2=dim2)
        out = xp_of(g._data).zeros(shape, g._data.dtype)
        _diagonal_view(out, offset, dim1, dim2)[...] = g._data
        return out

    @staticmethod
    def backward(ctx, gg):
        return Diagonal.apply(gg, ctx.offset, ctx.dim1, ctx.dim2), None, None, None, None


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The `offset` diagonal of the 2-D slices spanned by dims `dim1` and `dim2`, as a view."""
    n = input.ndim
    if n < 2:
        raise RuntimeError(f"diagonal: expected a tensor of at least 2 dims, got shape "
                           f"{tuple(input.shape)}")
    d1, d2 = norm_dim(dim1, n, "diagonal"), norm_dim(dim2, n, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, int(offset), d1, d2)


# -- as_strided ------------------------------------------------------------------------------------


def _storage(a):
    """(the array owning a's memory, a's offset into it in elements)."""
    r = backend.root(a)
    if r is a or not hasattr(r, "__array_interface__"):
        return a, 0
    return r, (backend.data_ptr(a) - backend.data_ptr(r)) // a.itemsize


def _positions(shape, stride, offset):
    """The storage position (in elements) of every element of a (shape, stride, offset) view."""
    pos = np.full(tuple(shape), offset, dtype=np.int64)
    for k, (n, s) in enumerate(zip(shape, stride)):
        pos += (np.arange(n, dtype=np.int64) * s).reshape((n,) + (1,) * (len(shape) - k - 1))
    return pos


def _strided_view(a, size, stride, offset):
    r, _ = _storage(a)
    if not isinstance(r, np.ndarray):
        raise NotImplementedError("axonal does not implement as_strided on CUDA tensors yet")
    if not r.flags.c_contiguous:
        raise NotImplementedError("axonal does not implement as_strided of a tensor whose "
                                  "storage is not contiguous yet")
    item = a.itemsize
    need = 1 + offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else 0
    if offset < 0 or need > r.size:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {item} requiring a storage size of "
                           f"{need * item} are out of bounds for storage of size {r.size * item}")
    return np.ndarray(tuple(size), a.dtype, buffer=r, offset=offset * item,
                      strides=tuple(s * item for s in stride))


class AsStrided(Function):
    @staticmethod
    def forward(ctx, x, size, stride, offset):
        a = x._data
        r, here = _storage(a)
        ctx.save(geometry=(r.size, _positions(size, stride, offset),
                           _positions(a.shape, [s // a.itemsize for s in a.strides], here)))
        return _strided_view(a, size, stride, offset)

    @staticmethod
    def backward(ctx, g):
        n, out_pos, in_pos = ctx.geometry
        return AsStridedScatter.apply(g, n, out_pos, in_pos), None, None, None


class AsStridedScatter(Function):
    """as_strided's adjoint: g summed into storage positions `out_pos` of an n-element zero
    storage, read back at the input's positions `in_pos`."""

    @staticmethod
    def forward(ctx, g, n, out_pos, in_pos):
        ctx.save(geometry=(n, out_pos, in_pos))
        xp = xp_of(g._data)
        flat = xp.zeros(n, g._data.dtype)
        if xp is np:
            np.add.at(flat, out_pos.reshape(-1), g._data.reshape(-1))
        else:
            xp.add.at(flat, xp.asarray(out_pos.reshape(-1)), g._data.reshape(-1))
        return flat[xp.asarray(in_pos)] if xp is not np else flat[in_pos]

    @staticmethod
    def backward(ctx, gg):
        # adjoint of "scatter-add at out_pos, gather at in_pos": scatter gg to in_pos (disjoint),
        # gather at out_pos
        n, out_pos, in_pos = ctx.geometry
        return AsStridedScatter.apply(gg, n, in_pos, out_pos), None, None, None


def as_strided(input, size, stride, storage_offset=None):
    """A view of input's storage with the given sizes and strides (elements), starting at
    `storage_offset` (default: input's own offset). See the module doc."""
    if isinstance(size, int) or isinstance(stride, int):
        raise TypeError("as_strided: size and stride must be sequences of ints")
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: size {list(size)}, "
                           f"stride {list(stride)}")
    if any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: negative sizes or strides are not supported, got size "
                           f"{list(size)} and stride {list(stride)}")
    a = input._data
    if input.requires_grad and a.size > 1:
        pos = _positions(a.shape, [s // a.itemsize for s in a.strides], 0)
        if np.unique(pos).size != pos.size:
            raise NotImplementedError("axonal does not implement as_strided of a tensor whose "
                                      "elements overlap in memory (an expanded tensor) in the "
                                      "graph yet")
    offset = _storage(a)[1] if storage_offset is None else int(storage_offset)
    return AsStrided.apply(input, size, stride, offset)

