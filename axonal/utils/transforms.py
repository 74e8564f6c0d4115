"""Image transforms for data augmentation, with torchvision's names, on (C, H, W) float images.

Layer 5.

    from axonal.utils.transforms import Compose, RandomCrop, RandomHorizontalFlip, Normalize
    augment = Compose([RandomCrop(28, padding=2, generator=0), RandomHorizontalFlip(generator=1),
                       Normalize([0.286], [0.353])])
    train = MNIST(transform=augment)                 # one sample at a time, or:
    train = AugmentedDataset(x, y, augment)          # the whole batch in one vectorized call

Why augment: a CNN is translation-equivariant by construction (the same filters everywhere), but its
pooling and fully connected head are not exactly invariant, and a small dataset lets it memorize
pixel positions. Showing every image shifted, mirrored or slightly rotated in each epoch (as AlexNet
did with random 224x224 crops and flips of 256x256 images) multiplies the effective data, a strong
regularizer that costs nothing at test time.

Every transform takes one image (C, H, W) or a batch (N, C, H, W), as a Tensor or a NumPy/CuPy
array, and returns the same kind and device. On a batch each image gets its own random parameters,
drawn on the CPU (a few numbers per image), while the pixel work is one vectorized gather on the
array's own device, so a batch on the GPU is augmented on the GPU. Randomness: `generator` is an int seed, a
numpy.random.Generator or an axonal.Generator; None draws from axonal's default generator, so
`axonal.manual_seed` makes a run repeatable.
"""
import numbers
from typing import ClassVar

import numpy as np

from .._errors import ShapeError
from ..backend import xp_of
from .data import Dataset, _bridge

__all__ = ["AugmentedDataset", "Compose", "Normalize", "RandomAffine", "RandomCrop",
           "RandomHorizontalFlip", "RandomVerticalFlip", "ToTensor", "Transform"]


def _rng(generator):
    if generator is None or isinstance(generator, np.random.Generator):
        return generator  # None: resolved at every call, so manual_seed later still applies
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    return _bridge.numpy_rng(generator)


def _pair(value, name, who):
    if isinstance(value, numbers.Real):
        return int(value), int(value)
    if len(value) != 2:
        raise ValueError(f"{who}: {name} must be an int or a pair (h, w), got {value!r}")
    return int(value[0]), int(value[1])


class Transform:
    """Base class: `apply(batch)` works on an (N, C, H, W) array; `__call__` accepts one image or a
    batch, Tensor or array, and gives back the same kind."""

    generator = None

    def __call__(self, x):
        tensor = _bridge.is_tensor(x)
        arr = x._data if tensor else x
        if not hasattr(arr, "ndim") or arr.ndim not in (3, 4):
            shape = getattr(arr, "shape", None)
            raise ShapeError(f"{type(self).__name__}: expected an image (C, H, W) or a batch "
                             f"(N, C, H, W), got {type(x).__name__} of shape {shape}")
        out = self.apply(arr[None])[0] if arr.ndim == 3 else self.apply(arr)
        return _bridge.wrap(out) if tensor else out

    def apply(self, batch):
        raise NotImplementedError

    def rng(self):
        return self.generator if self.generator is not None else _bridge.numpy_rng(None)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "generator")
        return f"{type(self).__name__}({args})"


