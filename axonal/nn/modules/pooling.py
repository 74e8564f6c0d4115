"""`torch.nn.modules.pooling`'s import path: pooling layers."""
from ..layers.pooling import *
from ..layers.pooling import __all__ as _pooling
from ..layers.volumetric import AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, MaxPool3d

__all__ = list(_pooling) + ["AdaptiveAvgPool3d", "AdaptiveMaxPool3d", "AvgPool3d", "MaxPool3d"]

from ..layers.extra import (FractionalMaxPool2d, FractionalMaxPool3d, LPPool1d,  # noqa: E402
                            LPPool2d, LPPool3d, MaxUnpool1d, MaxUnpool2d, MaxUnpool3d)

__all__ += ["FractionalMaxPool2d", "FractionalMaxPool3d", "LPPool1d", "LPPool2d", "LPPool3d",
            "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]
