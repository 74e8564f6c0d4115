"""Shared pieces of the functional transforms: interpolation modes, input kinds, image sizes."""
from enum import Enum

import numpy as np
from PIL import Image

from ... import backend
from ...utils.data import _bridge

_MAX = {"uint8": 255, "int8": 127, "int16": 32767, "int32": 2**31 - 1, "int64": 2**63 - 1}


class InterpolationMode(Enum):
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_MODE = {InterpolationMode.NEAREST: Image.NEAREST, InterpolationMode.BILINEAR: Image.BILINEAR,
             InterpolationMode.BICUBIC: Image.BICUBIC, InterpolationMode.BOX: Image.BOX,
             InterpolationMode.HAMMING: Image.HAMMING, InterpolationMode.LANCZOS: Image.LANCZOS}


def _mode(interpolation):
    if isinstance(interpolation, int):  # a PIL constant, as older torchvision code passes
        return {v: k for k, v in _PIL_MODE.items()}[interpolation]
    return InterpolationMode(interpolation)


def _is_pil(img):
    return isinstance(img, Image.Image)


def _arr(img, who):
    if _bridge.is_tensor(img):
        return img._data
    raise TypeError(f"{who}: img should be PIL Image or Tensor. Got {type(img)}")


def _like(img, arr):
    """A Tensor of `arr` (NumPy) on `img`'s device."""
    return _bridge.wrap(backend.to_device(np.ascontiguousarray(arr), img.device)
                        if img.device.type != "cpu" else np.ascontiguousarray(arr))


def get_dimensions(img):
    if _is_pil(img):
        return [len(img.getbands()), img.height, img.width]
    a = _arr(img, "get_dimensions")
    return [1 if a.ndim == 2 else a.shape[-3], a.shape[-2], a.shape[-1]]


def get_image_size(img):
    c, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img):
    return get_dimensions(img)[0]
