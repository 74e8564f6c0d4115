"""`Parameter`: a leaf Tensor that a Module registers as one of its learnable weights.

A Parameter is an ordinary Tensor (ops on it return plain Tensors) whose only differences are that
it requires grad by default and that assigning it as a Module attribute registers it in the module's
`_parameters`. Constructing one from a Tensor shares that tensor's array, as in PyTorch.
"""
import numpy as np

from .. import _dtype as _dt
from ..tensor import ARRAY_TYPES, Tensor, constant


class Parameter(Tensor):
    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=_dt.get_default_dtype().np)
        elif isinstance(data, Tensor):
            data = data._data
        elif not isinstance(data, ARRAY_TYPES):
            data = Tensor(data)._data  # Python data: default float dtype, like torch.tensor(...)
        super().__init__(data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(self._data.copy(), requires_grad=self.requires_grad)
        if self.grad is not None:
            out.grad = constant(self.grad._data.copy())
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self.requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad=requires_grad)


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer on assignment (PyTorch 2.x `nn.Buffer`)."""

    def __init__(self, data=None, *, persistent=True):
        super().__init__(data._data if isinstance(data, Tensor) else data)
        self.persistent = persistent
