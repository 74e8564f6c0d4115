"""CNN layers against torch.nn with the weights copied through NumPy: outputs, input and parameter
gradients, printed form, state_dict keys, default initialization, running statistics, channel
dropout, errors, and LeNet/CIFAR-style networks trained side by side for a few SGD steps."""
import math

import numpy as np
import pytest

import axonal
from axonal.nn.layers import conv as LC
from axonal.nn.layers import dropout as LD
from axonal.nn.layers import fold as LF
from axonal.nn.layers import norm as LN
from axonal.nn.layers import pooling as LP
from axonal.nn.layers import upsample as LU

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def copy_weights(ax_mod, th_mod):
    th_state = th_mod.state_dict()
    assert list(ax_mod.state_dict()) == list(th_state)
    ax_mod.load_state_dict({k: axonal.tensor(v.numpy().copy()) for k, v in th_state.items()})


def compare(ax_mod, th_mod, x, rng, tol=1e-4, **kw):
    copy_weights(ax_mod, th_mod)
    assert repr(ax_mod) == repr(th_mod)
    xa = axonal.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ya, yt = ax_mod(xa, **kw), th_mod(xt, **kw)
    if isinstance(yt, tuple):
        np.testing.assert_array_equal(ya[1].numpy(), yt[1].numpy())
        ya, yt = ya[0], yt[0]
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(tuple(yt.shape)).astype(x.dtype)
    ya.backward(axonal.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
    for (name, pa), (_, pt) in zip(ax_mod.named_parameters(), th_mod.named_parameters()):
        np.testing.assert_allclose(pa.grad.numpy(), pt.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=name)


def both(name, *args, **kw):
    mods = {"Conv1d": LC, "Conv2d": LC, "ConvTranspose1d": LC, "ConvTranspose2d": LC,
            "GroupNorm": LN, "Dropout2d": LD, "Dropout1d": LD, "BatchNorm2d": LN,
            "Upsample": LU, "UpsamplingNearest2d": LU, "UpsamplingBilinear2d": LU, "Unfold": LF,
            "Fold": LF}
    ax_cls = getattr(mods.get(name, LP), name)
    axonal.manual_seed(0)
    torch.manual_seed(0)
    return ax_cls(*args, **kw), getattr(torch.nn, name)(*args, **kw)


LAYERS = [
    ("Conv2d", (3, 4, 3), dict(padding=1), (2, 3, 6, 7), {}),
    ("Conv2d", (1, 6, 5), {}, (2, 1, 12, 12), {}),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=2, padding="valid", groups=2, bias=False,
                                    dilation=(1, 2)), (2, 4, 9, 9), {}),
    ("Conv2d", (3, 4, 3), dict(padding=(1, 2), padding_mode="reflect"), (2, 3, 6, 7), {}),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="replicate"), (3, 6, 7), {}),
    ("Conv2d", (3, 4, 3), dict(padding=(2, 1), padding_mode="circular"), (2, 3, 6, 7), {}),
    ("Conv2d", (3, 4, 4), dict(padding="same", padding_mode="reflect"), (2, 3, 6, 7), {}),
    ("Conv1d", (3, 4, 3), dict(padding="same"), (2, 3, 7), {}),
    ("Conv1d", (4, 2, 3), dict(stride=2, groups=2, padding_mode="circular", padding=1),
     (4, 9), {}),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2),
     (2, 4, 5, 5), {}),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1), (2, 4, 5, 5),
     dict(output_size=(10, 10))),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1), (4, 5, 5),
     dict(output_size=(6, 9, 10))),
    ("ConvTranspose1d", (4, 6, 3), dict(stride=2, dilation=2, bias=False), (4, 5), {}),
    ("MaxPool2d", (3, 2, 1), dict(ceil_mode=True), (2, 3, 7, 7), {}),
    ("MaxPool2d", (2,), dict(return_indices=True), (2, 3, 8, 7), {}),
    ("MaxPool1d", (3,), dict(dilation=2), (2, 3, 9), {}),
    ("AvgPool2d", (3, 2, 1), dict(count_include_pad=False), (2, 3, 7, 7), {}),
    ("AvgPool1d", (3, 2, 1), dict(ceil_mode=True), (2, 3, 8), {}),
    ("AdaptiveAvgPool2d", ((2, 3),), {}, (2, 3, 7, 7), {}),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 7, 7), {}),
    ("AdaptiveMaxPool2d", (3,), dict(return_indices=True), (2, 3, 7, 8), {}),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 7), {}),
    ("AdaptiveMaxPool1d", (4,), {}, (3, 10), {}),
    ("GroupNorm", (2, 6), {}, (3, 6, 4, 5), {}),
    ("GroupNorm", (3, 6), dict(affine=False), (3, 6, 5), {}),
    ("GroupNorm", (1, 4), dict(bias=False), (2, 4, 3, 3), {}),
    ("Upsample", (), dict(scale_factor=2, mode="bilinear"), (2, 3, 4, 5), {}),
    ("Upsample", (), dict(size=(5, 9)), (2, 3, 4, 5), {}),
    ("Upsample", (), dict(scale_factor=1.5, mode="linear", align_corners=True), (2, 3, 4), {}),
    ("UpsamplingBilinear2d", (), dict(scale_factor=2), (2, 3, 4, 5), {}),
    ("UpsamplingNearest2d", (), dict(size=7), (2, 3, 4, 5), {}),
    ("Unfold", (2,), dict(padding=1), (2, 3, 4, 5), {}),
    ("Fold", ((4, 5), 2), dict(padding=1), (2, 12, 30), {}),
]


