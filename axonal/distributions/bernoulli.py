"""Bernoulli(probs=... | logits=...): a batch of independent coin flips.

Layer 5. With p = sigmoid(l) the log-likelihood of x in {0, 1} is

    log p(x) = x log p + (1 - x) log(1 - p) = x l - softplus(l),

since log sigmoid(l) = -softplus(-l) and log(1 - sigmoid(l)) = -softplus(l). Working from the logits
keeps it finite where p rounds to 0 or 1 (it is minus binary cross-entropy with logits). The entropy
is H = softplus(l) - p l, the same expression at x = p.
"""
from typing import ClassVar

from ..nn import functional as F
from ..ops import bernoulli as _bernoulli
from . import constraints
from .distribution import Distribution, broadcast_all, clamp_probs, lazy_property


class Bernoulli(Distribution):
    """Exactly one of `probs` (in [0, 1]) or `logits` (log-odds, any real), as in PyTorch."""

    arg_constraints: ClassVar[dict] = {"probs": constraints.unit_interval,
                                       "logits": constraints.real}
    support = constraints.boolean
    has_rsample = False

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.probs, = broadcast_all(probs)
            param = self.probs
        else:
            self.logits, = broadcast_all(logits)
            param = self.logits
        self._param, self._given = param, "probs" if probs is not None else "logits"
        super().__init__(param.shape, (), validate_args)

    @lazy_property
    def logits(self):
        """log p - log(1 - p), with p clamped away from 0 and 1."""
        p = clamp_probs(self.probs)
        return p.log() - (-p).log1p()

    @lazy_property
    def probs(self):
        return self.logits.sigmoid()

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return (self.probs > 0.5).to(self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=(), generator=None):
        shape = self._extended_shape(sample_shape)
        probs = self.probs.detach().expand(*shape) if tuple(shape) else self.probs.detach()
        return _bernoulli(probs, generator=generator)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return value * logits - F.softplus(logits)

    def entropy(self):
        return F.softplus(self.logits) - self.probs * self.logits

    def enumerate_support(self, expand=True):
        from ..ops import arange

        values = arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((2,) + (1,) * len(self.batch_shape))
        return values.expand(2, *self.batch_shape) if expand else values


__all__ = ["Bernoulli"]
