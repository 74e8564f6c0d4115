"""Layers and optimizers on the strict fake device (tests/gpu/fake_cupy.py) against the CPU: the
layer table of tests/nn/test_nn_layers.py plus the layers with their own code paths (conv, pooling,
recurrent, attention with a causal mask, dropout, embedding, losses), forward, input and parameter
gradients, buffers, and a few optimizer steps. Same weights on both devices, float32."""
import importlib.util
import os

import numpy as np
import pytest

import axonal
from axonal import nn, optim
from fake_cupy import fake_device

pytest.importorskip("torch")  # the layer table builds torch layers next to axonal's


def _layer_table():
    path = os.path.join(os.path.dirname(__file__), "..", "nn", "test_nn_layers.py")
    spec = importlib.util.spec_from_file_location("_nn_layer_table", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [(name, ax_cls, args, kwargs, shape) for name, ax_cls, _, args, kwargs, shape
            in mod.LAYERS]


EXTRA = [  # (name, factory, input shape, integer input upper bound or None)
    ("conv1d", lambda: nn.Conv1d(3, 4, 3, padding=1), (2, 3, 8), None),
    ("conv2d", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 7, 7), None),
    ("conv2d_groups", lambda: nn.Conv2d(4, 4, 3, groups=2, bias=False), (2, 4, 6, 6), None),
    ("conv_transpose2d", lambda: nn.ConvTranspose2d(3, 2, 3, stride=2), (2, 3, 4, 4), None),
    ("maxpool2d", lambda: nn.MaxPool2d(2), (2, 3, 6, 6), None),
    ("avgpool2d", lambda: nn.AvgPool2d(3, stride=2, padding=1), (2, 3, 7, 7), None),
    ("avgpool2d_no_pad_count", lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
     (2, 3, 7, 7), None),
    ("avgpool2d_divisor", lambda: nn.AvgPool2d(2, divisor_override=3), (2, 3, 6, 6), None),
    ("conv2d_reflect", lambda: nn.Conv2d(3, 2, 3, padding=1, padding_mode="reflect"),
     (2, 3, 5, 5), None),
    ("conv1d_circular", lambda: nn.Conv1d(3, 2, 3, padding=2, padding_mode="circular"),
     (2, 3, 6), None),
    ("conv2d_replicate", lambda: nn.Conv2d(3, 2, 3, padding=1, padding_mode="replicate"),
     (2, 3, 5, 5), None),
    ("upsample_bilinear", lambda: nn.Upsample(scale_factor=1.5, mode="bilinear"), (2, 3, 4, 4),
     None),
    ("upsample_bicubic_ac", lambda: nn.Upsample(size=(5, 7), mode="bicubic", align_corners=True),
     (2, 3, 4, 4), None),
    ("adaptive_maxpool2d", lambda: nn.AdaptiveMaxPool2d(3), (2, 3, 7, 7), None),
    ("adaptive_avgpool1d", lambda: nn.AdaptiveAvgPool1d(4), (2, 3, 7), None),
    ("adaptive_avgpool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 7, 7), None),
    ("groupnorm", lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3), None),
    ("upsample", lambda: nn.Upsample(scale_factor=2), (2, 3, 4, 4), None),
    ("rnn", lambda: nn.RNN(5, 6, num_layers=2), (7, 3, 5), None),
    ("lstm", lambda: nn.LSTM(5, 6, batch_first=True), (3, 7, 5), None),
    ("gru", lambda: nn.GRU(5, 6, bidirectional=True), (7, 3, 5), None),
    ("embedding", lambda: nn.Embedding(10, 4, padding_idx=1), (3, 5), 10),
    ("mha_causal", lambda: _SelfAttention(nn.MultiheadAttention(8, 2, batch_first=True)),
     (2, 5, 8), None),
    ("mha_is_causal", lambda: _SelfAttention(nn.MultiheadAttention(8, 2, batch_first=True),
                                             is_causal=True), (2, 5, 8), None),
    ("transformer_layer", lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                                             batch_first=True), (2, 5, 8), None),
]


class _SelfAttention(nn.Module):
    """Causal self-attention: an explicit mask built on the CPU and moved, or is_causal=True (the
    layer builds the mask on the input's device)."""

    def __init__(self, mha, is_causal=False):
        super().__init__()
        self.mha, self.is_causal = mha, is_causal

    def forward(self, x):
        if self.is_causal:
            return self.mha(x, x, x, is_causal=True, need_weights=False)[0]
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1]).to(x.device)
        return self.mha(x, x, x, attn_mask=mask, need_weights=True)[0]


def _outputs(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _outputs(o)]
    return [out]


