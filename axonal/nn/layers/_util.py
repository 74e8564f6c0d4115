"""Helpers shared by the layer modules: error prefixes and parameter allocation."""
from ... import _dtype as _dt
from ..._errors import ShapeError
from ...ops import zeros
from ...tensor import Tensor
from ..parameter import Parameter


def who(module):
    """The layer as it prints on one line, e.g. 'Linear(in_features=784, out_features=10,
    bias=True)': error messages start with it so the offending layer is obvious."""
    return f"{module._get_name()}({module.extra_repr()})"


def shape_error(module, message):
    return ShapeError(f"{who(module)}: {message}")


def new_param(shape, dtype=None, device=None):
    """An uninitialized (zero) Parameter of the default float dtype unless given."""
    dtype = dtype if dtype is not None else _dt.get_default_dtype()
    if not _dt.to_dtype(dtype).is_floating_point:
        raise TypeError(f"parameters must have a floating point dtype, got {dtype}")
    return Parameter(zeros(*shape, dtype=dtype, device=device))


def check_tensor(module, x, what="input"):
    """A layer's input must be a Tensor: a NumPy array is named, with the call that converts it."""
    if isinstance(x, Tensor):
        return
    kind = f"{type(x).__module__}.{type(x).__name__}".replace("builtins.", "")
    hint = ("wrap it with axonal.from_numpy(x) (shares its memory) or axonal.tensor(x) (copies)"
            if hasattr(x, "__array_interface__") or hasattr(x, "__cuda_array_interface__")
            else "pass a Tensor")
    raise TypeError(f"{who(module)}: expected a Tensor as {what}, got {kind}; {hint}")


def check_ndim(module, x, allowed, what):
    check_tensor(module, x)
    if x.ndim not in allowed:
        raise shape_error(module, f"expected {what} input, got {x.ndim}D input of shape "
                          f"{tuple(x.shape)}")
