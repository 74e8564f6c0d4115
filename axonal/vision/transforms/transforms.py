"""torchvision.transforms (v1) classes on PIL Images and Tensors, over `functional`.

Random parameters are drawn from axonal's default generator (torchvision draws from torch's), so
`axonal.manual_seed` makes them repeatable; the draws follow torchvision's `get_params` rules.
"""
import math
import numbers
from collections.abc import Sequence

import numpy as np

from ... import _dtype as _dt
from ...utils.data import _bridge
from . import functional as F
from .functional import InterpolationMode

__all__ = ["CenterCrop", "ColorJitter", "Compose", "ConvertImageDtype", "Grayscale", "Lambda",
           "Normalize", "PILToTensor", "Pad", "RandomApply", "RandomChoice", "RandomCrop",
           "RandomGrayscale", "RandomHorizontalFlip", "RandomOrder", "RandomResizedCrop",
           "RandomRotation", "RandomVerticalFlip", "Resize", "ToPILImage", "ToTensor"]


def _rng():
    return _bridge.numpy_rng(None)


def _rand():
    return float(_rng().random())


def _uniform(a, b):
    return float(a + (b - a) * _rng().random())


def _randint(low, high):
    return int(_rng().integers(low, high))


def _size2(size, what="size"):
    if isinstance(size, numbers.Number):
        return (int(size), int(size))
    if isinstance(size, Sequence) and len(size) == 1:
        return (size[0], size[0])
    if len(size) != 2:
        raise ValueError(f"Please provide only two dimensions (h, w) for {what}.")
    return tuple(size)


class _Repr:
    _fields = ()

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)}" for k in self._fields)
        return f"{type(self).__name__}({args})"


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        inner = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class ToTensor:
    def __call__(self, pic):
        return F.to_tensor(pic)

    def __repr__(self):
        return "ToTensor()"


class PILToTensor:
    def __call__(self, pic):
        return F.pil_to_tensor(pic)

    def __repr__(self):
        return "PILToTensor()"


class ConvertImageDtype(_Repr):
    _fields = ("dtype",)

    def __init__(self, dtype):
        self.dtype = _dt.to_dtype(dtype)

    def __call__(self, image):
        return F.convert_image_dtype(image, self.dtype)


class ToPILImage(_Repr):
    _fields = ("mode",)

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        return F.to_pil_image(pic, self.mode)


class Normalize(_Repr):
    _fields = ("mean", "std")

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)


class Resize(_Repr):
    _fields = ("size", "interpolation", "max_size", "antialias")

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = F._mode(interpolation)

    def __call__(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)


class CenterCrop(_Repr):
    _fields = ("size",)

    def __init__(self, size):
        self.size = _size2(size)

    def __call__(self, img):
        return F.center_crop(img, self.size)


class Pad(_Repr):
    _fields = ("padding", "fill", "padding_mode")

    def __init__(self, padding, fill=0, padding_mode="constant"):
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)


class Lambda:
    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{type(self).__name__}()"


class RandomApply:
    def __init__(self, transforms, p=0.5):
        self.transforms, self.p = transforms, p

    def __call__(self, img):
        if self.p < _rand():
            return img
        for t in self.transforms:
            img = t(img)
        return img


class RandomOrder(RandomApply):
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for i in _rng().permutation(len(self.transforms)):
            img = self.transforms[i](img)
        return img


class RandomChoice:
    def __init__(self, transforms, p=None):
        if p is not None and len(p) != len(transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: {len(p)} != "
                             f"{len(transforms)}")
        self.transforms, self.p = transforms, p

    def __call__(self, *args):
        w = np.ones(len(self.transforms)) if self.p is None else np.asarray(self.p, float)
        return self.transforms[int(_rng().choice(len(w), p=w / w.sum()))](*args)


class RandomHorizontalFlip(_Repr):
    _fields = ("p",)

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        return F.hflip(img) if _rand() < self.p else img


class RandomVerticalFlip(RandomHorizontalFlip):
    def __call__(self, img):
        return F.vflip(img) if _rand() < self.p else img