def _run(layer, x, ups=None):
    """Forward and backward with fixed upstream gradients; returns host arrays."""
    outs = _outputs(layer(x))
    if ups is None:
        rng = np.random.default_rng(1)
        ups = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in outs]
    axonal.autograd.backward(outs, [axonal.tensor(u).to(o.device) for o, u in zip(outs, ups)])
    host = {f"out{k}": o.detach().cpu().numpy() for k, o in enumerate(outs)}
    if x.requires_grad:
        host["x.grad"] = x.grad.cpu().numpy()
    for name, p in layer.named_parameters():
        host[f"{name}.grad"] = p.grad.cpu().numpy()
    for name, b in layer.named_buffers():
        host[name] = b.cpu().numpy()
    return host, ups


def _compare(make, shape, high=None, train=True):
    rng = np.random.default_rng(0)
    x = rng.integers(0, high, shape) if high else rng.standard_normal(shape).astype(np.float32)
    cpu = make()
    dev = make()
    dev.load_state_dict(cpu.state_dict())
    cpu.train(train)
    dev.train(train)
    ref, ups = _run(cpu, axonal.tensor(x, requires_grad=high is None))
    with fake_device():
        dev.to("cuda")
        assert all(p.is_cuda for p in dev.parameters())
        got, _ = _run(dev, axonal.tensor(x, requires_grad=high is None).to("cuda").detach()
                      .requires_grad_(high is None), ups)
    assert got.keys() == ref.keys()
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-5, atol=1e-6, err_msg=k)


TABLE = _layer_table()


@pytest.mark.parametrize("name,ax_cls,args,kwargs,shape", TABLE, ids=[c[0] for c in TABLE])
def test_layer_table_on_fake_device(name, ax_cls, args, kwargs, shape):
    _compare(lambda: ax_cls(*args, **kwargs), shape)


@pytest.mark.parametrize("name,make,shape,high", EXTRA, ids=[c[0] for c in EXTRA])
def test_layer_on_fake_device(name, make, shape, high):
    _compare(make, shape, high)


def test_eval_mode_batchnorm_on_fake_device():
    _compare(lambda: nn.BatchNorm2d(3), (2, 3, 4, 4), train=False)


def test_dropout_on_fake_device():
    with fake_device():
        x = axonal.ones(4, 50).to("cuda").requires_grad_()
        y = nn.Dropout(0.5)(x)
        assert y.is_cuda
        vals = set(np.unique(y.detach().cpu().numpy()).tolist())
        assert vals <= {0.0, 2.0} and len(vals) == 2
        y.sum().backward()
        assert x.grad.is_cuda
        np.testing.assert_array_equal(x.grad.cpu().numpy(), y.detach().cpu().numpy())


@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss(), nn.CrossEntropyLoss(label_smoothing=0.1),
                                  nn.NLLLoss(), nn.MSELoss()], ids=["ce", "ce_smooth", "nll", "mse"])
def test_loss_on_fake_device(loss):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    target = rng.integers(0, 4, 6) if not isinstance(loss, nn.MSELoss) else \
        rng.standard_normal((6, 4)).astype(np.float32)

    def run(device):
        x = axonal.tensor(logits).to(device).requires_grad_()
        inp = x.log_softmax(-1) if isinstance(loss, nn.NLLLoss) else x
        out = loss(inp, axonal.tensor(target).to(device))
        out.backward()
        return out.item(), x.grad.cpu().numpy()

    ref = run("cpu")
    with fake_device():
        got = run("cuda")
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
    lambda p: optim.Adam(p, lr=1e-2), lambda p: optim.AdamW(p, lr=1e-2, amsgrad=True),
    lambda p: optim.RMSprop(p, lr=1e-2, momentum=0.5), lambda p: optim.Adagrad(p, lr=0.1),
    lambda p: optim.Adadelta(p)], ids=["sgd", "adam", "adamw_amsgrad", "rmsprop", "adagrad",
                                        "adadelta"])
def test_optimizer_on_fake_device(make):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 3)).astype(np.float32)
    x = rng.standard_normal((5, 4)).astype(np.float32)

    def run(device):
        w = axonal.tensor(w0).to(device).requires_grad_()
        opt = make([w])
        for _ in range(3):
            opt.zero_grad()
            (axonal.tensor(x).to(device) @ w).tanh().sum().backward()
            opt.step()
        assert w.device.type == device
        return w.detach().cpu().numpy()

    ref = run("cpu")
    with fake_device():
        got = run("cuda")
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn", ["uniform_", "normal_", "kaiming_uniform_", "kaiming_normal_",
                                "xavier_uniform_", "xavier_normal_", "trunc_normal_", "orthogonal_",
                                "eye_", "zeros_", "ones_", "constant_"])
