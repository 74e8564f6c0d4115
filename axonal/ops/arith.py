"""Broadcasting arithmetic: add, sub, mul, div, pow, neg, remainder (and floor_divide and rounded
division, which PyTorch does not differentiate, and the integer shifts).

Each backward is the local derivative times the incoming gradient, written with Tensor ops so that it
can be differentiated again. Operands broadcast like NumPy; the adjoint of broadcasting an operand is
summing the gradient back to the operand's shape (`grad_for_input`). Operands are first brought to
PyTorch's promoted dtype (`_util.coerce`).
"""
import numpy as np

from .. import _dtype as _dt
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import binary_error, coerce, data, is_scalar, nondiff
from .compare import where
from .shape import grad_for_input
from .unary import log


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        try:
            return data(a) + data(b)
        except ValueError:
            raise binary_error("add", a, b) from None

    @staticmethod
    def backward(ctx, g):
        return grad_for_input(ctx, 0, g), grad_for_input(ctx, 1, g)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        try:
            return data(a) - data(b)
        except ValueError:
            raise binary_error("sub", a, b) from None

    @staticmethod
    def backward(ctx, g):
        gb = grad_for_input(ctx, 1, g)
        return grad_for_input(ctx, 0, g), (None if gb is None else -gb)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        need = ctx.needs_input_grad  # as PyTorch: each factor is kept only for the other's grad
        ctx.save_for_backward(a if need[1] else None, b if need[0] else None)
        try:
            return data(a) * data(b)
        except ValueError:
            raise binary_error("mul", a, b) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = grad_for_input(ctx, 0, g * b) if ctx.needs_input_grad[0] else None
        gb = grad_for_input(ctx, 1, g * a) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return data(a) / data(b)
        except ValueError:
            raise binary_error("div", a, b) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = grad_for_input(ctx, 0, g / b) if ctx.needs_input_grad[0] else None
        gb = grad_for_input(ctx, 1, -(g * a) / (b * b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """a ** b. d/da = b a^(b-1); d/db = a^b log a (taken as 0 where a == 0, as PyTorch does)."""

    save_output = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return data(a) ** data(b)
        except ValueError:
            raise binary_error("pow", a, b) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if is_scalar(b):
                ga = g * b * a ** (b - 1) if b != 0 else g * 0
            else:
                ga = g * b * where(b == 0, 1.0, a) ** (b - 1)
                ga = where(b == 0, 0.0, ga)
            ga = grad_for_input(ctx, 0, ga)
        if ctx.needs_input_grad[1]:
            out = ctx.output()
            if is_scalar(a):
                gb = g * out * float(np.log(a)) if a > 0 else g * out * 0
            else:
                gb = where(a == 0, 0.0, g * out * log(where(a == 0, 1.0, a)))
            gb = grad_for_input(ctx, 1, gb)
        return ga, gb


class PowScalarExp(Pow):
    """tensor ** number: PyTorch's PowBackward0 keeps only the base (not the result)."""
    _node_name = "PowBackward0"
    save_output = False


class PowScalarBase(Pow):
    """number ** tensor: PyTorch's PowBackward2 keeps the exponent and the result."""
    _node_name = "PowBackward2"


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x._data

    @staticmethod
    def backward(ctx, g):
        return -g


def add(a, b, *, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    a, b = coerce("add", a, b)
    return Add.apply(a, b)


def sub(a, b, *, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    a, b = coerce("sub", a, b)
    return Sub.apply(a, b)


def mul(a, b):
    a, b = coerce("mul", a, b)
    return Mul.apply(a, b)


def div(a, b, *, rounding_mode=None):
    if rounding_mode is not None:
        return nondiff(np.floor_divide if rounding_mode == "floor" else _trunc_div, a, b)
    a, b = coerce("div", a, b)
    if isinstance(a, Tensor) and a._data.dtype.kind not in "fV":  # true division of integers -> float
        a = a.to(_dt.get_default_dtype())
        b = b.to(_dt.get_default_dtype()) if isinstance(b, Tensor) else float(b)  # not np.int64
    elif isinstance(b, Tensor) and b._data.dtype.kind not in "fV":
        b = b.to(_dt.get_default_dtype())
        a = a if isinstance(a, Tensor) else float(a)  # an np.int64 scalar would give float64
    return Div.apply(a, b)


def _trunc_div(x, y):
    return np.trunc(np.true_divide(x, y)).astype(np.result_type(x, y))


def pow(a, b):  # noqa: A001 - PyTorch's name
    a, b = coerce("pow", a, b)
    cls = PowScalarExp if is_scalar(b) else PowScalarBase if is_scalar(a) else Pow
    return cls.apply(a, b)


def neg(x):
    return Neg.apply(x)


def square(x):
    return mul(x, x)


def reciprocal(x):
    return div(1.0, x)


class Remainder(Function):
    """a - b * floor(a / b) (the sign of b, as Python's % and torch.remainder). The quotient is
    piecewise constant, so d/da = 1 and d/db = -floor(a / b) (PyTorch's formulas; its node saves
    both operands when b is a tensor, nothing when b is a number)."""
    _node_name = "RemainderBackward1"

    @staticmethod
    def forward(ctx, a, b):
        if isinstance(b, Tensor) and ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        try:
            return data(a) % data(b)
        except ValueError:
            raise binary_error("remainder", a, b) from None

    @staticmethod
    def backward(ctx, g):
        ga = grad_for_input(ctx, 0, g) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            a, b = ctx.saved_tensors
            gb = grad_for_input(ctx, 1, -g * div(a, b, rounding_mode="floor"))
        return ga, gb


class RemainderScalar(Remainder):
    _node_name = "RemainderBackward0"


class NotDifferentiable(Function):
    """An op PyTorch gives no derivative (floor_divide, a number % a tensor): a result in the graph
    records this node, and backward through it raises PyTorch's error rather than making up a
    gradient."""
    _node_name = "NotImplemented"

    @staticmethod
    def forward(ctx, a, b, ufunc, name):
        ctx.save(name=name)
        return nondiff(ufunc, a, b)._data

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(f"derivative for aten::{ctx.name} is not implemented")


_KERNEL_TYPES = {"bool": "Bool", "float16": "Half", "float32": "Float", "float64": "Double"}


def _refuse(kernel, t):
    """PyTorch's words for a dtype its kernel lacks."""
    name = _KERNEL_TYPES.get(str(t._data.dtype), str(t._data.dtype))
    raise NotImplementedError(f'"{kernel}_cpu" not implemented for \'{name}\'')


def _no_bool(op, kernel, a, b):
    for t in (a, b):
        if isinstance(t, Tensor) and t._data.dtype == np.bool_:
            _refuse(kernel, t)


def _in_graph(a, b):
    return (isinstance(a, Tensor) and a._rg) or (isinstance(b, Tensor) and b._rg)


def remainder(a, b):
    _no_bool("remainder", "remainder", a, b)
    if not _in_graph(a, b):
        return nondiff(np.remainder, a, b)
    a, b = coerce("remainder", a, b)
    if not isinstance(a, Tensor):  # a number % a tensor
        return NotDifferentiable.apply(a, b, np.remainder, "remainder")
    return (Remainder if isinstance(b, Tensor) else RemainderScalar).apply(a, b)


def floor_divide(a, b):
    _no_bool("floor_divide", "div_floor", a, b)
    if not _in_graph(a, b):
        return nondiff(np.floor_divide, a, b)
    a, b = coerce("floor_divide", a, b)
    return NotDifferentiable.apply(a, b, np.floor_divide, "floor_divide")


def _shift(name, kernel, ufunc):
    def shift(a, b):
        _no_bool(name, kernel, a, b)
        for t in (a, b):
            if isinstance(t, Tensor) and t._data.dtype.kind not in "iu":
                _refuse(kernel, t)
        return nondiff(ufunc, a, b)
    shift.__name__ = shift.__qualname__ = name
    shift.__doc__ = f"`{name}`: integer shift (PyTorch's; no derivative)."
    return shift


bitwise_left_shift = _shift("bitwise_left_shift", "lshift", np.left_shift)
bitwise_right_shift = _shift("bitwise_right_shift", "rshift", np.right_shift)
