"""`torch.nn.modules.flatten`'s import path: Flatten and Unflatten."""
from ..layers.linear import Flatten, Unflatten

__all__ = ["Flatten", "Unflatten"]