def test_init_on_fake_device(fn):
    """Initializers write device parameters in place and draw the same values as on the CPU."""
    args = (0.5,) if fn == "constant_" else ()

    def run(device):
        axonal.manual_seed(0)
        w = axonal.empty(4, 5).to(device)
        getattr(nn.init, fn)(w, *args)
        assert w.device.type == device
        return w.cpu().numpy()

    ref = run("cpu")
    with fake_device():
        got = run("cuda")
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)


def test_clip_grad_on_fake_device():
    def run(device):
        ps = [axonal.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3)).to(device)
              .requires_grad_() for _ in range(2)]
        (ps[0] * ps[1]).sum().backward()
        norm = nn.utils.clip_grad_norm_(ps, 1.0)
        nn.utils.clip_grad_value_(ps, 0.3)
        return norm.cpu().item(), [p.grad.cpu().numpy() for p in ps]

    ref = run("cpu")
    with fake_device():
        got = run("cuda")
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-6)
    for g, r in zip(got[1], ref[1]):
        np.testing.assert_allclose(g, r, rtol=1e-6)


def _pos(rng, shape):
    return (rng.random(shape) * 0.8 + 0.1).astype(np.float32)


_LOSSES = [  # (name, call(F, a, b, c), arrays built from rng; a is differentiable)
    ("bce", lambda F, a, b, c: F.binary_cross_entropy(a, b), lambda r: (_pos(r, (6,)),
                                                                         _pos(r, (6,)), None)),
    ("bce_logits_pos_weight", lambda F, a, b, c: F.binary_cross_entropy_with_logits(
        a, b, pos_weight=c), lambda r: (r.standard_normal((6, 3)).astype(np.float32),
                                        _pos(r, (6, 3)), _pos(r, (3,)))),
    ("huber", lambda F, a, b, c: F.huber_loss(a, b, delta=0.5),
     lambda r: (r.standard_normal(8).astype(np.float32), r.standard_normal(8).astype(np.float32),
                None)),
    ("smooth_l1", lambda F, a, b, c: F.smooth_l1_loss(a, b),
     lambda r: (r.standard_normal(8).astype(np.float32), r.standard_normal(8).astype(np.float32),
                None)),
    ("l1", lambda F, a, b, c: F.l1_loss(a, b, reduction="sum"),
     lambda r: (r.standard_normal(8).astype(np.float32), r.standard_normal(8).astype(np.float32),
                None)),
    ("kl_div", lambda F, a, b, c: F.kl_div(a, b, reduction="batchmean"),
     lambda r: (np.log(_pos(r, (4, 3))), _pos(r, (4, 3)), None)),
    ("gaussian_nll", lambda F, a, b, c: F.gaussian_nll_loss(a, b, c),
     lambda r: (r.standard_normal(8).astype(np.float32), r.standard_normal(8).astype(np.float32),
                _pos(r, (8,)))),
    ("poisson_nll", lambda F, a, b, c: F.poisson_nll_loss(a, b),
     lambda r: (r.standard_normal(8).astype(np.float32), _pos(r, (8,)) * 3, None)),
    ("soft_margin", lambda F, a, b, c: F.soft_margin_loss(a, b),
     lambda r: (r.standard_normal(8).astype(np.float32), np.sign(r.standard_normal(8))
                .astype(np.float32), None)),
    ("cosine_embedding", lambda F, a, b, c: F.cosine_embedding_loss(a, b, c),
     lambda r: (r.standard_normal((4, 5)).astype(np.float32),
                r.standard_normal((4, 5)).astype(np.float32),
                np.array([1, -1, 1, -1], np.float32))),
    ("margin_ranking", lambda F, a, b, c: F.margin_ranking_loss(a, b, c, margin=0.1),
     lambda r: (r.standard_normal(5).astype(np.float32), r.standard_normal(5).astype(np.float32),
                np.array([1, -1, 1, -1, 1], np.float32))),
    ("hinge_embedding", lambda F, a, b, c: F.hinge_embedding_loss(a, b),
     lambda r: (r.standard_normal(6).astype(np.float32), np.array([1, -1, 1, -1, 1, 1],
                                                                   np.float32), None)),
    ("ce_weight_ignore", lambda F, a, b, c: F.cross_entropy(a, b, weight=c, ignore_index=2),
     lambda r: (r.standard_normal((6, 4)).astype(np.float32), np.array([0, 1, 2, 3, 2, 1]),
                _pos(r, (4,)))),
    ("ce_probs", lambda F, a, b, c: F.cross_entropy(a, b),
     lambda r: (r.standard_normal((6, 4)).astype(np.float32), _pos(r, (6, 4)), None)),
    ("normalize", lambda F, a, b, c: (F.normalize(a, dim=1) * b).sum(),
     lambda r: (r.standard_normal((4, 5)).astype(np.float32),
                r.standard_normal((4, 5)).astype(np.float32), None)),
    ("one_hot_sum", lambda F, a, b, c: (a * F.one_hot(b, 4)).sum(),
     lambda r: (r.standard_normal((6, 4)).astype(np.float32), np.array([0, 1, 2, 3, 2, 1]), None)),
    ("sdpa_causal", lambda F, a, b, c: F.scaled_dot_product_attention(a, b, b, is_causal=True)
     .sum(), lambda r: (r.standard_normal((2, 5, 4)).astype(np.float32),
                        r.standard_normal((2, 5, 4)).astype(np.float32), None)),
    ("unfold_fold", lambda F, a, b, c: F.fold(F.unfold(a, 2, stride=2), (4, 4), 2, stride=2)
     .sum(), lambda r: (r.standard_normal((1, 2, 4, 4)).astype(np.float32), None, None)),
]


