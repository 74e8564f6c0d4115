"""`axonal.accelerator`: the device-agnostic questions of torch.accelerator. Axonal's one
accelerator type is CUDA (through CuPy); a CPU-only machine answers False / None / 0."""
from . import backend, cuda

__all__ = ["current_accelerator", "device_count", "is_available"]


def is_available() -> bool:
    return cuda.is_available()


def current_accelerator():
    """The accelerator as a device (`device(type='cuda')`), or None when there is none."""
    return backend.Device("cuda") if cuda.is_available() else None


def device_count() -> int:
    return cuda.device_count()
