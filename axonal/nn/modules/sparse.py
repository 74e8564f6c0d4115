"""`torch.nn.modules.sparse`'s import path: of the classes PyTorch's file defines, those
Axonal has (see _pick.py)."""
from ._pick import pick

__all__ = pick(globals(), [
    "Embedding", "EmbeddingBag",
])
