"""Layers against PyTorch 2.x: weights copied through NumPy, forward + backward (input and parameter
gradients) in float32 and float64, BatchNorm running statistics, default initializations, reprs and
the error messages for bad inputs."""
import math

import numpy as np
import pytest

import axonal
from axonal import nn

torch = pytest.importorskip("torch")
tnn = torch.nn


@pytest.fixture
def rng():
    return np.random.default_rng(0)


TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _pair(ax_cls, th_cls, *args, dtype=np.float32, **kwargs):
    """The same layer in both frameworks, axonal's weights loaded from torch's via NumPy."""
    t = th_cls(*args, **kwargs).to(torch.float64 if dtype == np.float64 else torch.float32)
    a = ax_cls(*args, **kwargs)
    if dtype == np.float64:
        a.double()
    a.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return a, t


def _run(a, t, x, dtype, rng, train=True):
    a.train(train)
    t.train(train)
    x = x.astype(dtype) if x.dtype.kind == "f" else x
    xa = axonal.tensor(x, requires_grad=x.dtype.kind == "f")
    xt = torch.tensor(x, requires_grad=x.dtype.kind == "f")
    out, ref = a(xa), t(xt)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL[dtype])
    g = rng.standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(axonal.tensor(g))
    ref.backward(torch.tensor(g))
    if xa.requires_grad:
        np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), **TOL[dtype])
    t_params = dict(t.named_parameters())
    for name, p in a.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), **TOL[dtype],
                                   err_msg=name)
    return out


LAYERS = [  # (name, axonal class, torch class, args, kwargs, input shape)
    ("linear", nn.Linear, tnn.Linear, (7, 5), {}, (4, 7)),
    ("linear_3d_nobias", nn.Linear, tnn.Linear, (7, 5), {"bias": False}, (2, 3, 7)),
    ("prelu_channels", nn.PReLU, tnn.PReLU, (3,), {"init": 0.1}, (4, 3, 5)),
    ("prelu_shared", nn.PReLU, tnn.PReLU, (), {}, (4, 6)),
    ("layernorm", nn.LayerNorm, tnn.LayerNorm, ((3, 5),), {"eps": 1e-4}, (2, 4, 3, 5)),
    ("layernorm_noaffine", nn.LayerNorm, tnn.LayerNorm, (5,), {"elementwise_affine": False},
     (4, 5)),
    ("batchnorm_2d_input", nn.BatchNorm1d, tnn.BatchNorm1d, (6,), {}, (8, 6)),
    ("batchnorm_3d_input", nn.BatchNorm1d, tnn.BatchNorm1d, (3,), {"momentum": 0.2}, (4, 3, 5)),
    ("batchnorm_noaffine", nn.BatchNorm1d, tnn.BatchNorm1d, (3,), {"affine": False}, (5, 3)),
    ("batchnorm_nobias", nn.BatchNorm1d, tnn.BatchNorm1d, (3,), {"bias": False}, (5, 3)),
    ("batchnorm_no_stats", nn.BatchNorm1d, tnn.BatchNorm1d, (3,),
     {"track_running_stats": False}, (5, 3)),
    ("batchnorm2d", nn.BatchNorm2d, tnn.BatchNorm2d, (3,), {}, (2, 3, 4, 4)),
    ("flatten", nn.Flatten, tnn.Flatten, (), {}, (2, 3, 4)),
    ("flatten_range", nn.Flatten, tnn.Flatten, (0, 1), {}, (2, 3, 4)),
    ("unflatten", nn.Unflatten, tnn.Unflatten, (1, (3, 4)), {}, (2, 12)),
    ("identity", nn.Identity, tnn.Identity, (), {}, (3, 4)),
] + [(n, getattr(nn, n), getattr(tnn, n), args, {}, (4, 6)) for n, args in [
    ("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", (0.1,)), ("ELU", (0.5,)), ("SELU", ()),
    ("CELU", (2.0,)), ("GELU", ()), ("SiLU", ()), ("Mish", ()), ("Sigmoid", ()), ("Tanh", ()),
    ("LogSigmoid", ()), ("Softplus", (1.5, 3.0)), ("Softsign", ()), ("Hardtanh", (-0.5, 1.5)),
    ("Hardsigmoid", ()), ("Hardswish", ()),
    ("Softmax", (1,)), ("LogSoftmax", (-1,)), ("Softmin", (0,))]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,ax_cls,th_cls,args,kwargs,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_matches_torch(name, ax_cls, th_cls, args, kwargs, shape, dtype, rng):
    a, t = _pair(ax_cls, th_cls, *args, dtype=dtype, **kwargs)
    x = rng.standard_normal(shape) * 2
    _run(a, t, x, dtype, rng)
    assert repr(a) == repr(t)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bilinear_matches_torch(dtype, rng):
    a, t = _pair(nn.Bilinear, tnn.Bilinear, 4, 3, 5, dtype=dtype)
    x1, x2 = rng.standard_normal((6, 4)).astype(dtype), rng.standard_normal((6, 3)).astype(dtype)
    ins_a = [axonal.tensor(v, requires_grad=True) for v in (x1, x2)]
    ins_t = [torch.tensor(v, requires_grad=True) for v in (x1, x2)]
    out, ref = a(*ins_a), t(*ins_t)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL[dtype])
    out.sum().backward()
    ref.sum().backward()
    for u, v in zip(ins_a + [a.weight, a.bias], ins_t + [t.weight, t.bias]):
        np.testing.assert_allclose(u.grad.numpy(), v.grad.numpy(), **TOL[dtype])
    assert repr(a) == repr(t)


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_matches_torch(padding_idx, rng):
    a, t = _pair(nn.Embedding, tnn.Embedding, 10, 4, padding_idx=padding_idx)
    idx = rng.integers(0, 10, (3, 5))
    idx[0, :2] = 1
    _run(a, t, idx, np.float32, rng)
    assert repr(a) == repr(t)
    if padding_idx is not None:
        assert (a.weight.grad.numpy()[1] == 0).all()
        fresh = nn.Embedding(10, 4, padding_idx=padding_idx)
        assert (fresh.weight.numpy(force=True)[1] == 0).all()  # the padding row starts at zero


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_running_stats_over_steps_then_eval(momentum, rng):
    a, t = _pair(nn.BatchNorm1d, tnn.BatchNorm1d, 4, momentum=momentum)
    for step in range(4):
        x = rng.standard_normal((16, 4, 3)) * (step + 1) + step
        _run(a, t, x, np.float32, rng, train=True)
        a.zero_grad()
        t.zero_grad()
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(a, name).numpy(), getattr(t, name).numpy(), rtol=1e-5)
    assert a.num_batches_tracked.item() == t.num_batches_tracked.item() == 4
    assert a.num_batches_tracked.dtype == axonal.int64
    before = a.running_mean.numpy().copy()
    _run(a, t, rng.standard_normal((5, 4, 3)), np.float32, rng, train=False)  # eval: running stats
    np.testing.assert_array_equal(a.running_mean.numpy(), before)  # and they stay frozen
    assert a.num_batches_tracked.item() == 4