@pytest.mark.parametrize("name,args,kw,shape,call_kw", LAYERS,
                         ids=[f"{c[0]}-{k}" for k, c in enumerate(LAYERS)])
def test_layer_matches_torch(name, args, kw, shape, call_kw, rng):
    ax_mod, th_mod = both(name, *args, **kw)
    compare(ax_mod, th_mod, rng.standard_normal(shape).astype(np.float32), rng, **call_kw)


@pytest.mark.parametrize("name,args,kw,shape,call_kw", LAYERS[:13],
                         ids=[f"{c[0]}-{k}" for k, c in enumerate(LAYERS[:13])])
def test_layer_float64(name, args, kw, shape, call_kw, rng):
    ax_mod, th_mod = both(name, *args, **kw)
    ax_mod.double()
    th_mod.double()
    compare(ax_mod, th_mod, rng.standard_normal(shape), rng, tol=1e-10, **call_kw)


def test_batchnorm2d_running_stats_and_eval(rng):
    ax_mod, th_mod = both("BatchNorm2d", 3, momentum=0.2)
    copy_weights(ax_mod, th_mod)
    for _ in range(3):
        x = (rng.standard_normal((4, 3, 5, 5)) * 2 + 1).astype(np.float32)
        compare(ax_mod, th_mod, x, rng)
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ax_mod, key).numpy(), getattr(th_mod, key).numpy(),
                                   rtol=1e-5)
    ax_mod.eval()
    th_mod.eval()
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(ax_mod(axonal.tensor(x)).detach().numpy(),
                               th_mod(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls,args,fan_in", [("Conv2d", (6, 16, 5), 150),
                                             ("Conv2d", (8, 4, 3, 1, 1, 1, 2), 36),
                                             ("Conv1d", (3, 8, 7), 21),
                                             ("ConvTranspose2d", (16, 8, 4), 128),
                                             ("ConvTranspose2d", (16, 8, 3, 1, 0, 0, 4), 18)])
def test_default_initialization(cls, args, fan_in):
    """kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias likewise."""
    axonal.manual_seed(1)
    m = getattr(LC, cls)(*args)
    bound = 1 / math.sqrt(fan_in)
    w, b = m.weight.numpy(force=True), m.bias.numpy(force=True)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.25 * bound / math.sqrt(3)
    assert np.abs(w).max() > 0.8 * bound
    assert m.weight.dtype == axonal.float32 and m.weight.requires_grad


def test_state_dict_keys_match_torch():
    for name, args, kw in [("Conv2d", (3, 4, 3), {}), ("Conv2d", (3, 4, 3), dict(bias=False)),
                           ("ConvTranspose2d", (3, 4, 3), {}), ("GroupNorm", (2, 4), {}),
                           ("BatchNorm2d", (4,), {}), ("MaxPool2d", (2,), {})]:
        ax_mod, th_mod = both(name, *args, **kw)
        assert list(ax_mod.state_dict()) == list(th_mod.state_dict()), name
        for k, v in th_mod.state_dict().items():
            assert tuple(ax_mod.state_dict()[k].shape) == tuple(v.shape), (name, k)


