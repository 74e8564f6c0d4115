"""optim.swa_utils against torch.optim.swa_utils: AveragedModel (SWA, EMA through avg_fn and
multi_avg_fn, use_buffers) over a training run from the same weights, update_bn, and SWALR's
learning rates (cos / linear, anneal_epochs 0, several groups) with a state_dict round trip."""
import numpy as np
import pytest

import axonal
import axonal.nn as nn
from axonal.optim import swa_utils

torch = pytest.importorskip("torch")
tsw = torch.optim.swa_utils


def _nets(dtype=np.float64):
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(),
                            torch.nn.Linear(4, 2)).to(getattr(torch, np.dtype(dtype).name))
    a = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))
    a.to(getattr(axonal, np.dtype(dtype).name))
    a.load_state_dict({k: axonal.tensor(v.numpy().copy()) for k, v in t.state_dict().items()})
    return a, t


def _batches(dtype, n=12):
    rng = np.random.default_rng(1)
    return [(rng.standard_normal((5, 3)).astype(dtype), rng.standard_normal((5, 2)).astype(dtype))
            for _ in range(n)]


def _close(sa, st, tol):
    assert list(sa) == list(st)
    for k in st:
        np.testing.assert_allclose(sa[k].numpy(), st[k].numpy(), rtol=tol, atol=tol, err_msg=k)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["swa", "ema_avg", "ema_multi", "ema_multi_buffers",
                                  "swa_multi"])
def test_averaged_model_matches_torch(mode, dtype):
    a, t = _nets(dtype)
    kw_a, kw_t = {}, {}
    if mode == "ema_avg":
        kw_a, kw_t = {"avg_fn": swa_utils.get_ema_avg_fn(0.9)}, \
            {"avg_fn": tsw.get_ema_avg_fn(0.9)}
    elif mode == "ema_multi":
        kw_a, kw_t = {"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.8)}, \
            {"multi_avg_fn": tsw.get_ema_multi_avg_fn(0.8)}
    elif mode == "ema_multi_buffers":  # (torch's swa multi_avg_fn fails on the int64 buffer)
        kw_a = {"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.7), "use_buffers": True}
        kw_t = {"multi_avg_fn": tsw.get_ema_multi_avg_fn(0.7), "use_buffers": True}
    elif mode == "swa_multi":
        kw_a = {"multi_avg_fn": swa_utils.get_swa_multi_avg_fn()}
        kw_t = {"multi_avg_fn": tsw.get_swa_multi_avg_fn()}
    sa, st = swa_utils.AveragedModel(a, **kw_a), tsw.AveragedModel(t, **kw_t)
    oa = axonal.optim.SGD(a.parameters(), lr=0.1, momentum=0.9)
    ot = torch.optim.SGD(t.parameters(), lr=0.1, momentum=0.9)
    tol = 1e-10 if dtype == np.float64 else 1e-5
    for i, (x, y) in enumerate(_batches(dtype)):
        for m, o, lib in ((a, oa, axonal), (t, ot, torch)):
            o.zero_grad()
            ((m(lib.tensor(x)) - lib.tensor(y)) ** 2).mean().backward()
            o.step()
        if i >= 3:
            sa.update_parameters(a)
            st.update_parameters(t)
            _close(sa.state_dict(), st.state_dict(), tol)
    assert int(sa.n_averaged.item()) == 9
    assert sa.state_dict()["n_averaged"].dtype == axonal.int64
    x = _batches(dtype, 1)[0][0]
    sa.eval(), st.eval()
    np.testing.assert_allclose(sa(axonal.tensor(x)).detach().numpy(),
                               st(torch.tensor(x)).detach().numpy(), rtol=tol, atol=tol)


def test_update_bn_matches_torch():
    a, t = _nets()
    loader = [(axonal.tensor(x), axonal.tensor(y)) for x, y in _batches(np.float64, 5)]
    tloader = [(torch.tensor(x), torch.tensor(y)) for x, y in _batches(np.float64, 5)]
    a.eval(), t.eval()
    swa_utils.update_bn(loader, a)
    tsw.update_bn(tloader, t)
    assert not a.training
    _close(a.state_dict(), t.state_dict(), 1e-12)
    assert a[1].momentum == 0.1
    # a model without BatchNorm is left alone
    lin = nn.Linear(2, 2)
    before = lin.weight.detach().numpy().copy()
    swa_utils.update_bn(loader, lin)
    np.testing.assert_array_equal(lin.weight.detach().numpy(), before)


@pytest.mark.parametrize("kw", [{"swa_lr": 0.05}, {"swa_lr": 0.05, "anneal_strategy": "linear",
                                                   "anneal_epochs": 5},
                                {"swa_lr": [0.01, 0.2], "anneal_epochs": 0}])
def test_swalr_matches_torch(kw):
    pa = [axonal.zeros(2, requires_grad=True), axonal.zeros(2, requires_grad=True)]
    pt = [torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)]
    oa = axonal.optim.SGD([{"params": [pa[0]]}, {"params": [pa[1]], "lr": 0.3}], lr=0.5)
    ot = torch.optim.SGD([{"params": [pt[0]]}, {"params": [pt[1]], "lr": 0.3}], lr=0.5)
    sa, st = swa_utils.SWALR(oa, **kw), tsw.SWALR(ot, **kw)
    for step in range(15):
        oa.step(), ot.step()
        sa.step(), st.step()
        np.testing.assert_allclose(sa.get_last_lr(), st.get_last_lr(), rtol=1e-12, atol=0)
        if step == 6:
            state = sa.state_dict()
            assert "anneal_func" not in state and "optimizer" not in state
            fresh = swa_utils.SWALR(axonal.optim.SGD([{"params": [pa[0]]}, {"params": [pa[1]]}],
                                                     lr=0.5), **kw)
            fresh.load_state_dict(state)
            assert fresh.anneal_func(0.5) == sa.anneal_func(0.5)
    with pytest.raises(ValueError, match="anneal_strategy"):
        swa_utils.SWALR(oa, 0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs"):
        swa_utils.SWALR(oa, 0.1, anneal_epochs=-1)