def test_dropout_layer_train_statistics_and_eval_identity():
    d = nn.Dropout(0.25)
    x = axonal.ones(400, 250)
    y = d(x).numpy()
    assert abs((y != 0).mean() - 0.75) < 0.005
    np.testing.assert_allclose(y[y != 0], 1 / 0.75, rtol=1e-6)
    d.eval()
    assert d(x) is x
    assert repr(d) == repr(tnn.Dropout(0.25))
    for p in (-0.1, 1.1):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)


def test_maxout_matches_numpy_formula_and_gradcheck(rng):
    m = nn.Maxout(5, 3, pieces=4).double()
    assert tuple(m.weight.shape) == (12, 5) and tuple(m.bias.shape) == (12,)
    x = rng.standard_normal((6, 5))
    W, b = m.weight.numpy(force=True), m.bias.numpy(force=True)
    z = (x @ W.T + b).reshape(6, 3, 4)  # row j * pieces + k = piece k of unit j
    np.testing.assert_allclose(m(axonal.tensor(x)).detach().numpy(), z.max(-1), rtol=1e-12)
    xt = axonal.tensor(x[:2], requires_grad=True)
    assert axonal.autograd.gradcheck(lambda x, w, b: nn.functional.linear(x, w, b)
                                     .reshape(2, 3, 4).max(-1).values, (xt, m.weight, m.bias))
    assert axonal.autograd.gradcheck(m, (xt,))
    assert "pieces=4" in repr(m)


def test_linear_default_init_distribution():
    lin = nn.Linear(1000, 400)
    bound = 1 / math.sqrt(1000)
    w, b = lin.weight.numpy(force=True).ravel(), lin.bias.numpy(force=True)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.999 * bound  # actually fills the interval
    # Kolmogorov-Smirnov distance to U(-bound, bound); 400k samples: 99.9% quantile ~ 0.003
    s = np.sort(w)
    cdf = (s + bound) / (2 * bound)
    n = s.size
    ks = max((np.arange(1, n + 1) / n - cdf).max(), (cdf - np.arange(n) / n).max())
    assert ks < 0.004
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound


