"""bfloat16 (stored with ml_dtypes) and float16 tensors against PyTorch: the same bits from a
conversion, PyTorch's promotion, Tensor/Module conversions, matmul/linear computed in float32
and rounded once, gradients, printing and checkpoints."""
import numpy as np
import pytest

import axonal
from axonal import nn

torch = pytest.importorskip("torch")

LOW = ["bfloat16", "float16"]


def _bits(t):
    """The raw 16-bit patterns of a low-precision tensor (Axonal's or PyTorch's)."""
    if isinstance(t, torch.Tensor):
        return t.detach().view(torch.int16).numpy()
    return t.detach()._data.view(np.int16)


@pytest.mark.parametrize("name", LOW)
def test_conversion_rounds_as_torch(name):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(500) * 10.0 ** rng.integers(-8, 8, 500),
                        [0.0, -0.0, np.inf, -np.inf, 1e-40, 3.4e38, 1 + 2 ** -8, 1 + 3 * 2 ** -9]])
    x = x.astype(np.float32)
    a = axonal.tensor(x).to(getattr(axonal, name))
    t = torch.tensor(x).to(getattr(torch, name))
    assert a.dtype is getattr(axonal, name) and a.element_size() == 2
    np.testing.assert_array_equal(_bits(a), _bits(t))  # round to nearest even, bit for bit
    np.testing.assert_array_equal(a.float().numpy(), t.float().numpy())
    method = getattr(axonal.tensor(x), "bfloat16" if name == "bfloat16" else "half")()
    np.testing.assert_array_equal(_bits(method), _bits(t))


PROMOTE = ["bfloat16", "float16", "float32", "float64", "int64", "int32", "uint8", "bool"]


@pytest.mark.parametrize("other", PROMOTE)
@pytest.mark.parametrize("name", LOW)
def test_promotion_as_torch(name, other):
    a = axonal.ones(3, dtype=getattr(axonal, name)) + axonal.ones(3, dtype=getattr(axonal, other))
    t = torch.ones(3, dtype=getattr(torch, name)) + torch.ones(3, dtype=getattr(torch, other))
    assert a.dtype.name == str(t.dtype).replace("torch.", "")
    s = axonal.ones(3, dtype=getattr(axonal, name)) * 2.5  # a Python scalar keeps the dtype
    assert s.dtype is getattr(axonal, name) and (torch.ones(3, dtype=getattr(torch, name)) * 2.5
                                                 ).dtype is getattr(torch, name)


@pytest.mark.parametrize("name", LOW)
def test_matmul_and_linear_round_once_from_float32(name):
    rng = np.random.default_rng(1)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in [(6, 16), (5, 16), (5,)])
    lo_a, lo_t = getattr(axonal, name), getattr(torch, name)
    xa, wa, ba = (axonal.tensor(v).to(lo_a).requires_grad_() for v in (x, w, b))
    xt, wt, bt = (torch.tensor(v).to(lo_t).requires_grad_() for v in (x, w, b))
    ya = axonal.nn.functional.linear(xa, wa, ba)
    yt = torch.nn.functional.linear(xt, wt, bt)
    assert ya.dtype is lo_a
    # exact: both compute in float32 (products of 16-bit values are exact) and round once;
    # PyTorch's kernel may sum in another order, so allow one unit in the last place
    np.testing.assert_allclose(ya.float().detach().numpy(), yt.float().detach().numpy(),
                               rtol=2 ** -7 if name == "bfloat16" else 2 ** -10, atol=1e-3)
    g = rng.standard_normal((6, 5)).astype(np.float32)
    ya.backward(axonal.tensor(g).to(lo_a))
    yt.backward(torch.tensor(g).to(lo_t))
    for p, q in [(xa, xt), (wa, wt), (ba, bt)]:
        assert p.grad.dtype is lo_a
        np.testing.assert_allclose(p.grad.float().numpy(), q.grad.float().numpy(),
                                   rtol=2 ** -6, atol=2e-2)
    m = (xa @ wa.t()).float().detach().numpy()
    np.testing.assert_allclose(m, (xt @ wt.t()).float().detach().numpy(), rtol=2 ** -7, atol=1e-3)


def test_floating_point_queries_and_grad():
    b = axonal.randn(3).bfloat16()
    assert b.is_floating_point() and b.dtype.is_floating_point and b.dtype.is_signed
    assert b.requires_grad_().requires_grad
    (b * b).sum().backward()
    assert b.grad.dtype is axonal.bfloat16
    assert axonal.bfloat16.itemsize == torch.bfloat16.itemsize == 2
    assert repr(axonal.bfloat16) == "axonal.bfloat16"
    assert axonal.zeros(2, dtype="bfloat16").dtype is axonal.bfloat16


def test_repr_as_torch():
    v = [[0.174805, -0.546875, 0.128906], [0.431641, 0.710938, -1.09375]]
    a = repr(axonal.tensor(v).bfloat16()).replace("axonal", "torch")
    assert a == repr(torch.tensor(v).bfloat16())


def test_module_conversions_and_checkpoint(tmp_path):
    axonal.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).bfloat16()
    assert all(p.dtype is axonal.bfloat16 for p in net.parameters())
    y = net(axonal.randn(5, 4).bfloat16())
    assert y.dtype is axonal.bfloat16
    axonal.save(net.state_dict(), tmp_path / "bf16.safetensors")
    back = axonal.load(tmp_path / "bf16.safetensors")
    for k, v in net.state_dict().items():
        assert back[k].dtype is axonal.bfloat16
        np.testing.assert_array_equal(_bits(back[k]), _bits(v))
    st = pytest.importorskip("safetensors.torch")
    loaded = st.load_file(str(tmp_path / "bf16.safetensors"))  # PyTorch reads our BF16 bits
    for k, v in net.state_dict().items():
        assert loaded[k].dtype is torch.bfloat16
        np.testing.assert_array_equal(_bits(loaded[k]), _bits(v))
    assert all(p.dtype is axonal.float32 for p in net.float().parameters())
