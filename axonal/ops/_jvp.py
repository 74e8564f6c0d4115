"""Forward-mode AD rules of the primitive ops: `Op.jvp(ctx, *tangents)` (see autograd.forward_ad).

One table for every family, attached to the op classes when `axonal.ops` loads. A rule receives one
tangent per forward argument (None where the argument has none or is not a tensor) and returns the
output's tangent J t, computed with differentiable Tensor ops (so a tangent can itself be
differentiated, in reverse mode or at an outer forward level). It reads the forward's arguments and
outputs with `jvp_inputs` / `jvp_output`, and what the forward saved with `ctx.save` as usual.

Families: element-wise ops have a diagonal Jacobian, so the tangent is f'(x) * t (the backward's
formula); ops linear in their tensor arguments (shape ops, sum, indexing, tril ...) apply themselves
to the tangents (`linear_jvp`); products follow the product rule. An op with no rule here raises
"forward AD: <Op> has no jvp rule" when a dual tensor reaches it.
"""
import numpy as np

from ..autograd.forward_ad import jvp_by_ops, jvp_inputs, jvp_output, linear_jvp
from ..backend import xp_of
from ..tensor import Tensor, constant
from ._util import is_scalar
from .activation import LogSoftmax, Softmax
from .arith import Add, Div, Mul, Neg, Pow, Sub
from .compare import Clamp, Maximum, Where, where
from .conv import ConvFn, ConvTFn, ConvWFn
from .einsum import Einsum
from .indexing import Gather, GetItem, IndexAddZeros, IndexPut, Scatter, ScatterAddZeros
from .linalg import Linear, MatMul, _DiagEmbed, _DiagTake, _Triangle, matmul
from .methods import _ToDevice
from .pool import AvgPoolFn, AvgPoolTFn, PlaneGather, PlaneScatter
from .reduction import AMax, Cumsum, MaxDim, Norm2, Prod, Sum, _keep_shape, _leave_one_out, _restore
from .resample import FoldFn, UnfoldFn
from .rnn import Recurrence, _merge, _rows
from .shape import Cat, Clone, Expand, Flip, Pad, Permute, Repeat, Reshape, Split, SumTo
from .unary import (
    _TWO_OVER_SQRT_PI,
    Abs,
    Cast,
    Cos,
    Erf,
    Exp,
    Log,
    Log1p,
    Relu,
    Rsqrt,
    Sigmoid,
    Sin,
    Sqrt,
    Tanh,
    ZeroGrad,
    cos,
    exp,
    log,
    sign,
    sin,
)


def _sum_parts(parts):
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


# -- arithmetic (broadcasting) -------------------------------------------------------------------
def _fit(ctx, t):
    """A tangent broadcast to the output's shape (an operand may be smaller)."""
    shape = jvp_output(ctx)._data.shape
    return t if t._data.shape == shape else t.expand(*shape)


def _add_jvp(ctx, ta, tb):
    if ta is None or tb is None:
        t = ta if tb is None else tb
        return None if t is None else _fit(ctx, t)
    return _fit(ctx, ta + tb)


def _sub_jvp(ctx, ta, tb):
    if tb is None:
        return None if ta is None else _fit(ctx, ta)
    return _fit(ctx, -tb if ta is None else ta - tb)


def _mul_jvp(ctx, ta, tb):  # d(ab) = da b + a db
    a, b = jvp_inputs(ctx)
    parts = ([ta * b] if ta is not None else []) + ([a * tb] if tb is not None else [])
    return _fit(ctx, parts[0] if len(parts) == 1 else parts[0] + parts[1]) if parts else None


def _div_jvp(ctx, ta, tb):  # d(a/b) = (da - (a/b) db) / b
    b = jvp_inputs(ctx)[1]
    num = ta if tb is None else (-(tb * jvp_output(ctx)) if ta is None else
                                 ta - tb * jvp_output(ctx))
    return None if num is None else _fit(ctx, num / b)


