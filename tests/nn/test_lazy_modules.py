"""Lazy layers: the printed form before and after the first forward is PyTorch's, the materialized
layer equals the eager one built with the inferred size from the same seed, an optimizer built
before the first forward updates the materialized weights (and matches torch's update), a state
dict loads into an uninitialized module, and dtype conversion before the first forward holds."""
import numpy as np
import pytest

import axonal
import axonal.nn as nn

torch = pytest.importorskip("torch")

CASES = [
    ("LazyLinear", (4,), {}, "Linear", (5, 4), (3, 5)),
    ("LazyLinear", (2,), dict(bias=False), "Linear", (3, 2), (2, 4, 3)),
    ("LazyConv1d", (4, 3), dict(stride=2), "Conv1d", (2, 4, 3), (2, 2, 7)),
    ("LazyConv2d", (4, 3), dict(groups=2, padding=1), "Conv2d", (4, 4, 3), (2, 4, 5, 5)),
    ("LazyConv3d", (2, 2), {}, "Conv3d", (3, 2, 2), (3, 4, 3, 3)),
    ("LazyConvTranspose1d", (4, 3), {}, "ConvTranspose1d", (2, 4, 3), (2, 2, 5)),
    ("LazyConvTranspose2d", (4, 3), dict(stride=2, groups=2), "ConvTranspose2d",
     (4, 4, 3), (1, 4, 3, 3)),
    ("LazyConvTranspose3d", (2, 2), {}, "ConvTranspose3d", (3, 2, 2), (1, 3, 2, 3, 2)),
    ("LazyBatchNorm1d", (), {}, "BatchNorm1d", (3,), (4, 3)),
    ("LazyBatchNorm2d", (), dict(affine=False), "BatchNorm2d", (3,), (2, 3, 4, 4)),
    ("LazyBatchNorm3d", (), {}, "BatchNorm3d", (2,), (2, 2, 3, 2, 2)),
    ("LazyInstanceNorm1d", (), dict(eps=1e-3), "InstanceNorm1d", (3,), (2, 3, 5)),
    ("LazyInstanceNorm2d", (), dict(affine=False, track_running_stats=False), "InstanceNorm2d",
     (3,), (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), dict(affine=True, track_running_stats=True), "InstanceNorm3d",
     (2,), (2, 2, 3, 2, 2)),
]


@pytest.mark.parametrize("lazy,args,kw,eager,eager_args,shape", CASES, ids=[c[0] for c in CASES])
def test_lazy_module(lazy, args, kw, eager, eager_args, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    axonal.manual_seed(3)
    m = getattr(nn, lazy)(*args, **kw)
    t = getattr(torch.nn, lazy)(*args, **kw)
    assert repr(m) == repr(t)
    assert isinstance(m.weight if m.weight is not None else m.running_mean,
                      (nn.UninitializedParameter, nn.UninitializedBuffer)) or \
        kw.get("affine", True) is False
    assert isinstance(m, getattr(nn, eager))  # the lazy class is a subclass of the eager one
    opt = axonal.optim.SGD(m.parameters(), lr=0.1) if list(m.parameters()) else None
    y = m(axonal.tensor(x))
    assert type(m) is getattr(nn, eager)
    assert not m.has_uninitialized_params() if hasattr(m, "has_uninitialized_params") else True
    # the same layer as the eager one built with the inferred size, from the same seed
    axonal.manual_seed(3)
    if lazy.startswith("LazyInstanceNorm"):  # PyTorch's lazy defaults differ from the eager ones
        kw = dict(dict(affine=True, track_running_stats=True), **kw)
    e = getattr(nn, eager)(*eager_args, **kw)
    assert repr(m) == repr(e)
    for (na, pa), (_, pe) in zip(m.state_dict().items(), e.state_dict().items()):
        assert tuple(pa.shape) == tuple(pe.shape), na
    np.testing.assert_allclose(y.detach().numpy(), e(axonal.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)
    # torch's lazy layer with the same weights gives the same output and the same SGD step
    t(torch.tensor(x))
    if list(m.state_dict()):  # (with nothing to infer, PyTorch leaves num_features at 0)
        assert repr(m) == repr(t)
    if opt is None:
        return
    topt = torch.optim.SGD(t.parameters(), lr=0.1)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    m.train(), t.train()
    ya, yt = m(axonal.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    (ya * ya).sum().backward()
    (yt * yt).sum().backward()
    opt.step()
    topt.step()
    for (na, pa), (_, pt) in zip(m.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(pa.detach().numpy(), pt.detach().numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=na)


def test_lazy_load_state_dict_and_dtype():
    src = nn.Linear(5, 3)
    m = nn.LazyLinear(3)
    m.load_state_dict(src.state_dict())
    assert type(m) is nn.LazyLinear  # as in PyTorch: lazy until the first forward
    x = axonal.randn(2, 5)
    np.testing.assert_array_equal(m(x).detach().numpy(), src(x).detach().numpy())
    assert type(m) is nn.Linear and m.in_features == 5
    d = nn.LazyConv2d(2, 3).double()
    d(axonal.randn(1, 3, 4, 4, dtype=axonal.float64))
    assert d.weight.dtype == axonal.float64 and tuple(d.weight.shape) == (2, 3, 3, 3)


def test_uninitialized_parameter_errors():
    p = nn.UninitializedParameter()
    assert repr(p) == "<UninitializedParameter>"
    assert isinstance(p, nn.Parameter)
    with pytest.raises(RuntimeError, match="uninitialized"):
        p.shape
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and tuple(p.shape) == (2, 3) and p.requires_grad
    with pytest.raises(ValueError, match="uninitialized parameter"):  # PyTorch's type
        sum(q.numel() for q in nn.LazyLinear(2).parameters())


def test_lazy_whole_module_save(tmp_path):
    m = nn.Sequential(nn.LazyConv2d(4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    x = axonal.randn(2, 3, 5, 5)
    y = m(x)
    path = tmp_path / "m.axn"
    axonal.save(m, path)
    back = axonal.load(path, weights_only=False)
    assert repr(back) == repr(m)
    np.testing.assert_array_equal(back(x).detach().numpy(), y.detach().numpy())
