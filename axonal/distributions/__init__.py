"""Probability distributions with PyTorch's names, shapes and argument conventions.

Layer 5 (like nn). `sample` draws without a graph; `rsample` is reparameterized and differentiable
(Normal); `log_prob`, `entropy`, `mean`, `variance`, `stddev`, `batch_shape`, `event_shape`; and
`kl_divergence(p, q)` in closed form for Normal, Bernoulli, Categorical and Independent pairs.

    from axonal.distributions import Normal, Independent, kl_divergence
    q = Independent(Normal(mu, sigma), 1)           # a diagonal Gaussian over the last dim
    z = q.rsample()                                  # gradients reach mu and sigma
    kl = kl_divergence(q, Independent(Normal(0 * mu, 1 + 0 * mu), 1))
"""
from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .independent import Independent
from .kl import kl_divergence, register_kl
from .normal import Normal

__all__ = ["Bernoulli", "Categorical", "Distribution", "Independent", "Normal", "constraints",
           "kl_divergence", "register_kl"]
