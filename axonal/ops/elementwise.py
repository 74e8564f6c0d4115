"""Element-wise ops: arithmetic, powers, exp/log, trigonometry, activations, comparisons.

Each backward is the local derivative times the incoming gradient, written with Tensor ops so that it
can be differentiated again. Binary ops broadcast like NumPy; the adjoint of broadcasting an operand
is summing the gradient back to the operand's shape (`_to_input`).
"""
import numpy as np

from .. import _config
from .. import _dtype as _dt
from .. import kernels as K
from .._errors import ShapeError
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import constant, Tensor
from ._util import as_tensor, is_scalar, result_dtype


def _d(x):
    return x.data if isinstance(x, Tensor) else x


def _to_input(ctx, k, g):
    """Gradient for input k: None if it needs none, else g summed down to the input's shape."""
    meta = ctx._in_meta[k]
    if meta is None:
        return None
    if g.data.shape == meta[0]:
        return g
    from .shape import sum_to

    return sum_to(g, meta[0])


def _coerce(op, a, b):
    """Bring two operands to PyTorch's promoted dtype; Python scalars stay scalars."""
    tb = type(b)
    if type(a) is Tensor:  # fast path: a float tensor with a same-dtype tensor or a Python number
        if tb is Tensor:
            if a.data.dtype is b.data.dtype:
                return a, b
        elif (tb is float or tb is int) and a.data.dtype.kind == "f":
            return a, b
    a = a.item() if isinstance(a, np.generic) else a  # NumPy scalars promote like Python ones
    b = b.item() if isinstance(b, np.generic) else b
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a.data.dtype is b.data.dtype:
            return a, b
    elif isinstance(a, Tensor) and is_scalar(b):
        if a.data.dtype.kind == "f" and not isinstance(b, complex):
            return a, b
    elif isinstance(b, Tensor) and is_scalar(a):
        if b.data.dtype.kind == "f":
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


