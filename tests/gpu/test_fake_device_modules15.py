"""The layers, losses, parametrizations and optimizers added for issue 15 stage 3 on the strict
fake device (tests/gpu/fake_cupy.py) against the CPU: forward, input and parameter gradients,
buffers and optimizer steps, float32, same weights on both devices. A NumPy call on a device array
or a hidden host round trip fails here."""
import importlib.util
import os

import numpy as np
import pytest
from fake_cupy import fake_device

import axonal
from axonal import nn, optim
from axonal.nn import functional as F

pytest.importorskip("torch")


def _helpers():
    path = os.path.join(os.path.dirname(__file__), "test_fake_device_layers.py")
    spec = importlib.util.spec_from_file_location("_fake_layers", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


H = _helpers()


class _Fn(nn.Module):
    """A functional form as a layer (for the comparison helper)."""

    def __init__(self, fn, *extra):
        super().__init__()
        self.fn = fn
        self.extra = nn.ParameterList([nn.Parameter(axonal.tensor(e)) for e in extra])

    def forward(self, x):
        return self.fn(x, *self.extra)


_RNG = np.random.default_rng(7)
LAYERS = [
    ("conv3d", lambda: nn.Conv3d(2, 4, (2, 3, 2), stride=(2, 1, 1), padding=1, groups=2),
     (2, 2, 4, 5, 4)),
    ("conv3d_reflect", lambda: nn.Conv3d(2, 3, 3, padding=1, padding_mode="reflect"),
     (1, 2, 4, 4, 4)),
    ("conv_transpose3d", lambda: nn.ConvTranspose3d(2, 3, 2, stride=2, output_padding=1),
     (1, 2, 2, 3, 2)),
    ("maxpool3d", lambda: nn.MaxPool3d(2, padding=1, ceil_mode=True), (2, 2, 4, 5, 4)),
    ("avgpool3d", lambda: nn.AvgPool3d(3, 2, 1, count_include_pad=False), (2, 2, 5, 5, 4)),
    ("adaptive_avg3d", lambda: nn.AdaptiveAvgPool3d((2, 3, 2)), (1, 2, 5, 6, 4)),
    ("adaptive_max3d", lambda: nn.AdaptiveMaxPool3d(2), (1, 2, 5, 6, 4)),
    ("batchnorm3d", lambda: nn.BatchNorm3d(2), (2, 2, 3, 3, 3)),
    ("instancenorm2d", lambda: nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
     (2, 3, 4, 5)),
    ("rmsnorm", lambda: nn.RMSNorm(5), (3, 5)),
    ("lrn", lambda: nn.LocalResponseNorm(3), (2, 5, 3, 3)),
    ("pixel_shuffle", lambda: nn.PixelShuffle(2), (2, 8, 3, 3)),
    ("pixel_unshuffle", lambda: nn.PixelUnshuffle(2), (2, 2, 4, 6)),
    ("reflection_pad2d", lambda: nn.ReflectionPad2d((1, 2, 2, 0)), (2, 3, 4, 5)),
    ("replication_pad3d", lambda: nn.ReplicationPad3d(1), (1, 2, 3, 3, 3)),
    ("circular_pad1d", lambda: nn.CircularPad1d((2, 1)), (2, 3, 5)),
    ("constant_pad_crop", lambda: _Fn(lambda x: F.pad(x, (-1, 2, 1, -1), value=0.5)),
     (2, 3, 4, 5)),
    ("lppool2d", lambda: _Fn(lambda x: F.lp_pool2d(x.abs() + 0.1, 2, 2)), (2, 3, 4, 4)),
    ("glu_shrinks", lambda: _Fn(lambda x: F.glu(F.softshrink(x) + F.hardshrink(x), 1)),
     (2, 4, 3)),
    ("rrelu_eval", lambda: _Fn(lambda x: F.rrelu(x)), (3, 4)),
    ("triplet", lambda: _Fn(lambda x: F.triplet_margin_loss(x, x.flip(0), x * 0.5, swap=True)),
     (4, 3)),
    ("multi_margin", lambda: _Fn(lambda x: F.multi_margin_loss(
        x, axonal.tensor([0, 2, 1, 3]).to(x.device), p=2)), (4, 4)),
    ("multilabel_margin", lambda: _Fn(lambda x: F.multilabel_margin_loss(
        x, axonal.tensor([[1, -1, 0, 0], [2, 0, -1, 0], [3, 2, 1, -1]]).to(x.device))), (3, 4)),
    ("ctc", lambda: _Fn(lambda x: F.ctc_loss(
        F.log_softmax(x, 2), axonal.tensor([[1, 2, 2], [3, 1, 0]]).to(x.device), [6, 5],
        [3, 2])), (6, 2, 4)),
    ("cosine_pdist", lambda: _Fn(lambda x: F.cosine_similarity(x, x.flip(0)).sum() +
                                 F.pdist(x).sum()), (4, 3)),
    ("grid_sample", lambda: _Fn(lambda x, g: F.grid_sample(x, g.tanh() * 1.2, align_corners=False,
                                                         padding_mode="reflection"),
                                _RNG.standard_normal((2, 3, 2, 2)).astype(np.float32)),
     (2, 3, 4, 5)),
    ("affine_grid", lambda: _Fn(lambda x, th: F.grid_sample(
        x, F.affine_grid(th, tuple(x.shape), False), align_corners=False),
        (np.eye(2, 3)[None].repeat(2, 0) + 0.1).astype(np.float32)), (2, 1, 4, 4)),
    ("fractional", lambda: nn.FractionalMaxPool2d(2, output_size=3, _random_samples=axonal.tensor(
        _RNG.random((2, 3, 2)).astype(np.float32))), (2, 3, 6, 6)),
    ("adaptive_softmax", lambda: _ASM(), (3, 4)),
]


class _ASM(nn.Module):
    def __init__(self):
        super().__init__()
        self.asm = nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3, 6], head_bias=True)

    def forward(self, x):
        out = self.asm(x, axonal.tensor([0, 4, 8]).to(x.device))
        return out.output, out.loss, self.asm.log_prob(x)


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_on_fake_device(name, make, shape):
    H._compare(make, shape)


