"""`torch.nn.modules.loss`'s import path: loss modules."""
from ..layers.loss import *  # noqa: F403
from ..layers.loss import __all__  # noqa: F401  (re-exported)
