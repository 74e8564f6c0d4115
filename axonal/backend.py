"""Array backends: NumPy on the CPU, CuPy on NVIDIA GPUs.

This is the only module that imports CuPy. Everything else asks `xp_of(array)` for the array module
that owns an array and writes one code path for both. Moving data between devices happens only in
`to_device`, when the user asks for it (`tensor.to("cuda")`); there are no implicit copies.
"""
import contextlib

import numpy as np

try:  # CuPy is optional; importing it must never be required on a CPU-only machine
    import cupy as _cupy
except Exception:  # noqa: BLE001 - ImportError, or a CUDA driver error inside cupy's import
    _cupy = None


class CudaUnavailableError(RuntimeError, AssertionError):
    """CUDA asked for where there is none. A RuntimeError (Axonal's spelling) and an AssertionError
    (what a CPU-only PyTorch raises: 'Torch not compiled with CUDA enabled')."""


def cupy():
    """The CuPy module (or the test device module standing in for it); None without one."""
    return _cupy


@contextlib.contextmanager
def use_device_module(module):
    """Within the block, `module` plays CuPy (its `ndarray` is the device array type). For tests:
    tests/gpu/fake_cupy.py installs a strict fake device this way on CPU-only machines."""
    global _cupy
    saved, _cupy = _cupy, module
    try:
        yield module
    finally:
        _cupy = saved


def special(x):
    """The module with `erf`/`erfc` for the device array `x` (cupyx.scipy.special for CuPy)."""
    found = getattr(_cupy, "special", None)
    if found is not None and hasattr(found, "erfc"):
        return found
    from cupyx.scipy import special as cupyx_special

    return cupyx_special


def cuda_available() -> bool:
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001
        return False


class Device:
    """A device name like PyTorch's: `Device("cpu")`, `Device("cuda")`, `Device("cuda:1")`."""

    __slots__ = ("index", "type")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, Device):
            spec, index = spec.type, spec.index if index is None else index
        spec = str(spec)
        if ":" in spec:
            spec, idx = spec.split(":", 1)
            index = int(idx)
        if spec not in ("cpu", "cuda"):
            raise ValueError(f"unknown device type {spec!r}: expected 'cpu' or 'cuda[:N]'")
        self.type = spec
        self.index = (index or 0) if spec == "cuda" else None

    def __eq__(self, other):
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None else ")")

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = Device("cpu")


def is_cupy_array(a) -> bool:
    return _cupy is not None and isinstance(a, _cupy.ndarray)


def xp_of(*arrays):
    """The array module (numpy or cupy) that owns these arrays; NumPy for plain Python values."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def device_of(a) -> Device:
    if is_cupy_array(a):
        return Device("cuda", a.device.id)
    return CPU


def xp_for(device: Device):
    if device.type == "cpu":
        return np
    if _cupy is None:
        raise CudaUnavailableError("device 'cuda' needs CuPy: pip install cupy-cuda12x or "
                                   "cupy-cuda13x (and an NVIDIA GPU)")
    return _cupy


def to_device(a, device: Device):
    """Copy an array to `device` (no copy when it is already there)."""
    if device.type == "cpu":
        return _cupy.asnumpy(a) if is_cupy_array(a) else a
    xp = xp_for(device)
    with xp.cuda.Device(device.index):
        if is_cupy_array(a) and a.device.id == device.index:
            return a
        return xp.asarray(a)


def to_numpy(a) -> np.ndarray:
    # an ndarray as it is: np.asarray would turn a subclass (vmap's guarded batched view) into a
    # plain view of its first sample
    if isinstance(a, np.ndarray):
        return a
    return _cupy.asnumpy(a) if is_cupy_array(a) else np.asarray(a)


def asarray_on(data, dtype, device: Device):
    """Build an array of `dtype` on `device` from arbitrary (nested) Python/NumPy data."""
    xp = xp_for(device)
    if device.type == "cuda":
        with xp.cuda.Device(device.index):
            return xp.asarray(data, dtype=dtype)
    return np.asarray(data, dtype=dtype)


def data_ptr(a) -> int:
    """Address of the array's first element (NumPy and CuPy), as `Tensor.data_ptr()`."""
    if is_cupy_array(a):
        return int(a.data.ptr)
    return int(a.__array_interface__["data"][0])


def root(a):
    """The object that owns `a`'s memory (NumPy and CuPy collapse view chains to it)."""
    b = a.base
    return a if b is None else b
