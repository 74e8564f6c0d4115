"""`axonal.cuda`: the torch.cuda functions users probe, answered through CuPy (via `backend`, the
one module that imports it).

Without CuPy or without a GPU the answers are a CPU-only PyTorch's: `is_available()` is False,
`device_count()` 0, the memory counters 0, seeding and `empty_cache()` do nothing, and the calls
that need a device (`current_device`, `set_device`, `synchronize`, `get_device_name`) raise
`CudaUnavailableError`, which is both a RuntimeError and the AssertionError PyTorch raises.

This module is the seam for the GPU branch: every answer that needs a device goes through
`_cp()` (CuPy, or the CPU-only error) and `backend`; the CPU-only answers are fixed values.

Random numbers on the GPU: Axonal's own draws (dropout masks, `randn(device="cuda")`) are seeded
from `axonal.manual_seed`'s generator, so `manual_seed` here only seeds CuPy's global generator for
code that uses `cupy.random` directly.
"""
from .. import backend
from ..backend import CudaUnavailableError

__all__ = [
    "CudaUnavailableError", "Event", "Stream", "current_device", "current_stream", "device",
    "device_count", "device_of", "empty_cache", "get_arch_list", "get_device_capability",
    "get_device_name", "get_device_properties", "get_rng_state", "get_rng_state_all", "init",
    "initial_seed", "ipc_collect", "is_available", "is_bf16_supported", "is_initialized",
    "manual_seed", "manual_seed_all", "max_memory_allocated", "max_memory_reserved",
    "mem_get_info", "memory_allocated", "memory_reserved", "memory_stats",
    "reset_peak_memory_stats", "seed", "seed_all", "set_device", "set_rng_state",
    "set_rng_state_all", "stream", "synchronize",
]

_peak = {}  # device index -> the largest allocated byte count seen (CuPy keeps no peak itself)


def is_available() -> bool:
    return backend.cuda_available()


def is_initialized() -> bool:
    return is_available()


def init() -> None:
    """Initialize CUDA (CuPy does it on first use); without one it raises, as PyTorch."""
    _cp()


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
    return current_device() if dev.index is None else dev.index


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


def seed() -> None:
    """Seed CuPy's generator with a random number (nothing without a GPU, as PyTorch)."""
    if is_available():
        backend.cupy().random.seed()


seed_all = seed


def initial_seed() -> int:
    _cp()
    raise NotImplementedError("axonal does not implement torch.cuda.initial_seed yet: CuPy's "
                              "generator does not report its seed")


def get_rng_state(device="cuda"):
    _cp()
    raise NotImplementedError("axonal does not implement torch.cuda.get_rng_state yet")


def set_rng_state(new_state, device="cuda"):
    _cp()
    raise NotImplementedError("axonal does not implement torch.cuda.set_rng_state yet")


def get_rng_state_all():
    """One state per device: none on a CPU-only machine."""
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states):
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


def is_bf16_supported(including_emulation=True) -> bool:
    """bfloat16 on the GPU: compute capability 8.0 (Ampere) and later; False without one."""
    return is_available() and get_device_capability()[0] >= 8


def get_device_capability(device=None):
    """(major, minor) compute capability, e.g. (8, 0) for an A100."""
    cc = str(_cp().cuda.Device(_index(device)).compute_capability)
    return int(cc[:-1]), int(cc[-1])


def get_device_properties(device=None):
    """The runtime's properties (name, total_memory, major, minor, multi_processor_count)."""
    import types

    props = _cp().cuda.runtime.getDeviceProperties(_index(device))
    name = props["name"]
    return types.SimpleNamespace(
        name=name.decode() if isinstance(name, bytes) else str(name),
        total_memory=int(props["totalGlobalMem"]), major=int(props["major"]),
        minor=int(props["minor"]), multi_processor_count=int(props["multiProcessorCount"]))


