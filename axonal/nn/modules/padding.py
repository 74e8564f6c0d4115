"""`torch.nn.modules.padding`'s import path: of the classes PyTorch's file defines, those
Axonal has (see _pick.py)."""
from ._pick import pick

__all__ = pick(globals(), [
    "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
    "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d",
    "ZeroPad3d",
])
