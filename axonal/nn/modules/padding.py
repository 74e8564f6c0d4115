"""`torch.nn.modules.padding`'s import path: the padding layers."""
from ..layers.padding import *
from ..layers.padding import __all__  # noqa: F401  (re-exported)
