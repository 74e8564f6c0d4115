"""axonal.distributions against independent oracles: SciPy densities and entropies, brute-force sums
over finite supports, numerical integration for KL, torch.distributions, finite differences."""
import numpy as np
import pytest
import scipy.integrate
import scipy.stats

import axonal
from axonal.autograd import gradcheck
from axonal.distributions import (
    Bernoulli,
    Categorical,
    Distribution,
    Independent,
    Normal,
    kl_divergence,
    register_kl,
)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def t64(a, requires_grad=False):
    return axonal.tensor(np.asarray(a, dtype=np.float64), dtype=axonal.float64,
                         requires_grad=requires_grad)


def close(a, b, tol=1e-10):
    a = a.detach().numpy() if isinstance(a, axonal.Tensor) else a
    b = b.detach().numpy() if isinstance(b, axonal.Tensor) else b
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol,
                               atol=tol)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# -- Normal -------------------------------------------------------------------------------------
def test_normal_log_prob_entropy_moments_vs_scipy(rng):
    loc, scale = rng.normal(size=(3, 1)), rng.uniform(0.2, 3, size=(1, 4))
    x = rng.normal(size=(5, 3, 4)) * 2
    d = Normal(t64(loc), t64(scale))
    assert d.batch_shape == (3, 4) and d.event_shape == ()
    close(d.log_prob(t64(x)), scipy.stats.norm.logpdf(x, loc, scale))
    close(d.entropy(), scipy.stats.norm.entropy(loc, scale) * np.ones((3, 4)))
    close(d.mean, np.broadcast_to(loc, (3, 4)))
    close(d.variance, np.broadcast_to(scale ** 2, (3, 4)))
    close(d.stddev, np.broadcast_to(scale, (3, 4)))


@pytest.mark.torch
def test_normal_matches_torch(rng, torch):
    td = torch.distributions
    loc, scale, x = rng.normal(size=4), rng.uniform(0.5, 2, size=4), rng.normal(size=(2, 4))
    ours, theirs = Normal(t64(loc), t64(scale)), td.Normal(torch.tensor(loc), torch.tensor(scale))
    close(ours.log_prob(t64(x)), theirs.log_prob(torch.tensor(x)).numpy())
    close(ours.entropy(), theirs.entropy().numpy())


def test_normal_scalar_arguments_and_sample_shapes():
    d = Normal(0.0, 1.0)
    assert d.batch_shape == () and d.sample().shape == () and d.sample((2, 3)).shape == (2, 3)
    assert d.loc.dtype == axonal.get_default_dtype()
    d2 = Normal(t64([0.0, 1.0]), 2.0)
    assert d2.scale.dtype == axonal.float64 and d2.rsample((5,)).shape == (5, 2)


def test_normal_sample_statistics(rng):
    d = Normal(t64([1.5, -2.0]), t64([0.5, 3.0]))
    x = d.sample((200_000,)).numpy()
    np.testing.assert_allclose(x.mean(0), [1.5, -2.0], atol=0.03)
    np.testing.assert_allclose(x.std(0), [0.5, 3.0], rtol=0.01)


def test_normal_rsample_is_differentiable_and_sample_is_not():
    loc, scale = t64([0.3, -1.0], True), t64([0.7, 2.0], True)

    def draw(loc, scale):
        axonal.manual_seed(7)  # the same eps on every call, so the map (loc, scale) -> x is fixed
        return Normal(loc, scale).rsample((3,))

    assert gradcheck(draw, (loc, scale))
    x = draw(loc, scale)
    x.sum().backward()
    close(loc.grad, [3.0, 3.0])  # dx/dloc = 1 per draw
    axonal.manual_seed(7)
    eps = axonal.randn(3, 2, dtype=axonal.float64).numpy()
    close(scale.grad, eps.sum(0))  # dx/dscale = eps
    assert not Normal(loc, scale).sample((3,)).requires_grad
    assert Normal.has_rsample and not Bernoulli(probs=0.5).has_rsample


