"""`torch.nn.modules.batchnorm`'s import path: of the classes PyTorch's file defines, those
Axonal has (see _pick.py)."""
from ._pick import pick

__all__ = pick(globals(), [
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
    "LazyBatchNorm3d", "SyncBatchNorm",
])
