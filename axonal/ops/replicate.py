"""Ops that lay copies of a tensor's elements out along dims: `repeat_interleave` and `meshgrid`.

Both are built from differentiable ops: repeat_interleave is an `index_select` with each index
repeated (its gradient sums the copies back, a scatter-add), meshgrid reshapes each 1-D input to lie
along its own dim and expands it (its gradient sums over the other dims).
"""
import warnings

import numpy as np

from .. import backend
from .._errors import ShapeError
from ..tensor import Tensor, constant
from ._util import norm_dim
from .indexing import index_select
from .shape import expand, reshape


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element `repeats` times (an int, or one count per element along `dim`), in
    place (a a b b), unlike `repeat` (a b a b). Without `dim` the input is flattened first.
    `repeat_interleave(counts)` (one int tensor) repeats 0, 1, 2, ... by the counts."""
    if repeats is None:  # torch.repeat_interleave(repeats): the indices, repeated
        counts = input._data if isinstance(input, Tensor) else np.asarray(input)
        index = np.repeat(np.arange(counts.shape[0]), backend.to_numpy(counts))
        return constant(backend.to_device(index, backend.device_of(counts)))
    x = input if dim is not None else reshape(input, -1)
    d = norm_dim(0 if dim is None else dim, x.ndim, "repeat_interleave")
    n = x.shape[d]
    # the counts decide the output's shape, so they are read on the host (an explicit copy when
    # they live on a GPU); the index is then built there and moved to x's device
    reps = backend.to_numpy(repeats._data) if isinstance(repeats, Tensor) else np.asarray(repeats)
    if reps.ndim > 1 or (reps.ndim == 1 and reps.shape[0] not in (1, n)):
        raise ShapeError(f"repeat_interleave: repeats must have the same size as input along dim "
                         f"({n}), got shape {tuple(reps.shape)}")
    if reps.dtype.kind not in "iu" or (reps < 0).any():
        raise ValueError("repeat_interleave: repeats must be non-negative integers")
    index = np.repeat(np.arange(n), reps.reshape(-1) if reps.ndim else int(reps))
    if output_size is not None and output_size != index.shape[0]:
        raise ValueError(f"repeat_interleave: output_size {output_size} does not match the "
                         f"repeated size {index.shape[0]}")
    return index_select(x, d, constant(backend.to_device(index, x.device)))


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors: with indexing="ij" output k varies along dim k; with
    "xy" (NumPy's and MATLAB's default) the first two dims are swapped. PyTorch's default is "ij",
    with a warning that asks to pass `indexing`; so here."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if t.ndim > 1:
            raise ShapeError(f"meshgrid: expected 0-D or 1-D tensors, got shape {tuple(t.shape)}")
    sizes = [t.numel() for t in tensors]
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for a, n in zip(axes, sizes):
        shape[a] = n
    out = []
    for t, a in zip(tensors, axes):
        view = [1] * len(tensors)
        view[a] = shape[a]
        out.append(expand(reshape(t, tuple(view)), tuple(shape)))
    return tuple(out)
