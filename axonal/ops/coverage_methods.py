"""Tensor methods for the functions of pointwise.py, combine.py and stats.py (PyTorch's method
names; `x.f(*args)` is `f(x, *args)`). Bound when `axonal` is imported, before the missing-name
stand-ins are installed for the PyTorch names still missing."""
from ..tensor import Tensor
from . import combine, copies, discrete, pointwise, scan, stats

_FROM = {
    pointwise: """tan sinh cosh asin acos atan asinh acosh atanh arcsin arccos arctan arcsinh
        arccosh arctanh expm1 exp2 log2 log10 deg2rad rad2deg frac logit nan_to_num atan2 arctan2
        hypot logaddexp logaddexp2 xlogy copysign fmod fmax fmin float_power ldexp sgn positive
        negative absolute fix signbit isposinf isneginf isreal""",
    # (clamp_min ... masked_scatter are already Tensor methods: their function forms only)
    combine: """addmm addmv addr baddbmm addbmm trace kron cross inner vdot ger rot90 roll fliplr
        flipud diag_embed diagflat tensor_split hsplit vsplit dsplit take take_along_dim diff
        masked_select argwhere moveaxis""",
    stats: "nansum nanmean aminmax median kthvalue dist cov corrcoef quantile",
    scan: """cumprod cummax cummin logcumsumexp greater greater_equal less less_equal not_equal
        ravel tile sinc""",
    copies: """split_with_sizes unsafe_chunk unsafe_split unsafe_split_with_sizes adjoint narrow_copy
        is_complex is_signed is_same_size is_nonzero unfold type_as sum_to_size movedim""",
    discrete: "bincount histc gcd lcm unique_consecutive",  # (shifts: methods.py binds arith's)
}

METHODS = {name: getattr(mod, name) for mod, names in _FROM.items() for name in names.split()}

for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)


def _H(self):
    """The conjugate transpose of a matrix (for real tensors: its transpose)."""
    if self.ndim not in (0, 2):
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                           f"{self.ndim}-D tensor.")
    return self if self.ndim == 0 else self.transpose(0, 1)


Tensor.H = property(_H)
Tensor.ndimension = lambda self: self.ndim
Tensor.itemsize = property(lambda self: self._data.dtype.itemsize)
Tensor.nbytes = property(lambda self: self._data.dtype.itemsize * self._data.size)
Tensor.mH = property(lambda self: self.mT)  # real tensors: mT
