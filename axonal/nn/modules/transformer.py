"""`torch.nn.modules.transformer`'s import path: Transformer layers."""
from ..layers.transformer import *  # noqa: F403
from ..layers.transformer import __all__  # noqa: F401  (re-exported)
