"""affine_grid and grid_sample (spatial transformers, Jaderberg et al. 2015), PyTorch's semantics.

affine_grid(theta (N, 2, 3), size (N, C, H, W)) gives the (N, H, W, 2) grid theta @ (x, y, 1) of
normalized coordinates in [-1, 1] (x along W); with align_corners=False the -1 and 1 are the
outer edges of the corner pixels, with True their centres. The 3-D form takes theta (N, 3, 4)
and size (N, C, D, H, W).

grid_sample(input (N, C, H, W), grid (N, Ho, Wo, 2)) reads input at each grid point:
the point is unnormalized to pixel units (align_corners as above), moved by the padding mode
(zeros: taps outside read 0; border: clamped to the edge; reflection: mirrored at the edges,
then clamped), and interpolated bilinearly from its four neighbours (or taken from the nearest
pixel, ties to even as PyTorch's nearbyint). Everything is composed of differentiable ops, so the
gradients reach both the input (through the gathers) and the grid (through the bilinear weights;
floor and round are piecewise constant). Only 4-D inputs with 'bilinear' or 'nearest' are
implemented here; 'bicubic' and 5-D inputs raise.
"""
import warnings

import numpy as np

from ..._errors import ShapeError
from ...backend import xp_of
from ...ops import clamp, floor, matmul, where
from ...tensor import constant


def _align(op, align_corners):
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                      "old behavior is desired. See the documentation of grid_sample for "
                      "details.", UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _base(n, align_corners, xp, dt):
    if n <= 1:
        return xp.zeros(max(n, 1), dtype=dt)
    if align_corners:
        return xp.linspace(-1.0, 1.0, n).astype(dt)
    return ((xp.arange(n) * 2 + 1) / n - 1).astype(dt)


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of the affine maps theta for an output of `size`."""
    op = "affine_grid"
    ac = _align(op, align_corners)
    size = tuple(int(s) for s in size)
    if theta._data.dtype.kind != "f":
        raise ValueError(f"{op}: Expected theta to have floating point type, but got "
                         f"{theta.dtype}")
    xp, dt = xp_of(theta._data), theta._data.dtype
    if len(size) == 4:
        n, _, h, w = size
        if tuple(theta.shape) != (n, 2, 3):
            raise ShapeError(f"{op}: Expected a batch of 2D affine matrices of shape Nx2x3 for "
                             f"size {list(size)}. Got {list(theta.shape)}.")
        ys, xs = xp.meshgrid(_base(h, ac, xp, dt), _base(w, ac, xp, dt), indexing="ij")
        base = xp.stack([xs, ys, xp.ones_like(xs)], -1).reshape(1, h * w, 3)
        return matmul(constant(base), theta.transpose(1, 2)).reshape(n, h, w, 2)
    if len(size) == 5:
        n, _, d, h, w = size
        if tuple(theta.shape) != (n, 3, 4):
            raise ShapeError(f"{op}: Expected a batch of 3D affine matrices of shape Nx3x4 for "
                             f"size {list(size)}. Got {list(theta.shape)}.")
        zs, ys, xs = xp.meshgrid(_base(d, ac, xp, dt), _base(h, ac, xp, dt),
                                 _base(w, ac, xp, dt), indexing="ij")
        base = xp.stack([xs, ys, zs, xp.ones_like(xs)], -1).reshape(1, d * h * w, 4)
        return matmul(constant(base), theta.transpose(1, 2)).reshape(n, d, h, w, 3)
    raise NotImplementedError(f"{op}: affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                              f"affine transforms, respectively. Got size {list(size)}.")


def _unnormalize(coord, size, align_corners):
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord, twice_low, twice_high):
    """PyTorch's reflect_coordinates: mirror coord into [twice_low / 2, twice_high / 2]."""
    if twice_low == twice_high:
        return coord * 0
    lo = twice_low / 2
    span = (twice_high - twice_low) / 2
    c = (coord - lo).abs()
    flips = floor(c / span)
    extra = c - flips * span  # fmod(c, span), c >= 0
    even = constant(xp_of(flips._data).remainder(flips._data, 2) == 0)
    return where(even, extra + lo, span - extra + lo)


def _source(coord, size, padding_mode, align_corners):
    c = _unnormalize(coord, size, align_corners)
    if padding_mode == "border":
        return clamp(c, 0, size - 1)
    if padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (size - 1)) if align_corners else _reflect(c, -1, 2 * size - 1)
        return clamp(c, 0, size - 1)
    return c


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample input (N, C, H, W) at the normalized points grid (N, Ho, Wo, 2)."""
    op = "grid_sample"
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"{op}: expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                         f"got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"{op}: expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if mode == "bicubic" or input.ndim != 4:
        raise NotImplementedError(f"{op}: axonal does not implement {mode!r} sampling of a "
                                  f"{input.ndim}-D input yet (4-D bilinear and nearest are)")
    ac = _align(op, align_corners)
    n, c, h, w = input.shape
    if grid.ndim != 4 or grid.shape[0] != n or grid.shape[-1] != 2:
        raise ShapeError(f"{op}: expected grid of shape ({n}, H_out, W_out, 2) for input "
                         f"{tuple(input.shape)}, got {tuple(grid.shape)}")
    if grid.dtype != input.dtype:
        raise ValueError(f"{op}: expected input and grid to have same dtype, but input has "
                         f"{input.dtype} and grid has {grid.dtype}")
    ho, wo = grid.shape[1:3]
    ix = _source(grid[..., 0], w, padding_mode, ac).reshape(n, 1, ho * wo)
    iy = _source(grid[..., 1], h, padding_mode, ac).reshape(n, 1, ho * wo)
    flat = input.reshape(n, c, h * w)
    xp = xp_of(input._data)

    def tap(xi, yi):
        """Values at integer pixel arrays (N, 1, P) -> (N, C, P), zero outside the input."""
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        lin = xp.where(inside, yi * w + xi, 0).astype(np.int64)
        vals = flat.gather(2, constant(xp.broadcast_to(lin, (n, c, lin.shape[-1])).copy()))
        return where(constant(inside), vals, 0.0)

    if mode == "nearest":
        xn = xp.rint(ix._data).astype(np.int64)
        yn = xp.rint(iy._data).astype(np.int64)
        out = tap(xn, yn)
        # the grid gets a zero gradient (not None), as in PyTorch
        out = where(constant(xp.zeros((1, 1, 1), dtype=bool)), ix + iy, out)
        return out.reshape(n, c, ho, wo)
    x0f, y0f = floor(ix), floor(iy)
    x0, y0 = x0f._data.astype(np.int64), y0f._data.astype(np.int64)
    wx1, wy1 = ix - x0f, iy - y0f
    wx0, wy0 = 1 - wx1, 1 - wy1
    out = (tap(x0, y0) * (wx0 * wy0) + tap(x0 + 1, y0) * (wx1 * wy0) +
           tap(x0, y0 + 1) * (wx0 * wy1) + tap(x0 + 1, y0 + 1) * (wx1 * wy1))
    return out.reshape(n, c, ho, wo)


