"""Categorical(probs=... | logits=...): one draw from K classes, over the last dim of the parameter.

Layer 5. The parameter has shape batch_shape + (K,); events are scalar class indices 0..K-1.
`probs` are normalized to sum to 1 along the last dim; `logits` are normalized too, to
log-probabilities l - logsumexp(l). Then log p(k) = logits[k] and H = -sum_k p_k log p_k (a class
with p_k = 0 contributes 0: its -inf log-probability is clamped to the most negative finite number
before the product, as PyTorch does).

Sampling is by inversion: u ~ U(0, 1), k = #{j : cdf_j < u}, vectorized over the whole batch.
"""
from typing import ClassVar

import numpy as np

from ..backend import to_numpy, xp_of
from ..ops import broadcast_tensors, full
from ..random import np_generator
from ..tensor import Tensor, constant
from . import constraints
from .distribution import Distribution, clamp_probs, lazy_property


class Categorical(Distribution):
    """Exactly one of `probs` (non-negative, normalized here) or `logits` (unnormalized)."""

    arg_constraints: ClassVar[dict] = {"probs": constraints.simplex,
                                       "logits": constraints.real_vector}
    has_rsample = False

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        param = probs if probs is not None else logits
        if not isinstance(param, Tensor):
            raise TypeError(f"Categorical: {'probs' if probs is not None else 'logits'} must be a "
                            f"Tensor, got {type(param).__name__}")
        if param.dim() < 1:
            raise ValueError(f"`{'probs' if probs is not None else 'logits'}` parameter must be at "
                             "least one-dimensional.")
        if probs is not None:
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = int(param.shape[-1])
        self._given = "probs" if probs is not None else "logits"
        super().__init__(param.shape[:-1], (), validate_args)

    @lazy_property
    def logits(self):
        return clamp_probs(self.probs).log()

    @lazy_property
    def probs(self):
        return self.logits.softmax(-1)

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):  # undefined for unordered classes: NaN, as in PyTorch
        return full(tuple(self.batch_shape), float("nan"), dtype=self._param.dtype,
                    device=self._param.device)

    @property
    def variance(self):
        return self.mean

    @property
    def mode(self):
        return self.probs.argmax(-1)

    def sample(self, sample_shape=(), generator=None):
        shape = tuple(self._extended_shape(sample_shape))
        p = to_numpy(self.probs._data).astype(np.float64)
        cdf = np.cumsum(p, axis=-1)
        u = np_generator(generator).random(shape) * cdf[..., -1]  # tolerate rounding in the sum
        idx = (u[..., None] >= np.broadcast_to(cdf, shape + (self._num_events,))).sum(-1)
        idx = np.minimum(idx, self._num_events - 1).astype(np.int64)
        xp = xp_of(self.probs._data)
        return constant(xp.asarray(idx))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        lowest = float(np.finfo(self.logits._data.dtype).min)
        return -(self.logits.clamp(min=lowest) * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        from ..ops import arange

        values = arange(self._num_events, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        return values.expand(self._num_events, *self.batch_shape) if expand else values


__all__ = ["Categorical"]
