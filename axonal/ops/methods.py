"""Tensor methods and operators, bound to the op functions.

`tensor.py` cannot import the ops (they import it), so the methods are attached here, in one
explicit table that reads like the class body it completes.
"""
from .. import backend
from .. import _dtype as _dt
from ..tensor import Tensor
from . import activation as A
from . import creation as C
from . import elementwise as E
from . import indexing as I
from . import linalg as L
from . import reduction as R
from . import shape as S
from . import sorting as SO


def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
    """`to(dtype)`, `to(device)`, `to(device, dtype)` or `to(other_tensor)`; differentiable."""
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, (str, backend.Device)) and str(a).split(":")[0] in ("cpu", "cuda"):
            device = a
        else:
            dtype = a
    out = self
    if device is not None:
        dev = backend.Device(device)
        if dev != self.device:
            out = _ToDevice.apply(out, dev)
    if dtype is not None:
        npd = _dt.to_dtype(dtype).np
        if npd != out.data.dtype:
            out = E.Cast.apply(out, npd)
    if copy and out is self:
        out = S.clone(self)
    return out


from ..autograd.function import Function  # noqa: E402


class _ToDevice(Function):
    @staticmethod
    def forward(ctx, x, device):
        ctx.src = x.device
        return backend.to_device(x.data, device)

    @staticmethod
    def backward(ctx, g):
        return _ToDevice.apply(g, ctx.src), None


def _rev(fn):
    return lambda self, other: fn(other, self)


def _size_method(fn):
    return lambda self, *shape: fn(self, *shape)


def _type(self, dtype=None):
    return str(self.dtype) if dtype is None else self.to(dtype)


_METHODS = {
    # arithmetic
    "__add__": E.add, "__radd__": _rev(E.add), "__sub__": E.sub, "__rsub__": _rev(E.sub),
    "__mul__": E.mul, "__rmul__": _rev(E.mul), "__truediv__": E.div, "__rtruediv__": _rev(E.div),
    "__pow__": E.pow, "__rpow__": _rev(E.pow), "__neg__": E.neg, "__pos__": lambda self: self,
    "__abs__": E.abs, "__matmul__": L.matmul, "__rmatmul__": _rev(L.matmul),
    "__floordiv__": E.floor_divide, "__rfloordiv__": _rev(E.floor_divide),
    "__mod__": E.remainder, "__rmod__": _rev(E.remainder),
    "add": E.add, "sub": E.sub, "mul": E.mul, "div": E.div, "pow": E.pow, "neg": E.neg,
    "multiply": E.mul, "divide": E.div, "subtract": E.sub, "true_divide": E.div,
    "matmul": L.matmul, "mm": L.mm, "bmm": L.bmm, "dot": L.dot, "mv": L.mv, "outer": L.outer,
    # comparisons and logic
    "__eq__": E.eq, "__ne__": E.ne, "__lt__": E.lt, "__le__": E.le, "__gt__": E.gt, "__ge__": E.ge,
    "__and__": E.bitwise_and, "__or__": E.bitwise_or, "__xor__": E.bitwise_xor,
    "__invert__": E.bitwise_not,
    "eq": E.eq, "ne": E.ne, "lt": E.lt, "le": E.le, "gt": E.gt, "ge": E.ge,
    "logical_and": E.logical_and, "logical_or": E.logical_or, "logical_not": E.logical_not,
    "logical_xor": E.logical_xor, "isnan": E.isnan, "isinf": E.isinf, "isfinite": E.isfinite,
    "equal": E.equal, "allclose": E.allclose, "isclose": E.isclose,
    # unary math
    "exp": E.exp, "log": E.log, "log1p": E.log1p, "sqrt": E.sqrt, "rsqrt": E.rsqrt, "sin": E.sin,
    "cos": E.cos, "tanh": E.tanh, "sigmoid": E.sigmoid, "relu": E.relu, "abs": E.abs,
    "sign": E.sign, "floor": E.floor, "ceil": E.ceil, "round": E.round, "trunc": E.trunc,
    "square": E.square, "reciprocal": E.reciprocal, "clamp": E.clamp, "clip": E.clamp,
    "maximum": E.maximum, "minimum": E.minimum, "where": lambda self, cond, other: E.where(
        cond, self, other),
    "softmax": A.softmax, "log_softmax": A.log_softmax,
    # reductions
    "sum": R.sum, "mean": R.mean, "prod": R.prod, "max": R.max, "min": R.min, "amax": R.amax,
    "amin": R.amin, "argmax": R.argmax, "argmin": R.argmin, "var": R.var, "std": R.std,
    "logsumexp": R.logsumexp, "cumsum": R.cumsum, "norm": R.norm, "all": R.all, "any": R.any,
    "count_nonzero": R.count_nonzero,
    # shape
    "reshape": S.reshape, "view": S.view, "flatten": S.flatten, "unflatten": S.unflatten,
    "squeeze": S.squeeze, "unsqueeze": S.unsqueeze, "permute": S.permute,
    "transpose": S.transpose, "t": S.t, "expand": S.expand, "expand_as": S.expand_as,
    "broadcast_to": S.broadcast_to, "repeat": S.repeat, "split": S.split, "chunk": S.chunk,
    "unbind": S.unbind, "flip": S.flip, "clone": S.clone, "contiguous": S.contiguous,
    "movedim": S.movedim,
    "view_as": lambda self, other: S.reshape(self, *other.shape),
    "reshape_as": lambda self, other: S.reshape(self, *other.shape),
    # indexing
    "__getitem__": I.getitem, "index_put": I.index_put, "gather": I.gather,
    "scatter": I.scatter, "scatter_add": I.scatter_add, "index_select": I.index_select,
    "masked_fill": I.masked_fill, "nonzero": I.nonzero,
    "sort": SO.sort, "argsort": SO.argsort, "topk": SO.topk, "msort": SO.msort,
    # conversion
    "to": to, "type": _type,
    "float": lambda self: to(self, _dt.float32), "double": lambda self: to(self, _dt.float64),
    "half": lambda self: to(self, _dt.float16), "long": lambda self: to(self, _dt.int64),
    "int": lambda self: to(self, _dt.int32), "bool": lambda self: to(self, _dt.bool_),
    "byte": lambda self: to(self, _dt.uint8),
    "new_zeros": lambda self, *s, **k: C.zeros(*s, **{"dtype": self.dtype, "device": self.device,
                                                      **k}),
    "new_ones": lambda self, *s, **k: C.ones(*s, **{"dtype": self.dtype, "device": self.device,
                                                    **k}),
    "new_full": lambda self, s, v, **k: C.full(s, v, **{"dtype": self.dtype,
                                                        "device": self.device, **k}),
    "new_tensor": lambda self, d, **k: C.tensor(d, **{"dtype": self.dtype, "device": self.device,
                                                      **k}),
}

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)

Tensor.T = property(lambda self: S.permute(self, *reversed(range(self.ndim))))
Tensor.mT = property(lambda self: S.transpose(self, -1, -2))
