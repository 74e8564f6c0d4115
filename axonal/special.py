"""`axonal.special`, PyTorch's `torch.special`: the special functions Axonal computes exactly in
float32 and float64 with NumPy's own functions (no SciPy at run time). Most are the top-level ops
under their special names; sinc, entr and xlog1py are defined here. Functions that need SciPy-grade
kernels (gamma family, Bessel, zeta, erfinv, the normal CDF tails) raise "axonal does not implement
torch.special.X yet".
"""
import numpy as np

from . import _compat
from . import _dtype as _dt
from .autograd.function import Function
from .backend import xp_of
from .ops.activation import log_softmax, softmax
from .ops.pointwise import exp2, expm1, logit, xlog1py, xlogy
from .ops.moments import logsumexp
from .ops.scan import sinc
from .ops.unary import erf, log, log1p, round, sigmoid

__all__ = ["entr", "erf", "exp2", "expit", "expm1", "log1p", "log_softmax", "logit", "logsumexp",
           "round", "sinc", "softmax", "xlog1py", "xlogy"]

expit = sigmoid


class Entr(Function):
    """-x log x for x > 0, 0 at 0, -inf for x < 0; gradient -(1 + log x) (PyTorch's formula, so
    inf at 0 and NaN below)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        a = x._data
        xp = xp_of(a)
        with np.errstate(divide="ignore", invalid="ignore"):  # NumPy's warnings; CuPy has none
            safe = xp.where(a > 0, a, 1)
            return xp.where(a > 0, -a * xp.log(safe), xp.where(a == 0, 0, -xp.inf)).astype(
                a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * -(1 + log(x))


def entr(input):
    x = input if input.dtype.is_floating_point else input.to(_dt.get_default_dtype())
    return Entr.apply(x)


__getattr__ = _compat.module_getattr("torch.special", globals())
