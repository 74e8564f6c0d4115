"""Small helpers shared by the op families: argument coercion and type promotion, dim
normalization, broadcast checks, error text, and the non-differentiable binary op wrapper."""
import numbers

import numpy as np

from .. import _dtype as _dt
from .._errors import ShapeError
from ..backend import xp_of
from ..tensor import ARRAY_TYPES, Tensor, constant

SCALARS = (numbers.Number, np.generic)


def is_scalar(x) -> bool:
    t = type(x)
    if t is float or t is int:
        return True
    return isinstance(x, SCALARS) and not isinstance(x, ARRAY_TYPES)


def as_tensor(x, like=None) -> Tensor:
    """Wrap arrays and nested sequences as constant tensors (on `like`'s device)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, ARRAY_TYPES):
        return constant(x)
    t = Tensor(x) if not isinstance(x, (list, tuple)) else Tensor(np.asarray(x))
    if like is not None and t.device != like.device:
        t = constant(xp_of(like._data).asarray(t._data))
    return t


def norm_dim(dim, ndim, op) -> int:
    """Map a possibly negative dim into [0, ndim); error names the op."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension {dim} out of range for a tensor with {ndim} dims "
                         f"(expected in [{-n}, {n - 1}])")
    return dim % n


def norm_dims(dim, ndim, op):
    """None -> all dims; int or sequence -> sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    dims = tuple(sorted(norm_dim(int(d), ndim, op) for d in dim))
    if len(set(dims)) != len(dims):
        raise ValueError(f"{op}: dim {dim} contains a repeated dimension")
    return dims if ndim > 0 else ()


def shape_arg(shape):
    """Accept f(2, 3), f((2, 3)) and f([2, 3]) like PyTorch."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Tensor)):
        shape = shape[0]
    if isinstance(shape, Tensor):
        shape = shape.tolist()
    return tuple(int(s) for s in shape)


def _category(npd):
    return {"b": 0, "f": 2, "V": 2, "c": 3}.get(npd.kind, 1)  # bool < integer < floating ("V": bfloat16)


def result_dtype(a, b):
    """PyTorch's type promotion for a tensor with a tensor or a Python scalar."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        same_category = _category(a._data.dtype) == _category(b._data.dtype)  # bool < int < float
        if a._data.ndim == 0 and b._data.ndim > 0 and same_category:
            return b.dtype  # 0-d tensors act like scalars within the same category
        if b._data.ndim == 0 and a._data.ndim > 0 and same_category:
            return a.dtype
        return _dt.promote(a.dtype, b.dtype)
    t, s = (a, b) if isinstance(a, Tensor) else (b, a)
    if isinstance(s, (bool, np.bool_)) or t.dtype.is_floating_point:
        return t.dtype
    if isinstance(s, (float, np.floating)):
        return _dt.get_default_dtype()
    if t.dtype is _dt.bool_:
        return _dt.int64
    return t.dtype


def check_broadcast(op, *shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(f"{op}: shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be "
                         "broadcast together") from None


def data(x):
    """The array of a Tensor; anything else (a Python scalar) as is."""
    return x._data if isinstance(x, Tensor) else x


def binary_error(op, a, b):
    return ShapeError(f"{op}: shapes {tuple(np.shape(data(a)))} and {tuple(np.shape(data(b)))} "
                      "cannot be broadcast together")


def coerce(op, a, b):
    """Bring two operands to PyTorch's promoted dtype (`result_dtype`); Python scalars stay
    scalars, NumPy scalars promote like Python ones."""
    tb = type(b)
    if type(a) is Tensor:  # fast path: a float tensor with a same-dtype tensor or a Python number
        if tb is Tensor:
            if a._data.dtype is b._data.dtype:
                return a, b
        elif (tb is float or tb is int) and a._data.dtype.kind in "fV":
            return a, b
    a = a.item() if isinstance(a, np.generic) else a
    b = b.item() if isinstance(b, np.generic) else b
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a._data.dtype is b._data.dtype:
            return a, b
    elif isinstance(a, Tensor) and is_scalar(b):
        if a._data.dtype.kind in "fV" and not isinstance(b, complex):
            return a, b
    elif isinstance(b, Tensor) and is_scalar(a):
        if b._data.dtype.kind in "fV":
            return a, b
    else:
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            raise TypeError(f"{op}: expected at least one Tensor, got {type(a).__name__} and "
                            f"{type(b).__name__}")
        a = a if isinstance(a, Tensor) or is_scalar(a) else as_tensor(a, like=b)
        b = b if isinstance(b, Tensor) or is_scalar(b) else as_tensor(b, like=a)
    target = result_dtype(a, b)
    a = a.to(target) if isinstance(a, Tensor) and a.dtype is not target else a
    b = b.to(target) if isinstance(b, Tensor) and b.dtype is not target else b
    if is_scalar(a) and not target.is_floating_point:
        a = target.np.type(a)
    if is_scalar(b) and not target.is_floating_point:
        b = target.np.type(b)
    return a, b


def nondiff(fn, a, b=None):
    """A graph-free result of fn on the arrays of one or two operands (comparisons, logic, ...)."""
    if b is None:
        return constant(fn(data(a)))
    if not isinstance(a, Tensor) and not is_scalar(a):
        a = as_tensor(a)
    if not isinstance(b, Tensor) and not is_scalar(b):
        b = as_tensor(b)
    try:
        out = fn(data(a), data(b))
    except ValueError:
        raise binary_error(getattr(fn, "__name__", "compare"), a, b) from None
    # arrays as they are (an ndarray subclass such as vmap's batched view must survive); NumPy
    # scalars (from 0-d operands) become 0-d arrays
    return constant(out if isinstance(out, ARRAY_TYPES) else xp_of(out).asarray(out))


def writable_broadcast(b, x):
    """`b` (NumPy's read-only broadcast of array `x`) as a writable view of x's memory, as
    PyTorch's expand (a write into elements that share memory is refused by the in-place ops)."""
    r = x if not isinstance(x.base, np.ndarray) else x.base
    if type(b) is not np.ndarray or not (r.flags.c_contiguous and r.flags.writeable):
        return b
    off = x.__array_interface__["data"][0] - r.__array_interface__["data"][0]
    return np.ndarray(b.shape, b.dtype, buffer=r, offset=off, strides=b.strides)
