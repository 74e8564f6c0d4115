"""`axonal.cpu`: torch.cpu's device questions, answered for the one host device (the
legacy `torch.cpu.amp.autocast` spelling is `axonal.cpu.amp`)."""

__all__ = ["current_device", "device_count", "is_available", "is_initialized", "set_device",
           "synchronize"]


def is_available() -> bool:
    return True


def is_initialized() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def synchronize(device=None) -> None:
    """CPU work is synchronous: nothing to wait for."""


def set_device(device) -> None:
    """The CPU has one device: setting it changes nothing (PyTorch's answer too)."""
