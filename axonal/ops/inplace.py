"""In-place operations (`x.zero_()`, `x[i] = v`, `x.copy_(y)` ...).

Work in progress: these write into the tensor's array outside the graph and refuse tensors that are
part of it. (Moved here from tensor.py; PyTorch's differentiable in-place semantics replace them.)
"""
from .. import backend
from .._errors import GraphError
from ..random import np_generator
from ..tensor import Tensor, _index_key
from ..tensor import check_inplace as _check_inplace


def setitem(self, index, value):
    _check_inplace(self, "__setitem__")
    if isinstance(value, Tensor):
        if value._rg and _check_inplace.grad_enabled():
            raise GraphError("__setitem__: assigning a tensor that requires grad into another "
                             "tensor is not differentiable; use index_put")
        value = value._data
    self._data[_index_key(index)] = value


def zero_(self):
    _check_inplace(self, "zero_")
    self._data[...] = 0
    return self


def fill_(self, value):
    _check_inplace(self, "fill_")
    self._data[...] = value.item() if isinstance(value, Tensor) else value
    return self


def copy_(self, src):
    _check_inplace(self, "copy_")
    src = src._data if isinstance(src, Tensor) else src
    xp = backend.xp_of(self._data)
    self._data[...] = xp.asarray(src, dtype=self._data.dtype)
    return self


def uniform_(self, a=0.0, b=1.0, generator=None):
    _check_inplace(self, "uniform_")
    vals = np_generator(generator).uniform(a, b, self._data.shape)
    self._data[...] = backend.to_device(vals.astype(self._data.dtype), self.device)
    return self


def normal_(self, mean=0.0, std=1.0, generator=None):
    _check_inplace(self, "normal_")
    vals = np_generator(generator).normal(mean, std, self._data.shape)
    self._data[...] = backend.to_device(vals.astype(self._data.dtype), self.device)
    return self


METHODS = {"__setitem__": setitem, "zero_": zero_, "fill_": fill_, "copy_": copy_,
           "uniform_": uniform_, "normal_": normal_}
