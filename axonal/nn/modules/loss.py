"""`torch.nn.modules.loss`'s import path: loss modules."""
from ..layers.loss import *  # noqa: F403
from ..layers.loss import __all__
