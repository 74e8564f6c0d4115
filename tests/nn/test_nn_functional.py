"""nn.functional against PyTorch 2.x (forward and backward, float32 and float64) and gradcheck /
gradgradcheck in float64 for every differentiable form."""
import numpy as np
import pytest

import axonal
import axonal.nn.functional as F
from axonal.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.fixture
def rng():
    return np.random.default_rng(0)


TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _away_from(x, points, gap=0.05):
    """Move samples closer than gap to a kink onto safe ground (finite differences hate kinks)."""
    for p in points:
        close = np.abs(x - p) < gap
        x[close] = p + np.where(x[close] >= p, gap, -gap) * 2
    return x


def _input(rng, shape=(6, 7), scale=3.0, kinks=(0.0,)):
    return _away_from(rng.standard_normal(shape) * scale, kinks)


# name, axonal fn, torch fn, kinks of the function (for safe inputs)
UNARY = [
    ("relu", F.relu, TF.relu, (0.0,)),
    ("relu6", F.relu6, TF.relu6, (0.0, 6.0)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), (0.0,)),
    ("elu", lambda x: F.elu(x, 1.3), lambda x: TF.elu(x, 1.3), (0.0,)),
    ("selu", F.selu, TF.selu, (0.0,)),
    # alpha = 0.5: 1/alpha is exact (torch's backward rounds 1/alpha to float32)
    ("celu", lambda x: F.celu(x, 0.5), lambda x: TF.celu(x, 0.5), (0.0,)),
    ("gelu", F.gelu, TF.gelu, ()),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda x: TF.gelu(x, approximate="tanh"), ()),
    ("silu", F.silu, TF.silu, ()),
    ("mish", F.mish, TF.mish, ()),
    ("sigmoid", F.sigmoid, torch.sigmoid, ()),
    ("tanh", F.tanh, torch.tanh, ()),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid, ()),
    ("softplus", lambda x: F.softplus(x, 2.0, 5.0), lambda x: TF.softplus(x, 2.0, 5.0), (2.5,)),
    ("softsign", F.softsign, TF.softsign, (0.0,)),
    ("hardtanh", lambda x: F.hardtanh(x, -1.5, 2.0), lambda x: TF.hardtanh(x, -1.5, 2.0),
     (-1.5, 2.0)),
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid, (-3.0, 3.0)),
    ("hardswish", F.hardswish, TF.hardswish, (-3.0, 3.0)),
    ("softmax", lambda x: F.softmax(x, dim=1), lambda x: TF.softmax(x, dim=1), ()),
    ("log_softmax", lambda x: F.log_softmax(x, dim=0), lambda x: TF.log_softmax(x, dim=0), ()),
    ("softmin", lambda x: F.softmin(x, dim=-1), lambda x: TF.softmin(x, dim=-1), ()),
    ("normalize", lambda x: F.normalize(x, dim=1), lambda x: TF.normalize(x, dim=1), ()),
]


def _compare(ax_fn, th_fn, arrays, dtype, rng):
    ax_in = [axonal.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    th_in = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out, ref = ax_fn(*ax_in), th_fn(*th_in)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL[dtype])
    g = rng.standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(axonal.tensor(g))
    ref.backward(torch.tensor(g))
    for a, t in zip(ax_in, th_in):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,ax_fn,th_fn,kinks", UNARY, ids=[u[0] for u in UNARY])
def test_activation_matches_torch(name, ax_fn, th_fn, kinks, dtype, rng):
    x = _input(rng, (5, 9), kinks=kinks)
    x[0, :3] = [40.0, -40.0, 25.0]  # tails: no overflow, exact saturation
    _compare(ax_fn, th_fn, [x], dtype, rng)


@pytest.mark.parametrize("name,ax_fn,th_fn,kinks", UNARY, ids=[u[0] for u in UNARY])
def test_activation_gradcheck(name, ax_fn, th_fn, kinks, rng):
    x = axonal.tensor(_input(rng, (3, 4), scale=2.0, kinks=kinks), requires_grad=True)
    assert gradcheck(ax_fn, (x,))
    assert gradgradcheck(ax_fn, (x,))


