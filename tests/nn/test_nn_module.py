"""Module, Parameter, containers, state_dict exchange with PyTorch, and nn.utils (gradient
clipping, parameter vectors) against PyTorch 2.x."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import axonal
from axonal import nn

torch = pytest.importorskip("torch")
tnn = torch.nn


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def build(lib, nnmod):
    """The same model in both frameworks: Embedding, Sequential, Linear, BatchNorm1d, PReLU,
    Dropout, LayerNorm, ModuleList, a persistent and a non-persistent buffer."""

    class Net(nnmod.Module):
        def __init__(self):
            super().__init__()
            self.emb = nnmod.Embedding(20, 8, padding_idx=0)
            self.body = nnmod.Sequential(nnmod.Linear(8, 16), nnmod.BatchNorm1d(16),
                                         nnmod.PReLU(16), nnmod.Dropout(0.2), nnmod.Linear(16, 16))
            self.norm = nnmod.LayerNorm(16)
            self.heads = nnmod.ModuleList([nnmod.Linear(16, 4), nnmod.Linear(16, 2)])
            self.register_buffer("scale", lib.ones(1) * 2)
            self.register_buffer("scratch", lib.zeros(3), persistent=False)

        def forward(self, idx):
            h = self.norm(self.body(self.emb(idx).mean(1))) * self.scale
            return self.heads[0](h), self.heads[1](h)

    return Net()


def _to_numpy_sd(sd):
    return {k: v.detach().numpy() for k, v in sd.items()}


def test_state_dict_keys_shapes_and_dtypes_match_torch():
    a, t = build(axonal, nn), build(torch, tnn)
    sa, st = a.state_dict(), t.state_dict()
    assert list(sa.keys()) == list(st.keys())
    assert "body.1.num_batches_tracked" in sa and "scratch" not in sa
    for k in st:
        assert tuple(sa[k].shape) == tuple(st[k].shape), k
        assert str(sa[k].dtype).split(".")[-1] == str(st[k].dtype).split(".")[-1], k
        assert not sa[k].requires_grad
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in a.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in a.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in a.named_children()] == [n for n, _ in t.named_children()]
    assert repr(a) == repr(t)


@pytest.mark.parametrize("train", [False, True])
def test_load_torch_state_dict_through_numpy_then_same_outputs(train, rng):
    a, t = build(axonal, nn), build(torch, tnn)
    result = a.load_state_dict(_to_numpy_sd(t.state_dict()))
    assert result.missing_keys == [] and result.unexpected_keys == []
    a.train(train)
    t.train(train)
    a.body[3].p = t.body[3].p = 0.0  # dropout off so that both runs are deterministic
    idx = rng.integers(0, 20, (6, 5))
    outs, refs = a(axonal.tensor(idx)), t(torch.tensor(idx))
    for o, r in zip(outs, refs):
        np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), rtol=1e-5, atol=1e-6)
    (outs[0].sum() + outs[1].sum()).backward()
    (refs[0].sum() + refs[1].sum()).backward()
    tp = dict(t.named_parameters())
    for name, p in a.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)
    # and back: axonal -> numpy -> torch reproduces the running statistics exactly
    t2 = build(torch, tnn)
    t2.load_state_dict({k: torch.from_numpy(np.array(v.numpy()))
                        for k, v in a.state_dict().items()})
    for k, v in t2.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), a.state_dict()[k].numpy())


def test_load_state_dict_strict_errors_and_non_strict():
    m = nn.Sequential(OrderedDict(fc=nn.Linear(785, 10), bn=nn.BatchNorm1d(10)))
    good = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    bad = dict(good)
    bad["fc.weight"] = np.zeros((10, 784), np.float32)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc.weight: copying a param with "
                                           r"shape \(10, 784\), the shape in current model is "
                                           r"\(10, 785\)"):
        m.load_state_dict(bad)
    with pytest.raises(RuntimeError, match="size mismatch"):  # even when not strict
        m.load_state_dict(bad, strict=False)
    partial = dict(good)
    del partial["bn.running_var"]
    partial["extra.weight"] = np.ones(3)
    before = m.fc.weight.numpy(force=True).copy()
    partial["fc.weight"] = before + 1
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict(partial)
    msg = str(err.value)
    assert 'Missing key(s) in state_dict: "bn.running_var"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    np.testing.assert_array_equal(m.fc.weight.numpy(force=True), before)  # nothing was copied
    res = m.load_state_dict(partial, strict=False)
    assert res.missing_keys == ["bn.running_var"] and res.unexpected_keys == ["extra.weight"]
    np.testing.assert_array_equal(m.fc.weight.numpy(force=True), before + 1)
    # values may be Tensors, cast to the parameter dtype; identity of parameters is kept
    w = m.fc.weight
    m.load_state_dict({**good, "fc.weight": axonal.ones(10, 785, dtype=axonal.float64)})
    assert m.fc.weight is w and w.dtype == axonal.float32 and (w.numpy(force=True) == 1).all()
    # a checkpoint without num_batches_tracked still loads strictly (as in PyTorch)
    old = {k: v for k, v in good.items() if not k.endswith("num_batches_tracked")}
    assert m.load_state_dict(old).missing_keys == []


def test_registration_attribute_protocol():
    m = nn.Module()
    m.w = nn.Parameter(axonal.ones(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("buf", axonal.zeros(2))
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"]
    assert "w" not in m.__dict__ and m.w is m._parameters["w"]
    assert {"w", "sub", "buf", "plain"} <= set(dir(m))
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = axonal.ones(2)
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        getattr(m, "nope")
    m.buf = axonal.ones(2)  # reassigning a buffer keeps it a buffer
    assert (m._buffers["buf"].numpy() == 1).all()
    m.w = None
    assert m.w is None and list(m.parameters()) == list(m.sub.parameters())
    del m.sub
    assert "sub" not in m._modules and not hasattr(m, "sub")

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(axonal.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(KeyError, match="contain"):
        nn.Module().register_buffer("a.b", axonal.ones(1))
    p = nn.Parameter(axonal.ones(2))
    assert p.requires_grad and isinstance(p, axonal.Tensor)
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(axonal.ones(2), requires_grad=False).requires_grad


def test_shared_parameters_and_modules_are_deduplicated():
    lin = nn.Linear(3, 3)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(m.parameters())) == 2
    assert len(list(m.modules())) == 3
    assert list(m.state_dict().keys()) == ["0.weight", "0.bias"]  # as torch.nn.Sequential(l, r, l)
    tied = nn.Module()
    tied.a, tied.b = nn.Linear(2, 2), nn.Linear(2, 2)
    tied.b.weight = tied.a.weight
    assert len(list(tied.parameters())) == 3


def test_deep_models_do_not_recurse():
    m = nn.Linear(2, 2)
    for _ in range(3000):
        m = nn.Sequential(m)
    assert len(list(m.parameters())) == 2
    assert len(m.state_dict()) == 2
    m.eval()
    m.zero_grad()


def test_modes_zero_grad_apply_to_requires_grad():
    m = build(axonal, nn)
    m.eval()
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())
    out = m(axonal.tensor([[1, 2], [3, 4]]))
    out[0].sum().backward()
    assert m.body[0].weight.grad is not None
    m.zero_grad(set_to_none=False)
    assert (m.body[0].weight.grad.numpy() == 0).all()
    m.zero_grad()
    assert m.body[0].weight.grad is None
    order = []
    nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU())).apply(
        lambda mod: order.append(type(mod).__name__))
    assert order == ["Linear", "ReLU", "Sequential", "Sequential"]
    w = m.body[0].weight
    assert m.double() is m and w is m.body[0].weight and w.dtype == axonal.float64
    assert m.body[1].num_batches_tracked.dtype == axonal.int64
    assert m.scale.dtype == axonal.float64
    m.float()
    assert w.dtype == axonal.float32
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    with pytest.raises(ValueError, match="bool"):
        m.train("yes")


def test_containers():
    seq = nn.Sequential(OrderedDict(a=nn.Linear(2, 3), b=nn.ReLU(), c=nn.Linear(3, 1)))
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and isinstance(seq[-1], nn.Linear)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head._modules) == ["a", "b"]
    assert tuple(head(axonal.randn(4, 2)).shape) == (4, 3)
    s2 = nn.Sequential(nn.Linear(2, 2)).append(nn.ReLU())
    assert list(s2.state_dict()) == ["0.weight", "0.bias"] and len(s2) == 2
    del s2[0]
    assert list(s2._modules) == ["0"]
    with pytest.raises(IndexError):
        seq[5]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 1))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8 and isinstance(ml[1:], nn.ModuleList)
    assert list(ml.state_dict())[-1] == "3.bias"
    md = nn.ModuleDict({"enc": nn.Linear(2, 2), "dec": nn.Linear(2, 2)})
    assert list(md.keys()) == ["enc", "dec"] and "enc" in md and len(md) == 2
    assert next(iter(md.state_dict())) == "enc.weight"
    pl = nn.ParameterList([nn.Parameter(axonal.ones(2)), axonal.zeros(3)])
    assert len(pl) == 2 and all(isinstance(p, nn.Parameter) for p in pl)
    assert list(pl.state_dict()) == ["0", "1"]
    assert repr(pl).replace("axonal", "torch") == repr(tnn.ParameterList(
        [tnn.Parameter(torch.ones(2)), tnn.Parameter(torch.zeros(3))]))
    assert repr(seq) == repr(tnn.Sequential(OrderedDict(a=tnn.Linear(2, 3), b=tnn.ReLU(),
                                                        c=tnn.Linear(3, 1))))


def test_copy_and_pickle_round_trip():
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    c = copy.deepcopy(m)
    assert c[0].weight is not m[0].weight and isinstance(c[0].weight, nn.Parameter)
    np.testing.assert_array_equal(c[0].weight.numpy(force=True), m[0].weight.numpy(force=True))
    p = pickle.loads(pickle.dumps(m))
    assert isinstance(p[0].weight, nn.Parameter) and p[0].weight.requires_grad
    assert list(p.state_dict()) == list(m.state_dict())


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0])
def test_clip_grad_norm_matches_torch(norm_type, rng):
    grads = [rng.standard_normal(s) for s in [(3, 4), (4,), (2, 2, 2)]]
    ap = [nn.Parameter(axonal.zeros(*g.shape)) for g in grads]
    tp = [torch.nn.Parameter(torch.zeros(*g.shape)) for g in grads]
    for p, q, g in zip(ap, tp, grads):
        p.grad = axonal.tensor(g.astype(np.float32))
        q.grad = torch.tensor(g.astype(np.float32))
    total = nn.utils.clip_grad_norm_(ap, 0.5, norm_type)
    ref = torch.nn.utils.clip_grad_norm_(tp, 0.5, norm_type)
    assert isinstance(total, axonal.Tensor) and total.ndim == 0
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-5)
    for p, q in zip(ap, tp):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-7)
    # below the threshold nothing changes
    before = [p.grad.numpy().copy() for p in ap]
    nn.utils.clip_grad_norm_(ap, 100.0, norm_type)
    for p, b in zip(ap, before):
        np.testing.assert_allclose(p.grad.numpy(), b, rtol=1e-6)


def test_clip_grad_value_nonfinite_and_vectors(rng):
    p = nn.Parameter(axonal.zeros(5))
    p.grad = axonal.tensor([-3.0, -0.5, 0.0, 0.7, 9.0])
    nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad.numpy(), np.float32([-1, -0.5, 0, 0.7, 1]))
    p.grad = axonal.tensor([1.0, float("inf")])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([nn.Parameter(axonal.ones(2))], 1.0).item() == 0.0
    m = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(m.parameters())
    ref = torch.nn.utils.parameters_to_vector(
        [torch.tensor(p.numpy(force=True)) for p in m.parameters()])
    np.testing.assert_array_equal(vec.detach().numpy(), ref.numpy())
    nn.utils.vector_to_parameters(vec * 0 + 2, m.parameters())
    assert all((p.numpy(force=True) == 2).all() for p in m.parameters())
    with pytest.raises(axonal.ShapeError, match="8 elements"):
        nn.utils.vector_to_parameters(axonal.zeros(7), m.parameters())
