"""nn.init: gains and fans equal to PyTorch's, distributions checked by moments and KS distance,
deterministic initializers compared exactly, generator= reproducibility, in-place semantics."""
import math

import numpy as np
import pytest

import axonal
from axonal import nn
from axonal.nn import init

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")


def _p(*shape):
    return nn.Parameter(axonal.zeros(*shape))


@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                        ("tanh", None), ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)),
                                        ("selu", None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-15)


@pytest.mark.parametrize("shape", [(5, 3), (8, 4, 3, 3), (2, 6, 5)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(axonal.zeros(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))


def test_fan_and_argument_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(_p(5))
    with pytest.raises(ValueError, match="fan_in, fan_out"):
        init.kaiming_normal_(_p(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


def _ks(sample, cdf):
    return stats.kstest(sample, cdf).statistic


def test_uniform_family_bounds_and_distribution():
    w = init.uniform_(_p(300, 400), -0.3, 0.7).numpy(force=True).ravel()
    assert w.min() >= -0.3 and w.max() < 0.7
    assert _ks(w, stats.uniform(-0.3, 1.0).cdf) < 0.004  # 120k samples
    w = init.xavier_uniform_(_p(300, 500), gain=2.0).numpy(force=True).ravel()
    bound = 2.0 * math.sqrt(6.0 / 800)
    assert np.abs(w).max() <= bound and _ks(w, stats.uniform(-bound, 2 * bound).cdf) < 0.004
    w = init.kaiming_uniform_(_p(400, 250), a=0.1, mode="fan_out",
                              nonlinearity="leaky_relu").numpy(force=True).ravel()
    bound = math.sqrt(3.0) * math.sqrt(2.0 / (1 + 0.01)) / math.sqrt(400)
    assert np.abs(w).max() <= bound and _ks(w, stats.uniform(-bound, 2 * bound).cdf) < 0.004


def test_normal_family_moments_and_distribution():
    w = init.normal_(_p(300, 400), 1.5, 0.5).numpy(force=True).ravel()
    assert _ks(w, stats.norm(1.5, 0.5).cdf) < 0.004
    w = init.xavier_normal_(_p(200, 600)).numpy(force=True).ravel()
    assert _ks(w, stats.norm(0, math.sqrt(2.0 / 800)).cdf) < 0.004
    w = init.kaiming_normal_(_p(300, 40, 3, 3), mode="fan_out",
                             nonlinearity="relu").numpy(force=True).ravel()
    assert _ks(w, stats.norm(0, math.sqrt(2.0) / math.sqrt(300 * 9)).cdf) < 0.004


def test_trunc_normal_matches_truncated_distribution():
    w = init.trunc_normal_(_p(300, 400), mean=0.5, std=2.0, a=-1.0, b=3.0).numpy(force=True).ravel()
    assert w.min() >= -1.0 and w.max() <= 3.0
    ref = stats.truncnorm((-1.0 - 0.5) / 2.0, (3.0 - 0.5) / 2.0, loc=0.5, scale=2.0)
    assert _ks(w, ref.cdf) < 0.004
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(_p(2, 2), a=1.0, b=0.0)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3)])
def test_orthogonal_is_orthogonal_and_scaled(shape):
    w = init.orthogonal_(_p(*shape), gain=1.7).numpy(force=True).astype(np.float64)
    m = w.reshape(shape[0], -1)
    small = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(small, 1.7 ** 2 * np.eye(small.shape[0]), atol=1e-5)


def test_orthogonal_is_haar_distributed():
    # with the sign correction, E[Q] = 0 entry-wise; without it the diagonal is biased positive
    diag = np.array([np.diag(init.orthogonal_(_p(3, 3)).numpy(force=True)) for _ in range(400)])
    assert abs(diag.mean()) < 0.1


def test_deterministic_initializers_match_torch():
    for shape in [(3, 5), (5, 3)]:
        np.testing.assert_array_equal(init.eye_(_p(*shape)).numpy(force=True),
                                      torch.nn.init.eye_(torch.zeros(shape)).numpy())
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((2, 2, 1, 3, 3), 1)]:
        np.testing.assert_array_equal(init.dirac_(_p(*shape), groups).numpy(force=True),
                                      torch.nn.init.dirac_(torch.zeros(shape), groups).numpy())
    assert (init.constant_(_p(2, 3), 0.25).numpy(force=True) == 0.25).all()
    assert (init.ones_(_p(2)).numpy(force=True) == 1).all()
    assert (init.zeros_(nn.Parameter(axonal.ones(2))).numpy(force=True) == 0).all()


def test_in_place_identity_dtype_and_generator():
    p = nn.Parameter(axonal.zeros(4, 3, dtype=axonal.float64))
    arr = p._data
    out = init.kaiming_uniform_(p, generator=axonal.Generator().manual_seed(5))
    assert out is p and p._data is arr and p.dtype == axonal.float64
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    q = init.kaiming_uniform_(_p(4, 3), generator=axonal.Generator().manual_seed(5))
    np.testing.assert_allclose(q.numpy(force=True), p.numpy(force=True).astype(np.float32))
    init.normal_(p)  # default generator: advancing it changes the next draw
    assert not np.allclose(p.numpy(force=True), q.numpy(force=True))
