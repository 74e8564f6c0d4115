"""Geometric transforms: resize, crop, pad, flips, rotation (PIL and Tensor paths)."""
import numbers

import numpy as np
from PIL import Image

from ... import backend
from ...utils.data import _bridge
from ._base import _MAX, _PIL_MODE, InterpolationMode, _arr, _is_pil, _like, _mode, get_dimensions


# -- geometry ----------------------------------------------------------------------------------
def _output_size(h, w, size, max_size):
    if isinstance(size, numbers.Number):
        size = [int(size)]
    size = list(size)
    if len(size) == 2:
        return size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size[0], int(size[0] * long / short)
    if max_size is not None:
        if max_size <= size[0]:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested "
                             f"size for the smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return [new_long, new_short] if w <= h else [new_short, new_long]


def _per_channel(a, fn):
    """Run `fn` (PIL Image -> PIL Image) on every 2-D plane of (..., H, W) through Pillow, in
    float32 (mode "F"); integer images are rounded back (half to even) and clipped to their
    range, as torchvision's float round trip (`_cast_squeeze_out`) does."""
    a = backend.to_numpy(a)
    planes = a.astype(np.float32).reshape(-1, *a.shape[-2:])
    out = [np.asarray(fn(Image.fromarray(np.ascontiguousarray(p), "F"))) for p in planes]
    out = np.stack(out).reshape(*a.shape[:-2], *out[0].shape)
    if a.dtype.kind in "iu":
        info = np.iinfo(a.dtype)
        out = np.clip(np.round(out), info.min, info.max)
    return out.astype(a.dtype)


def _linear_indices(n_in, n_out):
    """PyTorch's bilinear source positions (align_corners=False): lower index and weight."""
    x = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0)
    lo = np.minimum(np.floor(x).astype(np.int64), n_in - 1)
    return lo, np.minimum(lo + 1, n_in - 1), (x - lo).astype(np.float32)


