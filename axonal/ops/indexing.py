"""Indexing: x[key], index_put, gather/scatter, index_select, masked_fill.

Reading elements is linear in x, so its adjoint writes the gradient back to the positions that were
read - adding, because an advanced index may read the same element twice. That adjoint
("index add into zeros") is itself linear and its own adjoint is reading again, so both directions
are differentiable to any order.
"""
import numpy as np

from .. import kernels as K
from .._errors import ShapeError
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import Tensor, _index_key, constant
from ._util import as_tensor, norm_dim
from .compare import where
from .shape import pad_widths, sum_to


def _index_tensors(key):
    """The Tensors in an index expression (index and mask tensors)."""
    if type(key) is tuple:
        for k in key:
            if isinstance(k, Tensor):
                return tuple(k for k in key if isinstance(k, Tensor))
        return ()
    return (key,) if isinstance(key, Tensor) else ()


def _keep_indices(out, tensors):
    """PyTorch saves the index and mask tensors of an indexing op for backward, so that writing
    into one before backward raises its "modified by an inplace operation" error (the gradient
    would land on other elements): the node notes them for that check (autograd/versions.check),
    and reads the indices from their memory, not from a copy."""
    node = out._ctx if isinstance(out, Tensor) else None
    if tensors and node is not None:
        node.save(_saved_indices=tuple(tensors))
    return out


def _normalize_key(key, ndim, xp=np, tensors=None):
    """Arrays for Tensors and lists; boolean masks expanded to integer arrays (via nonzero) so the
    same key can be used for reading and for `add.at`. Returns (key, is_basic). `tensors`: the
    key's index tensors when the caller has them already."""
    if tensors is None:
        tensors = _index_tensors(key)
    shared = {id(t._data) for t in tensors} if tensors else ()
    key = _index_key(key)
    if not isinstance(key, tuple):
        key = (key,)
    out, basic = [], True
    for k in key:
        if isinstance(k, (list, np.ndarray)) or hasattr(k, "__cuda_array_interface__"):
            # lists: x's device; a NumPy array given as an index is copied (as PyTorch copies it
            # into a new tensor); an index tensor's memory is used as it is (_keep_indices)
            k = xp.asarray(k) if isinstance(k, list) else \
                k.copy() if type(k) is np.ndarray and id(k) not in shared else k
            basic = False
            if k.dtype == np.bool_:
                out.extend(k.nonzero())
                continue
            if k.dtype.kind not in "iu":
                raise IndexError(f"index: tensors used as indices must be integer or bool, got "
                                 f"dtype {k.dtype}")
        elif isinstance(k, (bool, np.bool_)):
            basic = False
        elif not (k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice))):
            raise IndexError(f"index: unsupported index of type {type(k).__name__}")
        out.append(k)
    return tuple(out), basic


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, key, basic):
        ctx.save(key=key, basic=basic)
        if basic and Ellipsis not in key:  # all-int keys: a 0-d view (NumPy would copy a scalar)
            key = (*key, Ellipsis)
        try:
            out = x._data[key]
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor shape {tuple(x.shape)})") from None
        return _none_strides(x._data, key, out) if basic and None in key else out

    @staticmethod
    def backward(ctx, g):
        return IndexAddZeros.apply(g, ctx.key, ctx.basic, ctx._in_meta[0][0]), None, None


def _none_strides(a, key, out):
    """x[..., None, ...] with PyTorch's strides for the new size-1 dims (NumPy gives them 0;
    PyTorch's unsqueeze gives size * stride of the input dim that follows, 1 at the end): the same
    view of a's memory, rebuilt on its owner so that it stays linked as a view."""
    r = a if a.base is None else a.base
    if type(out) is not np.ndarray or type(r) is not np.ndarray or not r.flags.c_contiguous \
            or not r.flags.writeable:
        return out
    n_ell = a.ndim - sum(1 for k in key if k is not None and k is not Ellipsis)
    strides, p, j = list(out.strides), 0, 0  # p: next input dim, j: next output dim
    for k in key:
        if k is None:
            strides[j] = a.shape[p] * a.strides[p] if p < a.ndim else a.itemsize
            j += 1
        elif k is Ellipsis:
            p, j = p + n_ell, j + n_ell
        elif isinstance(k, slice):
            p, j = p + 1, j + 1
        else:  # an int removes the dim
            p += 1
    off = out.__array_interface__["data"][0] - r.__array_interface__["data"][0]
    return np.ndarray(out.shape, out.dtype, buffer=r, offset=off, strides=tuple(strides))


