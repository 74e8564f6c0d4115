"""torchvision.transforms.functional (v1): each op on a PIL Image or on a Tensor (..., C, H, W).

PIL inputs go through Pillow exactly as torchvision's `_functional_pil` does (so the pixels are the
same). Tensor inputs follow `_functional_tensor`'s formulas on the raw array (dtype kept, channel
order C, H, W). Resizing and rotating a tensor run Pillow's resampler channel by channel in float32
(mode "F"; integer images are rounded back, as torchvision's float round trip does): that is the
algorithm PyTorch's antialiased `interpolate` copies from Pillow. `antialias=False` bilinear and
nearest are computed here with PyTorch's index rule.
"""
from ._base import InterpolationMode, get_dimensions, get_image_num_channels, get_image_size
from ._base import _is_pil, _mode  # noqa: F401  (transforms.py's helpers)
from ._color import (
                    adjust_brightness,
                    adjust_contrast,
                    adjust_hue,
                    adjust_saturation,
                    rgb_to_grayscale,
                    to_grayscale,
)
from ._convert import convert_image_dtype, normalize, pil_to_tensor, to_pil_image, to_tensor
from ._geometry import center_crop, crop, hflip, pad, resize, resized_crop, rotate, vflip

__all__ = ["InterpolationMode", "adjust_brightness", "adjust_contrast", "adjust_hue",
           "adjust_saturation", "center_crop", "convert_image_dtype", "crop", "get_dimensions",
           "get_image_num_channels", "get_image_size", "hflip", "normalize", "pad",
           "pil_to_tensor", "resize", "resized_crop", "rgb_to_grayscale", "rotate", "to_grayscale",
           "to_pil_image", "to_tensor", "vflip"]