def test_other_default_inits():
    bl = nn.Bilinear(50, 20, 30)
    assert np.abs(bl.weight.numpy(force=True)).max() <= 1 / math.sqrt(50)
    emb = nn.Embedding(500, 200).weight.numpy(force=True)
    assert abs(emb.mean()) < 0.01 and abs(emb.std() - 1) < 0.01
    bn = nn.BatchNorm1d(5)
    assert (bn.weight.numpy(force=True) == 1).all() and (bn.running_var.numpy() == 1).all()
    assert (nn.PReLU(3).weight.numpy(force=True) == 0.25).all()
    axonal.manual_seed(7)
    w1 = nn.Linear(3, 2).weight.numpy(force=True).copy()
    axonal.manual_seed(7)
    np.testing.assert_array_equal(w1, nn.Linear(3, 2).weight.numpy(force=True))


def test_layers_float64_construction_and_factory_kwargs():
    lin = nn.Linear(3, 2, dtype=axonal.float64)
    assert lin.weight.dtype == axonal.float64
    out = lin(axonal.randn(4, 3, dtype=axonal.float64))
    assert out.dtype == axonal.float64


def test_bad_inputs_raise_errors_naming_the_layer():
    cases = [
        (nn.Linear(784, 10), axonal.randn(32, 785),
         r"Linear\(in_features=784, out_features=10, bias=True\): expected input with last dim "
         r"784, got shape \(32, 785\)"),
        (nn.BatchNorm1d(4), axonal.randn(2, 4, 3, 3), r"BatchNorm1d\(4.*expected 2D or 3D input"),
        (nn.BatchNorm1d(4), axonal.randn(8, 5), r"BatchNorm1d\(4.*4 channels.*\(8, 5\)"),
        (nn.LayerNorm(6), axonal.randn(3, 5), r"LayerNorm\(\(6,\).*\(3, 5\)"),
        (nn.PReLU(3), axonal.randn(2, 4), r"PReLU\(num_parameters=3\).*3 channels.*\(2, 4\)"),
        (nn.Maxout(4, 2, 3), axonal.randn(2, 5), r"Maxout\(.*last dim 4.*\(2, 5\)"),
        (nn.Unflatten(1, (3, 4)), axonal.randn(2, 10), r"Unflatten.*size 10"),
        (nn.Flatten(2, 5), axonal.randn(2, 3), r"Flatten.*out of range"),
        (nn.Softmax(dim=3), axonal.randn(2, 3), r"Softmax\(dim=3\).*out of range"),
    ]
    for layer, x, pattern in cases:
        with pytest.raises(axonal.ShapeError, match=pattern):
            layer(x)
    with pytest.raises(axonal.ShapeError, match=r"Bilinear.*input2 with last dim 3"):
        nn.Bilinear(2, 3, 4)(axonal.randn(5, 2), axonal.randn(5, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(axonal.randn(1, 3))
    with pytest.raises(axonal.DTypeError, match=r"Linear\(.*expected input of dtype "
                                                r"axonal.float32 .*got axonal.float64"):
        nn.Linear(3, 2)(axonal.randn(4, 3, dtype=axonal.float64))


def test_embedding_errors_name_index_and_size():
    emb = nn.Embedding(10, 3)
    with pytest.raises(IndexError, match=r"Embedding\(10, 3\): index 10 is out of range for "
                                         r"num_embeddings=10"):
        emb(axonal.tensor([[1, 10]]))
    with pytest.raises(TypeError, match="integer"):
        emb(axonal.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)


def test_embedding_from_pretrained_freezes():
    w = axonal.randn(4, 3)
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad and e.weight._data is w._data
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad


@pytest.mark.parametrize("layer,shape", [(lambda: nn.Linear(3, 2), (4, 3)),
                                         (lambda: nn.Conv2d(1, 2, 3), (1, 1, 5, 5)),
                                         (lambda: nn.LSTM(3, 4), (2, 1, 3)),
                                         (lambda: nn.BatchNorm1d(3), (4, 3))])
def test_a_numpy_input_is_named_with_the_call_that_converts_it(layer, shape):
    with pytest.raises(TypeError, match=r"axonal\.from_numpy\(x\)") as err:
        layer()(np.ones(shape, np.float32))
    assert "ndarray" in str(err.value)
