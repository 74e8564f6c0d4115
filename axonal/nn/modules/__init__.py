"""PyTorch's `torch.nn.modules.<file>.<Class>` import paths (`from torch.nn.modules.linear import
Linear`): thin re-exports of the classes that live in `axonal.nn.layers` and `axonal.nn`."""
from . import (
    activation,
    adaptive,
    batchnorm,
    channelshuffle,
    container,
    conv,
    distance,
    dropout,
    flatten,
    fold,
    instancenorm,
    lazy,
    linear,
    loss,
    module,
    normalization,
    padding,
    pixelshuffle,
    pooling,
    rnn,
    sparse,
    transformer,
    upsampling,
)
from ..containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from ..layers import *  # noqa: F403
from ..layers.loss import *  # noqa: F403
from ..layers.loss_extra import *  # noqa: F403
from ..module import Module