def test_embedding_bag_and_parametrizations_on_fake_device():
    H._compare(lambda: _Bag(), (2, 4), high=10)
    H._compare(lambda: nn.utils.parametrizations.weight_norm(nn.Linear(4, 3)), (2, 4))
    H._compare(lambda: nn.utils.parametrizations.spectral_norm(nn.Linear(4, 3)), (2, 4))


class _Bag(nn.Module):
    def __init__(self):
        super().__init__()
        self.bag = nn.EmbeddingBag(10, 3, mode="max")

    def forward(self, x):
        return self.bag(x)


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax", "ASGD", "Rprop", "Adafactor"])
def test_optimizer_steps_on_fake_device(name):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    x = rng.standard_normal((5, 4)).astype(np.float32)

    def run(device):
        w = axonal.tensor(w0.copy()).to(device).requires_grad_()
        opt = getattr(optim, name)([w], lr=0.05)
        xs = axonal.tensor(x).to(device)
        for _ in range(4):
            opt.zero_grad()
            (xs @ w.T).tanh().pow(2).sum().backward()
            opt.step()
        return w.detach().cpu().numpy()

    ref = run("cpu")
    with fake_device():
        got = run("cuda")
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_lazy_module_moved_before_first_forward_and_checkpoint_on_fake_device():
    x = np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32)
    axonal.manual_seed(0)
    ref = nn.LazyLinear(4)
    y_ref = ref(axonal.tensor(x))
    with fake_device():
        axonal.manual_seed(0)
        m = nn.LazyLinear(4).to("cuda")
        y = m(axonal.tensor(x).to("cuda"))
        assert m.weight.is_cuda and type(m) is nn.Linear
        np.testing.assert_allclose(y.detach().cpu().numpy(), y_ref.detach().numpy(), rtol=1e-6)
        from axonal.utils.checkpoint import checkpoint
        xd = axonal.tensor(x).to("cuda").requires_grad_()
        checkpoint(m, xd, use_reentrant=False).sum().backward()
        assert xd.grad.is_cuda and m.weight.grad.is_cuda
        np.testing.assert_allclose(xd.grad.cpu().numpy(),
                                   np.tile(m.weight.detach().cpu().numpy().sum(0), (3, 1)),
                                   rtol=1e-5)
