"""The one helper of the `torch.nn.modules.<file>` path files: each lists the classes PyTorch's
file defines, and takes those Axonal has from where they live (`nn.layers`, the loss layers,
`nn.containers`, `nn.module`). A class Axonal gains later appears on its path with no edit here;
one it lacks stays missing (an AttributeError), never a stand-in."""
from .. import containers, layers
from .. import module as _module
from ..layers import loss as _loss
from ..layers import loss_extra as _loss_extra

_SOURCES = (layers, _loss, _loss_extra, containers, _module)


def pick(namespace, names):
    """Bind each of `names` that Axonal defines into `namespace`; returns those bound."""
    found = []
    for name in names:
        for src in _SOURCES:
            obj = getattr(src, name, None)
            if isinstance(obj, type):
                namespace[name] = obj
                found.append(name)
                break
    return found
