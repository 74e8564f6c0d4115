"""`transforms.v2.functional`: v1's functions (functional.py) and v2's to_image and to_dtype."""
import numpy as np

from .... import _dtype as _dt
from ....utils.data import _bridge
from ..functional import *  # noqa: F403
from ..functional import __all__ as _v1_names
from ..functional import _is_pil, convert_image_dtype, pil_to_tensor

__all__ = list(_v1_names) + ["to_dtype", "to_image"]


def to_image(inpt):
    """PIL Image -> CHW Tensor (pil_to_tensor); an HWC (or HW) ndarray -> CHW Tensor; a Tensor is
    returned as it is. The dtype is kept."""
    if _is_pil(inpt):
        return pil_to_tensor(inpt)
    if isinstance(inpt, np.ndarray):
        arr = inpt[:, :, None] if inpt.ndim == 2 else inpt
        if arr.ndim != 3:
            raise ValueError(f"to_image: expected a 2-D or 3-D ndarray, got shape {inpt.shape}")
        return _bridge.wrap(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    if _bridge.is_tensor(inpt):
        return inpt
    raise TypeError(f"to_image: expected a PIL Image, ndarray or Tensor, got {type(inpt)}")


def to_dtype(inpt, dtype, scale=False):
    if scale:
        return convert_image_dtype(inpt, dtype)
    return inpt.to(_dt.to_dtype(dtype))
