"""Adamax, NAdam, RAdam, ASGD, Rprop and Adafactor against torch.optim: 25 steps from the same
weights on a small tanh net (parameters within 1e-6 relative in float64 after every step, float32
too), the state_dict layout and values against torch's, a state_dict round trip in the middle of the
trajectory, parameter groups with their own options, and torch's hyperparameter errors."""
import copy

import numpy as np
import pytest

import axonal
from axonal import optim

torch = pytest.importorskip("torch")

CONFIGS = [
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "betas": (0.5, 0.9), "weight_decay": 0.1, "eps": 1e-3}),
    ("Adamax", {"lr": 0.01, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "momentum_decay": 0.1, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True,
               "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.01, "maximize": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.1, "lambd": 0.01, "alpha": 0.5, "t0": 5, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.05, "t0": 0, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.1)}),
    ("Rprop", {"lr": 0.01, "maximize": True}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 1e-2), "d": 1.5,
                   "weight_decay": 0.1}),
    ("Adafactor", {"lr": 0.05, "maximize": True}),
]
TOL = {np.float64: (1e-6, 1e-10), np.float32: (1e-4, 1e-6)}


class Pair:
    """One net in both frameworks; loss = mean(((x W1^T).tanh() W2^T - y)^2)."""

    def __init__(self, name, kwargs, dtype, groups=None):
        rng = np.random.default_rng(0)
        ws = [rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal((2, 4)).astype(dtype)]
        x, y = rng.standard_normal((6, 3)).astype(dtype), rng.standard_normal((6, 2)).astype(dtype)
        self.ax = [axonal.tensor(w.copy(), requires_grad=True) for w in ws]
        self.th = [torch.tensor(w.copy(), requires_grad=True) for w in ws]
        self.data = (axonal.tensor(x), axonal.tensor(y), torch.tensor(x), torch.tensor(y))
        pa, pt = self.ax, self.th
        if groups is not None:
            pa = [{"params": [self.ax[i] for i in idx], **o} for idx, o in groups]
            pt = [{"params": [self.th[i] for i in idx], **o} for idx, o in groups]
        self.oa = getattr(optim, name)(pa, **kwargs)
        self.ot = getattr(torch.optim, name)(pt, **kwargs)

    def loss(self, ws, x, y):
        return ((x @ ws[0].T).tanh() @ ws[1].T - y).pow(2).mean()

    def step(self):
        xa, ya, xt, yt = self.data
        for opt, ws, x, y in ((self.oa, self.ax, xa, ya), (self.ot, self.th, xt, yt)):
            opt.zero_grad()
            self.loss(ws, x, y).backward()
            opt.step()

    def check(self, dtype, step):
        rtol, atol = TOL[dtype]
        for i, (a, t) in enumerate(zip(self.ax, self.th)):
            np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), rtol=rtol,
                                       atol=atol, err_msg=f"param {i} after step {step}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in
                                                       enumerate(CONFIGS)])
def test_trajectory_matches_torch(name, kwargs, dtype):
    pair = Pair(name, kwargs, dtype)
    start = [a.detach().numpy().copy() for a in pair.ax]
    for step in range(1, 26):
        pair.step()
        pair.check(dtype, step)
    assert not np.allclose(start[0], pair.ax[0].detach().numpy())  # it moved
    assert all(a.dtype == getattr(axonal, np.dtype(dtype).name) for a in pair.ax)


@pytest.mark.parametrize("name,kwargs", CONFIGS[::3], ids=[n for n, _ in CONFIGS[::3]])
def test_state_dict_matches_torch_and_round_trips(name, kwargs):
    pair = Pair(name, kwargs, np.float64)
    for _ in range(8):
        pair.step()
    saved = copy.deepcopy(pair.oa.state_dict())
    theirs = pair.ot.state_dict()
    assert sorted(saved["state"]) == sorted(theirs["state"]) == [0, 1]
    for idx, st in theirs["state"].items():
        assert set(saved["state"][idx]) == set(st)
        for key, value in st.items():
            np.testing.assert_allclose(np.asarray(saved["state"][idx][key]._data), value.numpy(),
                                       rtol=1e-6, atol=1e-12, err_msg=key)
            assert saved["state"][idx][key].dtype.name == str(value.dtype).split(".")[1], key
    for ours, th in zip(saved["param_groups"], theirs["param_groups"]):
        for key in ours:
            assert ours[key] == th[key], key
    # both frameworks resume from their own checkpoint on copies of the weights; torch casts
    # floating scalar state (ASGD's eta and mu, NAdam's mu_product) to the parameter dtype on
    # load, and so does axonal, so the resumed runs agree with each other
    fa = [axonal.tensor(p.detach().numpy().copy(), requires_grad=True) for p in pair.ax]
    ft = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in pair.th]
    ra, rt = getattr(optim, name)(fa, **kwargs), getattr(torch.optim, name)(ft, **kwargs)
    ra.load_state_dict(saved)
    rt.load_state_dict(copy.deepcopy(theirs))  # (torch shares the buffers it loads)
    xa, ya, xt, yt = pair.data
    for step in range(8):
        pair.step()
        for opt, ws, x, y in ((ra, fa, xa, ya), (rt, ft, xt, yt)):
            opt.zero_grad()
            pair.loss(ws, x, y).backward()
            opt.step()
        for a, b, t in zip(pair.ax, fa, ft):
            np.testing.assert_allclose(b.detach().numpy(), t.detach().numpy(), rtol=1e-6,
                                       atol=1e-10, err_msg=f"step {9 + step}")
            if name not in ("ASGD", "NAdam"):  # no float32 scalar state: exactly the same run
                np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        pair.check(np.float64, 9 + step)


@pytest.mark.parametrize("name,opts", [("NAdam", {"lr": 0.05}), ("RAdam", {"lr": 0.05}),
                                       ("Adamax", {"lr": 0.05}), ("ASGD", {"lr": 0.05}),
                                       ("Rprop", {"lr": 0.05})])
def test_param_groups(name, opts):
    pair = Pair(name, {}, np.float64, groups=[([0], opts), ([1], {})])
    for step in range(1, 11):
        pair.step()
        pair.check(np.float64, step)


@pytest.mark.parametrize("name,kwargs", [
    ("Adamax", {"lr": -1.0}), ("Adamax", {"betas": (1.0, 0.9)}), ("NAdam", {"eps": -1.0}),
    ("NAdam", {"momentum_decay": -0.1}), ("RAdam", {"weight_decay": -1.0}),
    ("ASGD", {"lr": -0.1}), ("Rprop", {"etas": (1.5, 1.2)}), ("Rprop", {"lr": -1.0}),
    ("Adafactor", {"beta2_decay": 0.5}), ("Adafactor", {"d": 0.5})])
def test_bad_hyperparameters_raise_like_torch(name, kwargs):
    p = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError):
        getattr(torch.optim, name)(p, **kwargs)
    with pytest.raises(ValueError):
        getattr(optim, name)([axonal.zeros(2, requires_grad=True)], **kwargs)


def test_sparse_adam_stays_missing():
    # Axonal has no sparse gradients, so SparseAdam would only ever refuse its input
    with pytest.raises(AttributeError, match="does not implement"):
        optim.SparseAdam  # noqa: B018
