"""Conversions between PIL Images, NumPy arrays and Tensors; dtype scaling; normalize."""
import numpy as np
from PIL import Image

from ... import _dtype as _dt
from ... import backend
from ...utils.data import _bridge
from ._base import _MAX, _arr, _is_pil

# -- conversions -------------------------------------------------------------------------------
_NP_OF_MODE = {"I": np.int32, "I;16": np.int16, "F": np.float32}


def to_tensor(pic):
    """PIL Image or HWC ndarray -> CHW Tensor; uint8 becomes the default float dtype / 255, other
    dtypes are kept (torchvision's rule)."""
    if not (_is_pil(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = (pic[:, :, None] if pic.ndim == 2 else pic).transpose(2, 0, 1)
    else:
        arr = np.array(pic, _NP_OF_MODE.get(pic.mode, np.uint8), copy=True)
        if pic.mode == "1":
            arr = 255 * arr
        arr = arr.reshape(pic.height, pic.width, len(pic.getbands())).transpose(2, 0, 1)
    if arr.dtype == np.uint8:
        return _bridge.wrap(np.ascontiguousarray(arr).astype(_bridge.default_float())
                            / _bridge.default_float().type(255))
    return _bridge.wrap(np.ascontiguousarray(arr))


def pil_to_tensor(pic):
    if not _is_pil(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    return _bridge.wrap(np.ascontiguousarray(
        arr.reshape(pic.height, pic.width, len(pic.getbands())).transpose(2, 0, 1)))


def convert_image_dtype(image, dtype=_dt.float32):
    """Scale the values to the new dtype's range (ints: [0, max]; floats: [0, 1])."""
    a, dtype = _arr(image, "convert_image_dtype"), _dt.to_dtype(dtype)
    src = a.dtype
    if src == dtype.np:
        return image
    if src.kind == "f":
        if dtype.is_floating_point:
            return _bridge.wrap(a.astype(dtype.np))
        if (src == np.float32 and dtype.name in ("int32", "int64")) or (
                src == np.float64 and dtype.name == "int64"):
            raise RuntimeError(f"The cast from axonal.{src} to {dtype} cannot be performed safely.")
        return _bridge.wrap((a * src.type(_MAX[dtype.name] + 1.0 - 1e-3)).astype(dtype.np))
    in_max = _MAX[src.name]
    if dtype.is_floating_point:
        return _bridge.wrap(a.astype(dtype.np) / dtype.np.type(in_max))
    out_max = _MAX[dtype.name]
    if in_max > out_max:
        return _bridge.wrap((a // ((in_max + 1) // (out_max + 1))).astype(dtype.np))
    return _bridge.wrap(a.astype(dtype.np) * ((out_max + 1) // (in_max + 1)))


def to_pil_image(pic, mode=None):
    """CHW Tensor or HWC ndarray -> PIL Image; floats are scaled by 255 and truncated to uint8
    unless mode is "F"."""
    if _bridge.is_tensor(pic):
        a = backend.to_numpy(pic._data)
        if a.ndim == 2:
            a = a[None]
        if a.ndim != 3:
            raise ValueError(f"pic should be 2/3 dimensional. Got {a.ndim} dimensions.")
        if a.dtype.kind == "f" and mode != "F":
            a = (a * a.dtype.type(255)).astype(np.uint8)
        a = a.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        a = pic[:, :, None] if pic.ndim == 2 else pic
        if a.ndim != 3:
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if a.shape[-1] == 1:
        expected = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
                    np.dtype(np.int32): "I", np.dtype(np.float32): "F"}.get(a.dtype)
        if mode is not None and mode != expected and not (mode == "L" and a.dtype == np.uint8):
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {a.dtype}. "
                             f"Should be {expected}")
        mode = mode or expected
        a = a[:, :, 0]
    elif mode is None:
        mode = {2: "LA", 3: "RGB", 4: "RGBA"}.get(a.shape[-1])
        if a.dtype != np.uint8:
            raise TypeError(f"Input type {a.dtype} is not supported")
    if mode is None:
        raise TypeError(f"Input type {a.dtype} is not supported")
    return Image.fromarray(np.ascontiguousarray(a), mode=mode)


def normalize(tensor, mean, std, inplace=False):
    a = _arr(tensor, "normalize")
    if a.dtype.kind != "f":
        raise TypeError(f"Input tensor should be a float tensor. Got {a.dtype}.")
    if a.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tuple(a.shape)}")
    xp = backend.xp_of(a)
    mean, std = (xp.asarray(v, dtype=a.dtype).reshape(-1, 1, 1) for v in (mean, std))
    if bool((std == 0).any()):
        raise ValueError(f"std evaluated to zero after conversion to {a.dtype}, leading to "
                         "division by zero.")
    if inplace:
        a -= mean
        a /= std
        return tensor
    return _bridge.wrap((a - mean) / std)
