"""`torch.nn.modules.pooling`'s import path: pooling layers."""
from ..layers.pooling import *
from ..layers.pooling import __all__ as _pooling
from ..layers.volumetric import AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, MaxPool3d

__all__ = list(_pooling) + ["AdaptiveAvgPool3d", "AdaptiveMaxPool3d", "AvgPool3d", "MaxPool3d"]
