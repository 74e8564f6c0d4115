"""`axonal.accelerator`: the device-agnostic questions of torch.accelerator. Axonal's one
accelerator type is CUDA (through CuPy, in `axonal.cuda`: the GPU branch lives there); a CPU-only
machine answers False / None / 0, and the calls that need a device raise PyTorch's RuntimeError
"Cannot access accelerator device when none is available."."""
import types
import warnings

from . import backend, cuda

__all__ = ["current_accelerator", "current_device_idx", "current_device_index", "current_stream",
           "device_count", "device_index", "empty_cache", "is_available", "max_memory_allocated",
           "max_memory_reserved", "memory", "memory_allocated", "memory_reserved", "memory_stats",
           "reset_peak_memory_stats", "set_device_idx", "set_device_index", "synchronize"]

_NONE = "Cannot access accelerator device when none is available."


def _need():
    if not cuda.is_available():
        raise RuntimeError(_NONE)


def is_available() -> bool:
    return cuda.is_available()


def current_accelerator(check_available=False):
    """The accelerator as a device (`device(type='cuda')`), or None when there is none."""
    return backend.Device("cuda") if cuda.is_available() else None


def device_count() -> int:
    return cuda.device_count()


def current_device_index() -> int:
    _need()
    return cuda.current_device()


def set_device_index(device) -> None:
    _need()
    cuda.set_device(device)


def current_device_idx() -> int:
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_idx(device) -> None:
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


def synchronize(device=None) -> None:
    _need()
    cuda.synchronize(device)


def current_stream(device=None):
    _need()
    return cuda.current_stream(device)


class device_index:
    """`with accelerator.device_index(i):` device `i` is current in the block (None: no change)."""

    def __init__(self, device):
        self.idx = device
        self._cm = None

    def __enter__(self):
        if self.idx is not None:
            _need()
            self._cm = cuda.device(self.idx)
            self._cm.__enter__()

    def __exit__(self, *exc):
        if self._cm is not None:
            self._cm.__exit__(*exc)
        return False


def _memory(name):
    def fn(device_index=None):
        _need()
        return getattr(cuda, name)(device_index)
    fn.__name__ = name
    fn.__doc__ = f"torch.accelerator.memory.{name}: axonal.cuda.{name} on the accelerator."
    return fn


memory_allocated = _memory("memory_allocated")
max_memory_allocated = _memory("max_memory_allocated")
memory_reserved = _memory("memory_reserved")
max_memory_reserved = _memory("max_memory_reserved")
memory_stats = _memory("memory_stats")
reset_peak_memory_stats = _memory("reset_peak_memory_stats")


def empty_cache() -> None:
    _need()
    cuda.empty_cache()


memory = types.SimpleNamespace(
    empty_cache=empty_cache, memory_allocated=memory_allocated,
    max_memory_allocated=max_memory_allocated, memory_reserved=memory_reserved,
    max_memory_reserved=max_memory_reserved, memory_stats=memory_stats,
    reset_peak_memory_stats=reset_peak_memory_stats)
