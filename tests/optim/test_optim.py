"""axonal.optim optimizers, checked step by step against PyTorch 2.13 (the test-only oracle).

The problem: a tiny 2-layer net written with raw tensors, W1 (4, 3), W2 (2, 4),
loss = mean(((x W1^T).tanh() W2^T - y)^2). Both frameworks start from the same weights (copied
through NumPy) and compute their own gradients; parameters are compared after every step.
"""
import copy
import re

import numpy as np
import pytest

import axonal
from axonal import optim

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RTOL = {np.float64: 1e-5, np.float32: 1e-4}
ATOL = {np.float64: 1e-9, np.float32: 1e-6}

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.05, "maximize": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-3}),
    ("Adagrad", {"lr": 0.1, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5}),
    ("Adadelta", {"weight_decay": 0.1, "eps": 1e-4}),
    ("Adadelta", {"maximize": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-4}),
    ("Adam", {"lr": 0.01, "maximize": True, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.5, "amsgrad": True}),
]


def _problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((4, 3)), rng.standard_normal((2, 4))]
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    return [w.astype(dtype) for w in weights], x.astype(dtype), y.astype(dtype)


class _Pair:
    """The same net in both frameworks; `step()` runs one forward/backward/update in each."""

    def __init__(self, name, kwargs, dtype, groups=None):
        weights, x, y = _problem(dtype)
        self.ax = [axonal.tensor(w.copy(), requires_grad=True) for w in weights]
        self.th = [torch.tensor(w.copy(), requires_grad=True) for w in weights]
        self.xa, self.ya = axonal.tensor(x), axonal.tensor(y)
        self.xt, self.yt = torch.tensor(x), torch.tensor(y)
        ax_params, th_params = self.ax, self.th
        if groups is not None:  # groups: list of (param indices, extra options)
            ax_params = [{"params": [self.ax[i] for i in idx], **opts} for idx, opts in groups]
            th_params = [{"params": [self.th[i] for i in idx], **opts} for idx, opts in groups]
        self.ax_opt = getattr(optim, name)(ax_params, **kwargs)
        self.th_opt = getattr(torch.optim, name)(th_params, **kwargs)

    def ax_backward(self):
        w1, w2 = self.ax
        loss = ((self.xa @ w1.T).tanh() @ w2.T - self.ya).pow(2).mean()
        loss.backward()
        return loss

    def step(self):
        self.ax_opt.zero_grad()
        self.th_opt.zero_grad()
        self.ax_backward()
        w1, w2 = self.th
        ((self.xt @ w1.T).tanh() @ w2.T - self.yt).pow(2).mean().backward()
        self.ax_opt.step()
        self.th_opt.step()

    def assert_close(self, dtype, step):
        for i, (a, t) in enumerate(zip(self.ax, self.th)):
            np.testing.assert_allclose(a._data, t.detach().numpy(), rtol=RTOL[dtype],
                                       atol=ATOL[dtype], err_msg=f"param {i} after step {step}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in
                                                       enumerate(CONFIGS)])
def test_trajectory_matches_torch(name, kwargs, dtype):
    pair = _Pair(name, kwargs, dtype)
    for step in range(1, 21):
        pair.step()
        pair.assert_close(dtype, step)
    assert all(a._data.dtype == dtype for a in pair.ax)


KERNEL_CONFIGS = [("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.01, "weight_decay": 0.01, "maximize": True}),
                  ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.2}),
                  ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
                  ("Adam", {"lr": 0.01, "weight_decay": 0.01}),
                  ("Adam", {"lr": 0.01, "maximize": True}),
                  ("AdamW", {"lr": 0.01, "betas": (0.8, 0.99)})]


