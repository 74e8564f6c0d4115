"""`torch.nn.modules.fold`'s import path: Fold and Unfold."""
from ..layers.fold import *  # noqa: F403
from ..layers.fold import __all__  # noqa: F401  (re-exported)
