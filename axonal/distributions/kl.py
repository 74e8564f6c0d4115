"""kl_divergence(p, q) = E_p[log p(x) - log q(x)], in closed form for registered pairs.

Layer 5. The pairs (all element-wise over the broadcast batch):

    Normal-Normal        log(s_q / s_p) + (s_p^2 + (m_p - m_q)^2) / (2 s_q^2) - 1/2
    Bernoulli-Bernoulli  p log(p / q) + (1 - p) log((1 - p) / (1 - q)), written with the logits as
                         p (softplus(-l_q) - softplus(-l_p))
                         + (1 - p) (softplus(l_q) - softplus(l_p))
                         (log p = -softplus(-l), log(1 - p) = -softplus(l)), finite for p in {0, 1}
    Categorical          sum_k p_k (log p_k - log q_k); a class with p_k = 0 adds 0, one with
                         p_k > 0 = q_k makes the divergence +inf
    Independent          the base pair's KL summed over the reinterpreted dims (both must
                         reinterpret the same number of dims)

`register_kl(P, Q)` adds a pair; dispatch picks the registered pair closest to (type(p), type(q))
along both method resolution orders, so subclasses inherit their parents' formulas.
"""
from ..nn import functional as F
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import sum_rightmost
from .independent import Independent
from .normal import Normal

_KL = {}


def register_kl(type_p, type_q):
    """Decorator: `@register_kl(Normal, Normal) def kl(p, q): ...`."""
    def decorate(fn):
        _KL[type_p, type_q] = fn
        return fn
    return decorate


def _dispatch(type_p, type_q):
    best, best_rank = None, None
    for i, tp in enumerate(type_p.__mro__):
        for j, tq in enumerate(type_q.__mro__):
            fn = _KL.get((tp, tq))
            if fn is not None and (best_rank is None or i + j < best_rank):
                best, best_rank = fn, i + j
    return best


def kl_divergence(p, q):
    """KL(p || q) in nats, shape = the broadcast batch shape of p and q."""
    fn = _dispatch(type(p), type(q))
    if fn is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p = {type(p).__name__}, "
                                  f"q = {type(q).__name__}; register one with "
                                  "axonal.distributions.register_kl")
    return fn(p, q)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    t1 = p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits))
    t2 = (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    # classes with p_k = 0 contribute nothing (0 * log 0 = 0); p_k > 0 = q_k gives +inf
    zero_p = (p.probs == 0).expand_as(t)
    t = t.masked_fill(zero_p, 0.0)
    inf_q = ((q.probs == 0).expand_as(t)).logical_and((p.probs > 0).expand_as(t))
    t = t.masked_fill(inf_q, float("inf"))
    return t.sum(-1)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("KL between Independent distributions that reinterpret a "
                                  f"different number of dims ({p.reinterpreted_batch_ndims} vs "
                                  f"{q.reinterpreted_batch_ndims})")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


__all__ = ["kl_divergence", "register_kl"]
