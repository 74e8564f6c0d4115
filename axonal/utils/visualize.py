"""Looking inside a CNN: first-layer filters and feature maps as PNG grids (Zeiler & Fergus 2013).

Layer 5. Pure NumPy (a PNG is zlib-compressed rows plus three CRC'd chunks), so nothing beyond NumPy
is needed and the pictures are pixel-exact: every tile is `scale` x `scale` screen pixels per weight
or activation, tiles separated by `padding` pixels.

    from axonal.utils.visualize import save_filters, save_feature_maps
    save_filters(model.conv1, "filters.png")              # one tile per output channel
    save_feature_maps(model, image, "maps", layers=["conv1", "layer1"])   # maps_conv1.png, ...

What the pictures showed historically: ZFNet's visualizations of AlexNet found dead and aliased
first-layer filters (too large a stride and kernel), and led to 7x7/2 instead of 11x11/4. Trained
first-layer filters look like oriented edge and blob detectors (Gabor-like); untrained ones look
like noise, so the picture is a quick health check. Feature maps show where each filter fires:
early ones follow edges of the input, deeper ones are coarser and more abstract.
"""
import os
import struct
import zlib

import numpy as np

from .._config import no_grad
from ..backend import to_numpy
from .data import _bridge

__all__ = ["feature_maps", "make_grid", "png_size", "save_feature_maps", "save_filters",
           "to_uint8", "write_png"]


def _numpy(x):
    return to_numpy(x._data if _bridge.is_tensor(x) else x)


def write_png(path, image):
    """Write `image` as a PNG: uint8 (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA (floats are taken
    as [0, 1] and scaled). Returns the path."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = (np.clip(img.astype(np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if img.ndim == 2:
        color = 0
    elif img.ndim == 3 and img.shape[2] in (3, 4):
        color = 2 if img.shape[2] == 3 else 6
    else:
        raise ValueError(f"write_png: expected (H, W), (H, W, 3) or (H, W, 4), got {img.shape}")
    h, w = img.shape[:2]
    if h == 0 or w == 0:
        raise ValueError(f"write_png: empty image of shape {img.shape}")
    rows = img.reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()  # filter 0 per row

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
           + chunk(b"IEND", b""))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(png)
    return path


def png_size(path):
    """(width, height) from a PNG's header; ValueError if the file is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG file")
    return struct.unpack(">II", head[16:24])


def _normalize(tiles, mode):
    """Map values to [0, 1]: per tile ('each'), over all tiles ('all'), 'signed' (0 -> 0.5,
    symmetric, per tile: a filter's sign matters), or None (values are already in [0, 1])."""
    t = tiles.astype(np.float64)
    if mode is None:
        return np.clip(t, 0.0, 1.0)
    axes = tuple(range(1, t.ndim)) if mode in ("each", "signed") else None
    if mode == "signed":
        m = np.abs(t).max(axis=axes, keepdims=True)
        return 0.5 + 0.5 * t / np.where(m > 0, m, 1.0)
    if mode not in ("each", "all"):
        raise ValueError(f"normalize must be 'each', 'all', 'signed' or None, got {mode!r}")
    lo, hi = t.min(axis=axes, keepdims=True), t.max(axis=axes, keepdims=True)
    return (t - lo) / np.where(hi > lo, hi - lo, 1.0)


def make_grid(images, nrow=None, padding=1, normalize="each", scale=1, pad_value=1.0):
    """Tile `images` (N, C, h, w), C = 1 (grey) or 3 (RGB), into one picture in [0, 1]: (H, W) or
    (H, W, 3). `nrow` tiles per row (default: about square), each pixel repeated `scale` times in
    both directions (nearest neighbour), `padding` pixels of `pad_value` between and around tiles.

    Size: H = rows * (h * scale + padding) + padding, W = nrow * (w * scale + padding) + padding."""
    x = _numpy(images)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3) or x.shape[0] == 0:
        raise ValueError(f"make_grid: expected (N, 1 or 3, h, w) with N > 0, got {x.shape}")
    n, c, h, w = x.shape
    scale, padding = int(scale), int(padding)
    if scale < 1 or padding < 0:
        raise ValueError(f"make_grid: need scale >= 1 and padding >= 0, got {scale}, {padding}")
    x = _normalize(x, normalize)
    if scale > 1:
        x = x.repeat(scale, axis=2).repeat(scale, axis=3)
    nrow = int(nrow) if nrow else int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / nrow))
    th, tw = h * scale + padding, w * scale + padding
    grid = np.full((c, rows * th + padding, nrow * tw + padding), float(pad_value))
    for k in range(n):
        r, q = divmod(k, nrow)
        grid[:, padding + r * th: padding + r * th + h * scale,
             padding + q * tw: padding + q * tw + w * scale] = x[k]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def to_uint8(grid, cmap="gray"):
    """[0, 1] grid -> uint8 image; cmap 'gray', or 'bwr' (blue 0 - white 0.5 - red 1: signed values
    normalized with 'signed', so negative weights are blue and positive ones red)."""
    g = np.clip(np.asarray(grid, dtype=np.float64), 0.0, 1.0)
    if cmap == "gray" or g.ndim == 3:
        return (g * 255 + 0.5).astype(np.uint8)
    if cmap != "bwr":
        raise ValueError(f"to_uint8: cmap must be 'gray' or 'bwr', got {cmap!r}")
    r = np.clip(2 * g, 0, 1)
    b = np.clip(2 - 2 * g, 0, 1)
    gg = 1 - np.abs(2 * g - 1)
    return (np.stack([r, gg, b], axis=-1) * 255 + 0.5).astype(np.uint8)


