"""Counting, binning and integer functions of PyTorch's namespace, none differentiable: bincount,
histc, searchsorted, bucketize, isin, gcd, lcm, bitwise shifts. Results are graph-free tensors
computed on the input's device (NumPy or CuPy)."""
import numpy as np

from .. import _dtype as _dt
from ..backend import xp_of
from ..tensor import Tensor, constant
from ._util import data

__all__ = [
    "bincount",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "bucketize",
    "gcd",
    "histc",
    "isin",
    "lcm",
    "searchsorted",
    "unique_consecutive",
    "unravel_index",
]


def bincount(input, weights=None, minlength=0):
    """Counts of each non-negative integer of a 1-D tensor (sums of `weights` when given)."""
    if input.ndim != 1 or input.dtype.is_floating_point:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    a = input._data
    xp = xp_of(a)
    if a.size and int(a.min()) < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    w = None if weights is None else weights._data
    out = xp.bincount(a, weights=w, minlength=minlength)
    if w is not None:  # PyTorch: float weights keep their dtype, integer weights give float64
        out = out.astype(w.dtype if w.dtype.kind == "f" else np.float64)
    return constant(out.astype(np.int64, copy=False) if w is None else out)


def histc(input, bins=100, min=0, max=0):
    """A histogram of `bins` equal bins over [min, max] (the data's range when both are 0);
    elements outside are ignored, the last bin includes max."""
    a = input._data
    xp = xp_of(a)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    counts, _ = xp.histogram(a.ravel(), bins=bins, range=(lo, hi))
    return constant(counts.astype(a.dtype))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Indices where `input` would be inserted into the last dim of `sorted_sequence` (1-D, or
    with the same leading dims as input), keeping it sorted."""
    right = right or side == "right"
    seq = sorted_sequence._data
    xp = xp_of(seq)
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    scalar = not isinstance(input, Tensor)
    vals = xp.asarray(input, dtype=seq.dtype) if scalar else input._data
    how = "right" if right else "left"
    if seq.ndim == 1:
        out = xp.searchsorted(seq, vals, side=how)
    else:
        if tuple(seq.shape[:-1]) != tuple(vals.shape[:-1]):
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                               f"the first N-1 dimensions of boundaries tensor and input value "
                               f"tensor must match, but we got boundaries tensor "
                               f"{list(seq.shape)} and input value tensor {list(vals.shape)}")
        flat_s = seq.reshape(-1, seq.shape[-1])
        flat_v = vals.reshape(-1, vals.shape[-1])
        out = xp.stack([xp.searchsorted(s, v, side=how) for s, v in zip(flat_s, flat_v)])
        out = out.reshape(vals.shape)
    return constant(xp.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each element among the 1-D `boundaries` (searchsorted with the roles
    swapped)."""
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    a = data(elements)
    b = data(test_elements)
    xp = xp_of(a if isinstance(elements, Tensor) else b)
    out = xp.isin(xp.asarray(a), xp.asarray(b), invert=invert)
    return constant(xp.asarray(out))


def _int_pair(name, a, b, fn):
    x, y = data(a), data(b)
    for v in (x, y):
        if getattr(v, "dtype", np.dtype(int)).kind not in "iub":
            raise RuntimeError(f'"{name}_cpu" not implemented for \'Float\'')
    xp = xp_of(x if isinstance(a, Tensor) else y)
    out = fn(xp, xp.asarray(x), xp.asarray(y))
    return constant(out.astype(_dt.to_dtype(a.dtype if isinstance(a, Tensor) else b.dtype).np,
                               copy=False))


def gcd(input, other):
    return _int_pair("gcd", input, other, lambda xp, x, y: xp.gcd(x, y))


def lcm(input, other):
    return _int_pair("lcm", input, other, lambda xp, x, y: xp.lcm(x, y))


# the shifts are arith's (they refuse bool and float operands as PyTorch does)
from .arith import bitwise_left_shift, bitwise_right_shift  # noqa: E402


def unravel_index(indices, shape):
    """The coordinates of flat `indices` in an array of `shape`, one int64 tensor per dim."""
    a = data(indices)
    xp = xp_of(a) if isinstance(indices, Tensor) else np
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return tuple(constant(xp.asarray(c, dtype=np.int64)) for c in
                 xp.unravel_index(xp.asarray(a), shape))


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """The input with runs of equal consecutive elements collapsed (flattened when dim is None),
    with the run index of each element and the run lengths when asked."""
    if dim is not None:
        raise NotImplementedError("axonal does not implement torch.unique_consecutive's dim yet")
    a = input._data.ravel()
    xp = xp_of(a)
    start = xp.ones(a.shape, dtype=bool)
    if a.size:
        start[1:] = a[1:] != a[:-1]
    out = [constant(a[start])]
    run = xp.cumsum(start) - 1
    if return_inverse:
        out.append(constant(run.reshape(input._data.shape).astype(np.int64)))
    if return_counts:
        out.append(constant(xp.bincount(run, minlength=int(start.sum())).astype(np.int64)
                            if a.size else xp.zeros(0, np.int64)))
    return out[0] if len(out) == 1 else tuple(out)