def test_normal_log_prob_and_entropy_gradients():
    loc, scale, x = t64([0.3, -1.0], True), t64([0.7, 2.0], True), t64([1.0, 0.5], True)
    assert gradcheck(lambda m, s, v: Normal(m, s).log_prob(v), (loc, scale, x))
    assert gradcheck(lambda s: Normal(0.0, s).entropy(), (scale,))


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan")])
def test_normal_validates_scale(scale):
    with pytest.raises(ValueError, match=r"parameter scale .*GreaterThan\(lower_bound=0.0\)"):
        Normal(0.0, scale)
    Normal(0.0, scale, validate_args=False)  # allowed when asked


def test_normal_log_prob_value_checks():
    d = Normal(axonal.zeros(3), axonal.ones(3))
    with pytest.raises(ValueError, match="must be a Tensor"):
        d.log_prob(0.5)
    with pytest.raises(ValueError, match="not broadcastable"):
        d.log_prob(axonal.zeros(4))
    assert Normal(axonal.zeros(3), axonal.ones(3), validate_args=False).log_prob(0.5).shape == (3,)


def test_default_validate_args_switch():
    Distribution.set_default_validate_args(False)
    try:
        Normal(0.0, -1.0)
    finally:
        Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        Normal(0.0, -1.0)


# -- Bernoulli ----------------------------------------------------------------------------------
def test_bernoulli_log_prob_entropy_vs_scipy(rng):
    p = rng.uniform(0.01, 0.99, size=(2, 5))
    x = (rng.random((3, 2, 5)) < 0.5).astype(np.float64)
    for d in (Bernoulli(probs=t64(p)), Bernoulli(logits=t64(np.log(p) - np.log1p(-p)))):
        assert d.batch_shape == (2, 5)
        close(d.log_prob(t64(x)), scipy.stats.bernoulli.logpmf(x, p))
        close(d.entropy(), scipy.stats.bernoulli.entropy(p))
        close(d.mean, p)
        close(d.variance, p * (1 - p))
        close(d.probs, p)


@pytest.mark.torch
def test_bernoulli_matches_torch_and_is_finite_at_extreme_logits(torch):
    td = torch.distributions
    logits = np.array([-40.0, -3.0, 0.0, 2.5, 40.0])
    x = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    ours, theirs = Bernoulli(logits=t64(logits)), td.Bernoulli(logits=torch.tensor(logits))
    close(ours.log_prob(t64(x)), theirs.log_prob(torch.tensor(x)).numpy())
    close(ours.entropy(), theirs.entropy().numpy())
    assert np.isfinite(ours.log_prob(t64(x)).numpy()).all()


def test_bernoulli_arguments_and_support():
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        Bernoulli()
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        Bernoulli(probs=0.5, logits=0.0)
    with pytest.raises(ValueError, match=r"parameter probs .*Interval\(lower_bound=0.0, upper"):
        Bernoulli(probs=axonal.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="within the support"):
        Bernoulli(probs=axonal.tensor([0.5])).log_prob(axonal.tensor([0.5]))


def test_bernoulli_sample_frequencies_and_gradient():
    d = Bernoulli(probs=t64([0.1, 0.5, 0.85]))
    s = d.sample((100_000,)).numpy()
    assert set(np.unique(s)) <= {0.0, 1.0}
    np.testing.assert_allclose(s.mean(0), [0.1, 0.5, 0.85], atol=0.01)
    logits, x = t64([-1.0, 0.2, 3.0], True), t64([1.0, 0.0, 1.0])
    assert gradcheck(lambda lg: Bernoulli(logits=lg).log_prob(x), (logits,))
    assert gradcheck(lambda lg: Bernoulli(logits=lg).entropy(), (logits,))


# -- Categorical --------------------------------------------------------------------------------
def test_categorical_log_prob_entropy_vs_scipy(rng):
    w = rng.uniform(0.1, 2.0, size=(4, 6))
    p = w / w.sum(-1, keepdims=True)
    x = rng.integers(0, 6, size=(3, 4))
    for d in (Categorical(probs=t64(w)), Categorical(logits=t64(np.log(w) + 3.0))):
        assert d.batch_shape == (4,) and d.event_shape == ()
        close(d.log_prob(axonal.tensor(x)), np.log(p[np.arange(4), x]))
        close(d.entropy(), scipy.stats.entropy(p, axis=-1))
        close(d.probs, p)


