"""optim.LBFGS against torch.optim.LBFGS: the same iterates on a least-squares problem and on the
Rosenbrock function, with and without the strong-Wolfe line search, and its state dict."""
import numpy as np
import pytest

import axonal

torch = pytest.importorskip("torch")


def _problem(name, rng):
    if name == "lsq":
        return rng.standard_normal((20, 5)), rng.standard_normal(20), np.zeros(5)
    return None, None, np.array([-1.5, 2.0, 0.5, -0.7])


def _fit(lib, name, dtype, steps, opt_kw, opt_state=None):
    A, b, x0 = _problem(name, np.random.default_rng(0))
    x = lib.tensor(x0.astype(dtype), requires_grad=True)
    opt = lib.optim.LBFGS([x], **opt_kw)
    if opt_state is not None:
        with lib.no_grad():
            x.copy_(lib.tensor(opt_state[0]))
        opt.load_state_dict(opt_state[1])
    if A is not None:
        At, bt = lib.tensor(A.astype(dtype)), lib.tensor(b.astype(dtype))

    def closure():
        opt.zero_grad()
        if A is not None:
            r = At @ x - bt
            loss = (r * r).sum()
        else:  # Rosenbrock in 4 dimensions
            loss = (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        loss.backward()
        return loss

    losses, traj = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
        traj.append(x.detach().numpy().copy())
    return np.array(traj), np.array(losses), opt


CONFIGS = [("lsq", dict(lr=0.5)), ("lsq", dict(line_search_fn="strong_wolfe")),
           ("rosen", dict(lr=0.001)), ("rosen", dict(line_search_fn="strong_wolfe")),
           ("rosen", dict(line_search_fn="strong_wolfe", history_size=3, max_iter=7))]


@pytest.mark.parametrize("name,kw", CONFIGS)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 1e-3)])
def test_same_iterates_as_torch(name, kw, dtype, tol):
    a_x, a_loss, a_opt = _fit(axonal, name, dtype, 4, kw)
    t_x, t_loss, t_opt = _fit(torch, name, dtype, 4, kw)
    np.testing.assert_allclose(a_x, t_x, rtol=tol, atol=tol)
    np.testing.assert_allclose(a_loss, t_loss, rtol=tol, atol=tol)
    a_state, t_state = a_opt.state[a_opt._params[0]], t_opt.state[t_opt._params[0]]
    if dtype == np.float64:  # float32 rounding may move a stopping test by one iteration
        assert a_state["n_iter"] == t_state["n_iter"]
        assert a_state["func_evals"] == t_state["func_evals"]


def test_converges_on_rosenbrock():
    # from this start both libraries reach the 4-D Rosenbrock's local minimum near
    # (-0.776, 0.613, 0.382, 0.146): a stationary point, the same one
    x, losses, opt = _fit(axonal, "rosen", np.float64, 10, dict(line_search_fn="strong_wolfe"))
    assert np.abs(opt._params[0].grad.numpy()).max() < 1e-3  # the last line-search point
    t_x, _, _ = _fit(torch, "rosen", np.float64, 10, dict(line_search_fn="strong_wolfe"))
    np.testing.assert_allclose(x[-1], t_x[-1], atol=1e-10)
    np.testing.assert_allclose(x[-1][:2], [-0.7757, 0.6131], atol=1e-3)


def test_state_dict_layout_and_resume():
    kw = dict(line_search_fn="strong_wolfe", history_size=5)
    a_x, _, a_opt = _fit(axonal, "rosen", np.float64, 2, kw)
    _, _, t_opt = _fit(torch, "rosen", np.float64, 2, kw)
    sd, tsd = a_opt.state_dict(), t_opt.state_dict()
    assert sorted(sd["state"][0]) == sorted(tsd["state"][0])
    assert sd["param_groups"][0].keys() == tsd["param_groups"][0].keys()
    assert [p.shape for p in sd["state"][0]["old_dirs"]] == \
        [tuple(p.shape) for p in tsd["state"][0]["old_dirs"]]
    full, _, _ = _fit(axonal, "rosen", np.float64, 4, kw)  # 4 steps in one go
    resumed, _, _ = _fit(axonal, "rosen", np.float64, 2, kw, opt_state=(a_x[-1], sd))
    np.testing.assert_allclose(resumed, full[2:], rtol=1e-12, atol=1e-12)


def test_checks():
    x = axonal.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="strong_wolfe"):
        axonal.optim.LBFGS([x], line_search_fn="armijo")
    with pytest.raises(ValueError, match="per-parameter"):
        axonal.optim.LBFGS([{"params": [x]}, {"params": [axonal.zeros(1, requires_grad=True)]}])
    with pytest.raises(RuntimeError, match="closure"):
        axonal.optim.LBFGS([x]).step()
