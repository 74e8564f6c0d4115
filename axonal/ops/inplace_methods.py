"""The `_` methods of Tensor (`add_`, `relu_`, `index_add_`, `normal_`, `x[i] = v`, `x += y` ...).

Each is its out-of-place op run through `inplace.apply_inplace` (differentiable, checked). When no
graph is recorded (grad mode off, or nothing involved requires grad) the arithmetic that optimizers
and initialisers use runs as a NumPy/CuPy ufunc writing straight into the tensor's memory.
"""
import numpy as np

from .. import backend
from .._errors import DTypeError, GraphError, ShapeError
from .._torch_names import NAMES
from ..autograd.function import Function
from ..autograd.versions import inplace_check
from ..random import np_generator
from .._storage import bump
from ..tensor import Tensor, _index_key
from . import indexing, shape, strided
from .combine import addcdiv, addcmul, lerp  # the out-of-place forms the _ methods write back
from .pointwise import clamp_max, clamp_min
from .inplace import (ALIASED, Overwrite, _overlapping, _torch_name, _values, alias_check,
                      apply_inplace, overlap_check, partial_overlap)

# -- the write itself, without a graph ----------------------------------------------------------


def _ufunc_into(self, op, ufunc, *operands):
    """self <- ufunc(self, *operands) in self's memory (NumPy's casting and broadcasting rules,
    reported as PyTorch's errors)."""
    a = self._data
    if _overlapping(a):
        apply_inplace(self, op, lambda t: t)  # raises the overlapping-memory error
    ops = [o._data if isinstance(o, Tensor) else o for o in operands]
    try:
        ufunc(a, *ops, out=a, casting="same_kind")
    except TypeError:
        res = np.result_type(a, *[np.asarray(o) if not hasattr(o, "dtype") else o for o in ops])
        raise DTypeError(f"{op}: result type {_torch_name(res)} can't be cast to the desired "
                         f"output type {_torch_name(a.dtype)}") from None
    except ValueError:
        shapes = [np.shape(o) for o in ops]
        raise ShapeError(f"{op}: output with shape {list(a.shape)} doesn't match the broadcast "
                         f"shape {list(np.broadcast_shapes(a.shape, *shapes))}") from None
    bump(self)
    return self


def _assign(self, op, values):
    """self's memory <- values (an array already of self's shape and dtype), without a graph."""
    overlap_check(self, op)  # raises for any write but a fill
    backend.xp_of(self._data).copyto(self._data, values)
    bump(self)
    return self


def _method(name, fast=None):
    """`name_` from Tensor.`name`; `fast(self, *args, **kwargs)` writes without a graph, or
    returns NotImplemented to take the general path."""
    op = name + "_"

    def method(self, *args, **kwargs):
        alias_check(self, op, args, kwargs)
        if fast is not None and not inplace_check(self, op, args, kwargs):
            if fast(self, *args, **kwargs) is not NotImplemented:
                return self
        return apply_inplace(self, op, getattr(Tensor, name), *args, **kwargs)

    method.__name__ = method.__qualname__ = op
    method.__doc__ = f"In-place `{name}`: writes the result into this tensor's memory."
    return method


def _scaled(other, alpha):
    return other if alpha == 1 else (other._data if isinstance(other, Tensor) else other) * alpha


def _fast_ufunc(ufunc, op):
    return lambda self, *operands: _ufunc_into(self, op, ufunc, *operands)


def _fast_add(self, other, *, alpha=1):
    return _ufunc_into(self, "add_", np.add, _scaled(other, alpha))


def _fast_sub(self, other, *, alpha=1):
    return _ufunc_into(self, "sub_", np.subtract, _scaled(other, alpha))


def _fast_div(self, other, *, rounding_mode=None):
    if rounding_mode is not None:
        return NotImplemented
    return _ufunc_into(self, "div_", np.true_divide, other)


