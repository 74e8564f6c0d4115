"""MultiheadAttention, with PyTorch's conventions (scaled dot-product attention itself, its math and
its masks: `nn.functional._attention`).

Multi-head attention projects queries, keys and values h times with different learned matrices,
attends in each of the h subspaces of size d = embed_dim / h in parallel, concatenates the heads
and projects back:  MHA(q, k, v) = concat(head_1..head_h) W_o^T + b_o,
head_i = Attention(q W_q,i^T, k W_k,i^T, v W_v,i^T). The h projections are one (E, E) matrix each,
stored like PyTorch: `in_proj_weight` (3E, E) = [W_q; W_k; W_v] and `in_proj_bias` (3E,) when keys and
values have the embedding size, else `q_proj_weight`, `k_proj_weight` (E, kdim), `v_proj_weight`
(E, vdim); `out_proj` is a Linear(E, E).

Masks: bool masks are True where attention is NOT allowed (key_padding_mask (N, S): True marks
padding keys; attn_mask (L, S) or (N*h, L, S)); float masks are added to the scores. (Unlike
F.scaled_dot_product_attention, whose bool attn_mask is True where attention is allowed.)
"""
import math

import numpy as np

from ...ops import matmul, reshape, softmax, transpose
from ...ops.linalg import linear as _linear
from ...tensor import Tensor, constant
from .. import functional as F
from .. import init
from ..functional._attention import additive_mask, causal_mask
from ..module import Module
from ._util import new_param, shape_error
from .linear import Linear

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """PyTorch's nn.MultiheadAttention (without add_bias_kv / add_zero_attn).

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
            average_attn_weights=True, is_causal=False) -> (attn_output, attn_weights or None)

    Shapes: query (L, N, E) (or (N, L, E) with batch_first, or unbatched (L, E)); key (S, N, kdim),
    value (S, N, vdim). attn_output like query; attn_weights (N, L, S) averaged over the heads, or
    (N, num_heads, L, S) with average_attn_weights=False.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv / add_zero_attn are not "
                                      "supported")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = new_param((3 * e, e), dtype, device)
            for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(n, None)
        else:
            self.q_proj_weight = new_param((e, e), dtype, device)
            self.k_proj_weight = new_param((e, self.kdim), dtype, device)
            self.v_proj_weight = new_param((e, self.vdim), dtype, device)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = new_param((3 * e,), dtype, device)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(e, e, bias=bias, device=device, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def _project(self, query, key, value):
        e, b = self.embed_dim, self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:  # self-attention: one GEMM for q, k and v
                qkv = _linear(query, w, b)
                return qkv[..., :e], qkv[..., e:2 * e], qkv[..., 2 * e:]
            wq, wk, wv = w[:e], w[e:2 * e], w[2 * e:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return _linear(query, wq, bq), _linear(key, wk, bk), _linear(value, wv, bv)

    def _heads(self, x, n):
        """(n, T, E) -> (n, heads, T, head_dim)."""
        return transpose(reshape(x, (n, x.shape[1], self.num_heads, self.head_dim)), 1, 2)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise shape_error(self, f"expected query, key and value all 3-D (batched) or all 2-D "
                              f"(unbatched), got {tuple(query.shape)}, {tuple(key.shape)}, "
                              f"{tuple(value.shape)}")
        same = query is key, key is value
        if not batched:
            query, key, value = (x.unsqueeze(1) for x in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0) if isinstance(
                    key_padding_mask, Tensor) else np.asarray(key_padding_mask)[None]
        if batched and self.batch_first:  # internally (N, T, E)
            q_in, k_in, v_in = query, key, value
        else:
            q_in, k_in, v_in = (transpose(x, 0, 1) for x in (query, key, value))
        if same[0]:
            k_in = q_in
        if same[1]:
            v_in = k_in
        n, L, S = q_in.shape[0], q_in.shape[1], k_in.shape[1]
        for x, d, nm in ((q_in, self.embed_dim, "query"), (k_in, self.kdim, "key"),
                         (v_in, self.vdim, "value")):
            if x.shape[-1] != d:
                raise shape_error(self, f"{nm} has last dim {x.shape[-1]}, expected {d} "
                                  f"(shape {tuple(x.shape)})")
        if k_in.shape[:2] != v_in.shape[:2] or k_in.shape[0] != n:
            raise shape_error(self, f"key {tuple(key.shape)} and value {tuple(value.shape)} must "
                              f"have the same (sequence, batch) dims as each other and batch {n}")
        q, k, v = self._project(q_in, k_in, v_in)
        q, k, v = self._heads(q, n), self._heads(k, n), self._heads(v, n)  # (N, h, T, d)
        dt = q._data.dtype
        mask = None
        if is_causal and attn_mask is None:
            attn_mask = causal_mask(L, dtype=q.dtype, device=q.device)
        if attn_mask is not None:
            m = additive_mask(attn_mask, dt, "attn_mask")
            if m.shape not in ((L, S), (n * self.num_heads, L, S)):
                raise shape_error(self, f"attn_mask should have shape {(L, S)} or "
                                  f"{(n * self.num_heads, L, S)}, got {tuple(m.shape)}")
            mask = m.reshape(n, self.num_heads, L, S) if m.ndim == 3 else m
        if key_padding_mask is not None:
            m = additive_mask(key_padding_mask, dt, "key_padding_mask")
            if m.shape != (n, S):
                raise shape_error(self, f"key_padding_mask should have shape {(n, S)}, got "
                                  f"{tuple(m.shape)}")
            m = m.reshape(n, 1, 1, S)
            mask = m if mask is None else mask + m
        scores = matmul(q * (1.0 / math.sqrt(self.head_dim)), transpose(k, -2, -1))
        if mask is not None:
            scores = scores + constant(mask)
        attn = softmax(scores, -1)
        if self.dropout > 0 and self.training:
            attn = F.dropout(attn, self.dropout, True)
        out = matmul(attn, v)                                     # (N, h, L, d)
        out = reshape(transpose(out, 1, 2), (n, L, self.embed_dim))
        out = self.out_proj(out)
        if not (batched and self.batch_first):
            out = transpose(out, 0, 1)
        if not batched:
            out = out.squeeze(1)
        if not need_weights:
            return out, None
        w = attn.mean(1) if average_attn_weights else attn
        return out, (w if batched else w.squeeze(0))

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
