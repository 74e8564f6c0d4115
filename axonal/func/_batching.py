"""Batching rules: how one op call on batched tensors runs as ONE call on the physical arrays.

A rule is `rule(cls, args, kwargs, bat, B) -> physical output(s)`. `args` are the op's positional
arguments with every batched tensor replaced by its physical Tensor (batch dim 0) and `bat[k]` true
for those; the other arguments are as the op's wrapper prepared them from the *logical* shapes
(dims already normalised to non-negative logical dims, shapes resolved). The rule calls ops on the
physical tensors; the vmap level is popped while it runs, so those calls reach the plain ops (or the
vmap levels outside). The result has the batch dim in front.

Rules are keyed by `Function` class. An op without a rule runs once per sample (`loop_rule`) and the
results are stacked: correct, only slower.
"""
from ..nn.functional import _activation as _act
from ..nn.functional import _loss
from ..nn.functional._normalization import Normalize
from ..ops import activation, arith, compare, conv, linalg, moments, pool, reduction, shape, unary
from ..ops.einsum import Einsum
from ..ops.indexing import GetItem, _is_array
from ..ops.shape import expand, movedim, reshape, stack
from ..tensor import Tensor
from ._batching_tensor import has_guard, select_raw

RULES = {}


def _lnd(a, b):
    """The logical ndim of argument `a` (`b`: whether it is a physical batched tensor)."""
    return a._data.ndim - 1 if b else a._data.ndim


def _pad(a, k):
    """Physical `a` with k size-1 dims inserted after the batch dim (right-aligns logical dims)."""
    if k <= 0:
        return a
    s = tuple(a.shape)
    return reshape(a, s[:1] + (1,) * k + s[1:])


def expand_front(a, B):
    """An unbatched tensor as a physical batched one: B broadcast copies (a view, no memory)."""
    return expand(reshape(a, (1,) + tuple(a.shape)), B, *a.shape)


# -- element-wise: broadcast like NumPy, logical dims right-aligned ------------------------------
def elementwise(cls, args, kwargs, bat, B):
    n = max(_lnd(a, b) for a, b in zip(args, bat) if isinstance(a, Tensor))
    args = [_pad(a, n - _lnd(a, True)) if b else a for a, b in zip(args, bat)]
    return cls.apply(*args, **kwargs)


for _cls in (arith.Add, arith.Sub, arith.Mul, arith.Div, arith.Pow, arith.PowScalarExp,
             arith.PowScalarBase, arith.Remainder, arith.RemainderScalar, arith.Neg, unary.Exp,
             unary.Log, unary.Log1p, unary.Sqrt, unary.Rsqrt, unary.Sin, unary.Cos, unary.Erf,
             unary.Tanh, unary.Abs, unary.Sigmoid, unary.Relu, unary.Cast, unary.ZeroGrad,
             compare.Clamp, compare.Maximum, compare.Where, _act.LeakyRelu, _act.Elu,
             _act.Hardtanh, _act.Hardsigmoid, _act.Hardswish, _act.Softplus, _act.Silu, _act.Gelu,
             _loss.BinaryCrossEntropy, _loss.BCEWithLogits):
    RULES[_cls] = elementwise


# -- ops along dims: shift the logical dims by one -------------------------------------------------
def _shift(dims):
    return None if dims is None else tuple(d + 1 for d in dims) if isinstance(dims, (tuple, list)) \
        else dims + 1


def reduce_dims(cls, args, kwargs, bat, B):
    """(x, dims, keepdim, ...): Sum, Prod, AMax, Norm2."""
    x, dims, *rest = args
    dims = tuple(range(1, x.ndim)) if dims is None else _shift(dims)
    return cls.apply(x, dims, *rest, **kwargs)


def along_dim(cls, args, kwargs, bat, B):
    """(x, dim, ...): MaxDim, Cumsum, Softmax, LogSoftmax, Flip (dims), Split (x, sizes, dim)."""
    if cls is shape.Split:
        x, sizes, dim = args
        return cls.apply(x, sizes, dim + 1)
    x, dim, *rest = args
    return cls.apply(x, _shift(dim), *rest, **kwargs)


