"""`axonal.vision.transforms.v2`: torchvision.transforms.v2's path for the common classes.

    from axonal.vision.transforms import v2
    t = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(...)])

The classes are the v1 ones (same parameters, same pixels on PIL Images and (..., C, H, W)
Tensors), plus v2's ToImage and ToDtype. What v2 adds beyond that is not here: a transform takes
one image (not an arbitrary structure of images, boxes and masks), and ToImage returns a plain
Tensor, not a tv_tensors.Image. v2.ToTensor warns that it is deprecated, as torchvision's does.
"""
import warnings

from ... import transforms as _v1
from ..transforms import (CenterCrop, ColorJitter, Compose, ConvertImageDtype, Grayscale, Lambda,
                          Normalize, Pad, PILToTensor, RandomApply, RandomChoice, RandomCrop,
                          RandomGrayscale, RandomHorizontalFlip, RandomOrder, RandomResizedCrop,
                          RandomRotation, RandomVerticalFlip, Resize, ToPILImage)
from . import functional
from .functional import InterpolationMode

__all__ = ["CenterCrop", "ColorJitter", "Compose", "ConvertImageDtype", "Grayscale",
           "InterpolationMode", "Lambda", "Normalize", "PILToTensor", "Pad", "RandomApply",
           "RandomChoice", "RandomCrop", "RandomGrayscale", "RandomHorizontalFlip", "RandomOrder",
           "RandomResizedCrop", "RandomRotation", "RandomVerticalFlip", "Resize", "ToDtype",
           "ToImage", "ToPILImage", "ToTensor", "functional"]


class ToImage:
    """PIL Image, HWC ndarray or CHW Tensor -> CHW Tensor, dtype kept (no scaling)."""

    def __call__(self, inpt):
        return functional.to_image(inpt)

    def __repr__(self):
        return "ToImage()"


class ToDtype:
    """Convert to `dtype`; with scale=True map the value range as ConvertImageDtype does (uint8
    [0, 255] <-> float [0, 1])."""

    def __init__(self, dtype, scale=False):
        if isinstance(dtype, dict):
            raise NotImplementedError("axonal does not implement transforms.v2.ToDtype with a "
                                      "dict of dtypes (per tv_tensor type) yet")
        self.dtype, self.scale = dtype, scale

    def __call__(self, inpt):
        return functional.to_dtype(inpt, self.dtype, self.scale)

    def __repr__(self):
        return f"ToDtype(dtype={self.dtype}, scale={self.scale})"


class ToTensor(_v1.ToTensor):
    def __init__(self):
        warnings.warn("The transform `ToTensor()` is deprecated and will be removed in a future "
                      "release. Instead, please use `v2.Compose([v2.ToImage(), "
                      "v2.ToDtype(torch.float32, scale=True)])`.Output is equivalent up to float "
                      "precision.", UserWarning, stacklevel=2)
        super().__init__()
