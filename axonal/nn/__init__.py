"""Neural network building blocks: Module, Parameter, containers, layers, functional, init.

    import axonal.nn as nn
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
"""
from . import functional, init, modules, parallel, utils
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .layers import *
from .layers import __all__ as _layer_names
from .lazy import UninitializedBuffer, UninitializedParameter
from .module import Buffer, Module, Parameter
from .parallel import DataParallel

__all__ = (["Module", "Parameter", "Buffer", "Sequential", "ModuleList", "ModuleDict",
            "ParameterList", "ParameterDict", "functional", "init", "utils", "modules", "parallel",
            "DataParallel", "UninitializedParameter", "UninitializedBuffer"] + list(_layer_names))

from .layers import loss as _loss_mod
from .layers.loss import *

__all__ += [n for n in _loss_mod.__all__ if not n.startswith("_")]
del _loss_mod
from .layers.loss_extra import *  # noqa: F403  (CTCLoss, TripletMarginLoss, ..., PairwiseDistance)
from .layers.loss_extra import __all__ as _loss_extra_names

__all__ += list(_loss_extra_names)

from .._compat import module_getattr as _module_getattr

# a PyTorch name that Axonal lacks: "axonal does not implement torch.nn.X yet" (PEP 562)
__getattr__ = _module_getattr("torch.nn", globals())
