"""Tensor methods and operators, bound to the op functions.

`tensor.py` cannot import the ops (they import it), so the methods are attached here, in one
explicit table that reads like the class body it completes.
"""
from .. import _dtype as _dt
from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from . import (
    activation,
    arith,
    compare,
    creation,
    indexing,
    inplace_methods,
    linalg,
    moments,
    reduction,
    replicate,
    shape,
    sorting,
    strided,
    unary,
)


def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
    """`to(dtype)`, `to(device)`, `to(device, dtype)` or `to(other_tensor)`; differentiable."""
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, backend.Device) or (
                isinstance(a, str) and a.split(":")[0] in backend.DEVICE_TYPES):
            device = a
        else:
            dtype = a
    out = self
    if device is not None:  # non_blocking: copies are synchronous, so the flag changes nothing
        dev = backend.Device(device)
        if not backend.same_place(dev, self.device):
            out = _ToDevice.apply(out, dev)
    if dtype is not None:
        npd = _dt.to_dtype(dtype).np
        if npd != out._data.dtype:
            out = unary.Cast.apply(out, npd)
    if copy and out is self:
        out = shape.clone(self)
    return out


class _ToDevice(Function):
    @staticmethod
    def forward(ctx, x, device):
        ctx.save(src=x.device)
        return backend.to_device(x._data, device)

    @staticmethod
    def backward(ctx, g):
        return _ToDevice.apply(g, ctx.src), None


def _pin_memory(self, device=None):
    """Page-locked host memory speeds up host-to-GPU copies. A CPU-only machine raises, as PyTorch
    does; with a GPU Axonal copies plainly, so this is a host copy (not pinned yet)."""
    if not backend.cuda_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    if self.is_cuda:
        raise RuntimeError(f"cannot pin a tensor on {self.device}: only CPU tensors can be pinned")
    return shape.clone(self)


