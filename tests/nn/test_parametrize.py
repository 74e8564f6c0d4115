"""nn.utils.parametrize, nn.utils.parametrizations.weight_norm / spectral_norm and the older
hook-based nn.utils.weight_norm / spectral_norm against torch: printed form, state_dict keys,
outputs and gradients (float32 and float64, from copied weights and power-iteration vectors),
right_inverse on assignment, cached(), removal, and a few SGD steps through the reparametrized
weights; float64 finite differences of the reparametrized forward."""
import numpy as np
import pytest

import axonal
import axonal.nn as nn
from axonal.autograd import gradcheck
from axonal.nn.utils import parametrizations as PZ
from axonal.nn.utils import parametrize as P

torch = pytest.importorskip("torch")
TP, TPZ = torch.nn.utils.parametrize, torch.nn.utils.parametrizations
TOL = {np.float32: 1e-5, np.float64: 1e-11}


class SymA(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(-1, -2)

    def right_inverse(self, a):
        return a.triu()


class SymT(torch.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(-1, -2)

    def right_inverse(self, a):
        return a.triu()


class ScaleA(nn.Module):
    def forward(self, x):
        return 2 * x

    def right_inverse(self, a):
        return a / 2


class ScaleT(torch.nn.Module):
    def forward(self, x):
        return 2 * x

    def right_inverse(self, a):
        return a / 2


def _pair(make_a, make_t, dtype):
    torch.manual_seed(0)
    t = make_t().to(getattr(torch, np.dtype(dtype).name))
    a = make_a().to(getattr(axonal, np.dtype(dtype).name))
    a.load_state_dict({k: axonal.tensor(v.numpy().copy()) for k, v in t.state_dict().items()})
    return a, t


def _copy_state(a, t):
    st = t.state_dict()
    assert list(a.state_dict()) == list(st)
    a.load_state_dict({k: axonal.tensor(v.detach().numpy().copy()) for k, v in st.items()})


def _check(a, t, shape, dtype, seed=0, steps=1):
    """Outputs, input/parameter gradients and buffers after `steps` forward/backward passes."""
    rng = np.random.default_rng(seed)
    tol = TOL[dtype]
    for _ in range(steps):
        x = rng.standard_normal(shape).astype(dtype)
        xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ya, yt = a(xa), t(xt)
        np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
        g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
        ya.backward(axonal.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
    for (n, pa), (_, pt) in zip(a.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(pa.grad.numpy(), pt.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=n)
    for (n, ba), (_, bt) in zip(a.named_buffers(), t.named_buffers()):
        np.testing.assert_allclose(ba.numpy(), bt.numpy(), rtol=tol, atol=tol, err_msg=n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_register_parametrization_chain_assign_cache_remove(dtype):
    a, t = _pair(lambda: nn.Linear(4, 4), lambda: torch.nn.Linear(4, 4), dtype)
    P.register_parametrization(a, "weight", SymA())
    TP.register_parametrization(t, "weight", SymT())
    P.register_parametrization(a, "weight", ScaleA())
    TP.register_parametrization(t, "weight", ScaleT())
    assert type(a).__name__ == type(t).__name__ == "ParametrizedLinear"
    assert P.type_before_parametrizations(a) is nn.Linear
    assert P.is_parametrized(a) and P.is_parametrized(a, "weight")
    assert not P.is_parametrized(a, "bias")
    assert list(a.state_dict()) == list(t.state_dict())
    _copy_state(a, t)
    w = a.weight.detach().numpy()
    np.testing.assert_allclose(w, w.T)  # symmetric, through the chain
    _check(a, t, (3, 4), dtype)
    # assignment goes through the right inverses
    target = np.random.default_rng(1).standard_normal((4, 4)).astype(dtype)
    target = target + target.T
    a.weight = axonal.tensor(target)
    with torch.no_grad():
        t.weight = torch.tensor(target)
    np.testing.assert_allclose(a.weight.detach().numpy(), target, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(a.parametrizations.weight.original.detach().numpy(),
                               t.parametrizations.weight.original.detach().numpy(), rtol=1e-6)
    with P.cached():
        assert a.weight is a.weight
    assert a.weight is not a.weight
    # removal keeps the parametrized value as a plain parameter and restores the class
    P.remove_parametrizations(a, "weight")
    TP.remove_parametrizations(t, "weight")
    assert type(a) is nn.Linear and isinstance(a.weight, nn.Parameter)
    assert list(a.state_dict()) == list(t.state_dict())
    np.testing.assert_allclose(a.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-6)


def test_remove_not_leaving_parametrized_and_buffers():
    a = nn.Linear(3, 3)
    before = a.weight.detach().numpy().copy()
    P.register_parametrization(a, "weight", ScaleA())
    P.remove_parametrizations(a, "weight", leave_parametrized=False)
    # the original, i.e. right_inverse(weight) = weight / 2 (torch does the same)
    np.testing.assert_allclose(a.weight.detach().numpy(), before / 2, rtol=1e-7)
    bn = nn.BatchNorm1d(3)
    P.register_parametrization(bn, "running_var", ScaleA())
    assert "parametrizations.running_var.original" in bn.state_dict()
    np.testing.assert_allclose(bn.running_var.numpy(), np.ones(3))
    with pytest.raises(ValueError, match="does not have a parameter"):
        P.register_parametrization(a, "nothing", ScaleA())
    with pytest.raises(ValueError, match="does not have a parametrization"):
        P.remove_parametrizations(a, "weight")


def test_parametrization_shape_change_needs_unsafe():
    class Drop(nn.Module):
        def forward(self, x):
            return x[:-1]

    with pytest.raises(ValueError, match="shape"):
        P.register_parametrization(nn.Linear(3, 3), "weight", Drop())
    m = P.register_parametrization(nn.Linear(3, 3), "weight", Drop(), unsafe=True)
    assert tuple(m.weight.shape) == (2, 3)


def test_transfer_parametrizations():
    src = P.register_parametrization(nn.Linear(3, 3), "weight", SymA())
    dst = P.transfer_parametrizations_and_params(src, nn.Linear(3, 3))
    assert dst.parametrizations.weight.original is src.parametrizations.weight.original
    np.testing.assert_array_equal(dst.weight.detach().numpy(), src.weight.detach().numpy())


WN = [(lambda: nn.Linear(5, 3), lambda: torch.nn.Linear(5, 3), 0, (4, 5)),
      (lambda: nn.Linear(5, 3), lambda: torch.nn.Linear(5, 3), None, (4, 5)),
      (lambda: nn.Conv2d(2, 3, 3), lambda: torch.nn.Conv2d(2, 3, 3), 1, (2, 2, 5, 5)),
      (lambda: nn.ConvTranspose1d(2, 3, 3), lambda: torch.nn.ConvTranspose1d(2, 3, 3), 2,
       (2, 2, 6))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(WN)))
def test_weight_norm_parametrization(case, dtype):
    make_a, make_t, dim, shape = WN[case]
    a, t = _pair(make_a, make_t, dtype)
    PZ.weight_norm(a, dim=dim)
    TPZ.weight_norm(t, dim=dim)
    assert repr(a) == repr(t)
    assert list(a.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():  # g and v from the same weight
        np.testing.assert_allclose(a.state_dict()[k].numpy(), v.numpy(), rtol=1e-6, atol=1e-7)
    _check(a, t, shape, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [0, 2, 3])
def test_spectral_norm_parametrization(case, dtype):
    make_a, make_t, _, shape = WN[case]
    a, t = _pair(make_a, make_t, dtype)
    PZ.spectral_norm(a, n_power_iterations=2)
    TPZ.spectral_norm(t, n_power_iterations=2)
    assert list(a.state_dict()) == list(t.state_dict())
    _copy_state(a, t)  # the random power-iteration vectors come from torch
    _check(a, t, shape, dtype, steps=3)  # training: each forward iterates u and v
    a.eval(), t.eval()
    _check(a, t, shape, dtype, seed=1)
    sv = np.linalg.svd(a.weight.detach().numpy().reshape(a.weight.shape[0] if case != 3 else
                                                          a.weight.shape[1], -1)
                       if case != 3 else
                       np.moveaxis(a.weight.detach().numpy(), 1, 0).reshape(3, -1),
                       compute_uv=False)
    assert abs(sv[0] - 1) < 0.05  # normalized by (an estimate of) the top singular value


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_old_weight_norm_and_spectral_norm(dtype):
    a, t = _pair(lambda: nn.Linear(5, 3), lambda: torch.nn.Linear(5, 3), dtype)
    with pytest.warns(FutureWarning):
        nn.utils.weight_norm(a, dim=1)
    with pytest.warns(FutureWarning):
        torch.nn.utils.weight_norm(t, dim=1)
    assert list(a.state_dict()) == list(t.state_dict()) == ["bias", "weight_g", "weight_v"]
    _check(a, t, (4, 5), dtype)
    nn.utils.remove_weight_norm(a)
    torch.nn.utils.remove_weight_norm(t)
    assert list(a.state_dict()) == list(t.state_dict())
    np.testing.assert_allclose(a.weight.detach().numpy(), t.weight.detach().numpy(),
                               rtol=TOL[dtype], atol=TOL[dtype])
    with pytest.raises(ValueError, match="not found"):
        nn.utils.remove_weight_norm(a)

    a, t = _pair(lambda: nn.Conv2d(2, 4, 3), lambda: torch.nn.Conv2d(2, 4, 3), dtype)
    nn.utils.spectral_norm(a)
    torch.nn.utils.spectral_norm(t)
    assert list(a.state_dict()) == list(t.state_dict())
    _copy_state(a, t)
    _check(a, t, (2, 2, 5, 5), dtype, steps=3)
    a.eval(), t.eval()
    _check(a, t, (2, 2, 5, 5), dtype, seed=2)
    nn.utils.remove_spectral_norm(a)
    torch.nn.utils.remove_spectral_norm(t)
    assert list(a.state_dict()) == list(t.state_dict())
    np.testing.assert_allclose(a.weight.detach().numpy(), t.weight.detach().numpy(),
                               rtol=TOL[dtype], atol=TOL[dtype])


def test_training_through_weight_norm_matches_torch():
    a, t = _pair(lambda: nn.Linear(4, 2), lambda: torch.nn.Linear(4, 2), np.float64)
    PZ.weight_norm(a)
    TPZ.weight_norm(t)
    oa = axonal.optim.Adam(a.parameters(), lr=0.05)
    ot = torch.optim.Adam(t.parameters(), lr=0.05)
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 2))
    for _ in range(20):
        for m, o, lib in ((a, oa, axonal), (t, ot, torch)):
            o.zero_grad()
            ((m(lib.tensor(x)) - lib.tensor(y)) ** 2).mean().backward()
            o.step()
    for (k, va), (_, vt) in zip(a.state_dict().items(), t.state_dict().items()):
        np.testing.assert_allclose(va.numpy(), vt.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)


def test_finite_differences_through_parametrizations():
    rng = np.random.default_rng(4)
    x = axonal.tensor(rng.standard_normal((2, 3)))
    for wrap in (PZ.weight_norm, PZ.spectral_norm):
        m = wrap(nn.Linear(3, 2).double())
        m.eval()  # (no power iteration inside the finite differences)
        orig = [p for n, p in m.named_parameters() if "original" in n]

        def fn(*ps, m=m, orig=orig):
            for p, q in zip(orig, ps):
                p._data = q._data
            return m(x)

        inputs = [axonal.tensor(p.detach().numpy().copy(), requires_grad=True) for p in orig]

        def f(*ps, m=m):
            plist = m.parametrizations.weight
            w = plist[0](*ps) if len(ps) > 1 else plist[0](ps[0])
            return nn.functional.linear(x, w, m.bias)

        assert gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)
