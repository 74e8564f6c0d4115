"""`amp.GradScaler` side by side with `torch.amp.GradScaler("cpu")`: the same scaled losses,
unscaled gradients, skipped steps on inf/NaN, scale growth and backoff, state dicts, stage
errors, and the disabled forms (enabled=False, "cuda" without a GPU)."""
import warnings

import numpy as np
import pytest

import axonal

torch = pytest.importorskip("torch")


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    out = []
    for m in (axonal, torch):
        lin = m.nn.Linear(4, 3)
        with m.no_grad():
            lin.weight.copy_(m.tensor(w0))
            lin.bias.zero_()
        out.append((m, lin, m.optim.SGD(lin.parameters(), lr=0.1)))
    return out


@pytest.mark.parametrize("poison", [None, "inf", "nan"])
def test_steps_and_scale_updates_match_torch(poison):
    runs = _pair()
    scalers = [m.amp.GradScaler("cpu", init_scale=256.0, growth_factor=3.0, backoff_factor=0.25,
                                growth_interval=2) for m, _, _ in runs]
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((5, 4)).astype(np.float32) for _ in range(5)]
    for i, x in enumerate(xs):
        if poison and i == 2:
            x = x.copy()
            x[0, 0] = np.inf if poison == "inf" else np.nan
        seen = []
        for (m, lin, opt), sc in zip(runs, scalers):
            opt.zero_grad()
            loss = lin(m.tensor(x)).pow(2).mean()
            scaled = sc.scale(loss)
            assert float(scaled.detach()) == pytest.approx(float(loss.detach()) * sc.get_scale(),
                                                           rel=1e-6, nan_ok=True)
            scaled.backward()
            sc.unscale_(opt)
            grad = lin.weight.grad.detach().numpy().copy()
            ret = sc.step(opt)
            sc.update()
            seen.append((grad, lin.weight.detach().numpy().copy(), sc.get_scale(),
                         sc.state_dict(), ret))
        (ga, wa, sa, da, ra), (gt, wt, st, dt, rt) = seen
        np.testing.assert_allclose(ga, gt, rtol=1e-5, atol=1e-6)  # the unscaled gradients
        np.testing.assert_allclose(wa, wt, rtol=1e-5, atol=1e-6)  # a skipped step: unchanged
        assert sa == st and da == dt and ra is rt is None, i


def test_state_dict_round_trip_and_getters():
    a = axonal.amp.GradScaler("cpu", init_scale=8.0, growth_interval=7)
    t = torch.amp.GradScaler("cpu", init_scale=8.0, growth_interval=7)
    assert a.state_dict() == t.state_dict()
    state = {"scale": 32.0, "growth_factor": 4.0, "backoff_factor": 0.125, "growth_interval": 3,
             "_growth_tracker": 2}
    a.load_state_dict(state)
    t.load_state_dict(state)
    assert a.state_dict() == t.state_dict() == state
    for name in ("get_scale", "get_growth_factor", "get_backoff_factor", "get_growth_interval",
                 "is_enabled"):
        assert getattr(a, name)() == getattr(t, name)(), name
    for m in (axonal, torch):
        with pytest.raises(RuntimeError, match="source state dict is empty"):
            m.amp.GradScaler("cpu").load_state_dict({})


def test_stage_errors_as_torch():
    for m, lin, opt in _pair():
        sc = m.amp.GradScaler("cpu")
        sc.scale(lin(m.ones(2, 4)).sum()).backward()
        sc.unscale_(opt)
        with pytest.raises(RuntimeError, match="already been called on this optimizer"):
            sc.unscale_(opt)
        sc.step(opt)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
            sc.step(opt)
        with pytest.raises(RuntimeError, match="after step"):
            sc.unscale_(opt)
        sc.update()
        with pytest.raises(AssertionError, match="No inf checks"):
            sc.update()
        opt.zero_grad(set_to_none=True)
        sc.scale(lin(m.ones(2, 4)).sum())
        with pytest.raises(AssertionError, match="No inf checks were recorded for this"):
            sc.step(opt)  # no gradients at all
        with pytest.raises(RuntimeError, match="Closure"):
            sc.step(opt, closure=lambda: 0.0)
        with pytest.raises(AssertionError, match="growth factor"):
            m.amp.GradScaler("cpu", growth_factor=1.0)


def _warned(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obj = fn()
    return obj, [(w.category.__name__, str(w.message)) for w in caught]


@pytest.mark.parametrize("make", [lambda m: m.amp.GradScaler("cpu", enabled=False),
                                  lambda m: m.amp.GradScaler(),
                                  lambda m: m.cuda.amp.GradScaler()])
def test_disabled_forms_pass_through(make):
    (a, wa), (t, wt) = _warned(lambda: make(axonal)), _warned(lambda: make(torch))
    assert wa == wt and not a.is_enabled() and not t.is_enabled()
    assert a.get_scale() == t.get_scale() == 1.0 and a.state_dict() == t.state_dict() == {}
    (m, lin, opt), _ = _pair()
    loss = lin(m.ones(2, 4)).sum()
    assert a.scale(loss) is loss
    loss.backward()
    before = lin.weight.detach().numpy().copy()
    a.step(opt)
    a.update()
    assert not np.array_equal(before, lin.weight.detach().numpy())


def test_legacy_cpu_grad_scaler_spelling():
    (a, wa), (t, wt) = (_warned(lambda m=m: m.cpu.amp.GradScaler()) for m in (axonal, torch))
    assert wa == wt and a.is_enabled() and t.is_enabled()
    assert a.state_dict() == t.state_dict()


def test_scale_of_nested_outputs_keeps_structure():
    sc = axonal.amp.GradScaler("cpu", init_scale=4.0)
    a, b = axonal.ones(2), axonal.ones(3).half()
    out = sc.scale([a, (b,)])
    assert isinstance(out, list) and isinstance(out[1], tuple)
    assert out[0].numpy().tolist() == [4.0, 4.0] and out[1][0].dtype is axonal.float16
