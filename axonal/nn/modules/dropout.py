"""`torch.nn.modules.dropout`'s import path: dropout layers."""
from ..layers.dropout import *  # noqa: F403
from ..layers.dropout import __all__  # noqa: F401  (re-exported)
