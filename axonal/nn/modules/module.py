"""`torch.nn.modules.module`'s import path: the base class."""
from ..module import Module

__all__ = ["Module"]