class Compose:
    """Apply `transforms` in order (any callables; a batch passes through each in one call)."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: {t!r} is not callable")

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class ToTensor:
    """uint8 pixels -> float32 Tensor in [0, 1], channels first (torchvision's ToTensor, no PIL).

    `layout` names the input's axes: "HW", "HWC", "CHW", "NHW", "NHWC" or "NCHW"; by default 2-D is
    HW, 3-D is HWC (an image as NumPy/PIL store it) and 4-D is NHWC. The output is (C, H, W) or
    (N, C, H, W). Integer input is divided by 255; float input is only cast to float32. A Tensor
    raises TypeError as in torchvision (it is CHW already) unless `layout` is given.
    """

    _DEFAULT: ClassVar[dict] = {2: "HW", 3: "HWC", 4: "NHWC"}
    _LAYOUTS = ("HW", "HWC", "CHW", "NHW", "NHWC", "NCHW")

    def __init__(self, layout=None):
        if layout is not None and layout not in self._LAYOUTS:
            raise ValueError(f"ToTensor: layout must be one of {self._LAYOUTS}, got {layout!r}")
        self.layout = layout

    def __call__(self, pic):
        if _bridge.is_tensor(pic) and self.layout is None:
            # torchvision refuses tensors (they are already CHW); reading one as HWC would silently
            # scramble the channels, so raise its error; an explicit layout= reads a tensor as said
            raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
        arr = pic._data if _bridge.is_tensor(pic) else pic
        if not hasattr(arr, "ndim"):
            arr = np.asarray(arr)
        layout = self.layout or self._DEFAULT.get(arr.ndim)
        if layout is None or len(layout) != arr.ndim:
            raise ShapeError(f"ToTensor: cannot read an array of shape {tuple(arr.shape)} as "
                             f"{layout or 'an image'} (pass layout=...)")
        xp = xp_of(arr)
        if layout in ("HW", "NHW"):
            arr = arr[..., None, :, :]
        elif layout == "HWC":
            arr = xp.moveaxis(arr, -1, 0)
        elif layout == "NHWC":
            arr = xp.moveaxis(arr, -1, 1)
        if arr.dtype.kind in "iub":
            out = arr.astype(np.float32) / np.float32(255)
        else:
            out = arr.astype(np.float32)
        return _bridge.wrap(xp.ascontiguousarray(out))

    def __repr__(self):
        return f"ToTensor(layout={self.layout!r})"


class Normalize(Transform):
    """(x - mean[c]) / std[c] per channel, as torchvision.transforms.Normalize."""

    def __init__(self, mean, std):
        self.mean = [float(m) for m in np.atleast_1d(mean)]
        self.std = [float(s) for s in np.atleast_1d(std)]
        if len(self.mean) != len(self.std):
            raise ValueError(f"Normalize: {len(self.mean)} means but {len(self.std)} stds")
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero ({self.std}), leading to division "
                             "by zero")

    def apply(self, batch):
        c = batch.shape[1]
        if len(self.mean) not in (1, c):
            raise ShapeError(f"Normalize: {len(self.mean)} means/stds for an image with {c} "
                             "channels")
        xp = xp_of(batch)
        mean = xp.asarray(self.mean, dtype=batch.dtype).reshape(1, -1, 1, 1)
        std = xp.asarray(self.std, dtype=batch.dtype).reshape(1, -1, 1, 1)
        return (batch - mean) / std


class RandomHorizontalFlip(Transform):
    """Mirror left-right with probability p (each image of a batch decides on its own)."""

    _axis = -1

    def __init__(self, p=0.5, generator=None):
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p, self.generator = float(p), _rng(generator)

    def apply(self, batch):
        flip = self.rng().random(batch.shape[0]) < self.p
        out = batch.copy()
        if flip.any():
            idx = np.flatnonzero(flip)
            xp = xp_of(batch)
            out[idx] = xp.flip(batch[idx], axis=self._axis)
        return out


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror top-bottom with probability p (wrong for digits and clothes; fine for textures)."""

    _axis = -2


class RandomCrop(Transform):
    """A random `size` window, after padding every border by `padding` (torchvision's RandomCrop).

    With padding=p and size = the image size, this is a random translation by up to p pixels; the
    pixels shifted out are lost and the ones shifted in are `fill` (padding_mode "constant") or
    copies of the border ("edge", "reflect").
    """

    def __init__(self, size, padding=None, fill=0.0, padding_mode="constant", generator=None):
        self.size = _pair(size, "size", "RandomCrop")
        if padding is None:
            padding = 0
        if isinstance(padding, numbers.Integral):
            padding = (int(padding),) * 4
        elif len(padding) == 2:
            padding = (int(padding[0]), int(padding[1])) * 2
        elif len(padding) != 4:
            raise ValueError(f"RandomCrop: padding must be an int, (left/right, top/bottom) or "
                             f"(left, top, right, bottom), got {padding!r}")
        if min(padding) < 0 or min(self.size) <= 0:
            raise ValueError(f"RandomCrop: need size > 0 and padding >= 0, got size {size}, "
                             f"padding {padding}")
        if padding_mode not in ("constant", "edge", "reflect"):
            raise ValueError(f"RandomCrop: padding_mode must be constant, edge or reflect, got "
                             f"{padding_mode!r}")
        self.padding = tuple(int(p) for p in padding)  # left, top, right, bottom (torchvision)
        self.fill, self.padding_mode, self.generator = float(fill), padding_mode, _rng(generator)

    def apply(self, batch):
        xp = xp_of(batch)
        left, top, right, bottom = self.padding
        if any(self.padding):
            pads = ((0, 0), (0, 0), (top, bottom), (left, right))
            if self.padding_mode == "constant":
                batch = xp.pad(batch, pads, mode="constant", constant_values=self.fill)
            else:
                batch = xp.pad(batch, pads, mode=self.padding_mode)
        n, _, hp, wp = batch.shape
        h, w = self.size
        if h > hp or w > wp:
            raise ShapeError(f"RandomCrop: crop size {(h, w)} is larger than the padded image "
                             f"{(hp, wp)}")
        rng = self.rng()
        i = rng.integers(0, hp - h + 1, size=n)
        j = rng.integers(0, wp - w + 1, size=n)
        rows = xp.asarray(i[:, None] + np.arange(h))  # (N, h)
        cols = xp.asarray(j[:, None] + np.arange(w))  # (N, w)
        nidx = xp.arange(n)[:, None, None]
        # advanced indices around a slice: the result is (N, h, w, C)
        out = batch[nidx, :, rows[:, :, None], cols[:, None, :]]
        return xp.ascontiguousarray(xp.moveaxis(out, -1, 1))


class RandomAffine(Transform):
    """Random rotation, translation and scaling about the image center (torchvision's RandomAffine
    without shear): angle ~ U(-degrees, degrees) (positive = counter-clockwise on screen), shift ~
    U(-translate[0] * W, +) and U(-translate[1] * H, +) pixels, zoom ~ U(scale). Output pixels whose
    source falls outside the image get `fill`. interpolation: "bilinear" or "nearest".
    """

    def __init__(self, degrees, translate=None, scale=None, interpolation="bilinear", fill=0.0,
                 generator=None):
        if isinstance(degrees, numbers.Real):
            if degrees < 0:
                raise ValueError(f"RandomAffine: degrees must be >= 0, got {degrees}")
            degrees = (-float(degrees), float(degrees))
        self.degrees = tuple(float(d) for d in degrees)
        if translate is not None:
            translate = tuple(float(t) for t in translate)
            if len(translate) != 2 or not all(0.0 <= t <= 1.0 for t in translate):
                raise ValueError(f"RandomAffine: translate must be two fractions in [0, 1], got "
                                 f"{translate}")
        if scale is not None:
            scale = tuple(float(s) for s in scale)
            if len(scale) != 2 or not 0 < scale[0] <= scale[1]:
                raise ValueError(f"RandomAffine: scale must be (lo, hi) with 0 < lo <= hi, got "
                                 f"{scale}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"RandomAffine: interpolation must be 'bilinear' or 'nearest', got "
                             f"{interpolation!r}")
        self.translate, self.scale, self.interpolation = translate, scale, interpolation
        self.fill, self.generator = float(fill), _rng(generator)

    def sample_params(self, n, h, w):
        """(angle in degrees, dx, dy in pixels, scale) per image, each of shape (n,)."""
        rng = self.rng()
        angle = rng.uniform(self.degrees[0], self.degrees[1], size=n)
        tx, ty = self.translate or (0.0, 0.0)
        dx = rng.uniform(-tx * w, tx * w, size=n) if tx else np.zeros(n)
        dy = rng.uniform(-ty * h, ty * h, size=n) if ty else np.zeros(n)
        s = rng.uniform(*self.scale, size=n) if self.scale else np.ones(n)
        return angle, dx, dy, s

    def apply(self, batch):
        n, _, h, w = batch.shape
        return affine_warp(batch, *self.sample_params(n, h, w), self.interpolation, self.fill)


def affine_warp(batch, angle, dx, dy, scale, interpolation="bilinear", fill=0.0):
    """Warp each image of `batch` (N, C, H, W) by its own rotation `angle` (degrees, counter-
    clockwise on screen), shift (dx, dy) pixels and zoom `scale` about the image center.

    Inverse mapping: each output pixel p reads the input at A^-1 (p - center - t) + center, so every
    output pixel gets exactly one value (forward mapping would leave holes)."""
    xp = xp_of(batch)
    n, c, h, w = batch.shape
    theta = np.deg2rad(np.asarray(angle, dtype=np.float64))
    cos, sin, s = np.cos(theta), np.sin(theta), np.asarray(scale, dtype=np.float64)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    ys, xs = np.mgrid[0:h, 0:w]
    u = xs.ravel()[None] - cx - np.asarray(dx)[:, None]  # (N, HW), relative to the shifted center
    v = ys.ravel()[None] - cy - np.asarray(dy)[:, None]
    # forward map (y points down): x' = s (cos x + sin y), y' = s (-sin x + cos y) turns
    # counter-clockwise on screen; its inverse is the transpose divided by s
    src_x = (cos[:, None] * u - sin[:, None] * v) / s[:, None] + cx
    src_y = (sin[:, None] * u + cos[:, None] * v) / s[:, None] + cy
    flat = batch.reshape(n, c, h * w)
    if interpolation == "nearest":
        taps = [(np.rint(src_x), np.rint(src_y), None)]
    else:
        x0, y0 = np.floor(src_x), np.floor(src_y)
        fx, fy = src_x - x0, src_y - y0
        taps = [(x0, y0, (1 - fx) * (1 - fy)), (x0 + 1, y0, fx * (1 - fy)),
                (x0, y0 + 1, (1 - fx) * fy), (x0 + 1, y0 + 1, fx * fy)]
    out = xp.zeros((n, c, h * w), dtype=batch.dtype)
    covered = np.zeros((n, h * w))  # weight of in-image taps: what is left goes to `fill`
    for tx, ty, wt in taps:
        inside = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
        idx = np.where(inside, ty * w + tx, 0).astype(np.int64)
        weight = inside.astype(np.float64) if wt is None else wt * inside
        covered += weight
        vals = xp.take_along_axis(flat, xp.asarray(idx)[:, None, :], axis=2)
        out += vals * xp.asarray(weight.astype(batch.dtype))[:, None, :]
    if fill != 0.0:
        out += xp.asarray(((1.0 - covered) * fill).astype(batch.dtype))[:, None, :]
    return out.reshape(n, c, h, w)


class AugmentedDataset(Dataset):
    """(image, label) pairs from two arrays, `transform` applied on the fly.

    images: (N, C, H, W) float array; targets: (N,) ints. Indexing gives (Tensor (C, H, W), int). A
    DataLoader with the default collate reads whole batches through `_get_batch`, which transforms
    the batch in one vectorized call (per-image random parameters) instead of once per image.
    """

    def __init__(self, images, targets, transform=None):
        if images.ndim != 4:
            raise ShapeError(f"AugmentedDataset: images must be (N, C, H, W), got {images.shape}")
        if len(images) != len(targets):
            raise ValueError(f"AugmentedDataset: {len(images)} images but {len(targets)} targets")
        self.images, self.targets = images, np.asarray(targets, dtype=np.int64)
        self.transform = transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        image = _bridge.wrap(self.images[index])
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    def _get_batch(self, indices):
        images = self.images[indices]
        if self.transform is not None:
            out = self.transform(_bridge.wrap(images))
            images = out._data if _bridge.is_tensor(out) else out
        return [_bridge.wrap(np.ascontiguousarray(images) if isinstance(images, np.ndarray)
                             else images), _bridge.wrap(self.targets[indices])]

