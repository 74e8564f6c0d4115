"""Embedding lookups (`embedding`) and `one_hot`.

An embedding is a table lookup: out[...] = weight[idx[...]]. Its weight gradient scatters each output
row back to the row it came from (repeated indices accumulate); `padding_idx` rows get no gradient and
`scale_grad_by_freq` divides each row's gradient by its count in the batch.
"""
import numpy as np

from ... import backend
from ..._errors import DTypeError, ShapeError
from ...autograd.function import Function
from ...ops import reshape
from ...ops.indexing import IndexAddZeros
from ...tensor import Tensor, constant


class _Embedding(Function):
    """out[...] = weight[idx[...]]; the weight gradient adds each output row back to its index
    (repeated indices accumulate), with rows of padding_idx left at zero."""

    @staticmethod
    def forward(ctx, weight, idx, row_scale):
        ctx.save(idx=idx, row_scale=row_scale)
        return xp_take(weight._data, idx)

    @staticmethod
    def backward(ctx, g):
        dim = ctx._in_meta[0][0][1]
        if ctx.row_scale is not None:
            g = g * constant(ctx.row_scale.astype(g._data.dtype))
        g = reshape(g, -1, dim)
        return IndexAddZeros.apply(g, (ctx.idx.reshape(-1),), False, ctx._in_meta[0][0]), None, None


def xp_take(w, idx):
    """w[idx] along dim 0, with w's array module."""
    return backend.xp_of(w).take(w, idx, axis=0)


def _check_indices(idx, num, who):
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"{who}: expected an integer index tensor (int64 or int32), got dtype "
                         f"{idx.dtype}")
    if idx.size:
        lo, hi = idx.min().item(), idx.max().item()
        bad = hi if hi >= num else lo if lo < 0 else None
        if bad is not None:
            raise IndexError(f"{who}: index {bad} is out of range for num_embeddings={num} "
                             f"(valid indices are 0..{num - 1})")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False, _who="embedding"):
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported")
    if weight.ndim != 2:
        raise ShapeError(f"{_who}: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"{tuple(weight.shape)}")
    num = weight.shape[0]
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    _check_indices(idx, num, _who)
    idx = idx.astype(np.int64, copy=False)
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"{_who}: padding_idx {padding_idx} must be within num_embeddings "
                             f"{num}")
        padding_idx = padding_idx % num
    if max_norm is not None:  # renormalize the looked-up rows in place (outside the graph)
        xp = backend.xp_of(weight._data)
        rows = xp.unique(idx.reshape(-1))
        norms = xp.linalg.norm(weight._data[rows].astype(np.float64), ord=norm_type, axis=1)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight._data[rows] *= scale[:, None].astype(weight._data.dtype)
    row_scale = None
    if padding_idx is not None or scale_grad_by_freq:
        xp = backend.xp_of(idx)
        row_scale = xp.ones(idx.shape, dtype=np.float64)
        if scale_grad_by_freq:  # each row's gradient divided by its count in this batch
            counts = xp.bincount(idx.reshape(-1), minlength=num)
            row_scale = row_scale / counts[idx]
        if padding_idx is not None:
            row_scale = row_scale * (idx != padding_idx)
        row_scale = row_scale[..., None]
    return _Embedding.apply(weight, idx, row_scale)


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each index."""
    idx = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: expected an integer tensor, got dtype {idx.dtype}")
    xp = backend.xp_of(idx)
    if num_classes == -1:
        num_classes = idx.max().item() + 1 if idx.size else 0
    if idx.size and (idx.min().item() < 0 or idx.max().item() >= num_classes):
        raise IndexError(f"one_hot: class values must be in [0, {num_classes}), got values in "
                         f"[{idx.min().item()}, {idx.max().item()}]")
    out = (idx[..., None] == xp.arange(num_classes)).astype(np.int64)
    return constant(out)
