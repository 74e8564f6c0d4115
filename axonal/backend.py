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


class DeviceStringError(RuntimeError, ValueError):
    """A device string that does not parse: PyTorch's RuntimeError, and the ValueError Axonal
    raised before it followed PyTorch's parser."""


# torch.device's types: any of them names a device (PyTorch's parser accepts them all); Axonal
# keeps tensors on "cpu" and "cuda" only, so `xp_for` refuses the others when memory is asked for.
DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                "privateuseone")


class Device:
    """torch.device: `Device("cpu")`, `Device("cuda")` (no index: the current device),
    `Device("cuda:1")`, `Device("cuda", 1)`, `Device(1)` (an accelerator index). The index is
    None unless given, so `Device("cuda") != Device("cuda:0")` and `str()` gives "cuda", as
    PyTorch's. Comparing with a string parses the string (lenient; PyTorch answers False)."""

    __slots__ = ("index", "type")

    def __init__(self, type="cpu", index=None):  # noqa: A002 - PyTorch's keyword
        spec = type
        if isinstance(spec, Device):
            if index is not None:
                raise TypeError("device(): an index cannot be passed with a device")
            spec, index = spec.type, spec.index
        elif isinstance(spec, int) and not isinstance(spec, bool):
            # torch.device(0) is the accelerator's device 0; without one PyTorch raises
            if not cuda_available():
                raise RuntimeError("Cannot access accelerator device when none is available.")
            spec, index = "cuda", spec
        spec = str(spec)
        if ":" in spec:
            spec, idx = spec.split(":", 1)
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {spec}:{idx}")
            if not idx.isdigit() or (len(idx) > 1 and idx[0] == "0"):
                raise DeviceStringError(f"Invalid device string: '{spec}:{idx}'")
            index = int(idx)
        if spec not in DEVICE_TYPES:
            raise DeviceStringError(f"unknown device type {spec!r}: expected one of "
                                    f"{', '.join(DEVICE_TYPES)} device type at start of device "
                                    f"string: {spec}")
        if index is not None:
            index = int(index)
            if index < 0:
                raise RuntimeError("Device index must not be negative")
        self.type, self.index = spec, index

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

    def __reduce__(self):
        return (Device, (self.type, self.index))


def same_place(a: Device, b: Device) -> bool:
    """Whether memory on `a` is on `b`: an index of None is the current CUDA device, and every
    CPU index is the one host memory."""
    if a.type != b.type:
        return False
    if a.type != "cuda" or a.index == b.index:
        return True
    return cuda_index(a) == cuda_index(b)


def cuda_index(device: Device) -> int:
    """The CUDA device index that `device` means (None: CuPy's current device)."""
    if device.index is not None:
        return device.index
    return int(_cupy.cuda.runtime.getDevice())


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
    if device.type != "cuda":
        raise RuntimeError(f"axonal does not implement tensors on device type '{device.type}' "
                           f"yet (Axonal has 'cpu' and 'cuda')")
    if _cupy is None:
        raise CudaUnavailableError("device 'cuda' needs CuPy: pip install cupy-cuda12x or "
                                   "cupy-cuda13x (and an NVIDIA GPU)")
    return _cupy


def to_device(a, device: Device):
    """Copy an array to `device` (no copy when it is already there)."""
    if device.type == "cpu":
        return _cupy.asnumpy(a) if is_cupy_array(a) else a
    xp = xp_for(device)
    if getattr(a, "dtype", None) is not None and a.dtype.kind == "V":
        raise TypeError("axonal does not implement bfloat16 tensors on cuda yet (CuPy has no "
                        "bfloat16 arrays): use float16, or keep bfloat16 on the cpu")
    index = cuda_index(device)
    with xp.cuda.Device(index):
        if is_cupy_array(a) and a.device.id == index:
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
        with xp.cuda.Device(cuda_index(device)):
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
