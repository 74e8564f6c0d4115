"""`torch.nn.modules.batchnorm`'s import path: batch normalization."""
from ..layers.norm import BatchNorm1d, BatchNorm2d

__all__ = ["BatchNorm1d", "BatchNorm2d"]