class IndexAddZeros(Function):
    """zeros(shape) with `g` added at `key` (repeated indices accumulate)."""

    @staticmethod
    def forward(ctx, g, key, basic, shape):
        ctx.save(key=key, basic=basic)
        xp = xp_of(g._data)
        z = xp.zeros(shape, dtype=g._data.dtype)
        if basic:
            z[key] = g._data
        elif len(key) == 1 and hasattr(key[0], "ndim"):  # one index array: a gather of rows
            K.index_add_rows(z, key[0], g._data)
        else:
            xp.add.at(z, key, g._data)
        return z

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, ctx.key, ctx.basic), None, None, None


class IndexPut(Function):
    """Out-of-place `x[key] = values` (or `+=` with accumulate=True)."""

    @staticmethod
    def forward(ctx, x, values, key, accumulate):
        ctx.save(key=key, accumulate=accumulate)
        xp = xp_of(x._data)
        out = x._data.copy()
        v = values._data if isinstance(values, Tensor) else values
        try:
            if accumulate:
                xp.add.at(out, key, v)
            else:
                out[key] = v
        except ValueError as e:
            raise ShapeError(f"index_put: values of shape {np.shape(v)} do not fit the indexed "
                             f"shape ({e})") from None
        return out

    @staticmethod
    def backward(ctx, g):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            if ctx.accumulate:
                gx = g
            else:
                mask = xp_of(g._data).ones(g._data.shape, dtype=g._data.dtype)
                mask[ctx.key] = 0
                gx = g * constant(mask)
        if ctx.needs_input_grad[1]:
            gv = sum_to(GetItem.apply(g, ctx.key, False), ctx._in_meta[1][0])
        return gx, gv, None, None


def _along(index, dim):
    """Full index tuple addressing out[i0..., index[...], ...] along `dim` (for add.at)."""
    xp = xp_of(index)
    grids = list(xp.ogrid[tuple(slice(0, s) for s in index.shape)]) if index.ndim else []
    grids[dim] = index
    return tuple(grids)