@pytest.mark.parametrize("name,call,make", _LOSSES, ids=[c[0] for c in _LOSSES])
def test_functional_on_fake_device(name, call, make):
    import axonal.nn.functional as F

    arrays = make(np.random.default_rng(0))

    def run(device):
        a = axonal.tensor(arrays[0]).to(device).requires_grad_()
        rest = [None if v is None else axonal.tensor(v).to(device) for v in arrays[1:]]
        out = call(F, a, *rest)
        out.backward()
        assert out.device.type == device and a.grad.device.type == device
        return out.detach().cpu().numpy(), a.grad.cpu().numpy()

    ref = run("cpu")
    with fake_device():
        got = run("cuda")
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-5, atol=1e-6)


_MODELS = [  # the benchmark models of issue 17 part B: one training step, device vs CPU
    ("lenet5", lambda m: m.LeNet5(), (4, 1, 28, 28), 10),
    ("resnet20", lambda m: m.resnet20(width=4), (2, 3, 16, 16), 10),
    ("char_transformer", lambda m: m.CharTransformer(11, d_model=16, nhead=2, num_layers=2,
                                                     dim_feedforward=32, dropout=0.0), (2, 7), 11),
    ("char_lstm", lambda m: m.CharLSTM(11, embed_dim=8, hidden_size=12), (2, 7), 11),
]


@pytest.mark.parametrize("name,make,shape,classes", _MODELS, ids=[c[0] for c in _MODELS])
def test_model_training_step_on_fake_device(name, make, shape, classes):
    import axonal.models as models

    rng = np.random.default_rng(0)
    tokens = len(shape) == 2
    x = rng.integers(0, classes, shape) if tokens else rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, classes, shape if tokens else shape[:1])
    axonal.manual_seed(0)
    cpu = make(models)
    dev = make(models)
    dev.load_state_dict(cpu.state_dict())

    def step(model, device):
        # SGD, not Adam: Adam's first step is lr * sign(g), which turns the rounding noise of a
        # zero gradient (attention's key bias) into +-lr
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        out = model(axonal.tensor(x).to(device))
        out = out[0] if isinstance(out, tuple) else out
        loss = nn.functional.cross_entropy(out.reshape(-1, classes), axonal.tensor(y).to(device)
                                           .reshape(-1))
        loss.backward()
        opt.step()
        return loss.item(), {k: v.cpu().numpy() for k, v in model.state_dict().items()}

    ref = step(cpu, "cpu")
    with fake_device():
        got = step(dev.to("cuda"), "cuda")
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-5)
    for k in ref[1]:
        np.testing.assert_allclose(got[1][k], ref[1][k], rtol=1e-4, atol=1e-5, err_msg=k)


def test_fit_on_fake_device():
    """The training loop on "cuda": batches moved, loss/accuracy/val metrics, grad clipping and a
    scheduler, the same history as on the CPU."""
    from axonal.train import fit
    from axonal.utils.data import DataLoader, TensorDataset

    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)

    def run(device):
        axonal.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
        data = TensorDataset(axonal.tensor(x), axonal.tensor(y))
        opt = optim.SGD(model.parameters(), lr=0.1)
        hist = fit(model, DataLoader(data, batch_size=8, shuffle=True), epochs=2, optimizer=opt,
                   val_loader=DataLoader(data, batch_size=16), device=device, grad_clip=1.0,
                   scheduler=optim.lr_scheduler.StepLR(opt, 1, 0.5), verbose=0)
        assert all(p.device.type == device for p in model.parameters())
        return hist.history

    ref = run("cpu")
    with fake_device():
        got = run("cuda")
    assert got.keys() == ref.keys()
    for k in set(ref) - {"seconds"}:  # wall time is the one log that may differ
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-5, err_msg=k)