def mem_get_info(device=None):
    """(free, total) bytes of the device, from the driver."""
    cp = _cp()
    with cp.cuda.Device(_index(device)):
        free, total = cp.cuda.runtime.memGetInfo()
    return int(free), int(total)


def get_arch_list():
    """The architectures this build targets: none without CUDA (CuPy compiles at run time)."""
    return []


def ipc_collect() -> None:
    _cp()


def current_stream(device=None):
    cp = _cp()
    with cp.cuda.Device(_index(device)):
        return cp.cuda.get_current_stream()


class Stream:
    """torch.cuda.Stream: CuPy's stream, created on the current device."""

    def __new__(cls, device=None, priority=0, **kwargs):
        if not is_available():
            raise RuntimeError("torch.cuda.Stream requires CUDA support")
        cp = backend.cupy()
        with cp.cuda.Device(_index(device)):
            return cp.cuda.Stream(non_blocking=True)


class Event:
    """torch.cuda.Event: CuPy's event (`record`, `synchronize`, `elapsed_time` in ms)."""

    def __new__(cls, enable_timing=False, blocking=False, interprocess=False):
        if not is_available():
            raise RuntimeError("Tried to instantiate dummy base class Event")
        return _CupyEvent(enable_timing, blocking)


class _CupyEvent:
    def __init__(self, enable_timing, blocking):
        self._e = backend.cupy().cuda.Event(block=blocking, disable_timing=not enable_timing)

    def record(self, stream=None):
        self._e.record(stream)

    def synchronize(self):
        self._e.synchronize()

    def query(self):
        return self._e.done

    def elapsed_time(self, end_event):
        return float(backend.cupy().cuda.get_elapsed_time(self._e, end_event._e))


class stream:
    """`with cuda.stream(s):` makes `s` current; None is a no-op, as PyTorch's."""

    def __init__(self, s):
        self.s = s

    def __enter__(self):
        if self.s is not None:
            self.s.__enter__()
        return self.s

    def __exit__(self, *exc):
        if self.s is not None:
            self.s.__exit__(*exc)
        return False


class device:
    """`with cuda.device(i):` makes device `i` current for the block (-1 or None: no change;
    without CUDA any real index raises, as PyTorch)."""

    def __init__(self, device):
        self.idx = -1 if device is None else _index(device)
        self._cm = None

    def __enter__(self):
        if self.idx >= 0:
            if not is_available():
                raise RuntimeError("PyTorch was compiled without CUDA support")
            self._cm = backend.cupy().cuda.Device(self.idx)
            self._cm.__enter__()

    def __exit__(self, *exc):
        if self._cm is not None:
            self._cm.__exit__(*exc)
        return False


class device_of(device):
    """`with cuda.device_of(t):` the device of tensor `t` is current (a CPU tensor: no change)."""

    def __init__(self, obj):
        dev = obj.device
        super().__init__(dev.index if dev.type == "cuda" else -1)


def memory_allocated(device=None) -> int:
    """Bytes held by live arrays in CuPy's memory pool (0 without a GPU)."""
    if not is_available():
        return 0
    used = int(backend.cupy().get_default_memory_pool().used_bytes())
    i = _index(device)
    _peak[i] = max(_peak.get(i, 0), used)
    return used


def memory_reserved(device=None) -> int:
    """Bytes CuPy's pool holds from the driver (live arrays and cached blocks)."""
    if not is_available():
        return 0
    return int(backend.cupy().get_default_memory_pool().total_bytes())


def max_memory_reserved(device=None) -> int:
    return max_memory_allocated(device)


def memory_stats(device=None) -> dict:
    """Counters under PyTorch's keys; empty without a GPU (as PyTorch's)."""
    if not is_available():
        return {}
    return {"allocated_bytes.all.current": memory_allocated(device),
            "allocated_bytes.all.peak": max_memory_allocated(device),
            "reserved_bytes.all.current": memory_reserved(device)}


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
