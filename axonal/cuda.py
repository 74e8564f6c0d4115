"""`axonal.cuda`: the torch.cuda functions users probe, answered through CuPy (via `backend`, the
one module that imports it).

Without CuPy or without a GPU the answers are a CPU-only PyTorch's: `is_available()` is False,
`device_count()` 0, the memory counters 0, seeding and `empty_cache()` do nothing, and the calls
that need a device (`current_device`, `set_device`, `synchronize`, `get_device_name`) raise
`CudaUnavailableError`, which is both a RuntimeError and the AssertionError PyTorch raises.

Random numbers on the GPU: Axonal's own draws (dropout masks, `randn(device="cuda")`) are seeded
from `axonal.manual_seed`'s generator, so `manual_seed` here only seeds CuPy's global generator for
code that uses `cupy.random` directly.
"""
from . import backend
from .backend import CudaUnavailableError

__all__ = [
    "CudaUnavailableError",
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_name",
    "is_available",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "memory_allocated",
    "reset_peak_memory_stats",
    "set_device",
    "synchronize",
]

_peak = {}  # device index -> the largest allocated byte count seen (CuPy keeps no peak itself)


def is_available() -> bool:
    return backend.cuda_available()


def is_initialized() -> bool:
    return is_available()


def device_count() -> int:
    return backend.cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def _cp():
    if not is_available():
        raise CudaUnavailableError("CUDA is not available: Axonal needs CuPy and an NVIDIA GPU "
                                   "(pip install cupy-cuda12x or cupy-cuda13x)")
    return backend.cupy()


def _index(device):
    """A device index from None (the current one), an int, 'cuda[:N]' or a Device."""
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    dev = backend.Device(device)
    if dev.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return dev.index


def current_device() -> int:
    return int(_cp().cuda.runtime.getDevice())


def set_device(device) -> None:
    if not isinstance(device, int) and backend.Device(device).type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {backend.Device(device)}")
    cp = _cp()
    cp.cuda.Device(_index(device)).use()


def synchronize(device=None) -> None:
    """Wait until every kernel queued on `device` has finished (time GPU work with it)."""
    cp = _cp()
    with cp.cuda.Device(_index(device)):
        cp.cuda.runtime.deviceSynchronize()


def get_device_name(device=None) -> str:
    name = _cp().cuda.runtime.getDeviceProperties(_index(device))["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def manual_seed(seed) -> None:
    if is_available():
        backend.cupy().random.seed(int(seed))


manual_seed_all = manual_seed


def memory_allocated(device=None) -> int:
    """Bytes held by live arrays in CuPy's memory pool (0 without a GPU)."""
    if not is_available():
        return 0
    used = int(backend.cupy().get_default_memory_pool().used_bytes())
    i = _index(device)
    _peak[i] = max(_peak.get(i, 0), used)
    return used


def max_memory_allocated(device=None) -> int:
    """An upper bound of the peak: CuPy's pool keeps what was allocated (total_bytes) until
    `empty_cache()`, so its size is at least the peak of live bytes since then."""
    if not is_available():
        return 0
    pool = backend.cupy().get_default_memory_pool()
    i = _index(device)
    _peak[i] = max(_peak.get(i, 0), int(pool.used_bytes()), int(pool.total_bytes()))
    return _peak[i]


def reset_peak_memory_stats(device=None) -> None:
    if is_available():
        _peak.pop(_index(device), None)


def empty_cache() -> None:
    """Give the unused blocks of CuPy's memory pools back to the driver."""
    if is_available():
        cp = backend.cupy()
        cp.get_default_memory_pool().free_all_blocks()
        cp.get_pinned_memory_pool().free_all_blocks()
