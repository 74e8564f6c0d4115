"""`torch.nn.modules.instancenorm`'s import path: instance normalization."""
from ..layers.norm_extra import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]
