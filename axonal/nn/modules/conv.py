"""`torch.nn.modules.conv`'s import path: convolutions."""
from ..layers.conv import *  # noqa: F403
from ..layers.conv import __all__  # noqa: F401  (re-exported)
