"""axonal.optim.lr_scheduler, compared with torch.optim.lr_scheduler step by step.

Each case builds the same optimizer (two parameter groups with different lrs) in both frameworks,
wraps it in the same schedule and compares every group's lr (and momentum / beta1 where a schedule
cycles it) after construction and after each of 30 `optimizer.step(); scheduler.step()` rounds.
"""
import copy
import math
import warnings

import pytest

import axonal
from axonal import optim
from axonal.optim import lr_scheduler as S

torch = pytest.importorskip("torch")
TS = torch.optim.lr_scheduler
pytestmark = pytest.mark.torch


def _optimizers(kind="SGD", **kwargs):
    kwargs = kwargs or ({"momentum": 0.9} if kind == "SGD" else {})
    ax_groups = [{"params": [axonal.zeros(2, requires_grad=True)], "lr": 0.1},
                 {"params": [axonal.zeros(3, requires_grad=True)], "lr": 0.05}]
    th_groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": 0.1},
                 {"params": [torch.zeros(3, requires_grad=True)], "lr": 0.05}]
    return getattr(optim, kind)(ax_groups, **kwargs), getattr(torch.optim, kind)(th_groups,
                                                                                 **kwargs)


def _snapshot(opt):
    out = []
    for g in opt.param_groups:
        out.append(g["lr"])
        if "momentum" in g:
            out.append(g["momentum"])
        if "betas" in g:
            out.append(g["betas"][0])
    return [float(v) for v in out]


def _assert_same(ours, theirs, where):
    assert len(ours) == len(theirs), where
    for a, b in zip(ours, theirs):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15), f"{where}: {ours} vs {theirs}"


def _compare(make, kind="SGD", steps=30, metrics=None, opt_kwargs=None):
    """make(opt, module) -> scheduler. metrics: values fed to ReduceLROnPlateau.step."""
    oa, ot = _optimizers(kind, **(opt_kwargs or {}))
    sa, st = make(oa, S), make(ot, TS)
    _assert_same(_snapshot(oa), _snapshot(ot), "after construction")
    _assert_same(sa.get_last_lr(), st.get_last_lr(), "get_last_lr after construction")
    for i in range(steps):
        oa.step()
        ot.step()
        if metrics is None:
            sa.step()
            st.step()
        else:
            sa.step(metrics[i])
            st.step(metrics[i])
        _assert_same(_snapshot(oa), _snapshot(ot), f"step {i + 1}")
        _assert_same(sa.get_last_lr(), st.get_last_lr(), f"get_last_lr at step {i + 1}")
        assert getattr(sa, "last_epoch", None) == getattr(st, "last_epoch", None)
    return oa, sa


CASES = {
    "StepLR": lambda o, m: m.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda o, m: m.MultiStepLR(o, milestones=[2, 5, 5, 11], gamma=0.3),
    "ExponentialLR": lambda o, m: m.ExponentialLR(o, gamma=0.9),
    "LinearLR-lecture-decay": lambda o, m: m.LinearLR(o, start_factor=1.0, end_factor=0.01,
                                                      total_iters=10),
    "LinearLR-default": lambda o, m: m.LinearLR(o),
    "LinearLR-warmup": lambda o, m: m.LinearLR(o, start_factor=0.25, total_iters=8),
    "CosineAnnealingLR": lambda o, m: m.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingLR-Tmax1": lambda o, m: m.CosineAnnealingLR(o, T_max=1),
    "LambdaLR": lambda o, m: m.LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR-per-group": lambda o, m: m.LambdaLR(o, [lambda e: 1 / (1 + e),
                                                      lambda e: 0.5 if e % 2 else 1.0]),
    "MultiplicativeLR": lambda o, m: m.MultiplicativeLR(o, lambda e: 0.9),
    "ConstantLR": lambda o, m: m.ConstantLR(o, factor=0.5, total_iters=4),
    "PolynomialLR": lambda o, m: m.PolynomialLR(o, total_iters=10, power=2.0),
    "CosineAnnealingWarmRestarts": lambda o, m: m.CosineAnnealingWarmRestarts(
        o, T_0=5, T_mult=2, eta_min=0.01),
    "CyclicLR-triangular2": lambda o, m: m.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2],
                                                    step_size_up=4, mode="triangular2"),
    "CyclicLR-exp_range": lambda o, m: m.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                  step_size_down=5, mode="exp_range",
                                                  gamma=0.95),
    "OneCycleLR-cos": lambda o, m: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=30),
    "OneCycleLR-linear": lambda o, m: m.OneCycleLR(o, max_lr=0.3, epochs=3, steps_per_epoch=10,
                                                   anneal_strategy="linear", pct_start=0.25),
    "OneCycleLR-three-phase": lambda o, m: m.OneCycleLR(o, max_lr=0.3, total_steps=30,
                                                        three_phase=True),
    "OneCycleLR-no-momentum": lambda o, m: m.OneCycleLR(o, max_lr=0.3, total_steps=30,
                                                        cycle_momentum=False),
    "SequentialLR": lambda o, m: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=20)],
        milestones=[5]),
    "ChainedScheduler": lambda o, m: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.5, total_iters=3), m.ExponentialLR(o, gamma=0.9)]),
}
STEPS = {"OneCycleLR-cos": 29, "OneCycleLR-linear": 29, "OneCycleLR-three-phase": 29,
         "OneCycleLR-no-momentum": 29}