@pytest.mark.parametrize("name,kwargs", KERNEL_CONFIGS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(KERNEL_CONFIGS)])
def test_fused_kernel_path_matches_torch(name, kwargs, monkeypatch):
    """float32 parameters above the kernels' size thresholds take the fused numba updates.
    atol is 1e-5 here: the 48-term float32 dot products of the two frameworks' BLAS differ by
    ~1e-7 per gradient entry (the NumPy update path shows the same ~2e-6 spread)."""
    from axonal.kernels import optim as kernels_optim

    family = "_adam" if name.startswith("Adam") else "_momentum" if kwargs.get(
        "momentum") else "_sgd"
    calls = []
    for kernel in (f"{family}_core", f"{family}_par"):  # the compiled serial / parallel update
        original = getattr(kernels_optim, kernel)
        monkeypatch.setattr(kernels_optim, kernel,
                            lambda *a, _k=original: calls.append(a[0].size) or _k(*a))
    rng = np.random.default_rng(1)
    w = [rng.standard_normal((64, 48)).astype(np.float32) * 0.2,
         rng.standard_normal((8, 64)).astype(np.float32) * 0.2]
    x = rng.standard_normal((16, 48)).astype(np.float32)
    y = rng.standard_normal((16, 8)).astype(np.float32)
    ax = [axonal.tensor(a.copy(), requires_grad=True) for a in w]
    th = [torch.tensor(a.copy(), requires_grad=True) for a in w]
    oa, ot = getattr(optim, name)(ax, **kwargs), getattr(torch.optim, name)(th, **kwargs)
    xa, ya, xt, yt = axonal.tensor(x), axonal.tensor(y), torch.tensor(x), torch.tensor(y)
    for step in range(1, 21):
        oa.zero_grad()
        ot.zero_grad()
        ((xa @ ax[0].T).tanh() @ ax[1].T - ya).pow(2).mean().backward()
        ((xt @ th[0].T).tanh() @ th[1].T - yt).pow(2).mean().backward()
        oa.step()
        ot.step()
        for a, t in zip(ax, th):
            np.testing.assert_allclose(a._data, t.detach().numpy(), rtol=1e-4, atol=1e-5,
                                       err_msg=f"step {step}")
    assert 64 * 48 in calls


def test_comparison_can_fail():
    """Negative control: a slightly different momentum must be detected by the same check."""
    pair = _Pair("SGD", {"lr": 0.1, "momentum": 0.9}, np.float64)
    pair.ax_opt.param_groups[0]["momentum"] = 0.89
    with pytest.raises(AssertionError):
        for step in range(1, 21):
            pair.step()
            pair.assert_close(np.float64, step)


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "amsgrad": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
])
def test_param_groups_with_different_options(name, kwargs):
    groups = [([0], {"lr": kwargs["lr"] * 3}), ([1], {})]
    if name == "Adam":
        groups[1] = ([1], {"betas": (0.5, 0.9)})
    pair = _Pair(name, kwargs, np.float64, groups=groups)
    for step in range(1, 21):
        pair.step()
        pair.assert_close(np.float64, step)
    assert pair.ax_opt.param_groups[0]["lr"] == kwargs["lr"] * 3
    assert pair.ax_opt.param_groups[1]["lr"] == kwargs["lr"]


