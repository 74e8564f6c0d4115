"""`autocast` on the CPU against PyTorch's, dtype by dtype: the lower-precision list (matmul,
linear, conv, einsum) gives the autocast dtype with the same bits, the float32 list (losses)
gives float32, other ops keep their input dtype; gradients of float32 parameters come back in
float32 with PyTorch's values. Then nesting, enabled=False, the decorator form, unsupported
dtypes and device types, and the queries."""
import warnings

import numpy as np
import pytest

import axonal

torch = pytest.importorskip("torch")
AF, TF = axonal.nn.functional, torch.nn.functional


def _inputs(m, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"x": (4, 8), "w": (5, 8), "b": (5,), "img": (2, 3, 6, 6), "k": (4, 3, 3, 3),
              "seq": (2, 3, 8)}
    out = {k: m.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
           for k, s in arrays.items()}
    out["tgt"] = m.tensor(rng.integers(0, 5, 4))
    return out


# name -> (function of (module, F, inputs), tolerance in units of the low dtype's epsilon)
CASES = {
    "linear": (lambda m, F, i: F.linear(i["x"], i["w"], i["b"]), 0),
    "matmul": (lambda m, F, i: i["x"] @ i["w"].t(), 0),
    "bmm": (lambda m, F, i: m.bmm(i["seq"], i["seq"].transpose(1, 2)), 0),
    "conv2d": (lambda m, F, i: F.conv2d(i["img"], i["k"], padding=1), 0),
    "conv1d": (lambda m, F, i: F.conv1d(i["seq"], i["k"][:, :, 0], padding=1), 0),
    "einsum": (lambda m, F, i: m.einsum("bij,bkj->bik", i["seq"], i["seq"]), 0),
    "relu(linear)": (lambda m, F, i: F.relu(F.linear(i["x"], i["w"], i["b"])), 0),
    "softmax": (lambda m, F, i: F.softmax(F.linear(i["x"], i["w"], i["b"]), -1), 1),
    "layer_norm": (lambda m, F, i: F.layer_norm(F.linear(i["x"], i["w"], i["b"]), (5,)), 2),
    "sum": (lambda m, F, i: F.linear(i["x"], i["w"], i["b"]).sum(), 1),
    "cross_entropy": (lambda m, F, i: F.cross_entropy(F.linear(i["x"], i["w"], i["b"]),
                                                      i["tgt"]), 0),
    "mse_loss": (lambda m, F, i: F.mse_loss(F.linear(i["x"], i["w"], i["b"]),
                                            m.zeros(4, 5)), 0),
    "nll_loss": (lambda m, F, i: F.nll_loss(F.log_softmax(F.linear(i["x"], i["w"], i["b"]), -1),
                                            i["tgt"]), 4),
    "bce_with_logits": (lambda m, F, i: F.binary_cross_entropy_with_logits(
        F.linear(i["x"], i["w"], i["b"]), m.ones(4, 5)), 0),
    "linear + float32": (lambda m, F, i: F.linear(i["x"], i["w"], i["b"]) + i["b"], 0),
    "cat(low, float32)": (lambda m, F, i: m.cat([F.linear(i["x"], i["w"], i["b"]), i["x"]], 1), 0),
    "float64 stays": (lambda m, F, i: F.linear(i["x"].double(), i["w"].double()), 0),
}


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", list(CASES))
def test_outputs_and_gradients_match_torch(name, dtype):
    fn, ulps = CASES[name]
    ia, it = _inputs(axonal), _inputs(torch)
    with axonal.autocast("cpu", dtype=getattr(axonal, dtype)):
        ya = fn(axonal, AF, ia)
    with torch.autocast("cpu", dtype=getattr(torch, dtype)):
        yt = fn(torch, TF, it)
    assert ya.dtype.name == str(yt.dtype).replace("torch.", ""), name
    eps = float(torch.finfo(getattr(torch, dtype)).eps)
    scale = np.abs(yt.double().detach().numpy()).max() + 1.0
    np.testing.assert_allclose(ya.double().detach().numpy(), yt.double().detach().numpy(),
                               rtol=0, atol=ulps * eps * scale + 1e-6)
    ya.double().sum().backward()
    yt.double().sum().backward()
    for k in ("x", "w", "b", "img", "k", "seq"):
        if it[k].grad is None:
            assert ia[k].grad is None, k
            continue
        assert ia[k].grad.dtype is axonal.float32, k  # the parameters' own dtype
        g = it[k].grad.numpy()
        np.testing.assert_allclose(ia[k].grad.numpy(), g, rtol=0,
                                   atol=(ulps + 2) * eps * (np.abs(g).max() + 1.0), err_msg=k)


