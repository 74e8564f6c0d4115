"""`make_grid` and `save_image`: torchvision.utils' image grids (no gradient is recorded)."""
import math

import numpy as np
from PIL import Image

from .. import backend
from ..utils.data import _bridge


def _array(tensor):
    if isinstance(tensor, (list, tuple)):
        return np.stack([_array(t) for t in tensor])
    if not _bridge.is_tensor(tensor):
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    return backend.to_numpy(tensor._data)


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):
    """Images (B, C, H, W) (or a list of (C, H, W)) tiled `nrow` to a row with `padding` pixels of
    `pad_value` between them; one channel is repeated to three. `normalize` maps `value_range`
    (default: the min and max, per image with `scale_each`) to [0, 1]."""
    a = _array(tensor)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        if a.shape[0] == 1:
            a = np.concatenate([a] * 3, 0)
        a = a[None]
    if a.ndim == 4 and a.shape[1] == 1:
        a = np.concatenate([a] * 3, 1)
    if normalize:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max "
                            "are numbers")
        a = a.copy()

        def norm(t):
            low, high = value_range if value_range is not None else (float(t.min()),
                                                                     float(t.max()))
            np.clip(t, low, high, out=t)
            t -= t.dtype.type(low)
            t /= t.dtype.type(max(high - low, 1e-5))

        for t in (a if scale_each else [a]):
            norm(t)
    if a.shape[0] == 1:
        return _bridge.wrap(np.ascontiguousarray(a[0]))
    nmaps = a.shape[0]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = a.shape[2] + padding, a.shape[3] + padding
    grid = np.full((a.shape[1], height * ymaps + padding, width * xmaps + padding), pad_value,
                   dtype=a.dtype)
    for k in range(nmaps):
        y, x = divmod(k, xmaps)
        grid[:, y * height + padding:(y + 1) * height, x * width + padding:(x + 1) * width] = a[k]
    return _bridge.wrap(grid)


def save_image(tensor, fp, format=None, **kwargs):
    """`make_grid(tensor, **kwargs)` written as an 8-bit image (PNG unless `format`/suffix says)."""
    grid = make_grid(tensor, **kwargs)._data
    nd = np.clip(grid * grid.dtype.type(255) + grid.dtype.type(0.5), 0, 255)
    Image.fromarray(nd.transpose(1, 2, 0).astype(np.uint8)).save(fp, format=format)