def test_gelu_erf_accuracy_wide_range():
    x = np.linspace(-10, 10, 20001)
    out = F.gelu(axonal.tensor(x)).numpy()
    np.testing.assert_allclose(out, TF.gelu(torch.tensor(x)).numpy(), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prelu_linear_bilinear_match_torch(dtype, rng):
    x = _input(rng, (4, 3, 5))
    w = np.array([0.1, -0.3, 0.25])
    _compare(F.prelu, TF.prelu, [x, w], dtype, rng)
    _compare(F.prelu, TF.prelu, [x, np.array([0.2])], dtype, rng)
    x, W, b = rng.standard_normal((2, 6, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
    _compare(F.linear, TF.linear, [x, W, b], dtype, rng)
    x1, x2 = rng.standard_normal((2, 4, 5)), rng.standard_normal((2, 4, 3))
    W, b = rng.standard_normal((6, 5, 3)), rng.standard_normal(6)
    _compare(F.bilinear, TF.bilinear, [x1, x2, W, b], dtype, rng)


def test_linear_bilinear_prelu_gradcheck(rng):
    x1, x2, W, b, lw = [axonal.tensor(rng.standard_normal(s), requires_grad=True)
                        for s in [(2, 4), (2, 3), (5, 4, 3), (5,), (5, 4)]]
    assert gradcheck(F.bilinear, (x1, x2, W, b))
    assert gradgradcheck(F.bilinear, (x1, x2, W, b))
    assert gradcheck(F.linear, (x1, lw, b))
    assert gradgradcheck(F.linear, (x1, lw, b))
    x = axonal.tensor(_input(rng, (2, 3, 2)), requires_grad=True)
    a = axonal.tensor([0.1, -0.2, 0.3], dtype=axonal.float64, requires_grad=True)
    assert gradcheck(F.prelu, (x, a))
    assert gradgradcheck(F.prelu, (x, a))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
def test_batch_norm_training_and_eval(shape, dtype, rng):
    x, w, b = rng.standard_normal(shape) * 2 + 1, rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    stats = [axonal.tensor(rm.astype(dtype)), axonal.tensor(rv.astype(dtype))]
    tstats = [torch.tensor(rm.astype(dtype)), torch.tensor(rv.astype(dtype))]
    _compare(lambda x, w, b: F.batch_norm(x, *stats, w, b, True, 0.3, 1e-3),
             lambda x, w, b: TF.batch_norm(x, *tstats, w, b, True, 0.3, 1e-3), [x, w, b],
             dtype, rng)
    for a, t in zip(stats, tstats):  # running statistics updated identically (unbiased var)
        np.testing.assert_allclose(a.numpy(), t.numpy(), **TOL[dtype])
    _compare(lambda x, w, b: F.batch_norm(x, *stats, w, b, False),
             lambda x, w, b: TF.batch_norm(x, *tstats, w, b, False), [x, w, b], dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_norm_matches_torch(dtype, rng):
    x = rng.standard_normal((3, 4, 5)) * 3
    w, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    _compare(lambda x, w, b: F.layer_norm(x, (4, 5), w, b, 1e-4),
             lambda x, w, b: TF.layer_norm(x, (4, 5), w, b, 1e-4), [x, w, b], dtype, rng)
    _compare(lambda x: F.layer_norm(x, (5,)), lambda x: TF.layer_norm(x, (5,)), [x], dtype, rng)


def test_normalization_gradcheck_including_second_order(rng):
    x = axonal.tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)
    w = axonal.tensor(rng.standard_normal(3), requires_grad=True)
    b = axonal.tensor(rng.standard_normal(3), requires_grad=True)

    def bn(x, w, b):
        return F.batch_norm(x, None, None, w, b, training=True, eps=1e-3)

    assert gradcheck(bn, (x, w, b))
    assert gradgradcheck(bn, (x, w, b))
    lw = axonal.tensor(rng.standard_normal(2), requires_grad=True)
    lb = axonal.tensor(rng.standard_normal(2), requires_grad=True)

    def ln(x, w, b):
        return F.layer_norm(x, (2,), w, b, eps=1e-3)

    assert gradcheck(ln, (x, lw, lb))
    assert gradgradcheck(ln, (x, lw, lb))
    rm, rv = axonal.zeros(3, dtype=axonal.float64), axonal.ones(3, dtype=axonal.float64)
    assert gradgradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b), (x, w, b))


@pytest.mark.parametrize("padding_idx,scale", [(None, False), (2, False), (None, True), (-1, True)])
def test_embedding_matches_torch(padding_idx, scale, rng):
    W = rng.standard_normal((6, 4))
    idx = np.array([[0, 2, 5, 2], [1, 2, 0, 5]])
    a_w, t_w = axonal.tensor(W, requires_grad=True), torch.tensor(W, requires_grad=True)
    out = F.embedding(axonal.tensor(idx), a_w, padding_idx, scale_grad_by_freq=scale)
    ref = TF.embedding(torch.tensor(idx), t_w, padding_idx, scale_grad_by_freq=scale)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    g = rng.standard_normal(ref.shape)
    out.backward(axonal.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(a_w.grad.numpy(), t_w.grad.numpy(), rtol=1e-12)
    if not scale:  # a frequency-scaled "gradient" is not a true derivative: no 2nd-order check
        assert gradgradcheck(lambda w: F.embedding(axonal.tensor(idx), w, padding_idx) ** 2,
                             (axonal.tensor(W[:, :2].copy(), requires_grad=True),))


def test_embedding_max_norm_matches_torch(rng):
    W = rng.standard_normal((5, 3)) * 3
    a_w, t_w = axonal.tensor(W.copy()), torch.tensor(W.copy())
    idx = np.array([0, 3, 3])
    out = F.embedding(axonal.tensor(idx), a_w, max_norm=1.0)
    ref = TF.embedding(torch.tensor(idx), t_w, max_norm=1.0)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)
    np.testing.assert_allclose(a_w.numpy(), t_w.numpy(), rtol=1e-6)  # renormalized in place


def test_embedding_index_errors():
    w = axonal.randn(10, 3)
    with pytest.raises(IndexError, match=r"index 12 .*num_embeddings=10"):
        F.embedding(axonal.tensor([1, 12]), w)
    with pytest.raises(IndexError, match=r"index -1 "):
        F.embedding(axonal.tensor([-1, 2]), w)
    with pytest.raises(TypeError, match="integer"):
        F.embedding(axonal.tensor([1.0]), w)


def test_one_hot_matches_torch():
    idx = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(F.one_hot(axonal.tensor(idx)).numpy(),
                                  TF.one_hot(torch.tensor(idx)).numpy())
    out = F.one_hot(axonal.tensor(idx), 6)
    assert out.dtype == axonal.int64 and tuple(out.shape) == (2, 2, 6)
    with pytest.raises(IndexError, match="one_hot"):
        F.one_hot(axonal.tensor([0, 4]), 3)


def test_dropout_statistics_and_modes():
    x = axonal.ones(200, 500)
    y = F.dropout(x, 0.3, training=True).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.005  # 100k Bernoulli draws: sd 0.0014
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)  # inverted scaling
    assert abs(y.mean() - 1.0) < 0.01
    assert F.dropout(x, 0.3, training=False) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all()
    axonal.manual_seed(3)
    a = F.dropout(x, 0.5).numpy()
    axonal.manual_seed(3)
    np.testing.assert_array_equal(a, F.dropout(x, 0.5).numpy())  # from the default generator
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)


