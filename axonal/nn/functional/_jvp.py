"""Forward-mode AD rules of the fused `nn.functional` primitives (see `autograd.forward_ad` and
`ops/_jvp.py` for the contract): `Op.jvp(ctx, *tangents)`, None for a missing tangent.

* The element-wise activations have a diagonal Jacobian, so J t = f'(x) * t is their backward's
  formula applied to t (it is evaluated here, in the forward pass; no backward pass runs).
* Normalize: y = xh w + b with xh = (x - mean) r over `dims`, so
  dxh = r (dx - mean(dx) - xh mean(dx xh)) and dy = dxh w + xh dw + db.
* CausalSoftmax (scaled_dot_product_attention with is_causal): y = softmax(s x + mask), so
  dy = s y (t - sum(t y)), 0 where masked since y is.
* SoftmaxCrossEntropy: a row's loss is lse(x) - x_t (or -sum q (x - lse)), so its tangent is
  sum(q) <p, dx> - <q, dx>, then weighted and reduced as the loss.
"""
from ...autograd.forward_ad import jvp_inputs, jvp_output, linear_jvp
from ...backend import xp_of
from ...ops import clamp, log, log1p, rsqrt, sigmoid, softmax, where
from ...tensor import constant
from ._activation import Elu, Gelu, Hardsigmoid, Hardswish, Hardtanh, LeakyRelu, Silu, Softplus
from ._attention import CausalSoftmax
from ._cross_entropy import SoftmaxCrossEntropy
from ._embedding import _Embedding
from ._loss import BCEWithLogits, BinaryCrossEntropy, _softplus
from ._normalization import Normalize


def _diagonal_jvp(ctx, t, *_):
    if t is None:
        return None
    res = type(ctx).backward(ctx, t)
    return res[0] if type(res) is tuple else res


def _elu_jvp(ctx, t, *_):  # below 0: d/dx scale a (e^x - 1) = y + scale a
    if t is None:
        return None
    return t * where(constant(ctx.pos), ctx.scale, jvp_output(ctx) + ctx.scale * ctx.alpha)


def _causal_softmax_jvp(ctx, t, *_):  # the Jacobian is symmetric: dy = s y (t - sum(t y))
    if t is None:
        return None
    y = jvp_output(ctx)
    return (y * (t - (t * y).sum(-1, keepdim=True))) * ctx.scale


def _fit(ctx, parts):
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    shape = jvp_output(ctx)._data.shape
    return out if out._data.shape == shape else out.expand(*shape)


def _bce_jvp(ctx, tx, ty):
    x, y = jvp_inputs(ctx)
    return _fit(ctx, [None if tx is None else tx * (x - y) / clamp(x * (1 - x), min=1e-12),
                      None if ty is None else ty * (log1p(-x) - log(x))])


def _bce_logits_jvp(ctx, tx, ty, tpw):
    x, y, pw = jvp_inputs(ctx)
    parts = []
    if tx is not None:
        parts.append(tx * (sigmoid(x) - y if pw is None else
                           (1 + (pw - 1) * y) * sigmoid(x) - pw * y))
    if ty is not None:
        parts.append(ty * (-x if pw is None else (pw - 1) * _softplus(-x) - x))
    if tpw is not None:
        parts.append(tpw * y * _softplus(-x))
    return _fit(ctx, parts)


def _normalize_jvp(ctx, tx, tw, tb, *_):
    x, w = jvp_inputs(ctx)[:2]
    dims, parts = ctx.dims, []
    xc = x - x.mean(dims, keepdim=True)
    r = rsqrt((xc * xc).mean(dims, keepdim=True) + ctx.eps)
    xh = xc * r
    if tx is not None:
        dxh = r * (tx - tx.mean(dims, keepdim=True) - xh * (tx * xh).mean(dims, keepdim=True))
        parts.append(dxh * w if w is not None else dxh)
    if tw is not None:
        parts.append(xh * tw)
    if tb is not None:
        parts.append(tb)
    return _fit(ctx, parts)


def _cross_entropy_jvp(ctx, tx, *_):
    if tx is None:
        return None
    x = jvp_inputs(ctx)[0]
    xp, q = xp_of(x._data), ctx.q
    if q is None:  # index targets: q is the (weighted) one-hot of t
        m = x._data.shape[0]
        q = xp.zeros(x._data.shape, x._data.dtype)
        rows, cols = xp.arange(m), ctx.t
        q[rows, cols] = 1 if ctx.row_w is None else ctx.row_w.astype(x._data.dtype)
    q = constant(q)
    per = (softmax(x, 1) * tx).sum(1) * q.sum(1) - (q * tx).sum(1)
    if ctx.reduction == "none":
        return per
    total = per.sum()
    if ctx.reduction == "mean":
        total = total / ctx.denom if ctx.denom else total * float("nan")
    return total


for _cls in (LeakyRelu, Hardtanh, Hardsigmoid, Hardswish, Softplus, Silu, Gelu):
    _cls.jvp = staticmethod(_diagonal_jvp)
Elu.jvp = staticmethod(_elu_jvp)
_Embedding.jvp = linear_jvp
BinaryCrossEntropy.jvp = staticmethod(_bce_jvp)
BCEWithLogits.jvp = staticmethod(_bce_logits_jvp)
Normalize.jvp = staticmethod(_normalize_jvp)
CausalSoftmax.jvp = staticmethod(_causal_softmax_jvp)
SoftmaxCrossEntropy.jvp = staticmethod(_cross_entropy_jvp)
