"""Sparse COO matrices and the sparse-dense product, for what programs use them for (a graph's
adjacency in a GCN): `sparse_coo_tensor`, `SparseCOOTensor.to_dense/coalesce/t`, `sparse.mm` and
`spmm`.

A COO tensor stores `indices` (2, nnz) and `values` (nnz,) of a (rows, cols) matrix; entries given
twice add up. The product out = S @ D is out[r] = sum over entries (r, c, v) of v D[c]: gather the
rows D[c], scale them by v, scatter-add them into row r. All three steps are differentiable ops, so
gradients reach D (S^T g, as in PyTorch) and the values (g[r] . D[c]) without a dense S.
Unlike PyTorch's, a SparseCOOTensor is not a Tensor subclass and has only 2 sparse dims.
"""
import numpy as np

from .._errors import ShapeError
from ..backend import xp_of
from ..tensor import Tensor, constant
from .creation import tensor as _tensor
from .indexing import index_select, scatter_add_zeros
from .shape import reshape


class SparseCOOTensor:
    is_sparse = True
    layout = "sparse_coo"

    def __init__(self, indices, values, size, coalesced=False):
        self._idx, self._vals, self._size = indices, values, tuple(int(s) for s in size)
        self._coalesced = coalesced

    # -- what PyTorch's sparse tensors answer ----------------------------------------------------
    @property
    def shape(self):
        return self._size

    def size(self, dim=None):
        return self._size if dim is None else self._size[dim]

    def dim(self):
        return len(self._size)

    @property
    def dtype(self):
        return self._vals.dtype

    @property
    def device(self):
        return self._vals.device

    @property
    def requires_grad(self):
        return self._vals.requires_grad

    def indices(self):
        return constant(self._idx)

    def values(self):
        return self._vals

    _indices, _values = indices, values

    def _nnz(self):
        return int(self._idx.shape[1])

    def is_coalesced(self):
        return self._coalesced

    def coalesce(self):
        """Entries sorted by (row, col), duplicates summed (differentiably in the values)."""
        if self._coalesced:
            return self
        flat = self._idx[0] * self._size[1] + self._idx[1]
        keys, inverse = np.unique(flat, return_inverse=True)
        vals = scatter_add_zeros(self._vals, 0, inverse.reshape(-1), (keys.shape[0],))
        idx = np.stack([keys // self._size[1], keys % self._size[1]]).astype(np.int64)
        return SparseCOOTensor(idx, vals, self._size, coalesced=True)

    def to_dense(self):
        flat = self._idx[0] * self._size[1] + self._idx[1]
        out = scatter_add_zeros(self._vals, 0, flat, (self._size[0] * self._size[1],))
        return reshape(out, self._size)

    def t(self):
        return SparseCOOTensor(self._idx[::-1].copy(), self._vals, self._size[::-1])

    def to(self, *args, **kwargs):
        return SparseCOOTensor(self._idx, self._vals.to(*args, **kwargs), self._size,
                               self._coalesced)

    def cpu(self):
        return self.to("cpu")

    def __matmul__(self, other):
        return mm(self, other)

    def mm(self, other):
        return mm(self, other)

    def __repr__(self):
        return (f"tensor(indices={self._idx.tolist()},\n       values={self._vals!r},\n       "
                f"size={self._size}, nnz={self._nnz()}, layout=torch.sparse_coo)")


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None, requires_grad=False):
    """A (rows, cols) sparse matrix with `values[k]` at `indices[:, k]` (PyTorch's constructor;
    the size defaults to one past the largest index in each dim)."""
    idx = np.asarray(indices._data if isinstance(indices, Tensor) else indices)
    if idx.ndim != 2 or idx.shape[0] != 2 or idx.dtype.kind not in "iu":
        raise ShapeError(f"sparse_coo_tensor: indices must be an integer (2, nnz) array, got "
                         f"shape {idx.shape} and dtype {idx.dtype}")
    vals = values if isinstance(values, Tensor) else _tensor(values, dtype=dtype)
    if dtype is not None or device is not None:
        vals = vals.to(*(a for a in (device, dtype) if a is not None))
    if vals.ndim != 1 or vals.shape[0] != idx.shape[1]:
        raise ShapeError(f"sparse_coo_tensor: values must be 1-D with one value per index column "
                         f"({idx.shape[1]}), got shape {tuple(vals.shape)}")
    if size is None:
        size = tuple(int(m) + 1 for m in idx.max(axis=1)) if idx.shape[1] else (0, 0)
    size = tuple(size)
    if len(size) != 2 or (idx.shape[1] and ((idx.min(axis=1) < 0).any() or
                                             (idx.max(axis=1) >= np.array(size)).any())):
        raise ShapeError(f"sparse_coo_tensor: indices out of bounds for size {size}")
    if requires_grad:
        vals.requires_grad_(True)
    return SparseCOOTensor(idx.astype(np.int64), vals, size)


def mm(sparse, dense):
    """S @ D for a SparseCOOTensor S (n, m) and a dense D (m, f): gather, scale, scatter-add."""
    if not isinstance(sparse, SparseCOOTensor):
        raise TypeError(f"sparse.mm: the first argument must be a sparse COO tensor, got "
                        f"{type(sparse).__name__}")
    if dense.ndim != 2 or dense.shape[0] != sparse.shape[1]:
        raise ShapeError(f"sparse.mm: shapes {sparse.shape} and {tuple(dense.shape)} cannot be "
                         "multiplied")
    rows, cols = sparse._idx
    picked = index_select(dense, 0, cols) * reshape(sparse._vals.to(dense.dtype), (-1, 1))
    index = xp_of(dense._data).broadcast_to(rows[:, None], picked.shape)
    return scatter_add_zeros(picked, 0, index, (sparse.shape[0], dense.shape[1]))


spmm = mm


def FloatTensor(indices, values, size=None):  # noqa: N802 - PyTorch's (deprecated) name
    """`torch.sparse.FloatTensor(indices, values, size)`, the legacy spelling older programs
    (pygcn) use: a float32 `sparse_coo_tensor`."""
    return sparse_coo_tensor(indices, values, size, dtype="float32")