def _fast_clamp(self, min=None, max=None):  # noqa: A002
    if isinstance(min, Tensor) or isinstance(max, Tensor) or self._data.dtype.kind not in "fV":
        return NotImplemented
    a = self._data
    if _overlapping(a):
        return NotImplemented
    backend.xp_of(a).clip(a, min, max, out=a)
    bump(self)


# -- ops that exist only in place in Axonal's spelling, as compositions --------------------------


def _dim_key(self, dim, index):
    d = dim % self.ndim if self.ndim else 0
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    return (slice(None),) * d + (idx.reshape(-1).astype(np.int64, copy=False),)


def index_add(self, dim, index, source, *, alpha=1):
    return indexing.index_put(self, _dim_key(self, dim, index), source * alpha, accumulate=True)


def index_copy(self, dim, index, source):
    return indexing.index_put(self, _dim_key(self, dim, index), source)


def index_fill(self, dim, index, value):
    return indexing.index_put(self, _dim_key(self, dim, index), value)


def masked_scatter(self, mask, source):
    """Copies `source`'s first elements, in row-major order, to where `mask` is True."""
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    m = backend.xp_of(m).broadcast_to(m, self._data.shape)
    count = int(m.sum())
    if count > source.numel():
        raise ShapeError(f"masked_scatter: mask selects {count} elements but source has only "
                         f"{source.numel()}")
    picked = indexing.getitem(source.reshape(-1), slice(0, count))
    return indexing.index_put(self, tuple(m.nonzero()), picked)


def _overwrite(self, op, values):
    return apply_inplace(self, op, lambda t, v: Overwrite.apply(t, v), values)


def fill_(self, value):
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ShapeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                         f"{value.ndim} dimensions.")
    if not inplace_check(self, "fill_", (value,)):
        return _assign(self, "fill_", _values(self, value))
    return _overwrite(self, "fill_", value)


def zero_(self):
    return fill_(self, 0)


def copy_(self, src, non_blocking=False):
    """self <- src, broadcast to self's shape and cast to its dtype (and device)."""
    if isinstance(src, Tensor) and src.device != self.device:
        src = src.to(self.device)
    alias_check(self, "copy_", (src,))
    if not inplace_check(self, "copy_", (src,)):
        xp = backend.xp_of(self._data)
        s = src._data if isinstance(src, Tensor) else src
        if _overlapping(self._data):
            return _overwrite(self, "copy_", src)
        xp.copyto(self._data, xp.broadcast_to(xp.asarray(s), self._data.shape), casting="unsafe")
        bump(self)
        return self
    if isinstance(src, Tensor) and src.dtype is not self.dtype:
        src = src.to(self.dtype)
    return _overwrite(self, "copy_", src)


def _random(name, draw):
    def method(self, *args, generator=None, **kwargs):
        if name in _FLOAT_ONLY and self._data.dtype.kind not in "fV":
            raise NotImplementedError(f"\"{name[:-1]}_kernel_cpu\" not implemented for "
                                      f"'{_torch_name(self._data.dtype)}' ({name} needs a float tensor)")
        if name == "bernoulli_" and not isinstance(args[0] if args else 0.5, Tensor) \
                and not 0 <= (args[0] if args else kwargs.get("p", 0.5)) <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got "
                               f"p={args[0] if args else kwargs.get('p')}")
        if name == "random_" and not args and "to" not in kwargs:
            args = (_random_top(self._data.dtype),)
        vals = draw(np_generator(generator), self._data.shape, *args, **kwargs)
        vals = backend.to_device(np.asarray(vals).astype(self._data.dtype), self.device)
        return _overwrite(self, name, vals) if inplace_check(self, name) else \
            _assign(self, name, vals)
    method.__name__ = method.__qualname__ = name
    return method


_FLOAT_ONLY = ("normal_", "uniform_", "exponential_", "cauchy_", "log_normal_")


def _random_top(dtype):
    """random_()'s range without bounds, as PyTorch's: [0, 2^mantissa] for floats (every integer
    there is exact), [0, max] for integers."""
    if dtype.kind in "fV":
        return 2 ** (np.finfo(dtype).nmant + 1) + 1
    if dtype.kind == "b":
        return 2
    return int(np.iinfo(dtype).max)


