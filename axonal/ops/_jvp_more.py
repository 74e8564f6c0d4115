"""Forward-mode AD rules of remainder, dot, diagonal and the moments (var, std, logsumexp); the
conventions are those of ops/_jvp.py (a rule returns J t, computed with differentiable ops)."""
import numpy as np

from ..autograd.forward_ad import jvp_inputs, jvp_output, linear_jvp
from ._jvp import _fit, multilinear_jvp
from .arith import Remainder, div
from .compare import where
from .linalg import Dot
from .moments import Logsumexp, Std, Var, _divisor, _scale
from .reduction import Sum, _keep_shape
from .shape import Reshape
from .strided import Diagonal, DiagonalScatter
from .unary import exp


def _remainder_jvp(ctx, ta, tb):  # d(a mod b) = da - floor(a / b) db
    a, b = jvp_inputs(ctx)
    parts = [t for t in (ta, None if tb is None else -tb * div(a, b, rounding_mode="floor"))
             if t is not None]
    return None if not parts else _fit(ctx, parts[0] if len(parts) == 1 else parts[0] + parts[1])


def _centered_sum(ctx, t):  # sum((x - mean) t) / D over the reduced dims
    x = jvp_inputs(ctx)[0]
    centered = x - Sum.apply(x, ctx.dims, True) / float(np.prod([x.shape[d] for d in ctx.dims]))
    return Sum.apply(centered * t, ctx.dims, ctx.keepdim) * \
        _scale(_divisor(x._data.shape, ctx.dims, ctx.correction))


def _var_jvp(ctx, t, *_):  # d var = 2 sum((x - mean) t) / D
    return None if t is None else _centered_sum(ctx, t) * 2.0


def _std_jvp(ctx, t, *_):  # d std = d var / (2 std) (0 where std == 0, as the gradient)
    if t is None:
        return None
    out = jvp_output(ctx)
    return where(out == 0, 0.0, _centered_sum(ctx, t) / where(out == 0, 1.0, out))


def _logsumexp_jvp(ctx, t, *_):
    """d lse = sum(t e) / sum(e) with e = exp(x - lse): sum(e) is 1, but PyTorch's form gives an
    empty group 0 / 0 = nan, as there."""
    if t is None:
        return None
    x = jvp_inputs(ctx)[0]
    out = jvp_output(ctx)
    if not ctx.keepdim:
        out = Reshape.apply(out, _keep_shape(x._data.shape, ctx.dims))
    e = exp(x - out)
    return Sum.apply(t * e, ctx.dims, ctx.keepdim) / Sum.apply(e, ctx.dims, ctx.keepdim)


Remainder.jvp = staticmethod(_remainder_jvp)
Dot.jvp = staticmethod(multilinear_jvp)
Diagonal.jvp = DiagonalScatter.jvp = linear_jvp
Var.jvp = staticmethod(_var_jvp)
Std.jvp = staticmethod(_std_jvp)
Logsumexp.jvp = staticmethod(_logsumexp_jvp)
