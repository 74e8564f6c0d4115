"""`torch.nn.modules.distance`'s import path."""
from ..layers.loss_extra import CosineSimilarity, PairwiseDistance

__all__ = ["CosineSimilarity", "PairwiseDistance"]