def _random_int(g, shape, low=None, high=None):
    if low is None:
        raise TypeError("random_: give `to` (random_(to)) or `from, to` (random_(from, to))")
    if high is None:
        low, high = 0, low
    return g.integers(low, high, shape)


_RANDOM = {
    "normal_": lambda g, s, mean=0.0, std=1.0: g.normal(mean, std, s),
    "uniform_": lambda g, s, a=0.0, b=1.0, **k: g.uniform(k.get("from", a), k.get("to", b), s),
    "bernoulli_": lambda g, s, p=0.5: g.random(s) < (p._data if isinstance(p, Tensor) else p),
    "exponential_": lambda g, s, lambd=1.0: g.exponential(1.0 / lambd, s),
    "cauchy_": lambda g, s, median=0.0, sigma=1.0: median + sigma * g.standard_cauchy(s),
    "log_normal_": lambda g, s, mean=1.0, std=2.0: g.lognormal(mean, std, s),
    "geometric_": lambda g, s, p: g.geometric(p, s),
    "random_": _random_int,
}


# -- shape changes in place: self becomes its own view ------------------------------------------


def _reshape_in_place(name, fn):
    def method(self, *args, **kwargs):
        record = inplace_check(self, name)
        v = fn(self, *args, **kwargs)
        self._data = v._data
        if record:
            self._ctx, self._idx, self._rg = v._ctx, v._idx, v._rg
        bump(self)
        return self
    method.__name__ = method.__qualname__ = name
    return method


def resize_(self, *sizes):
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    if self._rg:
        raise RuntimeError("cannot resize variables that require grad")
    n = int(np.prod(sizes))
    flat = self._data.reshape(-1)
    if n <= flat.size:
        self._data = flat[:n].reshape(sizes)
    else:  # more memory: a new storage, old values first (PyTorch leaves the rest uninitialised)
        grown = backend.xp_of(flat).zeros(n, dtype=flat.dtype)
        grown[:flat.size] = flat
        self._data = grown.reshape(sizes)
        self._vc = None
    bump(self)
    return self


# -- indexing assignment ---------------------------------------------------------------------------


def setitem(self, index, value):
    """`self[index] = value`: a basic index writes through a view (copy_), an advanced one is
    index_put_; without a graph, a plain array assignment."""
    key = _index_key(index)
    _, basic = indexing._normalize_key(key, self.ndim, backend.xp_of(self._data))
    try:
        record = inplace_check(self, "__setitem__", (value,))
    except GraphError:
        # PyTorch writes through a view here, and says so in its error; a key of only `...` and
        # `:` writes into self itself (the error names the leaf)
        if basic and not all(k is Ellipsis or k == slice(None)
                             for k in (key if isinstance(key, tuple) else (key,))):
            copy_(indexing.getitem(self, index), value)
        raise
    if not record:
        v = value._data if isinstance(value, Tensor) else value
        if isinstance(value, Tensor):
            if value.device != self.device:
                raise RuntimeError(f"__setitem__: value is on {value.device}, tensor on "
                                   f"{self.device}")
            # the value may not partly overlap what it is written into (the region for a basic
            # index, PyTorch's copy_; the whole tensor for an advanced one, its index_put_)
            target = self._data[key] if basic else self._data
            if partial_overlap(target, v):
                raise GraphError(f"__setitem__: {ALIASED}")
        try:
            self._data[key] = v
        except ValueError:
            raise ShapeError(_expand_error(self._data[key].shape, np.shape(v))) from None
        bump(self)
        return
    if basic:
        copy_(indexing.getitem(self, index), value)
        return
    if not isinstance(value, Tensor):
        value = Tensor(_values(indexing.getitem(self.detach(), index), value))
    alias_check(self, "__setitem__", (value,))
    apply_inplace(self, "__setitem__", indexing.index_put, index if isinstance(index, tuple)
                  else (index,), value)