@pytest.mark.parametrize("case", sorted(CASES))
def test_schedule_matches_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about SequentialLR's internal steps
        _compare(CASES[case], steps=STEPS.get(case, 30))


def test_comparison_can_fail():
    """Negative control: a slightly different gamma must be caught by the same comparison."""
    with pytest.raises(AssertionError):
        _compare(lambda o, m: m.StepLR(o, 3, 0.5 if m is S else 0.5000001))


@pytest.mark.parametrize("case", ["OneCycleLR-cos", "OneCycleLR-three-phase",
                                  "CyclicLR-triangular2"])
def test_cycle_momentum_with_adam_betas(case):
    oa, _ = _compare(CASES[case], kind="Adam", steps=STEPS.get(case, 30))
    assert isinstance(oa.param_groups[0]["betas"], tuple)


def test_one_cycle_cycles_rmsprop_momentum():
    _compare(CASES["OneCycleLR-cos"], kind="RMSprop", steps=29)


LOSSES = [1.0, 0.9, 0.91, 0.92, 0.9, 0.89, 0.95, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8,
          0.80001, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.76, 0.77, 0.78, 0.6, 0.6, 0.6, 0.6, 0.6]


@pytest.mark.parametrize("kwargs", [
    {"patience": 2},
    {"patience": 1, "factor": 0.5, "cooldown": 2},
    {"patience": 0, "factor": 0.5, "min_lr": [0.02, 0.001]},
    {"mode": "max", "patience": 1, "threshold_mode": "abs", "threshold": 0.01},
    {"patience": 1, "threshold": 0.05, "threshold_mode": "rel", "min_lr": 0.01},
    {"patience": 0, "factor": 0.9, "eps": 0.004},
], ids=["patience", "cooldown", "min_lr-per-group", "max-abs", "rel-threshold", "eps"])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    _compare(lambda o, m: m.ReduceLROnPlateau(o, **kwargs), steps=len(LOSSES), metrics=LOSSES)


def test_reduce_lr_on_plateau_accepts_tensor_metric_and_round_trips():
    oa, _ = _optimizers()
    sched = S.ReduceLROnPlateau(oa, patience=0)
    sched.step(axonal.tensor(1.0))
    sched.step(axonal.tensor(2.0))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.005])
    other = S.ReduceLROnPlateau(_optimizers()[0])
    other.load_state_dict(sched.state_dict())
    assert other.best == 1.0 and other.patience == 0 and other.mode == "min"
    with pytest.raises(TypeError, match="metrics must be a number"):
        sched.step("low")


@pytest.mark.parametrize("case", ["StepLR", "CosineAnnealingLR", "LinearLR-lecture-decay",
                                  "OneCycleLR-cos", "CyclicLR-triangular2", "SequentialLR",
                                  "CosineAnnealingWarmRestarts", "LambdaLR"])
def test_state_dict_round_trip(case):
    make = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oa, _ = _optimizers()
        sa = make(oa, S)
        for _ in range(10):
            oa.step()
            sa.step()
        saved_sched = copy.deepcopy(sa.state_dict())
        saved_opt = copy.deepcopy(oa.state_dict())
        ob, _ = _optimizers()
        sb = make(ob, S)  # construct the scheduler first, then load both (PyTorch's order)
        ob.load_state_dict(saved_opt)
        sb.load_state_dict(saved_sched)
        for i in range(10 if "OneCycle" not in case else 9):
            oa.step(), ob.step()
            sa.step(), sb.step()
            assert _snapshot(oa) == _snapshot(ob), f"step {11 + i}"
    assert "optimizer" not in saved_sched