STATEFUL = [("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
            ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
            ("Adadelta", {"rho": 0.8}),
            ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
            ("Adam", {"lr": 0.01, "amsgrad": True}),
            ("AdamW", {"lr": 0.01})]


@pytest.mark.parametrize("name,kwargs", STATEFUL, ids=[n for n, _ in STATEFUL])
def test_state_dict_round_trip_mid_trajectory(name, kwargs):
    pair = _Pair(name, kwargs, np.float64)
    for _ in range(10):
        pair.step()
    saved = copy.deepcopy(pair.ax_opt.state_dict())
    # layout and values agree with torch's state_dict
    th_sd = pair.th_opt.state_dict()
    assert sorted(saved["state"]) == sorted(th_sd["state"]) == [0, 1]
    for idx, th_state in th_sd["state"].items():
        assert set(saved["state"][idx]) == set(th_state), (idx, th_state.keys())
        for key, value in th_state.items():
            np.testing.assert_allclose(np.asarray(saved["state"][idx][key]._data),
                                       value.numpy(), rtol=1e-6, atol=1e-12, err_msg=key)
    for ours, theirs in zip(saved["param_groups"], th_sd["param_groups"]):
        for key in ours:
            assert ours[key] == theirs[key], key
    # a fresh optimizer on copies of the weights continues exactly like the uninterrupted one
    fresh = [axonal.tensor(p._data.copy(), requires_grad=True) for p in pair.ax]
    resumed = getattr(optim, name)(fresh, **kwargs)
    resumed.load_state_dict(saved)
    for step in range(10):
        pair.step()
        resumed.zero_grad()
        w1, w2 = fresh
        ((pair.xa @ w1.T).tanh() @ w2.T - pair.ya).pow(2).mean().backward()
        resumed.step()
        for a, b in zip(pair.ax, fresh):
            np.testing.assert_array_equal(a._data, b._data, err_msg=f"step {11 + step}")
        pair.assert_close(np.float64, 11 + step)


@pytest.mark.parametrize("name,kwargs", STATEFUL, ids=[n for n, _ in STATEFUL])
def test_load_torch_state_dict_as_numpy(name, kwargs):
    """A torch checkpoint (tensors converted to NumPy arrays) resumes the torch trajectory."""
    pair = _Pair(name, kwargs, np.float64)
    for _ in range(10):
        pair.step()
    sd = pair.th_opt.state_dict()
    converted = {"state": {i: {k: v.numpy().copy() for k, v in s.items()}
                           for i, s in sd["state"].items()},
                 "param_groups": copy.deepcopy(sd["param_groups"])}
    fresh = [axonal.tensor(t.detach().numpy().copy(), requires_grad=True) for t in pair.th]
    opt = getattr(optim, name)(fresh, **kwargs)
    opt.load_state_dict(converted)
    assert isinstance(opt.state[fresh[0]]["step" if name != "SGD" else "momentum_buffer"],
                      axonal.Tensor)
    pair.ax = fresh
    pair.ax_opt = opt
    for step in range(11, 21):
        pair.step()
        pair.assert_close(np.float64, step)


def test_load_state_dict_validates_groups():
    a, b, c = (axonal.zeros(3, requires_grad=True) for _ in range(3))
    one_group = optim.SGD([a, b], lr=0.1, momentum=0.9)
    two_groups = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        one_group.load_state_dict(two_groups.state_dict())
    three = optim.SGD([a, b, c], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        one_group.load_state_dict(three.state_dict())
    with pytest.raises(ValueError, match="param_groups"):
        one_group.load_state_dict({"state": {}})
    bad = {"state": {0: {"momentum_buffer": np.zeros(4)}},
           "param_groups": one_group.state_dict()["param_groups"]}
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        one_group.load_state_dict(bad)


def test_load_state_dict_copies_and_casts():
    p = axonal.zeros(3, dtype=axonal.float32, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = axonal.ones(3, dtype=axonal.float32)
    opt.step()
    sd = opt.state_dict()
    q = axonal.zeros(3, dtype=axonal.float64, requires_grad=True)
    other = optim.Adam([q], lr=0.1)
    other.load_state_dict(sd)
    assert other.state[q]["exp_avg"].dtype == axonal.float64
    assert other.state[q]["step"].dtype == axonal.float32  # the step count keeps its dtype
    assert other.state[q]["exp_avg"]._data is not opt.state[p]["exp_avg"]._data
    other.param_groups[0]["lr"] = 0.5  # groups are copies too
    assert opt.param_groups[0]["lr"] == 0.1


def test_zero_grad_semantics():
    p = axonal.ones(3, requires_grad=True)
    q = axonal.ones(2, requires_grad=True)
    opt = optim.SGD([p, q], lr=0.1)
    (p * 2).sum().backward()
    assert q.grad is None
    opt.zero_grad()
    assert p.grad is None and q.grad is None
    (p * 2).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and np.all(p.grad._data == 0)
    assert q.grad is None  # no gradient was ever created for q
    (p * 3).sum().backward()  # accumulates into the zeroed gradient
    np.testing.assert_array_equal(p.grad._data, 3.0)


def test_params_without_grad_are_skipped_and_updates_are_in_place():
    p = axonal.ones(3, requires_grad=True)
    q = axonal.ones(2, requires_grad=True)
    opt = optim.Adam([p, q], lr=0.1)
    buffer = p._data
    (p * p).sum().backward()
    opt.step()
    assert p._data is buffer, "the update must write .data in place"
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    np.testing.assert_array_equal(q._data, 1.0)
    assert q not in opt.state and len(opt.state) == 1


def test_step_with_closure_returns_loss_and_enables_grad():
    weights, x, _y = _problem(np.float64)
    pa = axonal.tensor(weights[0].copy(), requires_grad=True)
    pt = torch.tensor(weights[0].copy(), requires_grad=True)
    oa, ot = optim.SGD([pa], lr=0.1, momentum=0.9), torch.optim.SGD([pt], lr=0.1, momentum=0.9)
    xa, xt = axonal.tensor(x), torch.tensor(x)

    def closure_a():
        oa.zero_grad()
        loss = (xa @ pa.T).tanh().pow(2).sum()
        loss.backward()
        return loss

    def closure_t():
        ot.zero_grad()
        loss = (xt @ pt.T).tanh().pow(2).sum()
        loss.backward()
        return loss

    for _ in range(5):
        with axonal.no_grad():  # the closure must still record a graph
            la = oa.step(closure_a)
        lt = ot.step(closure_t)
        assert la.item() == pytest.approx(lt.item(), rel=1e-10)
    np.testing.assert_allclose(pa._data, pt.detach().numpy(), rtol=1e-10)


BAD = [("SGD", {"lr": -0.1}), ("SGD", {"momentum": -0.5}), ("SGD", {"weight_decay": -1.0}),
       ("SGD", {"nesterov": True}), ("SGD", {"momentum": 0.9, "dampening": 0.1, "nesterov": True}),
       ("Adagrad", {"lr": -1.0}), ("Adagrad", {"lr_decay": -1.0}),
       ("Adagrad", {"weight_decay": -1.0}), ("Adagrad", {"initial_accumulator_value": -1.0}),
       ("Adagrad", {"eps": -1.0}), ("Adadelta", {"lr": -1.0}), ("Adadelta", {"rho": 1.5}),
       ("Adadelta", {"eps": -1.0}), ("Adadelta", {"weight_decay": -1.0}),
       ("RMSprop", {"lr": -1.0}), ("RMSprop", {"alpha": -1.0}), ("RMSprop", {"eps": -1.0}),
       ("RMSprop", {"momentum": -1.0}), ("RMSprop", {"weight_decay": -1.0}),
       ("Adam", {"lr": -0.1}), ("Adam", {"betas": (1.0, 0.999)}),
       ("Adam", {"betas": (0.9, -0.1)}), ("Adam", {"eps": -1.0}),
       ("Adam", {"weight_decay": -1.0}), ("AdamW", {"lr": -1.0}),
       ("AdamW", {"betas": (0.9, 1.0)})]


@pytest.mark.parametrize("name,kwargs", BAD, ids=[f"{n}-{next(iter(k))}" for n, k in BAD])
def test_bad_hyperparameters_raise_like_torch(name, kwargs):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=re.escape(str(theirs.value))) as ours:
        getattr(optim, name)([axonal.zeros(2, requires_grad=True)], **kwargs)
    assert name in str(ours.value)  # our message names the optimizer


def test_bad_parameters_raise():
    p = axonal.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors.*ndarray"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(TypeError, match="lr must be a real number"):
        optim.SGD([p], lr="0.1")
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: Invalid learning rate: -1"):
        opt.add_param_group({"params": [axonal.zeros(1, requires_grad=True)], "lr": -1})
    p.grad = axonal.zeros(3)
    with pytest.raises(axonal.ShapeError, match=r"shape \(2,\) has a gradient of shape \(3,\)"):
        opt.step()
    with pytest.raises(NotImplementedError, match="differentiable"):
        optim.Adam([p], differentiable=True)


def test_add_param_group_named_params_and_repr():
    a, b = axonal.zeros(2, requires_grad=True), axonal.zeros(3, requires_grad=True)
    opt = optim.Adagrad([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["lr_decay"] == 0
    b.grad = axonal.ones(3)
    opt.step()  # state for a group added later is created on its first step
    assert float(opt.state[b]["step"]._data) == 1.0
    named = optim.SGD([("w", a), ("b", b)], lr=0.1)
    assert named.param_groups[0]["param_names"] == ["w", "b"]
    text = repr(opt)
    assert text.startswith("Adagrad (") and "Parameter Group 1" in text and "lr: 0.01" in text


def test_adagrad_state_exists_before_first_step_like_torch():
    p = axonal.zeros(3, requires_grad=True)
    opt = optim.Adagrad([p], initial_accumulator_value=0.3)
    theirs = torch.optim.Adagrad([torch.zeros(3, requires_grad=True)],
                                 initial_accumulator_value=0.3).state_dict()["state"][0]
    ours = opt.state_dict()["state"][0]
    assert set(ours) == set(theirs)
    np.testing.assert_allclose(ours["sum"]._data, theirs["sum"].numpy())


def test_functional_update_is_pure_in_grad():
    from axonal.optim._functional import adam_update
    param, grad = np.ones(4), np.full(4, 0.5)
    m, v = np.zeros(4), np.zeros(4)
    adam_update(param, grad, m, v, None, 1.0, lr=0.1, weight_decay=0.1, maximize=True)
    np.testing.assert_array_equal(grad, 0.5)  # the caller's gradient is never modified
    assert np.all(param > 1)  # maximize: ascends along the gradient


# -- regularization -----------------------------------------------------------------------------

def test_l1_l2_penalties_match_torch_values_and_gradients():
    weights, _, _ = _problem(np.float64)
    ax = [axonal.tensor(w.copy(), requires_grad=True) for w in weights]
    th = [torch.tensor(w.copy(), requires_grad=True) for w in weights]
    l1 = optim.l1_penalty(ax)
    l2 = optim.l2_penalty(ax)
    (l1 + 3 * l2).backward()
    t1 = sum(t.abs().sum() for t in th)
    t2 = 0.5 * sum((t * t).sum() for t in th)
    (t1 + 3 * t2).backward()
    assert l1.item() == pytest.approx(t1.item()) and l2.item() == pytest.approx(t2.item())
    assert l1.ndim == 0 and l2.ndim == 0
    for a, t in zip(ax, th):
        np.testing.assert_allclose(a.grad._data, t.grad.numpy(), rtol=1e-12)


def test_l2_penalty_equals_sgd_weight_decay():
    """alpha * l2_penalty in the loss gives the same SGD trajectory as weight_decay=alpha."""
    weights, x, y = _problem(np.float64)
    xa, ya = axonal.tensor(x), axonal.tensor(y)
    runs = []
    for use_penalty in (False, True):
        ps = [axonal.tensor(w.copy(), requires_grad=True) for w in weights]
        opt = optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.0 if use_penalty else 0.05)
        for _ in range(10):
            opt.zero_grad()
            loss = ((xa @ ps[0].T).tanh() @ ps[1].T - ya).pow(2).mean()
            if use_penalty:
                loss = loss + 0.05 * optim.l2_penalty(ps)
            loss.backward()
            opt.step()
        runs.append([p._data.copy() for p in ps])
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_penalties_validate_inputs():
    with pytest.raises(ValueError, match="l1_penalty: got an empty parameter list"):
        optim.l1_penalty([])
    with pytest.raises(TypeError, match="l2_penalty: every parameter must be a Tensor"):
        optim.l2_penalty([np.ones(2)])
    single = optim.l2_penalty(axonal.tensor([3.0, 4.0]))
    assert single.item() == pytest.approx(12.5)


@pytest.mark.skipif(not axonal.cuda.is_available(), reason="needs CuPy and a GPU")
def test_adam_on_cuda_matches_cpu():
    weights, _, _ = _problem(np.float32)
    cpu = axonal.tensor(weights[0].copy(), requires_grad=True)
    gpu = axonal.tensor(weights[0].copy(), requires_grad=True, device="cuda")
    opts = [optim.Adam([cpu], lr=0.01, amsgrad=True), optim.Adam([gpu], lr=0.01, amsgrad=True)]
    for _ in range(5):
        for p, opt in zip((cpu, gpu), opts):
            opt.zero_grad()
            (p.tanh() * p).sum().backward()
            opt.step()
    np.testing.assert_allclose(gpu._data.get(), cpu._data, rtol=1e-5, atol=1e-6)
