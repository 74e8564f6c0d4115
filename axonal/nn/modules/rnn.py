"""`torch.nn.modules.rnn`'s import path: recurrent layers and cells."""
from ..layers.rnn import *  # noqa: F403
from ..layers.rnn import __all__ as _layers
from ..layers.rnn_cells import *  # noqa: F403
from ..layers.rnn_cells import __all__ as _cells

__all__ = [*_layers, *_cells]
