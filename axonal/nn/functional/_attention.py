"""Scaled dot-product attention (Vaswani et al. 2017) and its masks, with PyTorch's conventions.

Each query q_i scores every key k_j with q_i . k_j / sqrt(d) - the 1/sqrt(d) keeps the scores'
variance ~1 whatever the head size d, so the softmax does not saturate - and returns the
softmax-weighted average of the values:

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d) + M) V        Q (L, d), K (S, d), V (S, d_v)

M is an additive mask: 0 where query i may look at key j, -inf where it may not (exp(-inf) = 0, so
masked keys get exactly zero weight). The backward pass is that of its ops: two batched GEMMs and a
softmax. Masks are built with the array module of the scores (on their device). With is_causal the
scale and the mask are applied inside the softmax (`CausalSoftmax`): the scaled and the masked
score tensors are never built.

Mask conventions (PyTorch's, and they differ between the function and the module):
* scaled_dot_product_attention: a bool attn_mask is True where attention is ALLOWED.
* MultiheadAttention (`additive_mask`): bool masks are True where attention is NOT allowed.
"""
import math

import numpy as np

from ... import _dtype, backend, kernels
from ..._errors import DTypeError, ShapeError
from ...autograd.function import Function
from ...ops import matmul, softmax, transpose
from ...tensor import Tensor, constant
from ._dropout import dropout, on_device_of


def _causal(xp, rows, cols, dtype):
    """(rows, cols) array: 0 on and below the diagonal, -inf above."""
    return xp.triu(xp.full((rows, cols), -np.inf, dtype=dtype), k=1)


def causal_mask(size, dtype=None, device=None):
    """(size, size) float mask: 0 on and below the diagonal, -inf above (position i sees j <= i),
    built on `device`. Also `Transformer.generate_square_subsequent_mask`."""
    npd = _dtype.to_dtype(dtype).np if dtype is not None else _dtype.get_default_dtype().np
    dev = backend.Device(device) if device is not None else backend.CPU
    xp = backend.xp_for(dev)
    if dev.type == "cpu":
        return constant(_causal(xp, size, size, npd))
    with xp.cuda.Device(dev.index):
        return constant(_causal(xp, size, size, npd))


def additive_mask(mask, dtype, name):
    """A MultiheadAttention mask as the array to add to the scores: bool True -> -inf (blocked),
    float as is."""
    arr = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    xp = backend.xp_of(arr)
    if arr.dtype == np.bool_:
        return xp.where(arr, dtype.type(-np.inf), dtype.type(0))
    if arr.dtype.kind not in "fV":
        raise DTypeError(f"{name}: expected a bool or floating point mask, got {arr.dtype}")
    return arr.astype(dtype, copy=False)


class CausalSoftmax(Function):
    """softmax(scale * S + M) over the last dim, M the causal mask (query i sees keys j <= i),
    without materialising the scaled or the masked scores (kernels.attention.causal_softmax).
    Backward: dS = scale * y * (g - sum(g * y)), 0 where masked since y is; the recorded form
    (create_graph) is the same expression in ops, so higher derivatives are exact."""
    save_output = True

    @staticmethod
    def forward(ctx, scores, scale):
        ctx.save(scale=scale)
        return kernels.attention.causal_softmax(scores._data, scale)

    @staticmethod
    def backward_arrays(ctx, g):
        return kernels.attention.causal_softmax_backward(ctx.output()._data, g, ctx.scale), None

    @staticmethod
    def backward(ctx, g):
        y = ctx.output()
        return (y * (g - (g * y).sum(-1, keepdim=True))) * ctx.scale, None


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q K^T * scale + mask) V over the last two dims; (..., L, E), (..., S, E), (..., S, Ev).

    attn_mask: bool (True = may attend) or float (added), broadcastable to (..., L, S).
    is_causal: query i attends to keys j <= i (attn_mask must then be None). Dropout with
    probability dropout_p is applied to the attention weights (always, as in PyTorch: pass 0.0 in
    evaluation)."""
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: query {tuple(query.shape)}, key "
                         f"{tuple(key.shape)} and value {tuple(value.shape)} do not fit: need "
                         "query (..., L, E), key (..., S, E), value (..., S, Ev)")
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal=True")
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    if is_causal and query.dtype is key.dtype:  # scale and mask inside the softmax: one pass
        attn = CausalSoftmax.apply(matmul(query, transpose(key, -2, -1)), scale)
        if dropout_p > 0:
            attn = dropout(attn, dropout_p, True)
        return matmul(attn, value)
    scores = matmul(query * scale, transpose(key, -2, -1))
    dt = scores._data.dtype
    if is_causal:
        xp = backend.xp_of(scores._data)
        with on_device_of(xp, scores._data):
            scores = scores + constant(_causal(xp, L, S, dt))
    if attn_mask is not None:
        arr = attn_mask._data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if arr.dtype == np.bool_:
            scores = scores + constant(backend.xp_of(arr).where(arr, dt.type(0), dt.type(-np.inf)))
        else:
            scores = scores + (attn_mask if isinstance(attn_mask, Tensor) else constant(arr.astype(dt)))
    attn = softmax(scores, -1)
    if dropout_p > 0:
        attn = dropout(attn, dropout_p, True)
    return matmul(attn, value)