def test_cnn_training_step_as_accurate_as_torch():
    """A conv/batch-norm/linear network under bfloat16 autocast: the same output dtypes as
    PyTorch's, and activations and gradients as close to the float32 run as PyTorch's are."""
    def build(m):
        m.manual_seed(0)
        nn = m.nn
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10))
    na, nt, ref = build(axonal), build(torch), build(torch)
    sd = {k: torch.tensor(v.detach().numpy()) for k, v in na.state_dict().items()}
    nt.load_state_dict(sd)
    ref.load_state_dict(sd)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 1, 8, 8)).astype(np.float32), rng.integers(0, 10, 8)
    outs = []
    for m, net, on in [(axonal, na, True), (torch, nt, True), (torch, ref, False)]:
        with m.autocast("cpu", enabled=on):  # bfloat16 by default on the CPU
            out = net(m.tensor(x))
            loss = m.nn.functional.cross_entropy(out, m.tensor(y))
        assert str(loss.dtype).endswith("float32")
        assert str(out.dtype).endswith("bfloat16" if on else "float32")
        loss.backward()
        outs.append(out.float().detach().numpy())

    def err(a, r):
        return np.linalg.norm(a - r) / np.linalg.norm(r)
    assert err(outs[0], outs[2]) < 1.5 * err(outs[1], outs[2]) + 1e-3
    for (k, p), q, r in zip(na.named_parameters(), nt.parameters(), ref.parameters()):
        assert p.grad.dtype is axonal.float32
        if k != "0.bias":  # a bias before batch norm has a zero gradient: only rounding noise
            assert err(p.grad.numpy(), r.grad.numpy()) < 1.5 * err(q.grad.numpy(),
                                                                   r.grad.numpy()) + 0.01, k
    np.testing.assert_allclose(na[1].running_mean.numpy(), nt[1].running_mean.numpy(),
                               atol=1e-3)


@pytest.mark.parametrize("name", ["lstm", "mha", "encoder_layer", "sdpa", "embedding",
                                  "conv_bf16_input_f32_weight"])
def test_module_output_dtypes_match_torch(name):
    """Mixed dtypes reach matmul/linear/conv under autocast (a bfloat16 activation, a float32
    weight): their same-dtype checks stand down, and the outputs have PyTorch's dtypes."""
    def run(m):
        m.manual_seed(0)
        x, q = m.randn(2, 3, 4), m.randn(2, 3, 8)
        with m.autocast("cpu"):
            if name == "lstm":
                return m.nn.LSTM(4, 5, batch_first=True)(x)[0]
            if name == "mha":
                return m.nn.MultiheadAttention(8, 2, batch_first=True)(q, q, q)[0]
            if name == "encoder_layer":
                return m.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)(q)
            if name == "sdpa":
                return m.nn.functional.scaled_dot_product_attention(q, q, q)
            if name == "embedding":
                return m.nn.functional.embedding(m.tensor([1]), m.randn(3, 2))
            h = m.nn.functional.linear(m.randn(2, 4), m.randn(8, 4)).reshape(2, 2, 2, 2)
            return m.nn.Conv2d(2, 3, 1)(h)
    assert str(run(axonal).dtype).split(".")[1] == str(run(torch).dtype).split(".")[1]


