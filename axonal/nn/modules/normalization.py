"""`torch.nn.modules.normalization`'s import path: layer, group, RMS and local response norm."""
from ..layers.norm import GroupNorm, LayerNorm
from ..layers.norm_extra import LocalResponseNorm, RMSNorm

__all__ = ["GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm"]