def test_linear_lr_is_the_lecture_linear_decay():
    """eps_k = (1 - k/tau) eps_0 + (k/tau) eps_tau for k <= tau, then eps_tau."""
    eps0, tau = 0.1, 10
    opt = optim.SGD([axonal.zeros(1, requires_grad=True)], lr=eps0)
    sched = S.LinearLR(opt, start_factor=1.0, end_factor=0.01, total_iters=tau)
    eps_tau = 0.01 * eps0
    for k in range(1, 25):
        opt.step()
        sched.step()
        a = min(k, tau) / tau
        assert opt.param_groups[0]["lr"] == pytest.approx((1 - a) * eps0 + a * eps_tau,
                                                          rel=1e-12)


def test_deprecated_epoch_argument_uses_closed_form():
    oa, ot = _optimizers()
    sa, st = S.StepLR(oa, 3, 0.5), TS.StepLR(ot, 3, 0.5)
    oa.step(), ot.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sa.step(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st.step(7)
    _assert_same(sa.get_last_lr(), st.get_last_lr(), "step(7)")


def test_warnings_like_torch():
    oa, _ = _optimizers()
    sched = S.ExponentialLR(oa, 0.9)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    oa, _ = _optimizers()
    sched = S.ExponentialLR(oa, 0.9)
    oa.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()  # no warning in the right order


def test_one_cycle_errors_like_torch():
    oa, ot = _optimizers()
    sa = S.OneCycleLR(oa, max_lr=0.1, total_steps=3)
    st = TS.OneCycleLR(ot, max_lr=0.1, total_steps=3)
    for _ in range(3):
        oa.step(), ot.step(), sa.step(), st.step()
    with pytest.raises(ValueError) as theirs:
        st.step()
    with pytest.raises(ValueError, match=str(theirs.value)):
        sa.step()
    with pytest.raises(ValueError, match="total_steps OR"):
        S.OneCycleLR(_optimizers()[0], max_lr=0.1)
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        S.OneCycleLR(_optimizers("Adagrad")[0], max_lr=0.1, total_steps=5)


@pytest.mark.parametrize("make,exc,message", [
    (lambda o: S.StepLR(o, step_size=0), ValueError, "StepLR: step_size must be >= 1, got 0"),
    (lambda o: S.StepLR(o, step_size=1.5), TypeError, "StepLR: step_size must be an integer"),
    (lambda o: S.StepLR(o, 2, gamma=-0.1), ValueError, "StepLR: gamma must be in"),
    (lambda o: S.MultiStepLR(o, [1, "2"]), TypeError, "each milestone must be an integer"),
    (lambda o: S.LinearLR(o, start_factor=0), ValueError, "Starting multiplicative factor"),
    (lambda o: S.LinearLR(o, end_factor=1.5), ValueError, "Ending multiplicative factor"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be >= 1"),
    (lambda o: S.ConstantLR(o, factor=2.0), ValueError, "factor must be in"),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0"),
    (lambda o: S.ReduceLROnPlateau(o, mode="up"), ValueError, "mode 'up' is unknown"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "expected 2 min_lrs, got 1"),
    (lambda o: S.LambdaLR(o, [lambda e: 1.0]), ValueError, "expected 2 lr_lambdas, but got 1"),
    (lambda o: S.LambdaLR(o, 0.5), TypeError, "lr_lambda should be a function"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "positive integer T_0"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2)], milestones=[3]), ValueError,
     "one more than the number of milestone points"),
    (lambda o: S.StepLR("sgd", 2), TypeError, "str is not an Optimizer"),
    (lambda o: S.StepLR(o, 2, last_epoch=3), KeyError, "initial_lr"),
])
def test_bad_arguments_raise(make, exc, message):
    oa, _ = _optimizers()
    with pytest.raises(exc, match=message.replace("(", r"\(").replace(")", r"\)")):
        make(oa)


def test_chainable_schedulers_compose_multiplicatively():
    oa, _ = _optimizers()
    a, b = S.StepLR(oa, 2, 0.5), S.ExponentialLR(oa, 0.9)
    for t in range(1, 9):
        oa.step()
        a.step()
        b.step()
        expected = 0.1 * 0.5 ** (t // 2) * 0.9 ** t
        assert oa.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12)
    assert math.isclose(b.get_last_lr()[1], expected / 2, rel_tol=1e-12)


def test_custom_optimizer_step_counts_for_the_order_warning():
    class Plain(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p._data -= group["lr"] * p.grad._data

    p = axonal.ones(2, requires_grad=True)
    opt = Plain([p])
    sched = S.StepLR(opt, 1, 0.5)
    p.grad = axonal.ones(2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
    assert opt.param_groups[0]["lr"] == 0.05 and p._data.tolist() == pytest.approx([0.9, 0.9])