for _cls in (reduction.Sum, reduction.Prod, reduction.AMax, reduction.Norm2, moments.Var,
             moments.Std, moments.Logsumexp):
    RULES[_cls] = reduce_dims
for _cls in (reduction.MaxDim, reduction.Cumsum, activation.Softmax, activation.LogSoftmax,
             shape.Flip, shape.Split):
    RULES[_cls] = along_dim


# -- shape ops -------------------------------------------------------------------------------------
def _reshape(cls, args, kwargs, bat, B):
    x, shp = args
    return cls.apply(x, (B,) + tuple(shp))


def _permute(cls, args, kwargs, bat, B):
    x, dims = args
    return cls.apply(x, (0,) + _shift(dims))


def _expand(cls, args, kwargs, bat, B):
    x, shp = args
    x = _pad(x, len(shp) - _lnd(x, True))
    return cls.apply(x, (B,) + tuple(shp))


def _sum_to(cls, args, kwargs, bat, B):
    x, shp = args
    lead = _lnd(x, True) - len(shp)
    if lead > 0:  # the logical leading dims first: SumTo would align them with the batch dim
        x = reduction.Sum.apply(x, tuple(range(1, lead + 1)), False)
    return cls.apply(x, (B,) + tuple(shp))


def _repeat(cls, args, kwargs, bat, B):
    x, reps = args
    x = _pad(x, len(reps) - _lnd(x, True))
    return cls.apply(x, (1,) + tuple(reps))


def _cat(cls, args, kwargs, bat, B):
    dim, *xs = args
    xs = [x if b else expand_front(x, B) for x, b in zip(xs, bat[1:])]
    return cls.apply(dim + 1, *xs)


def _pad_op(cls, args, kwargs, bat, B):
    x, widths, value = args
    return cls.apply(x, ((0, 0),) + tuple(widths), value)


def _same(cls, args, kwargs, bat, B):  # Clone: nothing depends on the dims
    return cls.apply(*args, **kwargs)


RULES.update({shape.Reshape: _reshape, shape.Permute: _permute, shape.Expand: _expand,
              shape.SumTo: _sum_to, shape.Repeat: _repeat, shape.Cat: _cat, shape.Pad: _pad_op,
              shape.Clone: _same})


def _getitem(cls, args, kwargs, bat, B):
    x, key, basic = args
    if not bat[0]:
        return loop_rule(cls, args, kwargs, bat, B)
    arrays = [i for i, k in enumerate(key) if _is_array(k)]
    # NumPy moves separated advanced indices to the front: keep to the cases where the batch dim
    # stays first (basic indexing, or advanced indices next to each other)
    if arrays and arrays != list(range(arrays[0], arrays[-1] + 1)):
        return loop_rule(cls, args, kwargs, bat, B)
    return cls.apply(x, (slice(None),) + tuple(key), basic)


RULES[GetItem] = _getitem


# -- linear algebra and convolution ----------------------------------------------------------------
def _matmul(cls, args, kwargs, bat, B):
    """MatMul on >= 2-D logical operands: pad the batched ones to a common logical ndim, so their
    batch dim lines up; an unbatched operand broadcasts from the right."""
    a, b = args
    n = max(_lnd(a, bat[0]), _lnd(b, bat[1]))
    a = _pad(a, n - _lnd(a, True)) if bat[0] else a
    b = _pad(b, n - _lnd(b, True)) if bat[1] else b
    return cls.apply(a, b)


def _dot(cls, args, kwargs, bat, B):
    """Vectors (B, n) and (n) or (B, n): the sum of their element-wise product over n."""
    a, b = args
    return reduction.sum(arith.mul(a, b), -1)


