"""Tensor creation: from data, constant fills, ranges, identity, and random draws.

Random functions take an optional `generator=` (an `axonal.Generator`); without one they use the
default generator, so `axonal.manual_seed(s)` makes a whole program reproducible.
"""
import numpy as np

from .. import _dtype as _dt
from .. import backend
from ..random import np_generator
from ..tensor import Tensor, _infer_array, constant
from ._util import shape_arg


def _finish(arr, dtype, device, requires_grad):
    """Cast/move a freshly built NumPy array and wrap it."""
    if dtype is not None:
        arr = arr.astype(_dt.to_dtype(dtype).np, copy=False)
    if device is not None and backend.Device(device).type != "cpu":
        arr = backend.to_device(arr, backend.Device(device))
    t = constant(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float(dtype):
    d = _dt.to_dtype(dtype)
    if not d.is_floating_point:
        raise TypeError(f"expected a floating point dtype, got {d}")
    return d


def tensor(data, dtype=None, device=None, requires_grad=False):
    """Copy `data` (nested lists, scalars, arrays, tensors) into a new leaf tensor."""
    if isinstance(data, Tensor):
        data = data._data
    arr = _infer_array(data, dtype, device)
    if arr is data:
        arr = arr.copy()
    t = constant(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    """Like `tensor`, but shares memory with a NumPy/CuPy array when dtype and device allow."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return constant(_infer_array(data, dtype, device))


def from_numpy(arr):
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(arr).__name__}")
    _dt.from_numpy_dtype(arr.dtype)
    return constant(arr)


def _fill(shape, value, dtype, device, requires_grad, default):
    dt = _dt.to_dtype(dtype) if dtype is not None else default
    return _finish(np.full(shape_arg(shape), value, dtype=dt.np), None, device, requires_grad)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return _fill(shape, 0, dtype, device, requires_grad, _dt.get_default_dtype())


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return _fill(shape, 1, dtype, device, requires_grad, _dt.get_default_dtype())


def empty(*shape, dtype=None, device=None, requires_grad=False):
    return zeros(*shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = (_dt.bool_ if isinstance(fill_value, bool) else
                 _dt.int64 if isinstance(fill_value, int) else _dt.get_default_dtype())
    return _fill((size,) if isinstance(size, int) else (tuple(size),), fill_value, dtype, device,
                 requires_grad, None)


def _like(x, dtype, device):
    return (dtype if dtype is not None else x.dtype), (device if device is not None else x.device)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    dt, dev = _like(x, dtype, device)
    return zeros(*x.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    dt, dev = _like(x, dtype, device)
    return ones(*x.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    return zeros_like(x, dtype, device, requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    dt, dev = _like(x, dtype, device)
    return full(tuple(x.shape), fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = _dt.int64 if is_int else _dt.get_default_dtype()
    return _finish(np.arange(start, end, step, dtype=np.float64 if _dt.to_dtype(dtype)
                             .is_floating_point else np.int64), dtype, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    if steps < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    return _finish(np.linspace(start, end, steps), _float(dtype), device, requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    return _finish(np.logspace(start, end, steps, base=base), _float(dtype), device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    dt = _dt.to_dtype(dtype)
    return _finish(np.eye(n, n if m is None else m, dtype=dt.np), None, device, requires_grad)


# -- random ----------------------------------------------------------------------------------------
def rand(*shape, generator=None, dtype=None, device=None, requires_grad=False):
    arr = np_generator(generator).random(shape_arg(shape), dtype=np.float64)
    return _finish(arr, _float(dtype), device, requires_grad)


def randn(*shape, generator=None, dtype=None, device=None, requires_grad=False):
    arr = np_generator(generator).standard_normal(shape_arg(shape))
    return _finish(arr, _float(dtype), device, requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None):
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size), as in PyTorch
        high, size = None, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: size is required, e.g. randint(0, 10, (3,))")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    arr = np_generator(generator).integers(low, high, size=tuple(size), dtype=np.int64)
    return _finish(arr, dtype if dtype is not None else _dt.int64, device, False)


def randperm(n, generator=None, dtype=None, device=None):
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    arr = np_generator(generator).permutation(n).astype(np.int64)
    return _finish(arr, dtype if dtype is not None else _dt.int64, device, False)


def normal(mean=0.0, std=1.0, size=None, generator=None, dtype=None, device=None):
    """Normal draws; `mean`/`std` may be tensors (broadcast) or numbers (then `size` is needed)."""
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if size is None:
        size = np.broadcast_shapes(np.shape(m), np.shape(s))
    if np.any(np.asarray(backend.to_numpy(s)) < 0):
        raise ValueError("normal: std must be non-negative")
    arr = np_generator(generator).normal(backend.to_numpy(m), backend.to_numpy(s), tuple(size))
    ref = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    if dtype is None and ref is not None:
        dtype = ref.dtype
    return _finish(arr, _float(dtype), device if device is not None else
                   (ref.device if ref is not None else None), False)


def rand_like(x, generator=None, dtype=None):
    return rand(*x.shape, generator=generator, dtype=dtype or x.dtype, device=x.device)


def randn_like(x, generator=None, dtype=None):
    return randn(*x.shape, generator=generator, dtype=dtype or x.dtype, device=x.device)


def randint_like(x, low, high=None, generator=None, dtype=None):
    return randint(low, high, tuple(x.shape), generator=generator, dtype=dtype or x.dtype,
                   device=x.device)


def bernoulli(p, generator=None):
    """Draw 0/1 with probabilities `p` (a tensor); the result has p's dtype."""
    draws = np_generator(generator).random(tuple(p.shape))
    out = (draws < backend.to_numpy(p._data)).astype(p._data.dtype)
    return _finish(out, None, p.device, False)


def multinomial(probs, num_samples, replacement=False, generator=None):
    """Sample category indices from (unnormalized) probabilities along the last dim."""
    p = backend.to_numpy(probs._data).astype(np.float64)
    if (p < 0).any():
        raise ValueError("multinomial: probabilities must be non-negative")
    rows = p.reshape(-1, p.shape[-1])
    rng = np_generator(generator)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        total = row.sum()
        if total <= 0:
            raise ValueError("multinomial: a row of probabilities sums to zero")
        if not replacement and num_samples > (row > 0).sum():
            raise ValueError("multinomial: cannot draw more samples than non-zero categories "
                             "without replacement")
        out[i] = rng.choice(row.size, size=num_samples, replace=replacement, p=row / total)
    return _finish(out.reshape(p.shape[:-1] + (num_samples,)), None, probs.device, False)