def test_channel_dropout():
    x = axonal.ones(64, 32, 3, 3)
    d = LD.Dropout2d(0.25)
    y = d(x).numpy()
    per_channel = y.reshape(64, 32, 9)
    assert (per_channel == per_channel[:, :, :1]).all()       # whole channels kept or dropped
    assert set(np.unique(y).tolist()) <= {0.0, float(np.float32(1 / 0.75))}
    assert abs((y == 0).mean() - 0.25) < 0.05
    d.eval()
    assert d(x) is x
    y1 = LD.Dropout1d(0.5)(axonal.ones(8, 16, 10)).numpy()
    assert (y1 == y1[:, :, :1]).all()
    with pytest.warns(UserWarning, match="3D input"):
        axonal.nn.functional.dropout2d(axonal.ones(4, 5, 6))
    assert repr(d) == repr(torch.nn.Dropout2d(0.25))


@pytest.mark.parametrize("call,exc,text", [
    (lambda: LC.Conv2d(1, 6, 5)(axonal.zeros(8, 3, 28, 28)), axonal.ShapeError,
     "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1)): expected input with 1 channels"),
    (lambda: LC.Conv2d(1, 6, 5)(axonal.zeros(28, 28)), axonal.ShapeError, "expected 3D"),
    (lambda: LC.Conv2d(3, 6, 3, groups=2), ValueError, "in_channels (3) must be divisible"),
    (lambda: LC.Conv2d(3, 6, 3, stride=2, padding="same"), ValueError, "strided"),
    (lambda: LC.Conv2d(3, 6, 3, padding_mode="mirror"), ValueError, "padding_mode"),
    (lambda: LC.ConvTranspose2d(3, 6, 3, padding_mode="reflect"), ValueError, "zeros"),
    (lambda: LC.ConvTranspose2d(3, 6, 3, stride=2)(axonal.zeros(1, 3, 4, 4), output_size=(12, 12)),
     axonal.ShapeError, "valid sizes in dim 0 range from 9 to 10"),
    (lambda: LC.Conv2d(3, 6, 3, padding=3, padding_mode="reflect")(axonal.zeros(1, 3, 3, 3)),
     axonal.ShapeError, "reflect padding"),
    (lambda: LP.MaxPool2d(2)(axonal.zeros(4, 4)), axonal.ShapeError, "MaxPool2d(kernel_size=2"),
    (lambda: LN.GroupNorm(4, 6), ValueError, "divisible"),
    (lambda: LN.GroupNorm(2, 6)(axonal.zeros(2, 4, 3)), axonal.ShapeError, "GroupNorm(2, 6"),
])
def test_module_errors(call, exc, text):
    with pytest.raises(exc) as e:
        call()
    assert text in str(e.value)


def _lenet(nn, Conv2d, MaxPool2d):
    return nn.Sequential(Conv2d(1, 6, 5), nn.ReLU(), MaxPool2d(2), Conv2d(6, 16, 5), nn.ReLU(),
                         MaxPool2d(2), nn.Flatten(), nn.Linear(256, 120), nn.ReLU(),
                         nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def _cifar(nn, Conv2d, MaxPool2d):
    return nn.Sequential(Conv2d(3, 8, 3, padding=1), nn.ReLU(), Conv2d(8, 8, 3, padding=1),
                         nn.ReLU(), MaxPool2d(2), Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                         MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.ReLU(),
                         nn.Linear(32, 10))


@pytest.mark.parametrize("build,shape", [(_lenet, (16, 1, 28, 28)), (_cifar, (8, 3, 16, 16))],
                         ids=["lenet", "cifar"])
def test_network_trains_like_torch(build, shape, rng):
    """Five SGD-with-momentum steps of a whole CNN in both libraries give the same losses."""
    ax_net = build(axonal.nn, LC.Conv2d, LP.MaxPool2d)
    th_net = build(torch.nn, torch.nn.Conv2d, torch.nn.MaxPool2d)
    copy_weights(ax_net, th_net)
    ax_opt = axonal.optim.SGD(ax_net.parameters(), lr=0.05, momentum=0.9)
    th_opt = torch.optim.SGD(th_net.parameters(), lr=0.05, momentum=0.9)
    for _ in range(5):
        x = rng.standard_normal(shape).astype(np.float32)
        y = rng.integers(0, 10, shape[0])
        losses = []
        for lib, net, opt in ((axonal, ax_net, ax_opt), (torch, th_net, th_opt)):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(net(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[0] == pytest.approx(losses[1], rel=1e-4, abs=1e-5)