def _binary_error(op, a, b):
    return ShapeError(f"{op}: shapes {tuple(np.shape(_d(a)))} and {tuple(np.shape(_d(b)))} "
                      "cannot be broadcast together")


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        try:
            return _d(a) + _d(b)
        except ValueError:
            raise _binary_error("add", a, b) from None

    @staticmethod
    def backward(ctx, g):
        return _to_input(ctx, 0, g), _to_input(ctx, 1, g)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        try:
            return _d(a) - _d(b)
        except ValueError:
            raise _binary_error("sub", a, b) from None

    @staticmethod
    def backward(ctx, g):
        gb = _to_input(ctx, 1, g)
        return _to_input(ctx, 0, g), (None if gb is None else -gb)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.saved = (a, b)
        try:
            return _d(a) * _d(b)
        except ValueError:
            raise _binary_error("mul", a, b) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = _to_input(ctx, 0, g * b) if ctx.needs_input_grad[0] else None
        gb = _to_input(ctx, 1, g * a) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.saved = (a, b)
        try:
            return _d(a) / _d(b)
        except ValueError:
            raise _binary_error("div", a, b) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = _to_input(ctx, 0, g / b) if ctx.needs_input_grad[0] else None
        gb = _to_input(ctx, 1, -(g * a) / (b * b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """a ** b. d/da = b a^(b-1); d/db = a^b log a (taken as 0 where a == 0, as PyTorch does)."""

    save_output = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return _d(a) ** _d(b)
        except ValueError:
            raise _binary_error("pow", a, b) from None

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
            ga = _to_input(ctx, 0, ga)
        if ctx.needs_input_grad[1]:
            out = ctx.output()
            if is_scalar(a):
                gb = g * out * float(np.log(a)) if a > 0 else g * out * 0
            else:
                gb = where(a == 0, 0.0, g * out * log(where(a == 0, 1.0, a)))
            gb = _to_input(ctx, 1, gb)
        return ga, gb


def add(a, b, *, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    a, b = _coerce("add", a, b)
    return Add.apply(a, b)


def sub(a, b, *, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    a, b = _coerce("sub", a, b)
    return Sub.apply(a, b)


def mul(a, b):
    a, b = _coerce("mul", a, b)
    return Mul.apply(a, b)


def div(a, b, *, rounding_mode=None):
    if rounding_mode is not None:
        q = _nondiff(np.floor_divide if rounding_mode == "floor" else _trunc_div, a, b)
        return q
    a, b = _coerce("div", a, b)
    if isinstance(a, Tensor) and a.data.dtype.kind != "f":  # true division of integers -> float
        a = a.to(_dt.get_default_dtype())
        b = b.to(_dt.get_default_dtype()) if isinstance(b, Tensor) else float(b)  # not np.int64
    elif isinstance(b, Tensor) and b.data.dtype.kind != "f":
        b = b.to(_dt.get_default_dtype())
        a = a if isinstance(a, Tensor) else float(a)  # an np.int64 scalar would give float64
    return Div.apply(a, b)


def _trunc_div(x, y):
    return np.trunc(np.true_divide(x, y)).astype(np.result_type(x, y))


def pow(a, b):  # noqa: A001 - PyTorch's name
    a, b = _coerce("pow", a, b)
    return Pow.apply(a, b)


# -- unary ------------------------------------------------------------------------------------------
def _unary(name, fwd, bwd, save_output=False, fast_bwd=None):
    """Build a one-input primitive. bwd(g, x, out) -> grad, with x and out as Tensors.

    `fast_bwd(g, x, out)` is the same formula on arrays, used when the backward pass is not being
    recorded (first-order gradients, the common case): it skips building Tensors and lets a fused
    kernel do the arithmetic. With create_graph=True the differentiable `bwd` runs instead."""

    def forward(ctx, x):
        if x.data.dtype.kind != "f":  # integers/bools: computed in the default float dtype, as
            return fwd(xp_of(x.data), x.data.astype(_dt.get_default_dtype().np))  # in PyTorch
        ctx.save_for_backward(x)
        return fwd(xp_of(x.data), x.data)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if fast_bwd is not None and not _config._state.grad:
            return constant(fast_bwd(g.data, x.data, ctx._out_data[0] if save_output else None))
        return bwd(g, x, ctx.output() if save_output else None)

    cls = type(name.capitalize(), (Function,), {
        "forward": staticmethod(forward), "backward": staticmethod(backward),
        "save_output": save_output, "__doc__": f"Element-wise {name}."})
    return cls


Exp = _unary("exp", lambda xp, x: xp.exp(x), lambda g, x, out: g * out, save_output=True,
             fast_bwd=lambda g, x, out: g * out)
Log = _unary("log", lambda xp, x: xp.log(x), lambda g, x, out: g / x)
Log1p = _unary("log1p", lambda xp, x: xp.log1p(x), lambda g, x, out: g / (x + 1))
Sqrt = _unary("sqrt", lambda xp, x: xp.sqrt(x), lambda g, x, out: g * 0.5 / out, save_output=True)
Rsqrt = _unary("rsqrt", lambda xp, x: 1 / xp.sqrt(x),
               lambda g, x, out: g * -0.5 * out * out * out, save_output=True)
Sin = _unary("sin", lambda xp, x: xp.sin(x), lambda g, x, out: g * cos(x))
Cos = _unary("cos", lambda xp, x: xp.cos(x), lambda g, x, out: -(g * sin(x)))
Tanh = _unary("tanh", lambda xp, x: xp.tanh(x), lambda g, x, out: g * (1 - out * out),
              save_output=True, fast_bwd=lambda g, x, out: K.tanh_backward(g, out))
Abs = _unary("abs", lambda xp, x: xp.abs(x), lambda g, x, out: g * sign(x))


def _sigmoid_np(xp, x):
    # exp of a non-positive number only: exact and overflow-free for both tails
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _sigmoid(xp, x):
    return K.sigmoid(x) if xp is np and x.dtype == np.float32 else _sigmoid_np(xp, x)


Sigmoid = _unary("sigmoid", _sigmoid, lambda g, x, out: g * out * (1 - out), save_output=True,
                 fast_bwd=lambda g, x, out: K.sigmoid_backward(g, out))


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x.data

    @staticmethod
    def backward(ctx, g):
        return -g


class Relu(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.saved = (x,)
        return K.relu(x.data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if not _config._state.grad:  # first order: one fused select, no graph
            return constant(K.relu_backward(g.data, x.data))
        return g * constant((x.data > 0).astype(x.data.dtype))


class Clamp(Function):
    """Clamp to [lo, hi]; the gradient passes where lo <= x <= hi (as in PyTorch)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = xp_of(x.data)
        mask = xp.ones(x.data.shape, dtype=bool)
        if lo is not None:
            mask &= x.data >= lo
        if hi is not None:
            mask &= x.data <= hi
        ctx.mask = mask
        return xp.clip(x.data, lo, hi).astype(x.data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return g * constant(ctx.mask.astype(g.data.dtype)), None, None


class Maximum(Function):
    """Element-wise max of two tensors; on ties each side receives half the gradient."""

    @staticmethod
    def forward(ctx, a, b, take_max=True):
        try:
            out = (xp_of(a.data).maximum if take_max else xp_of(a.data).minimum)(a.data, b.data)
        except ValueError:
            raise _binary_error("maximum" if take_max else "minimum", a, b) from None
        win = (a.data > b.data) if take_max else (a.data < b.data)
        tie = a.data == b.data
        ctx.wa = win + 0.5 * tie
        return out

    @staticmethod
    def backward(ctx, g):
        wa = constant(ctx.wa.astype(g.data.dtype))
        return _to_input(ctx, 0, g * wa), _to_input(ctx, 1, g * (1 - wa)), None


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond.data
        try:
            out = xp_of(cond.data, _d(a), _d(b)).where(cond.data, _d(a), _d(b))
        except ValueError:
            raise ShapeError(f"where: shapes {tuple(cond.shape)}, {np.shape(_d(a))} and "
                             f"{np.shape(_d(b))} cannot be broadcast together") from None
        dt = result_dtype(a, b) if isinstance(a, Tensor) or isinstance(b, Tensor) else None
        return out.astype(dt.np, copy=False) if dt is not None else out

    @staticmethod
    def backward(ctx, g):
        cond = constant(ctx.cond)
        ga = _to_input(ctx, 1, where(cond, g, 0.0)) if ctx.needs_input_grad[1] else None
        gb = _to_input(ctx, 2, where(cond, 0.0, g)) if ctx.needs_input_grad[2] else None
        return None, ga, gb


class Cast(Function):
    @staticmethod
    def forward(ctx, x, npd):
        return x.data.astype(npd)

    @staticmethod
    def backward(ctx, g):
        return g.to(ctx._in_meta[0][1]), None


class ZeroGrad(Function):
    """Piecewise-constant functions (sign, floor, round ...): the derivative is 0 almost everywhere."""

    @staticmethod
    def forward(ctx, x, fn):
        return fn(x.data)

    @staticmethod
    def backward(ctx, g):
        return g * 0, None


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def log1p(x):
    return Log1p.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def rsqrt(x):
    return Rsqrt.apply(x)


def sin(x):
    return Sin.apply(x)


def cos(x):
    return Cos.apply(x)


def tanh(x):
    return Tanh.apply(x)


def sigmoid(x):
    return Sigmoid.apply(x)


def abs(x):  # noqa: A001
    return Abs.apply(x) if x.data.dtype.kind == "f" else constant(xp_of(x.data).abs(x.data))


def neg(x):
    return Neg.apply(x)


def relu(x):
    return Relu.apply(x)


def square(x):
    return mul(x, x)


def reciprocal(x):
    return div(1.0, x)


def clamp(x, min=None, max=None):  # noqa: A002
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, as_tensor(min, like=x))
        if max is not None:
            out = minimum(out, as_tensor(max, like=x))
        return out
    return Clamp.apply(x, min, max)


def maximum(a, b):
    a, b = _coerce("maximum", as_tensor(a), as_tensor(b))
    return Maximum.apply(a, b, True)


def minimum(a, b):
    a, b = _coerce("minimum", as_tensor(a), as_tensor(b))
    return Maximum.apply(a, b, False)


def where(cond, a=None, b=None):
    cond = as_tensor(cond)
    if a is None and b is None:
        return tuple(constant(i) for i in xp_of(cond.data).nonzero(cond.data))
    if cond.data.dtype != np.bool_:
        cond = constant(cond.data.astype(bool))
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype is not b.dtype:
        a, b = _coerce("where", a, b)
    return Where.apply(cond, a, b)


def _zero_grad_op(fn):
    def op(x):
        if x.data.dtype.kind != "f":
            return constant(fn(x.data))
        return ZeroGrad.apply(x, fn)

    return op


sign = _zero_grad_op(lambda a: xp_of(a).sign(a))
floor = _zero_grad_op(lambda a: xp_of(a).floor(a))
ceil = _zero_grad_op(lambda a: xp_of(a).ceil(a))
round = _zero_grad_op(lambda a: xp_of(a).round(a))  # noqa: A001
trunc = _zero_grad_op(lambda a: xp_of(a).trunc(a))


# -- non-differentiable: comparisons and logic -------------------------------------------------
def _nondiff(fn, a, b=None):
    if b is None:
        return constant(fn(_d(a)))
    if not isinstance(a, Tensor) and not is_scalar(a):
        a = as_tensor(a)
    if not isinstance(b, Tensor) and not is_scalar(b):
        b = as_tensor(b)
    try:
        out = fn(_d(a), _d(b))
    except ValueError:
        raise _binary_error(getattr(fn, "__name__", "compare"), a, b) from None
    return constant(xp_of(out).asarray(out))


def _cmp(ufunc):
    def op(a, b):
        return _nondiff(ufunc, a, b)

    op.__name__ = ufunc.__name__
    return op


eq, ne, lt, le, gt, ge = (_cmp(u) for u in (np.equal, np.not_equal, np.less, np.less_equal,
                                             np.greater, np.greater_equal))
logical_and, logical_or, logical_xor = (_cmp(u) for u in (np.logical_and, np.logical_or,
                                                           np.logical_xor))
bitwise_and, bitwise_or, bitwise_xor = (_cmp(u) for u in (np.bitwise_and, np.bitwise_or,
                                                           np.bitwise_xor))
remainder = _cmp(np.remainder)
floor_divide = _cmp(np.floor_divide)


def logical_not(x):
    return _nondiff(np.logical_not, x)


def bitwise_not(x):
    return _nondiff(np.invert, x)


def isnan(x):
    return _nondiff(np.isnan, x)


def isinf(x):
    return _nondiff(np.isinf, x)


def isfinite(x):
    return _nondiff(np.isfinite, x)


def equal(a, b) -> bool:
    return tuple(a.shape) == tuple(b.shape) and bool((a.data == b.data).all())


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    return bool(xp_of(a.data).allclose(a.data, _d(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    return constant(xp_of(a.data).isclose(a.data, _d(b), rtol=rtol, atol=atol, equal_nan=equal_nan))
