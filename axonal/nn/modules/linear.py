"""`torch.nn.modules.linear`'s import path: linear layers."""
from ..layers.linear import Bilinear, Identity, Linear

__all__ = ["Bilinear", "Identity", "Linear"]
