"""`torch.nn.modules.pooling`'s import path: pooling layers."""
from ..layers.pooling import *  # noqa: F403
from ..layers.pooling import __all__  # noqa: F401  (re-exported)
