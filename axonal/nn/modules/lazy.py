"""`torch.nn.modules.lazy`'s import path: the mixin of the Lazy* layers."""
from ..lazy import LazyModuleMixin

__all__ = ["LazyModuleMixin"]