def test_dropout_gradient_is_the_mask():
    x = axonal.randn(50, 40, requires_grad=True)
    y = F.dropout(x, 0.4)
    y.sum().backward()
    mask = (y.detach().numpy() != 0) / 0.6
    np.testing.assert_allclose(x.grad.numpy(), mask, rtol=1e-6)


def test_functional_errors_name_the_op_and_shapes():
    with pytest.raises(axonal.ShapeError, match=r"batch_norm: running_mean of shape \(4,\)"):
        F.batch_norm(axonal.randn(5, 3), axonal.zeros(4), axonal.ones(3), training=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(axonal.randn(1, 3), None, None, training=True)
    with pytest.raises(axonal.ShapeError, match=r"layer_norm: .*\(4,\).*\(2, 3\)"):
        F.layer_norm(axonal.randn(2, 3), (4,))
    with pytest.raises(axonal.ShapeError, match="bilinear"):
        F.bilinear(axonal.randn(2, 3), axonal.randn(2, 4), axonal.randn(5, 3, 3))
    with pytest.raises(axonal.ShapeError, match="prelu"):
        F.prelu(axonal.randn(2, 3), axonal.randn(4))
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(axonal.randn(2), approximate="fast")
    with pytest.raises(TypeError, match="relu: expected a floating point"):
        F.relu(axonal.tensor([1, 2]))
