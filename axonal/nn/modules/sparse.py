"""`torch.nn.modules.sparse`'s import path: Embedding and EmbeddingBag."""
from ..layers.sparse import Embedding, EmbeddingBag

__all__ = ["Embedding", "EmbeddingBag"]
