"""`torch.nn.modules.channelshuffle`'s import path."""
from ..layers.norm_extra import ChannelShuffle

__all__ = ["ChannelShuffle"]
