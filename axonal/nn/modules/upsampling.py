"""`torch.nn.modules.upsampling`'s import path: upsampling layers."""
from ..layers.upsample import *  # noqa: F403
from ..layers.upsample import __all__  # noqa: F401  (re-exported)
