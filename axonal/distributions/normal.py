"""Normal(loc, scale): the univariate Gaussian, batched; reparameterized sampling.

Layer 5. Density  p(x) = exp(-(x - mu)^2 / (2 sigma^2)) / (sigma sqrt(2 pi)), so

    log p(x) = -(x - mu)^2 / (2 sigma^2) - log sigma - log sqrt(2 pi)
    H        = 1/2 + log sqrt(2 pi) + log sigma   (differential entropy, nats)

rsample is the reparameterization trick: x = mu + sigma * eps with eps ~ N(0, 1) drawn independently
of the parameters, so x is a differentiable function of (mu, sigma) and d x / d mu = 1,
d x / d sigma = eps. That is what lets a VAE backpropagate through its sampled latent code.
"""
from typing import ClassVar

from ..ops import randn
from . import constraints
from .distribution import LOG_SQRT_2PI, Distribution, broadcast_all


class Normal(Distribution):
    """Normal(loc, scale), `scale` the standard deviation (> 0), as torch.distributions.Normal."""

    arg_constraints: ClassVar[dict] = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale ** 2

    def rsample(self, sample_shape=(), generator=None):
        shape = self._extended_shape(sample_shape)
        eps = randn(*shape, generator=generator, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + eps * self.scale

    def sample(self, sample_shape=(), generator=None):
        from .. import _config

        with _config.no_grad():
            return self.rsample(sample_shape, generator=generator)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, = broadcast_all(value) if not hasattr(value, "shape") else (value,)
        return -((value - self.loc) ** 2) / (2 * self.variance) - self.scale.log() - LOG_SQRT_2PI

    def entropy(self):
        return 0.5 + LOG_SQRT_2PI + self.scale.log()


__all__ = ["Normal"]
