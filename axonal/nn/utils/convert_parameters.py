"""Flatten parameters into one vector and write a vector back (e.g. for second-order methods)."""
from ..._errors import ShapeError
from ...ops import cat, reshape
from ...tensor import Tensor


def parameters_to_vector(parameters):
    """Concatenate the flattened parameters into one 1-D tensor (differentiable)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    device = params[0].device
    for p in params:
        if p.device != device:
            raise RuntimeError(f"parameters_to_vector: parameters are on different devices "
                               f"({device} and {p.device})")
    return cat([reshape(p, -1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D `vec` into the parameters' data, in order."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ShapeError(f"vector_to_parameters: expected a 1-D vector of {total} elements (the "
                         f"parameters' total size), got shape {tuple(vec.shape)}")
    offset = 0
    for p in params:
        n = p.numel()
        p._data[...] = vec._data[offset:offset + n].reshape(p._data.shape).astype(p._data.dtype)
        offset += n
