"""embedding_bag (sums, means or maxima of bags of embeddings without materializing the bags'
sequences) and gumbel_softmax.

Bags are the rows of a 2-D input, or the slices input[offsets[i]:offsets[i+1]] of a 1-D input
(include_last_offset: offsets has B + 1 entries, the last being the end). Entries equal to
padding_idx are left out of their bag (and of a mean's count); an empty bag gives zeros. With
mode='sum' each looked-up row can be scaled by per_sample_weights. Sum and mean are one matmul
of a (bags x entries) selection matrix with the looked-up rows; max gathers each bag into a
padded block (-inf outside the bag) and takes the maximum, so the gradient reaches the row that
won, as in PyTorch.

gumbel_softmax (Jang et al. 2017; Maddison et al. 2017): softmax((logits + g) / tau) with
g = -log(Exponential(1)) noise; with hard=True the forward value is the one-hot of the argmax
and the gradient that of the soft sample (straight-through: y_hard - y_soft.detach() + y_soft).
"""
import numpy as np

from ..._errors import ShapeError
from ...backend import xp_of
from ...ops import matmul, where
from ...random import np_generator
from ...tensor import Tensor, constant
from ._activation import softmax
from ._embedding import embedding

_MODES = ("sum", "mean", "max")


def _bags(op, input, offsets, include_last_offset, xp):
    """(flat indices (M,), bag of each entry (M,), number of bags B)."""
    idx = input._data if isinstance(input, Tensor) else xp.asarray(input)
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: if input is 2D, then offsets has to be None, as input is "
                             "treated is a mini-batch of fixed length sequences.")
        b, n = idx.shape
        return idx.reshape(-1), xp.repeat(xp.arange(b), n), b
    if idx.ndim != 1:
        raise ShapeError(f"{op}: input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{idx.ndim}")
    if offsets is None:
        raise ValueError(f"{op}: offsets has to be a 1D Tensor but got None")
    off = offsets._data if isinstance(offsets, Tensor) else xp.asarray(offsets)
    off = off.astype(np.int64).reshape(-1)
    if off.size == 0 or int(off[0].item()) != 0:
        raise ValueError(f"{op}: offsets[0] has to be 0, i.e., the first sequence in the "
                         f"mini-batch has to start from position 0. However, got "
                         f"{off.tolist()[:1]}")
    m = idx.shape[0]
    if include_last_offset:
        b = off.shape[0] - 1
        off = off[:-1] if b >= 0 else off
    else:
        b = off.shape[0]
    if int(off[-1].item()) > m:
        raise ValueError(f"{op}: offsets[-1] can not be greater than input's length ({m}), "
                         f"but got offsets[-1] of {int(off[-1].item())}")
    seg = xp.searchsorted(off, xp.arange(m), side="right") - 1
    return idx, seg, b


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """(B, embedding_dim): the sum / mean / max of each bag's embedding rows."""
    op = "embedding_bag"
    if mode not in _MODES:
        raise ValueError(f"{op}: mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"{op}: embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    xp = xp_of(weight._data)
    idx, seg, b = _bags(op, input, offsets, include_last_offset, xp)
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"{op}: padding_idx must be within num_embeddings")
        padding_idx %= num
    rows = embedding(constant(idx.astype(np.int64)), weight, padding_idx, max_norm, norm_type,
                     scale_grad_by_freq, _who=op)                      # (M, D)
    keep = xp.ones(idx.shape, dtype=bool) if padding_idx is None else idx != padding_idx
    if per_sample_weights is not None:
        if tuple(per_sample_weights.shape) != tuple(idx.shape):
            raise ShapeError(f"{op}: per_sample_weights of shape "
                             f"{tuple(per_sample_weights.shape)} must match the input's "
                             f"{tuple(idx.shape)}")
        rows = rows * per_sample_weights.reshape(-1, 1)
    dt = weight._data.dtype
    if mode in ("sum", "mean"):
        sel = xp.zeros((b, idx.shape[0]), dtype=dt)
        sel[seg[keep], xp.arange(idx.shape[0])[keep]] = 1
        if mode == "mean":
            counts = sel.sum(axis=1, keepdims=True)
            sel = sel / xp.maximum(counts, 1)
        return matmul(constant(sel), rows)
    # max: each bag padded to the longest with -inf
    counts = xp.bincount(seg[keep], minlength=b) if idx.size else xp.zeros(b, dtype=np.int64)
    width = max(int(counts.max().item()) if b else 0, 1)
    pos = xp.zeros(idx.shape, dtype=np.int64)
    order = xp.arange(idx.shape[0])[keep]
    kept_seg = seg[keep]
    starts = xp.concatenate([xp.zeros(1, dtype=np.int64), xp.cumsum(counts)[:-1]])
    pos[keep] = xp.arange(order.shape[0]) - starts[kept_seg]
    gather = xp.zeros((b, width), dtype=np.int64)
    valid = xp.zeros((b, width), dtype=bool)
    gather[kept_seg, pos[keep]] = order
    valid[kept_seg, pos[keep]] = True
    block = rows[constant(gather)]                                      # (B, W, D)
    block = where(constant(valid[:, :, None]), block, float("-inf"))
    out = block.max(1)[0]
    return where(constant((counts > 0)[:, None]), out, 0.0)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """A sample from the Gumbel-softmax distribution (differentiable in logits)."""
    xp = xp_of(logits._data)
    e = np_generator().exponential(size=logits._data.shape).astype(logits._data.dtype)
    gumbels = constant(-xp.log(xp.asarray(e)))
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    soft = y_soft._data
    nd, d = soft.ndim, dim % soft.ndim
    index = xp.expand_dims(soft.argmax(axis=d), d)  # the first maximum, as PyTorch's argmax
    positions = xp.arange(soft.shape[d]).reshape([-1 if i == d else 1 for i in range(nd)])
    y_hard = (positions == index).astype(soft.dtype)
    return constant(y_hard) - y_soft.detach() + y_soft
