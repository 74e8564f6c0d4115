"""F.pad with all of PyTorch's modes: constant (negative widths crop), reflect, replicate, circular.

`pad` lists (before, after) pairs from the LAST dim backwards: (left, right, top, bottom, front,
back). The border modes build, for each padded dim, the source index of every output position and
gather it (a differentiable index: the gradient of a border pixel is the sum over its copies):

    reflect    ... 2 1 | 0 1 2 3 | 2 1 ...   (the edge is not repeated; width < size)
    replicate  ... 0 0 | 0 1 2 3 | 3 3 ...
    circular   ... 2 3 | 0 1 2 3 | 0 1 ...   (width <= size)

As in PyTorch the border modes pad the last 1, 2 or 3 dims of a batched or unbatched input
(len(pad) == 2k needs a (k + 1)- or (k + 2)-D input).
"""
import numpy as np

from ..._errors import ShapeError
from ...backend import xp_of
from ...ops.indexing import getitem
from ...ops.shape import pad as _constant_pad

_MODES = ("constant", "reflect", "replicate", "circular")


def border_index(size, before, after, mode):
    """Source index of each padded position along one dim for reflect / replicate / circular."""
    i = np.arange(-before, size + after)
    if mode == "reflect":
        period = 2 * (size - 1)
        i = np.abs(i) % period if period else np.zeros_like(i)
        return np.where(i >= size, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, size - 1)
    return i % size  # circular


def pad_border(x, pads, mode, who):
    """Reflect / replicate / circular padding of the trailing dims; `who` prefixes errors."""
    y = x
    for k in range(len(pads) // 2):
        dim = x.ndim - 1 - k
        before, after = pads[2 * k], pads[2 * k + 1]
        if before == after == 0:
            continue
        if min(before, after) < 0:
            raise ValueError(f"{who}: negative padding ({before}, {after}) is only supported "
                             f"in 'constant' mode, got mode {mode!r}")
        size = x.shape[dim]
        limit = size - 1 if mode == "reflect" else size
        if mode == "replicate":
            limit = None if size else 0
        if limit is not None and max(before, after) > limit:
            raise ShapeError(f"{who}: {mode} padding ({before}, {after}) must be "
                             f"{'less than' if mode == 'reflect' else 'at most'} the size of "
                             f"dim {dim} of input {tuple(x.shape)}")
        idx = xp_of(x._data).asarray(border_index(size, before, after, mode))  # on x's device
        y = getitem(y, (slice(None),) * dim + (idx,))
    return y


def _crop_then_pad(input, pads, value):
    """Constant padding where negative widths remove elements from that side."""
    key = [slice(None)] * input.ndim
    grow = []
    for k in range(len(pads) // 2):
        dim = input.ndim - 1 - k
        before, after = pads[2 * k], pads[2 * k + 1]
        size = input.shape[dim]
        start, stop = max(-before, 0), size - max(-after, 0)
        if stop - start + max(before, 0) + max(after, 0) < 0:
            raise ShapeError(f"pad: padding {tuple(pads)} gives a negative size in dim {dim} "
                             f"of input {tuple(input.shape)}")
        key[dim] = slice(start, max(stop, start))
        grow += [max(before, 0), max(after, 0)]
    x = getitem(input, tuple(key)) if any(p < 0 for p in pads) else input
    return _constant_pad(x, grow, "constant", value)


def pad(input, pad, mode="constant", value=None):
    """PyTorch's `F.pad(input, pad, mode='constant', value=None)`."""
    if mode not in _MODES:
        raise NotImplementedError(f"pad: mode {mode!r} is not one of {_MODES}")
    pads = [int(p) for p in pad]
    if len(pads) % 2:
        raise ValueError(f"pad: padding length must be divisible by 2, got {tuple(pad)}")
    if len(pads) // 2 > input.ndim:
        raise ValueError(f"pad: padding length {len(pads)} is too large for a "
                         f"{input.ndim}-D input (at most {2 * input.ndim})")
    if mode == "constant":
        return _crop_then_pad(input, pads, 0.0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument")
    k = len(pads) // 2
    if k > 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now; "
            f"{mode} padding of length {len(pads)} needs a {k + 1}D or {k + 2}D input, got "
            f"{tuple(input.shape)}")
    return pad_border(input, pads, mode, f"pad({mode})")