@pytest.mark.torch
def test_categorical_matches_torch_with_a_zero_probability_class(torch):
    td = torch.distributions
    p = np.array([[0.5, 0.0, 0.5], [0.2, 0.3, 0.5]])
    ours, theirs = Categorical(probs=t64(p)), td.Categorical(probs=torch.tensor(p))
    x = np.array([[0, 2], [2, 1]])
    close(ours.log_prob(axonal.tensor(x)), theirs.log_prob(torch.tensor(x)).numpy())
    close(ours.entropy(), theirs.entropy().numpy())


def test_categorical_sampling_frequencies():
    p = np.array([[0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.25, 0.25]])
    s = Categorical(probs=t64(p)).sample((50_000,)).numpy()
    assert s.shape == (50_000, 2) and s.dtype == np.int64
    freq = np.stack([np.bincount(s[:, i], minlength=4) / len(s) for i in range(2)])
    np.testing.assert_allclose(freq, p, atol=0.01)
    assert (s[:, 0] != 1).all()  # a zero-probability class is never drawn


def test_categorical_arguments():
    with pytest.raises(ValueError, match="at least one-dimensional"):
        Categorical(probs=axonal.tensor(1.0))
    with pytest.raises(ValueError, match="Simplex"):
        Categorical(probs=axonal.tensor([0.5, -0.1, 0.6]))
    with pytest.raises(ValueError, match="within the support"):
        Categorical(probs=axonal.ones(3)).log_prob(axonal.tensor(3))
    logits = t64([[0.1, -0.4, 1.2]], True)
    assert gradcheck(lambda lg: Categorical(logits=lg).log_prob(axonal.tensor([2])), (logits,))
    assert gradcheck(lambda lg: Categorical(logits=lg).entropy(), (logits,))


# -- Independent --------------------------------------------------------------------------------
@pytest.mark.torch
def test_independent_normal_is_a_diagonal_gaussian(rng, torch):
    td = torch.distributions
    mu, sd = rng.normal(size=(2, 3)), rng.uniform(0.5, 2, size=(2, 3))
    x = rng.normal(size=(4, 2, 3))
    d = Independent(Normal(t64(mu), t64(sd)), 1)
    assert d.batch_shape == (2,) and d.event_shape == (3,) and d.sample((4,)).shape == (4, 2, 3)
    want = np.stack([[scipy.stats.multivariate_normal.logpdf(x[i, j], mu[j], np.diag(sd[j] ** 2))
                      for j in range(2)] for i in range(4)])
    close(d.log_prob(t64(x)), want)
    close(d.entropy(), [scipy.stats.multivariate_normal.entropy(mu[j], np.diag(sd[j] ** 2))
                        for j in range(2)])
    theirs = td.Independent(td.Normal(torch.tensor(mu), torch.tensor(sd)), 2)
    close(Independent(Normal(t64(mu), t64(sd)), 2).log_prob(t64(x)),
          theirs.log_prob(torch.tensor(x)).numpy())
    assert d.has_rsample and not Independent(Bernoulli(probs=axonal.ones(3) / 2), 1).has_rsample


def test_independent_bernoulli_support_and_arguments():
    d = Independent(Bernoulli(probs=axonal.full((2, 4), 0.5)), 1)
    close(d.log_prob(axonal.zeros(2, 4)), [4 * np.log(0.5)] * 2, tol=1e-6)
    with pytest.raises(ValueError, match="within the support"):
        d.log_prob(axonal.full((2, 4), 0.5))
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims <= len"):
        Independent(Normal(axonal.zeros(3), axonal.ones(3)), 2)


# -- KL -----------------------------------------------------------------------------------------
def test_kl_normal_normal_vs_numerical_integration():
    for (m1, s1, m2, s2) in [(0.0, 1.0, 1.0, 2.0), (-1.0, 0.3, 0.5, 0.8), (2.0, 1.5, 2.0, 1.5)]:
        def integrand(x, m1=m1, s1=s1, m2=m2, s2=s2):
            return scipy.stats.norm.pdf(x, m1, s1) * (scipy.stats.norm.logpdf(x, m1, s1)
                                                       - scipy.stats.norm.logpdf(x, m2, s2))
        want, _ = scipy.integrate.quad(integrand, m1 - 15 * s1, m1 + 15 * s1)
        close(kl_divergence(Normal(t64(m1), t64(s1)), Normal(t64(m2), t64(s2))), want, tol=1e-8)


