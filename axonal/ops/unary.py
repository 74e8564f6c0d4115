"""One-input element-wise ops: exp, log, sqrt, trigonometry, erf, tanh, sigmoid, relu, abs, casts, and
the piecewise-constant sign/floor/ceil/round/trunc.

Each backward is the local derivative times the incoming gradient, written with Tensor ops so that it
can be differentiated again. Where a fused kernel computes the first-order gradient in one pass
(tanh, sigmoid, relu), the op also defines `backward_arrays`, which the engine runs when the backward
pass is not recorded.
"""
import math

from .. import _dtype as _dt
from .. import kernels as K
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import constant


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _unary(name, fwd, bwd, save_output=False, bwd_arrays=None):
    """A one-input primitive. `fwd(xp, x)` on arrays; `bwd(g, x, out)` with Tensors (differentiable);
    optional `bwd_arrays(g, x, out)`, the same formula on arrays (a kernel may do the arithmetic).
    Integer and bool inputs are computed in the default float dtype, as in PyTorch."""

    def forward(ctx, x):
        if x._data.dtype.kind not in "fV":
            return fwd(xp_of(x._data), x._data.astype(_dt.get_default_dtype().np))
        if not save_output:  # as PyTorch: an op whose derivative needs only its result keeps
            ctx.save_for_backward(x)  # only that (so writing into x in place later is allowed)
        return fwd(xp_of(x._data), x._data)

    def backward(ctx, g):
        saved = ctx.saved_tensors
        return bwd(g, saved[0] if saved else None, ctx.output() if save_output else None)

    body = {"forward": staticmethod(forward), "backward": staticmethod(backward),
            "save_output": save_output, "__doc__": f"Element-wise {name}."}
    if bwd_arrays is not None:
        def backward_arrays(ctx, g):
            saved = ctx.saved
            return bwd_arrays(g, saved[0]._data if saved else None,
                              ctx._out_data[0] if save_output else None)

        body["backward_arrays"] = staticmethod(backward_arrays)
    return type(name.capitalize(), (Function,), body)


Exp = _unary("exp", lambda xp, x: xp.exp(x), lambda g, x, out: g * out, save_output=True,
             bwd_arrays=lambda g, x, out: g * out)
Log = _unary("log", lambda xp, x: xp.log(x), lambda g, x, out: g / x)
Log1p = _unary("log1p", lambda xp, x: xp.log1p(x), lambda g, x, out: g / (x + 1))
Sqrt = _unary("sqrt", lambda xp, x: xp.sqrt(x), lambda g, x, out: g * 0.5 / out, save_output=True)
Rsqrt = _unary("rsqrt", lambda xp, x: 1 / xp.sqrt(x),
               lambda g, x, out: g * -0.5 * out * out * out, save_output=True)
Sin = _unary("sin", lambda xp, x: xp.sin(x), lambda g, x, out: g * cos(x))
Cos = _unary("cos", lambda xp, x: xp.cos(x), lambda g, x, out: -(g * sin(x)))
# d erf(x)/dx = 2 / sqrt(pi) exp(-x^2)
Erf = _unary("erf", lambda xp, x: K.erf(x), lambda g, x, out: g * exp(-(x * x)) * _TWO_OVER_SQRT_PI)
Tanh = _unary("tanh", lambda xp, x: xp.tanh(x), lambda g, x, out: g * (1 - out * out),
              save_output=True, bwd_arrays=lambda g, x, out: K.tanh_backward(g, out))
Abs = _unary("abs", lambda xp, x: xp.abs(x), lambda g, x, out: g * sign(x))
Sigmoid = _unary("sigmoid", lambda xp, x: K.sigmoid(x), lambda g, x, out: g * out * (1 - out),
                 save_output=True, bwd_arrays=lambda g, x, out: K.sigmoid_backward(g, out))


class Relu(Function):
    save_output = True  # as PyTorch, the result: out > 0 exactly where x > 0

    @staticmethod
    def forward(ctx, x):
        return K.relu(x._data)

    @staticmethod
    def backward(ctx, g):
        out = ctx._out_data[0]
        return g * constant((out > 0).astype(out.dtype))

    @staticmethod
    def backward_arrays(ctx, g):  # one fused select, no graph
        return K.relu_backward(g, ctx._out_data[0])


class Cast(Function):
    @staticmethod
    def forward(ctx, x, npd):
        return x._data.astype(npd)

    @staticmethod
    def backward(ctx, g):
        return g.to(ctx._in_meta[0][1]), None


class ZeroGrad(Function):
    """Piecewise-constant functions (sign, floor, round ...): the derivative is 0 almost everywhere."""

    @staticmethod
    def forward(ctx, x, fn):
        return fn(x._data)

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


def erf(x):
    return Erf.apply(x)


def cos(x):
    return Cos.apply(x)


def tanh(x):
    return Tanh.apply(x)


def sigmoid(x):
    return Sigmoid.apply(x)


def abs(x):  # noqa: A001
    return Abs.apply(x) if x._data.dtype.kind in "fV" else constant(xp_of(x._data).abs(x._data))


def relu(x):
    return Relu.apply(x)


def _zero_grad_op(fn):
    def op(x):
        if x._data.dtype.kind not in "fV":
            return constant(fn(x._data))
        return ZeroGrad.apply(x, fn)

    return op


sign = _zero_grad_op(lambda a: xp_of(a).sign(a))
floor = _zero_grad_op(lambda a: xp_of(a).floor(a))
ceil = _zero_grad_op(lambda a: xp_of(a).ceil(a))
round = _zero_grad_op(lambda a: xp_of(a).round(a))  # noqa: A001
trunc = _zero_grad_op(lambda a: xp_of(a).trunc(a))
