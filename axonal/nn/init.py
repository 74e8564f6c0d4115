"""`axonal.nn.init`: in-place weight initializations with PyTorch's names and semantics.

Every function writes into `tensor.data` (outside autograd), returns the tensor and accepts
`generator=` (an `axonal.Generator`; the default generator otherwise). Draws are made in float64 on
the CPU and cast, so a seed gives the same weights on every device and dtype.

Variance-scaling rules (Glorot & Bengio 2010; He et al. 2015), with fan_in = size(1) * receptive
field and fan_out = size(0) * receptive field:

    xavier:  std = gain * sqrt(2 / (fan_in + fan_out))
    kaiming: std = gain / sqrt(fan),   gain = calculate_gain(nonlinearity, a)
    uniform variants draw U(-sqrt(3) std, sqrt(3) std), which has the same standard deviation.
"""
import math
import warnings

import numpy as np

from .. import backend
from .._config import no_grad
from ..random import np_generator
from ..tensor import Tensor

__all__ = ["calculate_gain", "constant_", "dirac_", "eye_", "kaiming_normal_", "kaiming_uniform_",
           "normal_", "ones_", "orthogonal_", "sparse_", "trunc_normal_", "uniform_", "xavier_normal_",
           "xavier_uniform_", "zeros_"]


def calculate_gain(nonlinearity, param=None):
    """The factor by which a nonlinearity shrinks the standard deviation (He et al.), as in
    PyTorch: linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)),
    selu 3/4."""
    linear_fns = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d")
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity}")


def _check(op, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init.{op}: expected a Tensor, got {type(tensor).__name__}")
    return tensor


def _write(tensor, values):
    """tensor.data[...] = values, cast to the tensor's dtype and moved to its device."""
    with no_grad():
        arr = np.asarray(values).astype(tensor._data.dtype, copy=False)
        tensor._data[...] = backend.to_device(arr, tensor.device)
    return tensor


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (got shape {tuple(tensor.shape)})")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    _check("uniform_", tensor)
    return _write(tensor, np_generator(generator).uniform(a, b, tuple(tensor.shape)))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    _check("normal_", tensor)
    return _write(tensor, np_generator(generator).normal(mean, std, tuple(tensor.shape)))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std) conditioned on [a, b] (absolute bounds), by rejection: redraw the samples that
    fall outside. Exact; after many rounds (bounds far in a tail) the rest are drawn uniformly."""
    _check("trunc_normal_", tensor)
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    rng = np_generator(generator)
    out = rng.normal(mean, std, tuple(tensor.shape))
    bad = (out < a) | (out > b)
    for _ in range(100):
        n = int(bad.sum())
        if n == 0:
            break
        out[bad] = rng.normal(mean, std, n)
        bad = (out < a) | (out > b)
    else:
        out[bad] = rng.uniform(a, b, int(bad.sum()))
    return _write(tensor, out)


def constant_(tensor, val):
    _check("constant_", tensor)
    with no_grad():
        tensor._data[...] = val
    return tensor


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    """The identity matrix (ones on the main diagonal) for a 2-D tensor."""
    _check("eye_", tensor)
    if tensor.ndim != 2:
        raise ValueError(f"init.eye_: only tensors with 2 dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    return _write(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    """Identity convolution kernels: out channel i of each group passes input channel i through."""
    _check("dirac_", tensor)
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"init.dirac_: only tensors with 3, 4, or 5 dimensions are supported, got "
                         f"shape {tuple(tensor.shape)}")
    if tensor.shape[0] % groups:
        raise ValueError(f"init.dirac_: dim 0 ({tensor.shape[0]}) must be divisible by groups "
                         f"({groups})")
    out_per_group = tensor.shape[0] // groups
    w = np.zeros(tuple(tensor.shape))
    centre = tuple(s // 2 for s in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, tensor.shape[1])):
            w[(g * out_per_group + d, d) + centre] = 1
    return _write(tensor, w)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check("xavier_uniform_", tensor))
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check("xavier_normal_", tensor))
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(op, tensor, a, mode, nonlinearity):
    _check(op, tensor)
    if 0 in tuple(tensor.shape):
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    std = _kaiming_std("kaiming_uniform_", tensor, a, mode, nonlinearity)
    if std is None:  # an empty tensor: nothing to initialize (PyTorch warns and returns)
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    std = _kaiming_std("kaiming_normal_", tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix (Saxe et al. 2013): the Q of a QR decomposition of a Gaussian
    matrix, with Q's columns multiplied by sign(diag R) so that Q is Haar-distributed (uniform over
    the orthogonal group) rather than biased by the QR sign convention. Dims after the first are
    flattened."""
    _check("orthogonal_", tensor)
    if tensor.ndim < 2:
        raise ValueError(f"init.orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = np_generator(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (gain * q).reshape(tuple(tensor.shape)))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """A sparse 2-D matrix (Martens 2010, Hessian-free optimization): N(0, std^2) entries, then in
    every column ceil(sparsity * rows) entries, at rows drawn without replacement, set to zero."""
    _check("sparse_", tensor)
    if tensor.ndim != 2:
        raise ValueError(f"init.sparse_: only tensors with 2 dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    rows, cols = tensor.shape
    zeros = math.ceil(sparsity * rows)
    g = np_generator(generator)
    w = g.normal(0.0, std, (rows, cols))
    for col in range(cols):
        w[g.permutation(rows)[:zeros], col] = 0.0
    return _write(tensor, w)


def _deprecated(fn):
    """PyTorch's old names without the trailing underscore: the same function, with its
    FutureWarning."""
    new = fn.__name__
    old = new[:-1]

    def alias(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new}`.",
                      FutureWarning, stacklevel=2)
        return fn(*args, **kwargs)
    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = f"Deprecated: use `nn.init.{new}`."
    return alias


uniform, normal, constant, eye, dirac, sparse = map(
    _deprecated, (uniform_, normal_, constant_, eye_, dirac_, sparse_))
xavier_uniform, xavier_normal = map(_deprecated, (xavier_uniform_, xavier_normal_))
kaiming_uniform, kaiming_normal, orthogonal = map(
    _deprecated, (kaiming_uniform_, kaiming_normal_, orthogonal_))