def _pow_jvp(ctx, ta, tb):  # d(a^b) = b a^(b-1) da + a^b log(a) db, as Pow.backward
    a, b = jvp_inputs(ctx)
    out, parts = jvp_output(ctx), []
    if ta is not None:
        if is_scalar(b):
            parts.append(ta * b * a ** (b - 1) if b != 0 else ta * 0)
        else:
            parts.append(where(b == 0, 0.0, ta * b * where(b == 0, 1.0, a) ** (b - 1)))
    if tb is not None:
        if is_scalar(a):
            parts.append(tb * out * float(np.log(a)) if a > 0 else tb * out * 0)
        else:
            parts.append(where(a == 0, 0.0, tb * out * log(where(a == 0, 1.0, a))))
    if not parts:
        return None
    return _fit(ctx, parts[0] if len(parts) == 1 else parts[0] + parts[1])


Add.jvp = staticmethod(_add_jvp)
Sub.jvp = staticmethod(_sub_jvp)
Mul.jvp = staticmethod(_mul_jvp)
Div.jvp = staticmethod(_div_jvp)
Pow.jvp = staticmethod(_pow_jvp)
Neg.jvp = linear_jvp


# -- one-input element-wise ops: f'(x) * t ---------------------------------------------------
def _elementwise_jvp(fn):
    def jvp(ctx, t, *rest):
        return None if t is None else fn(t, jvp_inputs(ctx)[0], jvp_output(ctx))

    return staticmethod(jvp)


for _cls, _fn in (
        (Exp, lambda t, x, out: t * out),
        (Log, lambda t, x, out: t / x),
        (Log1p, lambda t, x, out: t / (x + 1)),
        (Sqrt, lambda t, x, out: t * 0.5 / out),
        (Rsqrt, lambda t, x, out: t * -0.5 * out * out * out),
        (Sin, lambda t, x, out: t * cos(x)),
        (Cos, lambda t, x, out: -(t * sin(x))),
        (Erf, lambda t, x, out: t * exp(-(x * x)) * _TWO_OVER_SQRT_PI),
        (Tanh, lambda t, x, out: t * (1 - out * out)),
        (Abs, lambda t, x, out: t * sign(x)),
        (Sigmoid, lambda t, x, out: t * out * (1 - out)),
        (Relu, lambda t, x, out: t * constant((x._data > 0).astype(t._data.dtype))),
        (ZeroGrad, lambda t, x, out: t * 0)):
    _cls.jvp = _elementwise_jvp(_fn)
Cast.jvp = linear_jvp


# -- selections ---------------------------------------------------------------------------------
def _clamp_jvp(ctx, t, _lo, _hi):  # the tangent passes where lo <= x <= hi, as the gradient
    return None if t is None else t * constant(ctx.mask.astype(t._data.dtype))


def _maximum_jvp(ctx, ta, tb, _take_max=None):  # the winner's tangent (the mean of both on a tie)
    wa = constant(ctx.wa.astype(jvp_output(ctx)._data.dtype))
    parts = ([ta * wa] if ta is not None else []) + ([tb * (1 - wa)] if tb is not None else [])
    return (parts[0] if len(parts) == 1 else parts[0] + parts[1]) if parts else None


def _where_jvp(ctx, _tc, ta, tb):
    if ta is None and tb is None:
        return None
    out = jvp_output(ctx)
    t = where(ctx.saved[0], 0.0 if ta is None else ta, 0.0 if tb is None else tb)
    t = t.to(out.dtype)
    return t if t._data.shape == out._data.shape else t.expand(*out._data.shape)


Clamp.jvp = staticmethod(_clamp_jvp)
Maximum.jvp = staticmethod(_maximum_jvp)
Where.jvp = staticmethod(_where_jvp)


# -- softmax -------------------------------------------------------------------------------------
def _softmax_jvp(ctx, t, _dim=None):  # dy = y * (t - sum(t * y))
    if t is None:
        return None
    y = jvp_output(ctx)
    return y * (t - (t * y).sum(ctx.dim, keepdim=True))


def _log_softmax_jvp(ctx, t, _dim=None):  # dy = t - sum(softmax * t)
    if t is None:
        return None
    return t - (exp(jvp_output(ctx)) * t).sum(ctx.dim, keepdim=True)


Softmax.jvp = staticmethod(_softmax_jvp)
LogSoftmax.jvp = staticmethod(_log_softmax_jvp)