def test_nesting_enabled_false_and_restore():
    x, w = axonal.randn(2, 3), axonal.randn(4, 3)
    assert not axonal.is_autocast_enabled("cpu")
    with axonal.autocast("cpu", dtype=axonal.bfloat16):
        assert axonal.is_autocast_enabled("cpu") and axonal.is_autocast_cpu_enabled()
        assert axonal.get_autocast_dtype("cpu") is axonal.bfloat16
        with axonal.autocast("cpu", dtype=axonal.float16):
            assert (x @ w.t()).dtype is axonal.float16
            with axonal.autocast("cpu", enabled=False):
                assert not axonal.is_autocast_enabled("cpu")
                assert (x @ w.t()).dtype is axonal.float32
            assert (x @ w.t()).dtype is axonal.float16
        assert (x @ w.t()).dtype is axonal.bfloat16
    assert (x @ w.t()).dtype is axonal.float32
    assert axonal.get_autocast_dtype("cpu") is axonal.bfloat16
    assert torch.get_autocast_dtype("cpu") is torch.bfloat16
    with pytest.raises(ZeroDivisionError), axonal.autocast("cpu"):
        raise ZeroDivisionError
    assert not axonal.is_autocast_enabled("cpu") and (x @ w.t()).dtype is axonal.float32


def test_decorator_and_inside_forward_ad():
    @axonal.autocast("cpu", dtype=axonal.float16)
    def f(a, b):
        return a @ b

    assert f(axonal.randn(2, 2), axonal.randn(2, 2)).dtype is axonal.float16
    assert (axonal.randn(2, 2) @ axonal.randn(2, 2)).dtype is axonal.float32

    @torch.autocast("cpu", dtype=torch.float16)
    def g(a, b):
        return a @ b
    assert g(torch.randn(2, 2), torch.randn(2, 2)).dtype is torch.float16


def _warned(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obj = fn()
    return obj, [(w.category.__name__, str(w.message)) for w in caught]


@pytest.mark.parametrize("call", [
    lambda m: m.autocast("cpu", dtype=m.float64),
    lambda m: m.autocast("cpu", dtype=m.float32),
    lambda m: m.amp.autocast("cuda"),
    lambda m: m.cuda.amp.autocast(),
    lambda m: m.cpu.amp.autocast(dtype=m.float64),
])
def test_disabled_with_torchs_warnings(call):
    (a, wa), (t, wt) = _warned(lambda: call(axonal)), _warned(lambda: call(torch))
    assert wa == wt and a._enabled is t._enabled is False
    with a:
        assert (axonal.randn(2, 2) @ axonal.randn(2, 2)).dtype is axonal.float32


def test_legacy_cpu_autocast_spelling():
    (a, wa), (t, wt) = (_warned(lambda m=m: m.cpu.amp.autocast()) for m in (axonal, torch))
    assert wa == wt and a._enabled and t._enabled
    with a:
        assert (axonal.randn(2, 2) @ axonal.randn(2, 2)).dtype is axonal.bfloat16


def test_bad_device_type_raises_as_torch():
    for m in (axonal, torch):
        with pytest.raises(RuntimeError, match="device type at start of device string: tpu"):
            m.autocast("tpu")
        with pytest.raises(ValueError, match="device_type"):
            m.autocast(m.device("cpu"))
    assert axonal.amp.is_autocast_available("cpu") == torch.amp.is_autocast_available("cpu")
    assert axonal.autocast is axonal.amp.autocast


def test_wrapped_losses_keep_their_identity():
    """The float32-list losses of nn.functional are wrapped; they still pickle by reference and
    keep their signatures."""
    import inspect
    import pickle

    for name in ("mse_loss", "cross_entropy", "nll_loss", "kl_div"):
        fn = getattr(AF, name)
        assert pickle.loads(pickle.dumps(fn)) is fn
        assert list(inspect.signature(fn).parameters)[:2] == ["input", "target"]


def test_custom_fwd_casts_inputs():
    @axonal.amp.custom_fwd(device_type="cpu", cast_inputs=axonal.float32)
    def fwd(a, b):
        assert not axonal.is_autocast_enabled("cpu")
        return a @ b

    with axonal.autocast("cpu"):
        out = fwd(axonal.randn(2, 2).bfloat16(), axonal.randn(2, 2))
    assert out.dtype is axonal.float32