def _linear(cls, args, kwargs, bat, B):
    """x (N, in) W^T + b. With only x batched, the batch folds into N (one GEMM); a batched weight
    (per-sample weights, or the per-sample gradient case) is a batched matmul."""
    x, w, bias = args
    if not bat[1] and not bat[2]:
        n = x.shape[1]
        out = cls.apply(reshape(x, (B * n, x.shape[2])), w, bias)
        return reshape(out, (B, n, w.shape[0]))
    if not bat[1]:
        w = expand_front(w, B)
    out = linalg.matmul(x, shape.transpose(w, -1, -2))  # (B, N, out); an unbatched x broadcasts
    if bias is not None:
        out = arith.add(out, reshape(bias, (B, 1, bias.shape[-1])) if bat[2] else bias)
    return out


def _conv(cls, args, kwargs, bat, B):
    """ConvFn (x (N, C, H, W), w (O, C/g, KH, KW), b, geo, groups). Only x batched: the batch folds
    into N. A batched weight: the samples become groups, x (N, B*C, H, W) with w (B*O, ...) and
    groups B*g: still one convolution."""
    x, w, bias, geo, groups = args
    if not bat[1]:
        if not bat[0]:  # only the bias is batched
            y = cls.apply(x, w, None, geo, groups)
            return arith.add(expand_front(y, B), reshape(bias, (B, 1, bias.shape[-1], 1, 1)))
        s = tuple(x.shape)
        y = cls.apply(reshape(x, (B * s[1],) + s[2:]), w, None if bat[2] else bias, geo, groups)
        y = reshape(y, (B, s[1]) + tuple(y.shape[1:]))
        if bat[2]:
            y = arith.add(y, reshape(bias, (B, 1, bias.shape[-1], 1, 1)))
        return y
    if not bat[0]:
        x = expand_front(x, B)
    s, ws = tuple(x.shape), tuple(w.shape)
    x2 = reshape(movedim(x, 0, 1), (s[1], B * s[2]) + s[3:])
    w2 = reshape(w, (B * ws[1],) + ws[2:])
    if bias is not None:
        bias = reshape(bias if bat[2] else expand_front(bias, B), (B * ws[1],))
    y = cls.apply(x2, w2, bias, geo, groups * B)  # (N, B*O, H', W')
    y = reshape(y, (s[1], B, ws[1]) + tuple(y.shape[2:]))
    return movedim(y, 1, 0)


def _fold_batch(cls, args, kwargs, bat, B):
    """Ops on (N, ...) inputs whose other arguments do not depend on N (AvgPoolFn: x, geo, div):
    the batch folds into N."""
    x, *rest = args
    if not bat[0] or True in bat[1:]:
        return loop_rule(cls, args, kwargs, bat, B)
    s = tuple(x.shape)
    y = cls.apply(reshape(x, (B * s[1],) + s[2:]), *rest, **kwargs)
    return reshape(y, (B, s[1]) + tuple(y.shape[1:]))


def _einsum(cls, args, kwargs, bat, B):
    """A fresh subscript letter for the batch, in front of each batched operand and the output."""
    ins, out, *xs = args
    used = set("".join(ins) + out)
    letter = next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA"
                  if c not in used)
    ins = [letter + s if b else s for s, b in zip(ins, bat[2:])]
    return cls.apply(ins, letter + out, *xs)


def _normalize(cls, args, kwargs, bat, B):
    """Normalize (x, w, b, mean, invstd, dims, param_dims, eps): mean/invstd arrive as raw guards
    (keepdims shape); dims shift past the batch dim. A shared w/b is summed over the batch too in
    its gradient (param_dims gains dim 0); a per-sample one is padded to x's logical rank."""
    x, w, b, mean, invstd, dims, param_dims, eps = args
    affine = [k for k in (1, 2) if args[k] is not None]
    if not bat[0] or len({bat[k] for k in affine}) > 1:
        return loop_rule(cls, args, kwargs, bat, B, _level_of_raw(mean))
    mean, invstd = mean.phys._data, invstd.phys._data
    n = _lnd(x, True)
    if affine and bat[affine[0]]:
        w = _pad(w, n - _lnd(w, True)) if w is not None else None
        b = _pad(b, n - _lnd(b, True)) if b is not None else None
        pdims = _shift(param_dims)
    else:  # shared: one more leading 1 so that the gradient (keepdims) has w's physical rank
        w = reshape(w, (1,) + tuple(w.shape)) if w is not None else None
        b = reshape(b, (1,) + tuple(b.shape)) if b is not None else None
        pdims = (0,) + _shift(param_dims)
    return cls.apply(x, w, b, mean, invstd, _shift(dims), pdims, eps)