# -- reductions ----------------------------------------------------------------------------------
def _prod_jvp(ctx, t, *_):  # d prod = sum_i t_i prod_{j != i} x_j
    if t is None:
        return None
    x = jvp_inputs(ctx)[0]
    shape = x._data.shape
    if not (x._data == 0).any():
        others = _restore(jvp_output(ctx), shape, ctx.dims, ctx.keepdim) / x
    else:
        others = _leave_one_out(x, [i for i in range(x.ndim) if i not in ctx.dims], list(ctx.dims))
    return Sum.apply(t * others, ctx.dims, ctx.keepdim)


def _amax_jvp(ctx, t, *_):  # the tangent at the extremum (the mean over ties, as the gradient)
    if t is None:
        return None
    x = jvp_inputs(ctx)[0]
    out = jvp_output(ctx)._data
    if not ctx.keepdim:
        out = out.reshape(_keep_shape(x._data.shape, ctx.dims))
    mask = (x._data == out).astype(t._data.dtype)
    mask /= mask.sum(axis=ctx.dims, keepdims=True)
    return Sum.apply(t * constant(mask), ctx.dims, ctx.keepdim)


def _maxdim_jvp(ctx, t, *_):  # the tangent at the returned index
    if t is None:
        return None, None
    tv = Gather.apply(t, ctx.dim, ctx.idx)
    return (tv if ctx.keepdim else tv.squeeze(ctx.dim)), None


def _norm2_jvp(ctx, t, *_):  # d ||x|| = <x, t> / ||x|| (0 where the norm is 0)
    if t is None:
        return None
    x, out = jvp_inputs(ctx)[0], jvp_output(ctx)
    zero = constant(out._data == 0)
    return where(zero, 0.0, Sum.apply(x * t, ctx.dims, ctx.keepdim) / where(zero, 1.0, out))


Sum.jvp = linear_jvp
Cumsum.jvp = linear_jvp
Prod.jvp = staticmethod(_prod_jvp)
AMax.jvp = staticmethod(_amax_jvp)
MaxDim.jvp = staticmethod(_maxdim_jvp)
Norm2.jvp = staticmethod(_norm2_jvp)


# -- matrix products -----------------------------------------------------------------------------
def _matmul_jvp(ctx, ta, tb):  # d(AB) = dA B + A dB
    a, b = jvp_inputs(ctx)
    parts = ([matmul(ta, b)] if ta is not None else []) + ([matmul(a, tb)] if tb is not None else [])
    return (parts[0] if len(parts) == 1 else parts[0] + parts[1]) if parts else None


def _linear_jvp(ctx, tx, tw, tb):  # d(x W^T + b) = dx W^T + x dW^T + db
    x, w, _ = jvp_inputs(ctx)
    parts = ([Linear.apply(tx, w, None)] if tx is not None else []) + \
        ([Linear.apply(x, tw, None)] if tw is not None else [])
    if tb is not None:
        parts.append(tb.expand(*jvp_output(ctx)._data.shape))
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


MatMul.jvp = staticmethod(_matmul_jvp)
Linear.jvp = staticmethod(_linear_jvp)
for _cls in (_Triangle, _DiagTake, _DiagEmbed):
    _cls.jvp = linear_jvp


# -- shape ops and indexing: linear, or linear in (x, values) jointly ------------------------------
def _pad_jvp(ctx, t, *_):  # the padding value is a constant: its tangent is 0
    return None if t is None else Pad.apply(t, jvp_inputs(ctx)[1], 0.0)


for _cls in (Reshape, Permute, Expand, SumTo, Repeat, Cat, Split, Flip, Clone):
    _cls.jvp = linear_jvp
Pad.jvp = staticmethod(_pad_jvp)


def _zeros_of(x):
    return constant(xp_of(x._data).zeros_like(x._data))


def _index_put_jvp(ctx, tx, tv, *_):
    if tx is None and tv is None:
        return None
    x, values, key, accumulate = jvp_inputs(ctx)
    tv = (tv if tv is not None else _zeros_of(values)) if isinstance(values, Tensor) else 0.0
    return IndexPut.apply(_zeros_of(x) if tx is None else tx, tv, key, accumulate)


def _scatter_jvp(ctx, tx, _td, _ti, ts):
    if tx is None and ts is None:
        return None
    x, dim, index, src = jvp_inputs(ctx)
    ts = (ts if ts is not None else _zeros_of(src)) if isinstance(src, Tensor) else 0.0
    return Scatter.apply(_zeros_of(x) if tx is None else tx, dim, index, ts)


