"""`axonal.vision.transforms`: torchvision.transforms (v1) on PIL Images and (..., C, H, W) Tensors.

    from axonal.vision import transforms
    augment = transforms.Compose([transforms.RandomCrop(28, padding=2), transforms.ToTensor(),
                                  transforms.Normalize((0.1307,), (0.3081,))])
"""
from . import functional
from .functional import InterpolationMode
from .transforms import *
from .transforms import __all__ as _names

__all__ = ["InterpolationMode", "functional"] + list(_names)
