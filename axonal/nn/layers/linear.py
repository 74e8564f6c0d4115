"""Affine layers and shape adapters: Identity, Linear, Bilinear, Maxout, Flatten, Unflatten.

Default initializations are PyTorch's: Linear (and Maxout) draw the weight with
kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) since the gain sqrt(2/(1+5))
times sqrt(3)/sqrt(fan_in) equals 1/sqrt(fan_in), and the bias from the same interval.
"""
import math

from ... import _autocast_state  # autocast mixes dtypes on purpose
from ..._errors import DTypeError
from ...ops.linalg import linear as _linear
from ...ops.shape import flatten as _flatten
from ...ops.shape import reshape
from .. import functional as F
from .. import init
from ..module import Module
from ._util import check_tensor, new_param, shape_error, who


class Identity(Module):
    """Returns its input; accepts (and ignores) any constructor arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


def _check_last_dim(module, x, n, what="input"):
    check_tensor(module, x, what)
    if x.ndim == 0 or x.shape[-1] != n:
        raise shape_error(module, f"expected {what} with last dim {n}, got shape {tuple(x.shape)}")
    if x.dtype is not module.weight.dtype and not _autocast_state.enabled_for(x.device.type):
        raise DTypeError(f"{who(module)}: expected {what} of dtype {module.weight.dtype} (the "
                         f"weight's), got {x.dtype}; use x.to({module.weight.dtype}) or "
                         "model.to(dtype)")


class Linear(Module):
    """y = x W^T + b with weight (out_features, in_features), bias (out_features,); x (*, in)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = new_param((self.out_features, self.in_features), dtype, device)
        if bias:
            self.bias = new_param((self.out_features,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        _check_last_dim(self, input, self.in_features)
        return _linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """y_k = x1^T W_k x2 + b_k; weight (out, in1, in2) and bias drawn from U(-1/sqrt(in1), ...)."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features, self.in2_features = int(in1_features), int(in2_features)
        self.out_features = int(out_features)
        self.weight = new_param((self.out_features, self.in1_features, self.in2_features), dtype,
                                device)
        if bias:
            self.bias = new_param((self.out_features,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        _check_last_dim(self, input1, self.in1_features, "input1")
        _check_last_dim(self, input2, self.in2_features, "input2")
        if input1.shape[:-1] != input2.shape[:-1]:
            raise shape_error(self, f"input1 {tuple(input1.shape)} and input2 "
                              f"{tuple(input2.shape)} must have the same leading dims")
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Maxout(Module):
    """Maxout units (Goodfellow et al. 2013): y_j = max_k (W_{jk} x + b_{jk}), k < pieces.

    Layout: weight (out_features * pieces, in_features) and bias (out_features * pieces,) hold the
    pieces of a unit in consecutive rows, row j * pieces + k being piece k of unit j; so the layer
    is one Linear to out * pieces features, viewed as (*, out, pieces) and maxed over the last dim.
    The gradient flows to the winning piece only. Initialized like Linear (fan_in = in_features).
    """

    def __init__(self, in_features, out_features, pieces, bias=True, device=None, dtype=None):
        super().__init__()
        if int(pieces) < 1:
            raise ValueError(f"Maxout: pieces must be >= 1, got {pieces}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.pieces = int(pieces)
        rows = self.out_features * self.pieces
        self.weight = new_param((rows, self.in_features), dtype, device)
        if bias:
            self.bias = new_param((rows,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    reset_parameters = Linear.reset_parameters

    def forward(self, input):
        _check_last_dim(self, input, self.in_features)
        z = _linear(input, self.weight, self.bias)
        z = reshape(z, tuple(input.shape[:-1]) + (self.out_features, self.pieces))
        return z.max(-1).values

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pieces={self.pieces}, bias={self.bias is not None}")


class Flatten(Module):
    """Flattens dims start_dim..end_dim into one (by default all but the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        n = max(input.ndim, 1)
        for d in (self.start_dim, self.end_dim):
            if not -n <= d < n:
                raise shape_error(self, f"dim {d} is out of range for input of shape "
                                  f"{tuple(input.shape)}")
        if self.start_dim % n > self.end_dim % n:
            raise shape_error(self, f"start_dim comes after end_dim for input of shape "
                              f"{tuple(input.shape)}")
        return _flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expands dim `dim` into `unflattened_size` (one entry may be -1)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if isinstance(dim, str):
            raise TypeError("Unflatten: named dims are not supported; give an int dim")
        sizes = tuple(int(s) for s in unflattened_size)
        if sum(s == -1 for s in sizes) > 1 or any(s < -1 for s in sizes):
            raise ValueError(f"Unflatten: invalid unflattened_size {sizes}")
        self.dim, self.unflattened_size = int(dim), sizes

    def forward(self, input):
        if not -max(input.ndim, 1) <= self.dim < max(input.ndim, 1):
            raise shape_error(self, f"dim {self.dim} is out of range for input of shape "
                              f"{tuple(input.shape)}")
        d = self.dim % input.ndim
        known = 1
        for s in self.unflattened_size:
            known *= s if s != -1 else 1
        size = input.shape[d]
        ok = size % known == 0 if -1 in self.unflattened_size else size == known
        if not ok:
            raise shape_error(self, f"cannot unflatten dim {self.dim} of size {size} into "
                              f"{self.unflattened_size} (input shape {tuple(input.shape)})")
        sizes = tuple(size // known if s == -1 else s for s in self.unflattened_size)
        return reshape(input, tuple(input.shape[:d]) + sizes + tuple(input.shape[d + 1:]))

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