class RandomCrop(_Repr):
    _fields = ("size", "padding")

    @staticmethod
    def get_params(img, output_size):
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _size2(size)
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    def __call__(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        if self.pad_if_needed and w < self.size[1]:
            img = F.pad(img, [self.size[1] - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < self.size[0]:
            img = F.pad(img, [0, self.size[0] - h], self.fill, self.padding_mode)
        i, j, h, w = self.get_params(img, self.size)
        return F.crop(img, i, j, h, w)


class RandomResizedCrop(_Repr):
    _fields = ("size", "scale", "ratio", "interpolation")

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        self.size = _size2(size)
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError("Scale and ratio should be of kind (min, max)")
        self.scale, self.ratio, self.antialias = scale, ratio, antialias
        self.interpolation = F._mode(interpolation)

    @staticmethod
    def get_params(img, scale, ratio):
        """A crop of random area (fraction of the image in `scale`) and aspect ratio (log-uniform
        in `ratio`); after 10 misses, the largest central crop whose ratio is within `ratio`."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * _uniform(scale[0], scale[1])
            aspect = math.exp(_uniform(log_ratio[0], log_ratio[1]))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return _randint(0, height - h + 1), _randint(0, width - w + 1), h, w
        in_ratio = float(width) / float(height)
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation, self.antialias)


class Grayscale(_Repr):
    _fields = ("num_output_channels",)

    def __init__(self, num_output_channels=1):
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        return F.rgb_to_grayscale(img, self.num_output_channels)


class RandomGrayscale(_Repr):
    _fields = ("p",)

    def __init__(self, p=0.1):
        self.p = p

    def __call__(self, img):
        c = F.get_image_num_channels(img)
        return F.rgb_to_grayscale(img, c) if _rand() < self.p else img


class ColorJitter(_Repr):
    _fields = ("brightness", "contrast", "saturation", "hue")

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._check(brightness, "brightness")
        self.contrast = self._check(contrast, "contrast")
        self.saturation = self._check(saturation, "saturation")
        self.hue = self._check(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first=False)

    @staticmethod
    def _check(value, name, center=1, bound=(0, float("inf")), clip_first=True):
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"If {name} is a single number, it must be non negative.")
            value = [center - float(value), center + float(value)]
            if clip_first:
                value[0] = max(value[0], 0.0)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            value = [float(value[0]), float(value[1])]
        else:
            raise TypeError(f"{name} should be a single number or a list/tuple with length 2.")
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"{name} values should be between {bound}, but got {value}.")
        return None if value[0] == value[1] == center else tuple(value)

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        order = _rng().permutation(4)
        pick = [None if r is None else _uniform(r[0], r[1])
                for r in (brightness, contrast, saturation, hue)]
        return (order, *pick)

    def __call__(self, img):
        order, b, c, s, h = self.get_params(self.brightness, self.contrast, self.saturation,
                                            self.hue)
        ops = [(b, F.adjust_brightness), (c, F.adjust_contrast), (s, F.adjust_saturation),
               (h, F.adjust_hue)]
        for k in order:
            factor, fn = ops[k]
            if factor is not None:
                img = fn(img, factor)
        return img


class RandomRotation(_Repr):
    _fields = ("degrees", "interpolation", "expand", "fill")

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False,
                 center=None, fill=0):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError("If degrees is a single number, it must be positive.")
            degrees = (-float(degrees), float(degrees))
        self.degrees = tuple(float(d) for d in degrees)
        self.interpolation, self.expand = F._mode(interpolation), expand
        self.center, self.fill = center, fill

    @staticmethod
    def get_params(degrees):
        return _uniform(degrees[0], degrees[1])

    def __call__(self, img):
        fill = self.fill
        if not F._is_pil(img) and isinstance(fill, (int, float)):
            fill = [float(fill)] * F.get_image_num_channels(img)
        return F.rotate(img, self.get_params(self.degrees), self.interpolation, self.expand,
                        self.center, fill)