def relu_(input):
    """`torch.relu_(x)`: x.relu_()."""
    return input.relu_()


def _expand_error(target, src):
    """PyTorch's words for a value that cannot be broadcast to the written region."""
    target, src = tuple(target), tuple(src)
    if len(src) > len(target):
        return (f"expand(size={list(target)}): the number of sizes provided ({len(target)}) must "
                f"be greater or equal to the number of dimensions in the tensor ({len(src)})")
    for i in range(1, len(src) + 1):
        if src[-i] not in (1, target[-i]):
            return (f"The expanded size of the tensor ({target[-i]}) must match the existing "
                    f"size ({src[-i]}) at non-singleton dimension {len(target) - i}.  Target "
                    f"sizes: {list(target)}.  Tensor sizes: {list(src)}")
    return f"shape {list(src)} cannot be written into a region of shape {list(target)}"


# -- the table --------------------------------------------------------------------------------------

_FAST = {
    "add": _fast_add, "sub": _fast_sub, "subtract": _fast_sub, "mul": _fast_ufunc(np.multiply, "mul_"),
    "multiply": _fast_ufunc(np.multiply, "mul_"), "div": _fast_div, "divide": _fast_div,
    "true_divide": _fast_ufunc(np.true_divide, "true_divide_"), "clamp": _fast_clamp,
    "clip": _fast_clamp, "neg": _fast_ufunc(np.negative, "neg_"),
    "sqrt": _fast_ufunc(np.sqrt, "sqrt_"), "exp": _fast_ufunc(np.exp, "exp_"),
    "abs": _fast_ufunc(np.abs, "abs_"), "pow": _fast_ufunc(np.power, "pow_"),
}

_COMPOSED = {"addcmul": addcmul, "addcdiv": addcdiv, "lerp": lerp, "clamp_min": clamp_min,
             "clamp_max": clamp_max, "index_add": index_add, "index_copy": index_copy,
             "index_fill": index_fill, "masked_scatter": masked_scatter}

_SHAPE = {"unsqueeze_": shape.unsqueeze, "squeeze_": shape.squeeze, "t_": shape.t,
          "transpose_": shape.transpose, "swapaxes_": shape.transpose,
          "swapdims_": shape.transpose, "as_strided_": strided.as_strided}

_OPERATORS = {"__iadd__": "add_", "__isub__": "sub_", "__imul__": "mul_", "__itruediv__": "div_",
              "__ipow__": "pow_", "__ifloordiv__": "floor_divide_", "__imod__": "remainder_",
              "__iand__": "bitwise_and_", "__ior__": "bitwise_or_", "__ixor__": "bitwise_xor_",
              "__ilshift__": "bitwise_left_shift_", "__irshift__": "bitwise_right_shift_"}


def inplace_names():
    """PyTorch's in-place Tensor method names (`add_`, ...), from the recorded list of its API."""
    return sorted(n for n in NAMES["torch.Tensor"] if n.endswith("_") and not n.startswith("_"))


def install(cls, names):
    """Bind `name_` for each PyTorch in-place name whose out-of-place op `cls` has (call again after
    more methods are bound; an existing `_` method is kept)."""
    for name, fn in _COMPOSED.items():
        if name not in cls.__dict__:
            setattr(cls, name, fn)
    for op in names:
        base = op[:-1]
        if op in cls.__dict__ or base not in cls.__dict__:
            continue
        setattr(cls, op, _method(base, _FAST.get(base)))
    for dunder, op in _OPERATORS.items():
        if op in cls.__dict__ and dunder not in cls.__dict__:
            setattr(cls, dunder, lambda self, other, _op=op: getattr(self, _op)(other))


METHODS = {"__setitem__": setitem, "fill_": fill_, "zero_": zero_, "copy_": copy_,
           "resize_": resize_, "resize_as_": lambda self, other: resize_(self, *other.shape),
           **{name: _random(name, draw) for name, draw in _RANDOM.items()},
           **{name: _reshape_in_place(name, fn) for name, fn in _SHAPE.items()}}

