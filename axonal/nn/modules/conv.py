"""`torch.nn.modules.conv`'s import path: convolutions."""
from ..layers.conv import *  # noqa: F403
from ..layers.conv import __all__ as _conv
from ..layers.volumetric import Conv3d, ConvTranspose3d  # noqa: F401

__all__ = list(_conv) + ["Conv3d", "ConvTranspose3d"]