def _stride(self, dim=None):
    """Strides in elements, as PyTorch's (NumPy's are in bytes)."""
    st = tuple(s // self._data.itemsize for s in self._data.strides)
    return st if dim is None else st[dim]


def _offset(self):
    """Elements between the start of the storage and this tensor's first element."""
    a = self._data
    return (backend.data_ptr(a) - backend.data_ptr(backend.root(a))) // a.itemsize \
        if a.base is not None and hasattr(a.base, "__array_interface__") else 0


def _rev(fn):
    return lambda self, other: fn(other, self)


def _type(self, dtype=None):
    return str(self.dtype) if dtype is None else self.to(dtype)


_METHODS = {
    # arithmetic
    "__add__": arith.add, "__radd__": _rev(arith.add), "__sub__": arith.sub,
    "__rsub__": _rev(arith.sub), "__mul__": arith.mul, "__rmul__": _rev(arith.mul),
    "__truediv__": arith.div, "__rtruediv__": _rev(arith.div), "__pow__": arith.pow,
    "__rpow__": _rev(arith.pow), "__neg__": arith.neg, "__pos__": lambda self: self,
    "__abs__": unary.abs, "__matmul__": linalg.matmul, "__rmatmul__": _rev(linalg.matmul),
    "__floordiv__": arith.floor_divide, "__rfloordiv__": _rev(arith.floor_divide),
    "__mod__": arith.remainder, "__rmod__": _rev(arith.remainder),
    "__lshift__": arith.bitwise_left_shift, "__rlshift__": _rev(arith.bitwise_left_shift),
    "__rshift__": arith.bitwise_right_shift, "__rrshift__": _rev(arith.bitwise_right_shift),
    "bitwise_left_shift": arith.bitwise_left_shift,
    "bitwise_right_shift": arith.bitwise_right_shift,
    "add": arith.add, "sub": arith.sub, "mul": arith.mul, "div": arith.div, "pow": arith.pow,
    "neg": arith.neg, "multiply": arith.mul, "divide": arith.div, "subtract": arith.sub,
    "true_divide": arith.div, "square": arith.square, "reciprocal": arith.reciprocal,
    "matmul": linalg.matmul, "mm": linalg.mm, "bmm": linalg.bmm, "dot": linalg.dot,
    "mv": linalg.mv, "outer": linalg.outer, "tril": linalg.tril, "triu": linalg.triu,
    # comparisons and logic
    "__eq__": compare.eq, "__ne__": compare.ne, "__lt__": compare.lt, "__le__": compare.le,
    "__gt__": compare.gt, "__ge__": compare.ge, "__and__": compare.bitwise_and,
    "__or__": compare.bitwise_or, "__xor__": compare.bitwise_xor, "__invert__": compare.bitwise_not,
    "eq": compare.eq, "ne": compare.ne, "lt": compare.lt, "le": compare.le, "gt": compare.gt,
    "ge": compare.ge, "logical_and": compare.logical_and, "logical_or": compare.logical_or,
    "logical_not": compare.logical_not, "logical_xor": compare.logical_xor,
    "isnan": compare.isnan, "isinf": compare.isinf, "isfinite": compare.isfinite,
    "equal": compare.equal, "allclose": compare.allclose, "isclose": compare.isclose,
    "clamp": compare.clamp, "clip": compare.clamp, "maximum": compare.maximum,
    "minimum": compare.minimum,
    "where": lambda self, cond, other: compare.where(cond, self, other),
    # unary math
    "exp": unary.exp, "log": unary.log, "log1p": unary.log1p, "sqrt": unary.sqrt,
    "rsqrt": unary.rsqrt, "sin": unary.sin, "cos": unary.cos, "erf": unary.erf, "tanh": unary.tanh,
    "sigmoid": unary.sigmoid, "relu": unary.relu, "abs": unary.abs, "sign": unary.sign,
    "floor": unary.floor, "ceil": unary.ceil, "round": unary.round, "trunc": unary.trunc,
    "softmax": activation.softmax, "log_softmax": activation.log_softmax,
    # reductions
    "sum": reduction.sum, "mean": reduction.mean, "prod": reduction.prod, "max": reduction.max,
    "min": reduction.min, "amax": reduction.amax, "amin": reduction.amin,
    "argmax": reduction.argmax, "argmin": reduction.argmin, "var": moments.var,
    "std": moments.std, "logsumexp": moments.logsumexp, "cumsum": reduction.cumsum,
    "norm": reduction.norm, "all": reduction.all, "any": reduction.any,
    "count_nonzero": reduction.count_nonzero,
    # shape
    "reshape": shape.reshape, "view": shape.view, "flatten": shape.flatten,
    "unflatten": shape.unflatten, "squeeze": shape.squeeze, "unsqueeze": shape.unsqueeze,
    "permute": shape.permute, "transpose": shape.transpose, "t": shape.t,
    "expand": shape.expand, "expand_as": shape.expand_as, "broadcast_to": shape.broadcast_to,
    "repeat": shape.repeat, "split": shape.split, "chunk": shape.chunk, "unbind": shape.unbind,
    "flip": shape.flip, "clone": shape.clone, "contiguous": shape.contiguous,
    "movedim": shape.movedim,
    "view_as": lambda self, other: shape.reshape(self, *other.shape),
    "reshape_as": lambda self, other: shape.reshape(self, *other.shape),
    # indexing
    "__getitem__": indexing.getitem, "index_put": indexing.index_put,
    "gather": indexing.gather, "scatter": indexing.scatter, "scatter_add": indexing.scatter_add,
    "index_select": indexing.index_select, "masked_fill": indexing.masked_fill,
    "nonzero": indexing.nonzero, "narrow": indexing.narrow, "select": indexing.select,
    "floor_divide": arith.floor_divide, "remainder": arith.remainder,
    "bitwise_and": compare.bitwise_and, "bitwise_or": compare.bitwise_or,
    "bitwise_xor": compare.bitwise_xor, "bitwise_not": compare.bitwise_not,
    "stride": lambda self, dim=None: _stride(self, dim), "storage_offset": lambda self: _offset(self),
    "swapaxes": shape.transpose, "swapdims": shape.transpose,
    "sort": sorting.sort, "argsort": sorting.argsort, "topk": sorting.topk,
    "msort": sorting.msort, "unique": sorting.unique,
    "diagonal": strided.diagonal, "as_strided": strided.as_strided,
    "diag": linalg.diag, "repeat_interleave": replicate.repeat_interleave,
    # conversion
    "to": to, "type": _type,
    "pin_memory": _pin_memory, "is_pinned": lambda self, device=None: False,
    "float": lambda self: to(self, _dt.float32), "double": lambda self: to(self, _dt.float64),
    "half": lambda self: to(self, _dt.float16), "bfloat16": lambda self: to(self, _dt.bfloat16),
    "long": lambda self: to(self, _dt.int64),
    "int": lambda self: to(self, _dt.int32), "bool": lambda self: to(self, _dt.bool_),
    "byte": lambda self: to(self, _dt.uint8),
    "new_zeros": lambda self, *s, **k: creation.zeros(
        *s, **{"dtype": self.dtype, "device": self.device, **k}),
    "new_ones": lambda self, *s, **k: creation.ones(
        *s, **{"dtype": self.dtype, "device": self.device, **k}),
    "new_full": lambda self, s, v, **k: creation.full(
        s, v, **{"dtype": self.dtype, "device": self.device, **k}),
    "new_tensor": lambda self, d, **k: creation.tensor(
        d, **{"dtype": self.dtype, "device": self.device, **k}),
}

for _name, _fn in {**_METHODS, **inplace_methods.METHODS}.items():
    setattr(Tensor, _name, _fn)

Tensor.is_sparse = False  # dense; sparse COO matrices are ops.sparse.SparseCOOTensor
Tensor.T = property(lambda self: shape.permute(self, *reversed(range(self.ndim))))
Tensor.mT = property(lambda self: shape.transpose(self, -1, -2))
inplace_methods.install(Tensor, inplace_methods.inplace_names())
