"""`torch.nn.modules.pixelshuffle`'s import path."""
from ..layers.norm_extra import PixelShuffle, PixelUnshuffle

__all__ = ["PixelShuffle", "PixelUnshuffle"]