for _cls in (GetItem, IndexAddZeros, Gather, ScatterAddZeros):
    _cls.jvp = linear_jvp
IndexPut.jvp = staticmethod(_index_put_jvp)
Scatter.jvp = staticmethod(_scatter_jvp)


# -- multilinear ops: convolutions, einsum, pooling and unfold -------------------------------------
def multilinear_jvp(ctx, *tangents):
    """The jvp of an op linear in each floating tensor argument separately (a product): the sum
    over the arguments with a tangent of the op with that argument replaced by its tangent."""
    args, parts = jvp_inputs(ctx), []
    for k, t in enumerate(tangents):
        if t is not None:
            parts.append(type(ctx).apply(*args[:k], t, *args[k + 1:]))
    return _sum_parts(parts)


def _conv_jvp(ctx, tx, tw, tb, *_):  # conv(x, w) + b is bilinear in (x, w), affine in b
    x, w, _b, geo, groups = jvp_inputs(ctx)
    parts = ([ConvFn.apply(tx, w, None, geo, groups)] if tx is not None else []) + \
        ([ConvFn.apply(x, tw, None, geo, groups)] if tw is not None else [])
    if tb is not None:
        parts.append(tb.reshape(1, -1, 1, 1).expand(*jvp_output(ctx)._data.shape))
    return _sum_parts(parts)


def _plane_gather_jvp(ctx, t, *_):  # max pooling's read: the tangent at the same positions
    return None if t is None else PlaneGather.apply(t, jvp_inputs(ctx)[1])


ConvFn.jvp = staticmethod(_conv_jvp)
PlaneGather.jvp = staticmethod(_plane_gather_jvp)
for _cls in (ConvTFn, ConvWFn, Einsum):
    _cls.jvp = staticmethod(multilinear_jvp)
for _cls in (PlaneScatter, AvgPoolFn, AvgPoolTFn, UnfoldFn, FoldFn, _ToDevice):
    _cls.jvp = linear_jvp


# -- the recurrence: its forward is a fused kernel; the tangent comes from the same loop as ops -----
def _recurrence_ops(gx, h0, c0, w, b, mode, offs, sizes, reverse):
    """(out, h_n[, c_n]) of `Recurrence`, recomputed step by step with differentiable ops (the
    forward half of rnn._backward_graph)."""
    hid, b0 = w.shape[1], sizes[0]
    zeros = constant(xp_of(w._data).zeros((b0, hid), w._data.dtype))
    h = h0 if h0 is not None else zeros
    c = (c0 if c0 is not None else zeros) if mode == "lstm" else None
    wt, rows = w.t(), {}
    for t in (range(len(sizes) - 1, -1, -1) if reverse else range(len(sizes))):
        o, n = offs[t], sizes[t]
        hp, xt = _rows(h, n, b0), gx[o:o + n]
        gh = hp @ wt
        gh = gh + b if b is not None else gh
        if mode == "lstm":
            a = xt + gh
            i, f = a[:, :hid].sigmoid(), a[:, hid:2 * hid].sigmoid()
            g, og = a[:, 2 * hid:3 * hid].tanh(), a[:, 3 * hid:].sigmoid()
            cn = f * _rows(c, n, b0) + i * g
            hn = og * cn.tanh()
            c = _merge(cn, c, n, b0)
        elif mode == "gru":
            r = (xt[:, :hid] + gh[:, :hid]).sigmoid()
            z = (xt[:, hid:2 * hid] + gh[:, hid:2 * hid]).sigmoid()
            nn = (xt[:, 2 * hid:] + r * gh[:, 2 * hid:]).tanh()
            hn = nn + z * (hp - nn)
        else:
            hn = (xt + gh).relu() if mode == "rnn_relu" else (xt + gh).tanh()
        rows[t] = hn
        h = _merge(hn, h, n, b0)
    out = Cat.apply(0, *[rows[t] for t in range(len(sizes))]) if len(sizes) > 1 else rows[0]
    return (out, h, c) if mode == "lstm" else (out, h)


def _recurrence_jvp(ctx, *tangents):
    return jvp_by_ops(lambda *a: _recurrence_ops(*a, ctx.mode, ctx.offs, ctx.sizes, ctx.reverse),
                      jvp_inputs(ctx), tangents)


Recurrence.jvp = staticmethod(_recurrence_jvp)

