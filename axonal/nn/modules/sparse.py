"""`torch.nn.modules.sparse`'s import path: Embedding."""
from ..layers.sparse import Embedding

__all__ = ["Embedding"]
