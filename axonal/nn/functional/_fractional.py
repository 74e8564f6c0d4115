"""fractional_max_pool2d / 3d (Graham 2014): max pooling with pseudo-random window starts that
reduce each spatial size by a non-integer ratio.

For each (sample, channel) plane, one random number u in [0, 1) per spatial dim (PyTorch's
`_random_samples`, shape (N, C, 2) or (N, C, 3): for 2-D the first is for the width, the second
for the height; for 3-D the order is depth, height, width) sets the window starts

    alpha = (in - k) / (out - 1),  start_i = int((i + u) alpha) - int(u alpha)  (i < out - 1),
    start_{out-1} = in - k

computed in the input's dtype as PyTorch does. Each output is the maximum of its k-window (the
first one in scan order), gathered so that the gradient goes to that element; the indices are
flat positions in the input plane (volume).
"""
import itertools

import numpy as np

from ..._errors import ShapeError
from ...backend import to_numpy, xp_of
from ...ops.conv import ntuple
from ...random import np_generator
from ...tensor import Tensor, constant


def _starts(u, size, out, k, dt):
    """(P, out) window starts for samples u (P,)."""
    p = u.shape[0]
    seq = np.empty((p, out), dtype=np.int64)
    if out > 1:
        alpha = dt.type(size - k) / dt.type(out - 1)
        i = np.arange(out - 1, dtype=dt)[None, :]
        seq[:, :-1] = ((i + u[:, None]) * alpha).astype(np.int64) - \
            (u[:, None] * alpha).astype(np.int64)[:, :1]
    seq[:, -1] = size - k
    return seq


def _fractional(op, n, input, kernel_size, output_size, output_ratio, return_indices, samples):
    if not isinstance(input, Tensor) or input.ndim not in (n + 1, n + 2):
        raise ShapeError(f"{op}: expected a {n + 1}D or {n + 2}D input, got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    spatial = tuple(input.shape[-n:])
    k = ntuple(kernel_size, n, "kernel_size", op, 1)
    if output_size is None:
        ratio = (output_ratio,) * n if isinstance(output_ratio, (int, float)) \
            else tuple(output_ratio)
        out = tuple(int(spatial[i] * ratio[i]) for i in range(n))
    else:
        out = ntuple(output_size, n, "output_size", op, 1)
    for i in range(n):
        if out[i] + k[i] - 1 > spatial[i]:
            raise ShapeError(f"{op}: out + pool_size - 1 ({out[i]} + {k[i]} - 1) is more than "
                             f"the input size {spatial[i]} in dim {i}")
    batched = input.ndim == n + 2
    x = input if batched else input.unsqueeze(0)
    nb, c = x.shape[:2]
    dt = x._data.dtype
    if samples is None:
        u = np_generator().random((nb, c, n)).astype(dt)
    else:
        u = samples._data if isinstance(samples, Tensor) else samples
        u = to_numpy(u).astype(dt)  # (window starts are index arithmetic, on the host)
        if u.shape != (nb, c, n):
            raise ShapeError(f"{op}: _random_samples must have shape ({nb}, {c}, {n}), got "
                             f"{u.shape}")
    u = u.reshape(nb * c, n)
    dims = [0, 1] if n == 2 else [0, 1, 2]
    order = [1, 0] if n == 2 else [0, 1, 2]  # which sample drives which spatial dim
    starts = [_starts(u[:, order[d]], spatial[d], out[d], k[d], dt) for d in dims]
    strides = [int(np.prod(spatial[d + 1:])) for d in dims]
    # flat index of every window element: (P, *out, prod(k))
    base = 0
    for d in dims:
        shape = [u.shape[0]] + [1] * n
        shape[1 + d] = out[d]
        base = base + starts[d].reshape(shape) * strides[d]
    offsets = np.array([sum(o[d] * strides[d] for d in dims)
                        for o in itertools.product(*(range(kk) for kk in k))])
    window = base[..., None] + offsets                       # (P, *out, K)
    xp = xp_of(x._data)
    flat = x.reshape(nb * c, -1)
    vals = xp.take_along_axis(flat._data, xp.asarray(window.reshape(nb * c, -1)), axis=1)
    vals = vals.reshape(window.shape)
    best = xp.asarray(window).reshape(window.shape)
    arg = vals.argmax(axis=-1)
    idx = xp.take_along_axis(best, arg[..., None], axis=-1)[..., 0]   # (P, *out)
    y = flat.gather(1, constant(idx.reshape(nb * c, -1))).reshape((nb, c) + out)
    idx = idx.reshape((nb, c) + out).astype(np.int64)
    if not batched:
        y, idx = y.squeeze(0), idx[0]
    return (y, constant(idx)) if return_indices else y


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    return _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    return _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)