def _conv_weight(layer):
    w = getattr(layer, "weight", layer)
    w = _numpy(w)
    if w.ndim != 4:
        raise ValueError(f"save_filters: expected a conv weight (out, in, kh, kw) or a layer that "
                         f"has one, got shape {w.shape}")
    return w


def save_filters(layer, path, scale=8, padding=2, nrow=None, cmap=None):
    """Save the filters of a conv layer (or its weight (out, in, kh, kw)) as a PNG grid.

    3 input channels: one RGB tile per filter (AlexNet's picture). Otherwise one grey tile per
    (filter, input channel), a row per filter when there are several inputs. Default colours: 'bwr'
    for single-channel filters (the sign of a weight is what matters), per-tile contrast for RGB.
    Returns (path, (width, height))."""
    w = _conv_weight(layer)
    out_c, in_c = w.shape[:2]
    if in_c == 3:
        grid = make_grid(w, nrow=nrow, padding=padding, normalize="each", scale=scale)
        img = to_uint8(grid)
    else:
        tiles = w.reshape(out_c * in_c, 1, *w.shape[2:])
        grid = make_grid(tiles, nrow=nrow or (in_c if in_c > 1 else None), padding=padding,
                         normalize="signed", scale=scale, pad_value=np.nan)
        gap = np.isnan(grid)  # separators drawn dark grey: white is a zero weight in 'bwr'
        img = to_uint8(np.where(gap, 0.5, grid), cmap or "bwr")
        img[gap] = 64
    write_png(path, img)
    return path, (img.shape[1], img.shape[0])


def _resolve(model, layers):
    named = dict(model.named_modules())
    if layers is None:  # every conv layer (anything with a 4-D weight)
        chosen = [n for n, m in named.items()
                  if n and getattr(getattr(m, "weight", None), "ndim", 0) == 4]
        if not chosen:
            raise ValueError(f"feature_maps: {type(model).__name__} has no conv layers; pass "
                             "layers=")
        return chosen
    missing = [n for n in layers if n not in named]
    if missing:
        raise ValueError(f"feature_maps: no submodule named {missing} (have: "
                         f"{', '.join(n for n in named if n)})")
    return list(layers)


def feature_maps(model, image, layers=None):
    """Run `model` on one image (C, H, W) (or a batch of one) in eval mode without gradients and
    return {layer name: its output for that image as a NumPy array (C', h, w)}, in the order given.
    `layers`: submodule names as in `named_modules()` (default: every conv layer)."""
    names = _resolve(model, layers)
    x = image if _bridge.is_tensor(image) else _bridge.wrap(np.asarray(image, dtype=np.float32))
    if x.ndim == 3:
        x = x.reshape(1, *x.shape)
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"feature_maps: expected one image (C, H, W) or (1, C, H, W), got "
                         f"{tuple(x.shape)}")
    named = dict(model.named_modules())
    found, handles = {}, []
    for n in names:
        def hook(module, args, out, n=n):
            if n not in found and _bridge.is_tensor(out):  # first call only (shared modules)
                found[n] = _numpy(out)[0]
        handles.append(named[n].register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return {n: found[n] for n in names if n in found}


def save_feature_maps(model, image, prefix, layers=None, max_channels=64, scale=4, padding=2):
    """Save the feature maps of one image, one PNG per layer: `{prefix}_{layer}.png` (dots in layer
    names become '-'), plus `{prefix}_input.png`. Each channel is a grey tile with its own contrast;
    at most `max_channels` channels per layer. Returns the list of paths written."""
    paths = []
    img = _numpy(image)
    img = img[0] if img.ndim == 4 else img
    if img.shape[0] in (1, 3):
        p = f"{prefix}_input.png"
        write_png(p, to_uint8(make_grid(img[None], nrow=1, padding=padding, scale=scale)))
        paths.append(p)
    for name, fmap in feature_maps(model, image, layers).items():
        if fmap.ndim != 3:
            continue  # a flattened or linear output has no spatial map to draw
        tiles = fmap[:max_channels, None]
        p = f"{prefix}_{name.replace('.', '-')}.png"
        write_png(p, to_uint8(make_grid(tiles, padding=padding, normalize="each", scale=scale)))
        paths.append(p)
    return paths
