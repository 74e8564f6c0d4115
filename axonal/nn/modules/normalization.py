"""`torch.nn.modules.normalization`'s import path: layer and group normalization."""
from ..layers.norm import GroupNorm, LayerNorm

__all__ = ["GroupNorm", "LayerNorm"]