def _level_of_raw(a):
    return getattr(a, "level", None)


RULES.update({linalg.MatMul: _matmul, linalg.Dot: _dot, linalg.Linear: _linear, conv.ConvFn: _conv,
              pool.AvgPoolFn: _fold_batch, Einsum: _einsum, Normalize: _normalize})
# rules that take raw guards in their non-Tensor arguments (the others loop on those)
RAW_GUARD_RULES = {Normalize}


# -- the fallback ----------------------------------------------------------------------------------
def loop_rule(cls, args, kwargs, bat, B, level=None):
    """Run the op once per sample and stack the results (ops without a rule)."""
    if B == 0:
        raise RuntimeError(f"vmap: {cls.__name__} has no batching rule and the batch is empty")
    outs = []
    for i in range(B):
        sample = [a[i] if b else (select_raw(a, i, level) if level is not None else a)
                  for a, b in zip(args, bat)]
        outs.append(cls.apply(*sample, **kwargs))
    if isinstance(outs[0], tuple):
        return tuple(stack([o[k] for o in outs], 0) for k in range(len(outs[0])))
    return stack(outs, 0)


def run_rule(cls, args, kwargs, bat, B, level):
    """Apply the rule of `cls` (or the loop); raw guards inside non-Tensor args force the loop."""
    if cls not in RAW_GUARD_RULES and (any(not b and has_guard(a, level)
                                           for a, b in zip(args, bat))
                                       or any(has_guard(v, level) for v in kwargs.values())):
        return loop_rule(cls, args, kwargs, bat, B, level)
    rule = RULES.get(cls)
    if rule is None:
        if getattr(cls, "vmap", None) is not None:
            return _user_rule(cls, args, kwargs, bat, B, level)
        return loop_rule(cls, args, kwargs, bat, B)
    return rule(cls, args, kwargs, bat, B)


class VmapInfo:
    """What a custom Function's `vmap` staticmethod is told (PyTorch's `info`)."""

    def __init__(self, batch_size, randomness):
        self.batch_size, self.randomness = batch_size, randomness


def _user_rule(cls, args, kwargs, bat, B, level):
    """A custom Function's own rule, PyTorch's contract: `vmap(info, in_dims, *args)` gets the
    physical arguments with in_dims (0 or None) and returns (outputs, out_dims)."""
    in_dims = tuple(0 if b else None for b in bat)
    res = cls.vmap(VmapInfo(B, level.randomness if level is not None else "error"), in_dims,
                   *args, **kwargs)
    if not (isinstance(res, tuple) and len(res) == 2):
        raise RuntimeError(f"{cls.__name__}.vmap: expected the vmap staticmethod to return a "
                           f"tuple (output, out_dims), got {type(res).__name__}")
    out, out_dims = res
    outs = out if isinstance(out, tuple) else (out,)
    dims = out_dims if isinstance(out_dims, tuple) else (out_dims,) * len(outs)
    if len(dims) != len(outs):
        raise RuntimeError(f"{cls.__name__}.vmap: returned {len(outs)} outputs but out_dims "
                           f"{out_dims}")
    moved = tuple(expand_front(o, B) if d is None else movedim(o, d, 0)
                  for o, d in zip(outs, dims))
    return moved if isinstance(out, tuple) else moved[0]


__all__ = ["RULES", "expand_front", "loop_rule", "run_rule"]
