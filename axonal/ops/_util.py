"""Small helpers shared by the op families: argument coercion, dim normalization, error text."""
import numbers

import numpy as np

from .. import _dtype as _dt
from .._errors import ShapeError
from ..backend import xp_of
from ..tensor import ARRAY_TYPES, constant, Tensor

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
        t = constant(xp_of(like.data).asarray(t.data))
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
    return {"b": 0, "f": 2, "c": 3}.get(npd.kind, 1)  # bool < integer < floating


def result_dtype(a, b):
    """PyTorch's type promotion for a tensor with a tensor or a Python scalar."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        same_category = _category(a.data.dtype) == _category(b.data.dtype)  # bool < int < float
        if a.data.ndim == 0 and b.data.ndim > 0 and same_category:
            return b.dtype  # 0-d tensors act like scalars within the same category
        if b.data.ndim == 0 and a.data.ndim > 0 and same_category:
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
