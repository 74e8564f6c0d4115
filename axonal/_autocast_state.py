"""Which device types have autocast on (per thread), for the ops' dtype checks: under autocast
operands of different floating dtypes are expected (the autocast layer casts them), so the
"same dtype" errors of matmul, linear and conv stand down. The autocast itself is `amp/`."""
import threading


class _Local(threading.local):
    def __init__(self):
        self.on = {"cpu": None, "cuda": None}  # device type -> the active layer, or None
        self.dtype = {}  # device type -> the dtype set last (kept after exit, as PyTorch's)


local = _Local()


def enabled_for(device_type) -> bool:
    return local.on.get(device_type) is not None