def _cubic_axis(x, n_in, n_out, axis):
    """PyTorch's bicubic (a = -0.75, align_corners=False) along one axis: source position
    (i + 0.5) * in / out - 0.5, four taps, indices clamped at the border."""
    half = np.float32(0.5)  # in float32, as PyTorch computes it
    pos = np.float32(n_in / n_out) * (np.arange(n_out, dtype=np.float32) + half) - half
    base = np.floor(pos).astype(np.int64)
    t = pos - base.astype(np.float32)
    A = np.float32(-0.75)

    def near(d):  # |d| <= 1
        return ((A + 2) * d - (A + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A

    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    out = 0
    for k, wk in enumerate(weights):
        idx = np.clip(base - 1 + k, 0, n_in - 1)
        shape = [1] * x.ndim
        shape[axis] = n_out
        out = out + np.take(x, idx, axis=axis) * wk.reshape(shape)
    return out


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    mode = _mode(interpolation)
    c, h, w = get_dimensions(img)
    oh, ow = _output_size(h, w, size, max_size)
    if [h, w] == [oh, ow]:
        return img
    if _is_pil(img):
        return img.resize((ow, oh), _PIL_MODE[mode])
    a = _arr(img, "resize")
    if mode == InterpolationMode.NEAREST:  # PyTorch's rule: floor(dst * in / out)
        rows = np.minimum(np.floor(np.arange(oh) * (h / oh)).astype(np.int64), h - 1)
        cols = np.minimum(np.floor(np.arange(ow) * (w / ow)).astype(np.int64), w - 1)
        return _like(img, backend.to_numpy(a)[..., rows[:, None], cols])
    if mode == InterpolationMode.BILINEAR and not antialias:
        x = backend.to_numpy(a).astype(np.float32)
        r0, r1, wr = _linear_indices(h, oh)
        c0, c1, wc = _linear_indices(w, ow)
        x = x[..., r0, :] * (1 - wr)[:, None] + x[..., r1, :] * wr[:, None]
        x = x[..., c0] * (1 - wc) + x[..., c1] * wc
        if a.dtype.kind != "f":
            x = np.clip(np.round(x), 0, _MAX.get(a.dtype.name, 255))
        return _like(img, x.astype(a.dtype))
    if mode not in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
        raise ValueError(f"resize: {mode} is not supported for tensors (use a PIL Image)")
    if mode == InterpolationMode.BICUBIC and not antialias:
        x = backend.to_numpy(a).astype(np.float32)
        x = _cubic_axis(_cubic_axis(x, w, ow, -1), h, oh, -2)  # rows first, as PyTorch
        if a.dtype.kind != "f":
            x = np.clip(np.round(x), 0, _MAX.get(a.dtype.name, 255))
        return _like(img, x.astype(a.dtype))
    if a.dtype.kind not in "fu" or (a.dtype.kind == "u" and a.dtype != np.uint8):
        raise TypeError(f"resize: tensor dtype {a.dtype} is not supported")
    return _like(img, _per_channel(a, lambda p: p.resize((ow, oh), _PIL_MODE[mode])))


def crop(img, top, left, height, width):
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    a = _arr(img, "crop")
    h, w = a.shape[-2:]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:  # outside: zero padding, as torchvision
        pads = [max(-left, 0), max(-top, 0), max(right - w, 0), max(bottom - h, 0)]
        sub = a[..., max(top, 0):min(bottom, h), max(left, 0):min(right, w)]
        return pad(_bridge.wrap(sub), pads, fill=0)
    return _bridge.wrap(a[..., top:bottom, left:right])


def center_crop(img, output_size):
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    _, h, w = get_dimensions(img)
    ch, cw = output_size
    if cw > w or ch > h:
        pads = [(cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0,
                (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0]
        img = pad(img, pads, fill=0)
        _, h, w = get_dimensions(img)
        if cw == w and ch == h:
            return img
    return crop(img, int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0)), ch, cw)


def resized_crop(img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR,
                 antialias=True):
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def _padding(padding):
    if isinstance(padding, numbers.Number):
        return [int(padding)] * 4
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return [padding[0], padding[1], padding[0], padding[1]]
    if len(padding) == 4:
        return padding
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a "
                     f"{len(padding)} element tuple")


def pad(img, padding, fill=0, padding_mode="constant"):
    """padding: int (all sides), (left/right, top/bottom) or (left, top, right, bottom)."""
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    left, top, right, bottom = _padding(padding)
    np_mode = {"constant": "constant", "edge": "edge", "reflect": "reflect",
               "symmetric": "symmetric"}[padding_mode]
    if _is_pil(img):
        a = np.asarray(img)
        spec = [(top, bottom), (left, right)] + [(0, 0)] * (a.ndim - 2)
        if padding_mode == "constant":
            fills = _pil_fill(fill, img)
            if a.ndim == 3 and isinstance(fills, tuple):
                out = np.stack([np.pad(a[..., k], spec[:2], constant_values=fills[k])
                                for k in range(a.shape[2])], -1)
            else:
                out = np.pad(a, spec, constant_values=fills)
        else:
            out = np.pad(a, spec, mode=np_mode)
        res = Image.fromarray(out, mode=img.mode)
        if img.mode == "P":
            res.putpalette(img.getpalette())
        return res
    a = backend.to_numpy(_arr(img, "pad"))
    spec = [(0, 0)] * (a.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode == "constant":
        out = np.pad(a, spec, constant_values=fill)
    else:
        out = np.pad(a, spec, mode=np_mode)
    return _like(img, out)


def hflip(img):
    if _is_pil(img):
        return img.transpose(Image.FLIP_LEFT_RIGHT)
    return _bridge.wrap(_arr(img, "hflip")[..., ::-1].copy())


def vflip(img):
    if _is_pil(img):
        return img.transpose(Image.FLIP_TOP_BOTTOM)
    return _bridge.wrap(_arr(img, "vflip")[..., ::-1, :].copy())


def _pil_fill(fill, img):
    """torchvision's `_parse_fill`: None -> 0, one number per band (ints unless mode F)."""
    fill = 0 if fill is None else fill
    bands = len(img.getbands())
    if isinstance(fill, (int, float)) and bands > 1:
        fill = tuple([fill] * bands)
    if isinstance(fill, (list, tuple)):
        fill = tuple(fill) * bands if len(fill) == 1 else tuple(fill)
        if img.mode != "F":
            fill = tuple(int(x) for x in fill)
    return fill


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
           fill=None):
    """Counter-clockwise by `angle` degrees about `center` (default the image centre)."""
    mode = _PIL_MODE[_mode(interpolation)]
    if _is_pil(img):
        return img.rotate(angle, mode, expand, center, fillcolor=_pil_fill(fill, img))
    a = _arr(img, "rotate")
    fills = [0.0] if fill is None else list(fill) if isinstance(fill, (list, tuple)) else [fill]
    work = backend.to_numpy(a)
    planes = work.reshape(-1, *work.shape[-3:]) if work.ndim >= 3 else work[None, None]
    out = []
    for image in planes:
        out.append(np.stack([_per_channel(ch, lambda p, k=k: p.rotate(
            angle, mode, expand, center, fillcolor=float(fills[k % len(fills)])))
            for k, ch in enumerate(image)]))
    out = np.stack(out)
    return _like(img, out.reshape(*work.shape[:-2], *out.shape[-2:]))