class Gather(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.save(dim=dim, index=index)
        ctx.save_for_backward(x)  # as PyTorch's (for its version check only)
        if index.ndim and index.shape != x._data.shape:  # index may be smaller outside dim
            return x._data[_along(index, dim)]
        return xp_of(x._data).take_along_axis(x._data, index, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return scatter_add_zeros(g, ctx.dim, ctx.index, ctx._in_meta[0][0]), None, None


class ScatterAddZeros(Function):
    @staticmethod
    def forward(ctx, src, dim, index, shape):
        ctx.save(dim=dim, index=index)
        xp = xp_of(src._data)
        z = xp.zeros(shape, dtype=src._data.dtype)
        xp.add.at(z, _along(index, dim), src._data)
        return z

    @staticmethod
    def backward(ctx, gg):
        return Gather.apply(gg, ctx.dim, ctx.index), None, None, None


class Scatter(Function):
    """Out-of-place scatter: out = x, then out[index along dim] = src."""

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.save(dim=dim, index=index)
        out = x._data.copy()
        full = _along(index, dim)
        out[full] = src._data[tuple(slice(0, s) for s in index.shape)] if isinstance(src, Tensor) \
            else src
        ctx.save(full=full)
        return out

    @staticmethod
    def backward(ctx, g):
        gx = gs = None
        if ctx.needs_input_grad[0]:
            mask = xp_of(g._data).ones(g._data.shape, dtype=g._data.dtype)
            mask[ctx.full] = 0
            gx = g * constant(mask)
        if ctx.needs_input_grad[3]:
            shape = ctx._in_meta[3][0]
            gs = Gather.apply(g, ctx.dim, ctx.index)
            if tuple(gs.shape) != tuple(shape):
                gs = pad_widths(gs, [(0, s - i) for s, i in zip(shape, gs.shape)])
        return gx, None, None, gs


# -- public functions --------------------------------------------------------------------------
def _is_array(k):
    return isinstance(k, np.ndarray) or hasattr(k, "__cuda_array_interface__")


def _is_int(k):
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def getitem(x, key):
    tensors = _index_tensors(key)
    out = _getitem(x, key, tensors)
    return _keep_indices(out, tensors) if tensors else out


def _getitem(x, key, tensors=None):
    key, basic = _normalize_key(key, x.ndim, xp_of(x._data), tensors)
    if not basic and any(_is_int(k) for k in key):
        # PyTorch applies integer indices first, as basic indexing: x[0, :, [1, 2]] on a (2, 3, 4)
        # tensor is (3, 2). NumPy would count the int as an advanced index and give (2, 3).
        x = GetItem.apply(x, tuple(slice(None) if _is_array(k) else k for k in key), True)
        key = tuple(k if _is_array(k) or k is Ellipsis else slice(None) for k in key
                    if not _is_int(k))
    return GetItem.apply(x, key, basic)


def narrow(x, dim, start, length):
    """The view x[..., start:start + length, ...] along `dim` (PyTorch's narrow)."""
    d = norm_dim(dim, x.ndim, "narrow")
    n = x.shape[d]
    start, length = int(start), int(length)
    if start < 0:
        start += n
    if not (0 <= start <= n and 0 <= length <= n - start):
        raise IndexError(f"narrow(): start ({start}) + length ({length}) exceeds dimension size "
                         f"({n}) of a tensor of shape {tuple(x.shape)}")
    return getitem(x, (slice(None),) * d + (slice(start, start + length),))


def select(x, dim, index):
    """The view x[..., index, ...] along `dim`, which it removes (PyTorch's select)."""
    d = norm_dim(dim, x.ndim, "select")
    n, i = x.shape[d], int(index)
    if not -n <= i < n:
        raise IndexError(f"select(): index {i} out of range for tensor of size {list(x.shape)} "
                         f"at dimension {dim}")
    return getitem(x, (slice(None),) * d + (i,))


def index_put(x, indices, values, accumulate=False):
    key, _ = _normalize_key(tuple(indices) if isinstance(indices, list) else indices, x.ndim,
                            xp_of(x._data))
    values = values if isinstance(values, Tensor) else as_tensor(values, like=x)
    if values.dtype is not x.dtype:
        values = values.to(x.dtype)
    return _keep_indices(IndexPut.apply(x, values, key, accumulate), _index_tensors(
        tuple(indices) if isinstance(indices, list) else indices))


def _check_index(op, x, dim, index):
    index = index._data if isinstance(index, Tensor) else np.asarray(index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {index.dtype}")
    if index.ndim != x.ndim:
        raise ShapeError(f"{op}: index {tuple(index.shape)} and input {tuple(x.shape)} must have "
                         "the same number of dimensions")
    for d in range(x.ndim):
        if d != dim and index.shape[d] > x.shape[d]:
            raise ShapeError(f"{op}: index {tuple(index.shape)} is larger than input "
                             f"{tuple(x.shape)} outside dim {dim}")
    if index.size and (index.min() < 0 or index.max() >= x.shape[dim]):
        raise IndexError(f"{op}: index out of range for dim {dim} of size {x.shape[dim]} "
                         f"(got values in [{index.min().item()}, {index.max().item()}])")
    return index.astype(np.int64, copy=False)  # the index tensor's memory (_keep_indices)


def gather(x, dim, index):
    d = norm_dim(dim, x.ndim, "gather")
    idx = _check_index("gather", x, d, index)
    if any(i < s for d2, (i, s) in enumerate(zip(idx.shape, x.shape)) if d2 != d):
        x = getitem(x, tuple(slice(0, i) if d2 != d else slice(None)
                             for d2, i in enumerate(idx.shape)))
    return _keep_indices(Gather.apply(x, d, idx), (index,) if isinstance(index, Tensor) else ())


def scatter_add_zeros(src, dim, index, shape):
    index = index._data if isinstance(index, Tensor) else index
    return ScatterAddZeros.apply(src, dim, index, tuple(shape))


def scatter(x, dim, index, src=None, *, value=None):
    d = norm_dim(dim, x.ndim, "scatter")
    kept = (index,) if isinstance(index, Tensor) else ()
    index = _check_index("scatter", x, d, index)
    if src is None:
        if value is None:
            raise ValueError("scatter: give src (a tensor) or value (a number)")
        src = value
    elif not isinstance(src, Tensor):
        src = value if src is None else src
    if isinstance(src, Tensor) and src.dtype is not x.dtype:
        src = src.to(x.dtype)
    return _keep_indices(Scatter.apply(x, d, index, src), kept)


def scatter_add(x, dim, index, src):
    d = norm_dim(dim, x.ndim, "scatter_add")
    kept = (index,) if isinstance(index, Tensor) else ()
    index = _check_index("scatter_add", x, d, index)
    src = getitem(src, tuple(slice(0, s) for s in index.shape))
    return x + _keep_indices(scatter_add_zeros(src, d, index, x.shape), kept)


def index_select(x, dim, index):
    d = norm_dim(dim, x.ndim, "index_select")
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.ndim > 1:
        raise ShapeError(f"index_select: index must be 1-D, got shape {tuple(idx.shape)}")
    return _keep_indices(_getitem(x, (slice(None),) * d + (constant(idx.reshape(-1)),)),
                         (index,) if isinstance(index, Tensor) else ())


def masked_fill(x, mask, value):
    mask = as_tensor(mask)
    if mask._data.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {mask.dtype}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"masked_fill: value must be a 0-d tensor, got shape "
                             f"{tuple(value.shape)}")
        return where(mask, value.to(x.dtype), x)
    return where(mask, value, x)


def nonzero(x, *, as_tuple=False):
    idx = xp_of(x._data).nonzero(x._data)
    if as_tuple:
        return tuple(constant(i.astype(np.int64)) for i in idx)
    return constant(xp_of(x._data).stack(idx, axis=1).astype(np.int64) if idx else
                  xp_of(x._data).zeros((0, 0), np.int64))
