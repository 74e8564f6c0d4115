"""Reductions and statistics of PyTorch's namespace built from differentiable ops: nansum, nanmean,
aminmax, median, kthvalue, cdist, dist, cov, corrcoef.

Selections (median, kthvalue) sort once and gather the chosen element, so the gradient reaches
exactly that element, as PyTorch's. Distances guard their square root at zero (a zero distance has
gradient 0, PyTorch's convention, not 0/0).
"""
from collections import namedtuple

from .. import _dtype as _dt
from ..backend import xp_of
from ..tensor import constant
from ._util import norm_dim
from .compare import isnan, where
from .indexing import gather
from .linalg import diag, mm
from .reduction import amax, amin, sum
from .shape import reshape, stack
from .sorting import argsort
from .unary import abs, sqrt

__all__ = ["aminmax", "cdist", "corrcoef", "cov", "dist", "kthvalue", "median", "nanmean", "nansum",
           "quantile"]

AminmaxResult = namedtuple("aminmax", ["min", "max"])
MedianResult = namedtuple("median", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """The sum with NaNs counted as zero (their gradient is 0)."""
    x = input if dtype is None else input.to(dtype)
    if x.dtype.is_floating_point:
        x = where(isnan(x), 0.0, x)
    return sum(x, dim=dim, keepdim=keepdim)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """The mean over the non-NaN elements (NaN where there are none)."""
    if not input.dtype.is_floating_point and dtype is None:
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype "
                           f"but got {input.dtype.name.capitalize()}")
    x = input if dtype is None else input.to(dtype)
    count = sum(~isnan(x), dim=dim, keepdim=keepdim)
    return nansum(x, dim=dim, keepdim=keepdim) / count


def aminmax(input, *, dim=None, keepdim=False):
    return AminmaxResult(amin(input, dim=dim, keepdim=keepdim),
                         amax(input, dim=dim, keepdim=keepdim))


def _select(input, k, dim, keepdim, name, nan_first=False):
    """The k-th smallest (0-based) along dim, as (values, indices); with `nan_first`, a slice
    holding a NaN selects its first NaN (median propagates NaN, as PyTorch)."""
    if input.ndim == 0:
        return input.clone(), constant(xp_of(input._data).zeros((), "int64"))
    dim = norm_dim(dim, input.ndim, name)
    n = input.shape[dim]
    if not 0 <= k < n:
        raise IndexError(f"{name}(): selected number k out of range for dimension {dim} of size "
                         f"{n}")
    order = argsort(input, dim)._data
    xp = xp_of(order)
    idx = xp.take(order, [k], axis=dim)
    if nan_first and input.dtype.is_floating_point:
        nan = xp.isnan(input._data)
        first = xp.argmax(nan, axis=dim, keepdims=True)
        idx = xp.where(xp.any(nan, axis=dim, keepdims=True), first, idx)
    idx = constant(idx)
    values = gather(input, dim, idx)
    if not keepdim:
        values, idx = values.squeeze(dim), idx.squeeze(dim)
    return values, idx


def median(input, dim=None, keepdim=False):
    """The lower median: of all elements (a 0-d tensor), or along dim as (values, indices)."""
    if dim is None:
        flat = reshape(input, (-1,))
        if flat.shape[0] == 0:
            return constant(xp_of(input._data).asarray(float("nan"), dtype=input._data.dtype))
        return _select(flat, (flat.shape[0] - 1) // 2, 0, False, "median", nan_first=True)[0]
    n = input.shape[norm_dim(dim, input.ndim, "median")] if input.ndim else 1
    return MedianResult(*_select(input, (n - 1) // 2, dim, keepdim, "median", nan_first=True))


def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest element (1-based k) along dim, as (values, indices)."""
    return KthvalueResult(*_select(input, k - 1, dim, keepdim, "kthvalue"))


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-quantiles (q a float or 1-D tensor) over all elements or along dim, interpolating
    between the sorted neighbours as PyTorch (linear, lower, higher, nearest, midpoint); a NaN in a
    slice makes its quantiles NaN. With a tensor q the quantiles form a new first dim."""
    x = reshape(input, (-1,)) if dim is None else input
    d = 0 if dim is None else norm_dim(dim, input.ndim, "quantile")
    n = x.shape[d]
    xp = xp_of(x._data)
    qs = [float(q)] if not hasattr(q, "shape") else [float(v) for v in q.tolist()]
    scalar_q = not hasattr(q, "shape") or q.ndim == 0
    if any(not 0 <= v <= 1 for v in qs):
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    srt = gather(x, d, argsort(x, d))  # NaN sorts last
    has_nan = constant(xp.isnan(x._data).any(axis=d, keepdims=True))
    outs = []
    for v in qs:
        pos = v * (n - 1)
        lo, hi = int(pos // 1), min(int(pos // 1) + 1, n - 1)
        frac = pos - lo
        if interpolation == "lower" or (interpolation == "nearest" and round(pos) == lo):
            hi, frac = lo, 0.0
        elif interpolation == "higher" and frac > 0 or interpolation == "nearest":
            lo, frac = hi, 0.0
        elif interpolation == "midpoint":
            frac = 0.5 if hi != lo else 0.0
        a, b = srt.narrow(d, lo, 1), srt.narrow(d, hi, 1)
        val = a + (b - a) * frac if frac else a
        val = where(has_nan, float("nan"), val)
        outs.append(val if keepdim and dim is not None else val.squeeze(d) if dim is not None
                    else val.reshape(()) if not keepdim else val.reshape((1,) * input.ndim))
    return outs[0] if scalar_q else stack(outs, 0)


def _safe_norm(d, p, dim):
    """The p-norm of d over dim, with gradient 0 where the norm is 0."""
    if p == float("inf"):
        return amax(abs(d), dim=dim)
    if p == 0:
        return sum((d != 0).to(d.dtype), dim=dim)
    if p == 1:
        return sum(abs(d), dim=dim)
    s = sum(abs(d) ** p if p != 2 else d * d, dim=dim)
    pos = constant(s._data > 0)
    safe = where(pos, s, 1.0)
    return where(pos, sqrt(safe) if p == 2 else safe ** (1.0 / p), 0.0)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    return _safe_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1)


def dist(input, other, p=2):
    """The p-norm of input - other (broadcast), over all elements."""
    return _safe_norm(reshape(input - other, (-1,)), p, 0)


def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance of the rows (variables) over the columns (observations)."""
    if fweights is not None or aweights is not None:
        raise NotImplementedError("axonal does not implement torch.cov's fweights/aweights yet")
    if input.ndim > 2:
        raise ValueError(f"cov(): expected input to have two or fewer dimensions but got an "
                         f"input with {input.ndim} dimensions")
    x = reshape(input, (1, -1)) if input.ndim < 2 else input
    if not x.dtype.is_floating_point:
        x = x.to(_dt.get_default_dtype())
    n = x.shape[1]
    xc = x - x.mean(1, keepdim=True)
    c = mm(xc, xc.mT) / max(n - correction, 0)
    return c.squeeze() if input.ndim < 2 else c


def corrcoef(input):
    """Pearson correlation coefficients of the rows, clipped to [-1, 1] as PyTorch."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = sqrt(diag(c))
    return (c / d.unsqueeze(1) / d.unsqueeze(0)).clamp(-1, 1)
