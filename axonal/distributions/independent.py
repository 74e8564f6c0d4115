"""Independent(base, n): reinterpret the n rightmost batch dims of `base` as event dims.

Layer 5. A diagonal Gaussian over R^d is `Independent(Normal(mu, sigma), 1)`: the d coordinates are
independent, so the joint log-density is the sum of the d univariate ones,

    log p(x) = sum_i log N(x_i; mu_i, sigma_i),  H = sum_i H_i,  KL(p || q) = sum_i KL(p_i || q_i),

and `log_prob` returns one number per d-vector instead of d numbers. Sampling is the base's (the
draws were already independent); only the bookkeeping of shapes changes.
"""
from typing import ClassVar

from . import constraints
from .distribution import Distribution, sum_rightmost


class Independent(Distribution):
    arg_constraints: ClassVar[dict] = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        if not isinstance(base_distribution, Distribution):
            raise TypeError(f"Independent: base_distribution must be a Distribution, got "
                            f"{type(base_distribution).__name__}")
        n = reinterpreted_batch_ndims
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"Independent: reinterpreted_batch_ndims must be a non-negative int, "
                             f"got {n!r}")
        if n > len(base_distribution.batch_shape):
            raise ValueError(f"Expected reinterpreted_batch_ndims <= len(base_distribution."
                             f"batch_shape), actual {n} vs {len(base_distribution.batch_shape)}")
        shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        event_dim = n + len(base_distribution.event_shape)
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, n
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:],
                         validate_args)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def support(self):
        base = self.base_dist.support
        if base is None or self.reinterpreted_batch_ndims == 0:
            return base
        return constraints.independent(base, self.reinterpreted_batch_ndims)

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def mode(self):
        return self.base_dist.mode

    @property
    def variance(self):
        return self.base_dist.variance

    def sample(self, sample_shape=(), **kwargs):
        return self.base_dist.sample(sample_shape, **kwargs)

    def rsample(self, sample_shape=(), **kwargs):
        return self.base_dist.rsample(sample_shape, **kwargs)

    def log_prob(self, value):
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


__all__ = ["Independent"]
