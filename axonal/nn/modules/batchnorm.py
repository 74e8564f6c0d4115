"""`torch.nn.modules.batchnorm`'s import path: batch normalization."""
from ..layers.norm import BatchNorm1d, BatchNorm2d
from ..layers.volumetric import BatchNorm3d

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]
