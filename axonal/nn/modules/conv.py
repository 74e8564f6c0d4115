"""`torch.nn.modules.conv`'s import path: convolutions."""
from ..layers.conv import *
from ..layers.conv import __all__ as _conv
from ..layers.volumetric import Conv3d, ConvTranspose3d

__all__ = list(_conv) + ["Conv3d", "ConvTranspose3d"]
