"""Colour transforms: grayscale, brightness, contrast, saturation, hue (torchvision's formulas)."""
import numpy as np
from PIL import Image, ImageEnhance

from ... import _dtype as _dt
from ... import backend
from ...utils.data import _bridge
from ._base import _arr, _is_pil
from ._convert import convert_image_dtype


# -- colour ------------------------------------------------------------------------------------
def rgb_to_grayscale(img, num_output_channels=1):
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if _is_pil(img):
        gray = img.convert("L")
        if num_output_channels == 3:
            gray = Image.fromarray(np.dstack([np.asarray(gray)] * 3), "RGB")
        return gray
    a = _arr(img, "rgb_to_grayscale")
    if a.shape[-3] == 1:
        out = a
    else:
        if a.shape[-3] != 3:
            raise TypeError(f"Input image tensor permitted channel values are [1, 3], but found "
                            f"{a.shape[-3]}")
        r, g, b = a[..., 0, :, :], a[..., 1, :, :], a[..., 2, :, :]
        work = np.float32 if a.dtype.kind != "f" else a.dtype.type
        out = (work(0.2989) * r + work(0.587) * g + work(0.114) * b).astype(a.dtype)
        out = out[..., None, :, :]
    if num_output_channels == 3:
        out = backend.xp_of(out).concatenate([out] * 3, axis=-3)
    return _bridge.wrap(backend.xp_of(out).ascontiguousarray(out))


to_grayscale = rgb_to_grayscale


def _blend(a, b, ratio):
    bound = 1.0 if a.dtype.kind == "f" else 255.0
    work = a.dtype.type if a.dtype.kind == "f" else np.float32
    out = work(ratio) * a + work(1.0 - ratio) * b
    return backend.xp_of(out).clip(out, 0, bound).astype(a.dtype)


def adjust_brightness(img, brightness_factor):
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    if _is_pil(img):
        return ImageEnhance.Brightness(img).enhance(brightness_factor)
    a = _arr(img, "adjust_brightness")
    return _bridge.wrap(_blend(a, backend.xp_of(a).zeros_like(a), brightness_factor))


def adjust_contrast(img, contrast_factor):
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    if _is_pil(img):
        return ImageEnhance.Contrast(img).enhance(contrast_factor)
    a = _arr(img, "adjust_contrast")
    work = a.dtype if a.dtype.kind == "f" else np.float32
    gray = rgb_to_grayscale(img)._data if a.shape[-3] == 3 else a
    mean = gray.astype(work).mean(axis=(-3, -2, -1), keepdims=True)
    return _bridge.wrap(_blend(a, mean, contrast_factor))


def adjust_saturation(img, saturation_factor):
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    if _is_pil(img):
        return ImageEnhance.Color(img).enhance(saturation_factor)
    a = _arr(img, "adjust_saturation")
    if a.shape[-3] == 1:
        return img
    return _bridge.wrap(_blend(a, rgb_to_grayscale(img)._data, saturation_factor))


def adjust_hue(img, hue_factor):
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if _is_pil(img):
        if img.mode in {"L", "1", "I", "F"}:
            return img
        h, s, v = img.convert("HSV").split()
        np_h = np.array(h, dtype=np.uint8)
        with np.errstate(over="ignore"):  # uint8 wrap-around is the rotation of the hue circle
            np_h += np.array(hue_factor * 255).astype(np.uint8)
        return Image.merge("HSV", (Image.fromarray(np_h, "L"), s, v)).convert(img.mode)
    a = _arr(img, "adjust_hue")
    if a.shape[-3] == 1:
        return img
    x = a if a.dtype.kind == "f" else convert_image_dtype(img, _dt.float32)._data
    hsv = _rgb2hsv(x)
    hsv[..., 0, :, :] = (hsv[..., 0, :, :] + x.dtype.type(hue_factor)) % 1.0
    out = _hsv2rgb(hsv)
    if a.dtype.kind != "f":
        return convert_image_dtype(_bridge.wrap(out), _dt.from_numpy_dtype(a.dtype))
    return _bridge.wrap(out)


def _rgb2hsv(img):
    xp = backend.xp_of(img)
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc, minc = img.max(axis=-3), img.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    one = xp.ones_like(maxc)
    s = cr / xp.where(eqc, one, maxc)
    div = xp.where(eqc, one, cr)
    rc, gc, bc = (maxc - r) / div, (maxc - g) / div, (maxc - b) / div
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = xp.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0).astype(img.dtype)
    return xp.stack((h, s.astype(img.dtype), maxc), axis=-3)


def _hsv2rgb(img):
    xp = backend.xp_of(img)
    h, s, v = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    i = xp.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int32) % 6
    p = xp.clip(v * (1.0 - s), 0.0, 1.0)
    q = xp.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = xp.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = xp.zeros(img.shape, img.dtype)
    for k, (r, g, b) in enumerate(table):
        m = i == k
        out[..., 0, :, :] += m * r
        out[..., 1, :, :] += m * g
        out[..., 2, :, :] += m * b
    return out.astype(img.dtype)
