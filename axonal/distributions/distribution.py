"""`Distribution`: the base class, with PyTorch's shape semantics and argument validation.

Layer 5. Shapes follow torch.distributions: a distribution holds a *batch* of independent
distributions (`batch_shape`), each over events of shape `event_shape`. `sample(sample_shape)`
returns `sample_shape + batch_shape + event_shape`; `log_prob(value)` returns one number per event,
shape `sample_shape + batch_shape` (value broadcast against the batch).

`rsample` is the reparameterized sample: the randomness is drawn from a fixed distribution and
pushed through a differentiable map of the parameters (x = loc + scale * eps, eps ~ N(0, 1)), so
gradients of E[f(x)] flow to the parameters through the sample. `sample` is the same draw with no graph.

With `validate_args` (on by default, as in PyTorch; turn it off per instance or globally with
`Distribution.set_default_validate_args(False)`), parameters outside their constraint (a scale <= 0,
a probability outside [0, 1]) raise ValueError at construction, and `log_prob` of a value outside
the support raises ValueError.
"""
import math
import numbers
from typing import ClassVar

from .. import _config
from ..ops import broadcast_tensors, tensor
from ..tensor import Size, Tensor


class lazy_property:
    """Computed once on first access and cached on the instance (probs <-> logits)."""

    def __init__(self, fn):
        self.fn, self.__doc__, self.name = fn, fn.__doc__, fn.__name__

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.name] = value
        return value


def broadcast_all(*values):
    """Broadcast numbers and Tensors to Tensors of one shape. Numbers take the dtype and device of
    the Tensor arguments (or the default dtype), as in torch.distributions.utils.broadcast_all."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    out = []
    for v in values:
        if isinstance(v, Tensor):
            out.append(v)
        elif isinstance(v, numbers.Number):
            out.append(tensor(float(v), dtype=like.dtype if like is not None else None,
                              device=like.device if like is not None else None))
        else:
            raise TypeError(f"expected a number or a Tensor, got {type(v).__name__}")
    if len(out) == 1:
        return out[0],
    return tuple(broadcast_tensors(*out))


def sum_rightmost(x, n):
    """Sum the `n` rightmost dims of `x` (n = 0: `x` itself)."""
    return x if n == 0 else x.reshape(tuple(x.shape[:x.dim() - n]) + (-1,)).sum(-1)


def clamp_probs(probs):
    """Probabilities pulled into [eps, 1 - eps] (eps = machine epsilon of the dtype) so that
    log(p) and log(1 - p) stay finite."""
    import numpy as np

    eps = float(np.finfo(probs._data.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


class Distribution:
    has_rsample = False
    arg_constraints: ClassVar[dict] = {}
    support = None
    _validate_default = True

    @staticmethod
    def set_default_validate_args(value):
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args expects a bool, got {value!r}")
        Distribution._validate_default = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)
        self._validate_args = Distribution._validate_default if validate_args is None else bool(
            validate_args)
        if not self._validate_args:
            return
        for name, constraint in self.arg_constraints.items():
            if name not in self.__dict__ and isinstance(getattr(type(self), name, None),
                                                        lazy_property):
                continue  # a parameter derived from the one given (logits from probs): not checked
            value = getattr(self, name)
            if not bool(constraint.check(value).all()):
                raise ValueError(
                    f"Expected parameter {name} ({type(value).__name__} of shape "
                    f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                    f"{constraint!r}, but found invalid values:\n{value}")

    # -- shapes -----------------------------------------------------------------------------------
    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        if isinstance(sample_shape, numbers.Integral):
            sample_shape = (int(sample_shape),)
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    # -- interface --------------------------------------------------------------------------------
    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=()):
        """A draw of shape sample_shape + batch_shape + event_shape, outside autograd."""
        with _config.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sampler "
                                  "(has_rsample is False); use sample()")

    def log_prob(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def perplexity(self):
        return self.entropy().exp()

    # -- validation -------------------------------------------------------------------------------
    def _validate_sample(self, value):
        """`value` must be a Tensor whose rightmost dims are event_shape, broadcastable against the
        batch, and inside the support."""
        if not isinstance(value, Tensor):  # a ValueError, as PyTorch raises
            msg = f"The value argument to log_prob must be a Tensor, got {type(value).__name__}"
            raise ValueError(msg)  # noqa: TRY004
        event_dim = len(self._event_shape)
        shape = tuple(value.shape)
        if shape[len(shape) - event_dim:] != tuple(self._event_shape) or len(shape) < event_dim:
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{tuple(value.shape)} vs {tuple(self._event_shape)}.")
        batch = shape[:len(shape) - event_dim]
        for a, b in zip(reversed(batch), reversed(tuple(self._batch_shape))):
            if a != 1 and b != 1 and a != b:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{shape} vs {tuple(self._extended_shape())}.")
        support = self.support
        if support is not None and not bool(support.check(value).all()):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {shape}) "
                             f"to be within the support ({support!r}) of the distribution "
                             f"{self!r}, but found invalid values:\n{value}")

    def __repr__(self):
        parts = []
        given = getattr(self, "_given", None)  # probs or logits: the parameter passed in
        for name in self.arg_constraints:
            if name == given or given is None and not isinstance(getattr(type(self), name, None),
                                                                 lazy_property):
                value = getattr(self, name)
                parts.append(f"{name}: " + (f"{value.item():g}" if value.numel() == 1
                                             else f"{Size(value.shape)}"))
        return f"{type(self).__name__}({', '.join(parts)})"


LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)

__all__ = ["Distribution", "broadcast_all", "clamp_probs", "lazy_property", "sum_rightmost"]