@pytest.mark.torch
def test_kl_bernoulli_by_enumeration_and_torch(rng, torch):
    td = torch.distributions
    p, q = np.array([0.0, 0.1, 0.5, 0.93, 1.0]), np.array([0.3, 0.7, 0.5, 0.2, 0.6])
    want = sum(np.where(pp > 0, pp * (np.log(np.where(pp > 0, pp, 1)) - np.log(qq)), 0.0)
               for pp, qq in ((p, q), (1 - p, 1 - q)))
    got = kl_divergence(Bernoulli(probs=t64(p)), Bernoulli(probs=t64(q)))
    close(got, want, tol=1e-9)
    close(got, td.kl_divergence(td.Bernoulli(probs=torch.tensor(p)),
                                td.Bernoulli(probs=torch.tensor(q))).numpy(), tol=1e-9)
    lp, lq = t64(rng.normal(size=3), True), t64(rng.normal(size=3), True)
    assert gradcheck(lambda a, b: kl_divergence(Bernoulli(logits=a), Bernoulli(logits=b)), (lp, lq))


def test_kl_categorical_vs_scipy_and_infinities():
    p = np.array([[0.2, 0.3, 0.5], [0.0, 0.4, 0.6]])
    q = np.array([[0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    got = kl_divergence(Categorical(probs=t64(p)), Categorical(probs=t64(q)))
    close(got, scipy.stats.entropy(p, q, axis=-1))
    inf = kl_divergence(Categorical(probs=t64([0.5, 0.5])), Categorical(probs=t64([1.0, 0.0])))
    assert float(inf.item()) == float("inf")
    lp, lq = t64([[0.1, 0.2, -0.3]], True), t64([[1.0, -1.0, 0.0]], True)
    assert gradcheck(lambda a, b: kl_divergence(Categorical(logits=a), Categorical(logits=b)),
                     (lp, lq))


@pytest.mark.torch
def test_kl_independent_sums_and_gradients(rng, torch):
    td = torch.distributions
    m1, s1, m2, s2 = (t64(rng.normal(size=(2, 3)), True), t64(rng.uniform(0.5, 2, (2, 3)), True),
                      t64(rng.normal(size=(2, 3))), t64(rng.uniform(0.5, 2, (2, 3))))
    kl = kl_divergence(Independent(Normal(m1, s1), 1), Independent(Normal(m2, s2), 1))
    assert kl.shape == (2,)
    close(kl, kl_divergence(Normal(m1, s1), Normal(m2, s2)).sum(-1))
    theirs = td.kl_divergence(td.Independent(td.Normal(torch.tensor(m1.detach().numpy()),
                                                       torch.tensor(s1.detach().numpy())), 1),
                              td.Independent(td.Normal(torch.tensor(m2.numpy()),
                                                       torch.tensor(s2.numpy())), 1))
    close(kl, theirs.numpy())
    assert gradcheck(lambda a, b: kl_divergence(Independent(Normal(a, b), 1),
                                                Independent(Normal(m2, s2), 1)), (m1, s1))
    with pytest.raises(NotImplementedError, match="different number of dims"):
        kl_divergence(Independent(Normal(m1, s1), 1), Independent(Normal(m2, s2), 2))


def test_kl_dispatch_unknown_pair_and_register():
    with pytest.raises(NotImplementedError, match="p = Normal, q = Bernoulli"):
        kl_divergence(Normal(0.0, 1.0), Bernoulli(probs=0.5))

    class MyNormal(Normal):
        pass

    assert float(kl_divergence(MyNormal(0.0, 1.0), Normal(0.0, 1.0)).item()) == 0.0  # inherited

    @register_kl(MyNormal, MyNormal)
    def _kl(p, q):
        return axonal.tensor(42.0)

    assert kl_divergence(MyNormal(0.0, 1.0), MyNormal(0.0, 1.0)).item() == 42.0
