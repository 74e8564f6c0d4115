"""`torch.utils.hooks` import path: `RemovableHandle`, what hook registration returns."""
from .._hooks import RemovableHandle

__all__ = ["RemovableHandle"]
