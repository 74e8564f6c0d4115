"""`torch.nn.modules.adaptive`'s import path."""
from ..layers.adaptive import AdaptiveLogSoftmaxWithLoss

__all__ = ["AdaptiveLogSoftmaxWithLoss"]
