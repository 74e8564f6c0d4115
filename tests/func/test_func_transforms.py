"""`axonal.func` transforms against `torch.func`: grad / grad_and_value (argnums, has_aux, pytree
arguments), vjp, jvp (forward mode), jacrev, jacfwd, hessian, and their compositions (grad of grad,
forward over reverse, forward over forward). float64, several shapes. Also the graph semantics of
the results (cut unless they depend on the caller's tensors) and the errors."""
import numpy as np
import pytest

import axonal as ax
import axonal.func as AFn
from axonal.autograd import Function

torch = pytest.importorskip("torch")
TFn = torch.func

RNG = np.random.default_rng(11)


def _both(*shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    return [ax.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


def _same(mine, theirs, rtol=1e-9):
    """The same pytree (tuple / list / dict) and values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(mine, ax.Tensor), f"expected a Tensor, got {type(mine).__name__}"
        assert tuple(mine.shape) == tuple(theirs.shape), (tuple(mine.shape), tuple(theirs.shape))
        np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                                   atol=1e-11)
    elif isinstance(theirs, dict):
        assert isinstance(mine, dict) and list(mine) == list(theirs)
        for k in theirs:
            _same(mine[k], theirs[k], rtol)
    else:
        assert type(mine) is type(theirs) and len(mine) == len(theirs), (type(mine), type(theirs))
        for m, t in zip(mine, theirs):
            _same(m, t, rtol)


def loss(L, x, y):
    return ((x @ y).tanh() ** 2).sum() + (x.exp() * x).mean()


def vec(L, x, y):
    return (x @ y).sigmoid(), x.sin().sum(0) * y.sum()


SHAPES = [((2, 3), (3, 4)), ((3, 3), (3,)), ((1, 5), (5, 2))]


@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1,)])
def test_grad_and_value(shapes, argnums):
    a, t = _both(*shapes)
    _same(AFn.grad(lambda *x: loss(ax, *x), argnums=argnums)(*a),
          TFn.grad(lambda *x: loss(torch, *x), argnums=argnums)(*t))
    _same(AFn.grad_and_value(lambda *x: loss(ax, *x), argnums=argnums)(*a),
          TFn.grad_and_value(lambda *x: loss(torch, *x), argnums=argnums)(*t))


def test_grad_has_aux_and_pytree_arguments():
    a, t = _both((3,), (3, 2))

    def f(L, p, scale):
        out = (p["w"].sin() @ p["m"]).sum() * scale
        return out, {"first": p["w"][0] * 2, "n": out.detach()}

    pa, pt = {"w": a[0], "m": a[1]}, {"w": t[0], "m": t[1]}
    _same(AFn.grad(lambda p, s: f(ax, p, s), has_aux=True)(pa, 1.5),
          TFn.grad(lambda p, s: f(torch, p, s), has_aux=True)(pt, 1.5))
    _same(AFn.grad_and_value(lambda p, s: f(ax, p, s), has_aux=True)(pa, 1.5),
          TFn.grad_and_value(lambda p, s: f(torch, p, s), has_aux=True)(pt, 1.5))


@pytest.mark.parametrize("shapes", SHAPES)
def test_vjp(shapes):
    a, t = _both(*shapes)
    out_a, fn_a = AFn.vjp(lambda *x: vec(ax, *x), *a)
    out_t, fn_t = TFn.vjp(lambda *x: vec(torch, *x), *t)
    _same(out_a, out_t)
    cts = [RNG.standard_normal(tuple(o.shape)) for o in out_t]
    _same(fn_a(tuple(ax.tensor(c) for c in cts)), fn_t(tuple(torch.tensor(c) for c in cts)))
    with pytest.raises(RuntimeError, match="pytree structure of cotangents"):
        fn_a(ax.tensor(cts[0]))
    out_a, fn_a, aux_a = AFn.vjp(lambda x: (x.exp(), {"s": x.sum()}), a[0], has_aux=True)
    out_t, fn_t, aux_t = TFn.vjp(lambda x: (x.exp(), {"s": x.sum()}), t[0], has_aux=True)
    _same((out_a, aux_a), (out_t, aux_t))
    _same(fn_a(ax.ones_like(out_a)), fn_t(torch.ones_like(out_t)))


@pytest.mark.parametrize("shapes", SHAPES)
def test_jvp_forward_mode(shapes):
    a, t = _both(*shapes)
    va = [RNG.standard_normal(tuple(x.shape)) for x in a]
    _same(AFn.jvp(lambda *x: vec(ax, *x), tuple(a), tuple(ax.tensor(v) for v in va)),
          TFn.jvp(lambda *x: vec(torch, *x), tuple(t), tuple(torch.tensor(v) for v in va)))
    _same(AFn.jvp(lambda x: (x.exp(), x.sum()), (a[0],), (ax.tensor(va[0]),), has_aux=True),
          TFn.jvp(lambda x: (x.exp(), x.sum()), (t[0],), (torch.tensor(va[0]),), has_aux=True))


def test_jvp_runs_no_backward(monkeypatch):
    monkeypatch.setattr(Function, "_backward_apply", lambda *a: pytest.fail("backward ran"))
    x = ax.randn(3, 4, dtype=ax.float64)
    _, t = AFn.jvp(lambda x: (x @ x.t()).softmax(1).log(), (x,), (ax.ones_like(x),))
    assert tuple(t.shape) == (3, 3)


@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("argnums", [0, (0, 1)])
@pytest.mark.parametrize("which", ["jacrev", "jacfwd"])
def test_jacobians(shapes, argnums, which):
    a, t = _both(*shapes)
    _same(getattr(AFn, which)(lambda *x: vec(ax, *x), argnums=argnums)(*a),
          getattr(TFn, which)(lambda *x: vec(torch, *x), argnums=argnums)(*t))


def test_jacobian_has_aux_and_dict_input():
    a, t = _both((3,), (2, 3))
    for which in ("jacrev", "jacfwd"):
        _same(getattr(AFn, which)(lambda p: ((p["a"] * p["b"]).sum(1), p["a"].sum()),
                                  has_aux=True)({"a": a[0], "b": a[1]}),
              getattr(TFn, which)(lambda p: ((p["a"] * p["b"]).sum(1), p["a"].sum()),
                                  has_aux=True)({"a": t[0], "b": t[1]}))


@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("argnums", [0, (0, 1)])
def test_hessian(shapes, argnums):
    a, t = _both(*shapes)
    _same(AFn.hessian(lambda *x: loss(ax, *x), argnums=argnums)(*a),
          TFn.hessian(lambda *x: loss(torch, *x), argnums=argnums)(*t))


@pytest.mark.parametrize("compose", ["grad_grad", "jacrev_jacrev", "jacfwd_jacfwd",
                                     "jacrev_jacfwd"])
def test_compositions(compose):
    a, t = _both((4,))

    def f(L, x):
        return (x.sin() * x.exp()).log_softmax(0)

    def g(L, x):
        return (x.tanh() ** 3).sum()

    if compose == "grad_grad":
        mine = AFn.grad(lambda x: AFn.grad(lambda y: g(ax, y))(x).sum())(a[0])
        theirs = TFn.grad(lambda x: TFn.grad(lambda y: g(torch, y))(x).sum())(t[0])
    else:
        outer, inner = compose.split("_")
        mine = getattr(AFn, outer)(getattr(AFn, inner)(lambda x: f(ax, x)))(a[0])
        theirs = getattr(TFn, outer)(getattr(TFn, inner)(lambda x: f(torch, x)))(t[0])
    _same(mine, theirs, rtol=1e-8)


def test_results_are_cut_from_the_graph_unless_they_depend_on_the_callers_tensors():
    y = ax.randn(3, dtype=ax.float64)
    assert not AFn.grad(lambda x: (x ** 3).sum())(y).requires_grad
    assert not AFn.jacrev(lambda x: x.sin())(y).requires_grad
    out, t = AFn.jvp(lambda x: x.sin(), (y,), (y,))
    assert not out.requires_grad and not t.requires_grad
    x = ax.tensor(y.numpy(), requires_grad=True)
    g = AFn.grad(lambda x: (x ** 3).sum())(x)
    assert g.requires_grad  # connected to x: differentiable again, as torch.func
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * y.numpy())
    w = ax.randn(3, dtype=ax.float64, requires_grad=True)
    assert AFn.grad(lambda x: (x * w).sum())(y).requires_grad  # a closure over w


def test_errors_as_pytorch():
    x = ax.randn(3, dtype=ax.float64)
    with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor"):
        AFn.grad(lambda x: x)(x)
    with pytest.raises(RuntimeError, match="Got argnum=2, but only 1 positional inputs"):
        AFn.grad(lambda x: x.sum(), argnums=2)(x)
    with pytest.raises(RuntimeError, match="Expected primals to be a tuple"):
        AFn.jvp(lambda x: x, x, (x,))
    with pytest.raises(RuntimeError, match="output of function f should be a tuple"):
        AFn.grad(lambda x: x.sum(), has_aux=True)(x)


def test_vjp_is_differentiable_in_its_cotangent_and_primal():
    """The double-vjp trick: d/du <vjp(f)(u), v> = J v, with reverse mode alone."""
    xn, vn = RNG.standard_normal(3), RNG.standard_normal(3)

    def f(x):
        return x.sin() * x.exp()

    x = ax.tensor(xn)
    _, jv = AFn.jvp(f, (x,), (ax.tensor(vn),))
    u = ax.zeros(3, dtype=ax.float64, requires_grad=True)
    _, fn = AFn.vjp(f, x)
    (g,) = fn(u)
    (jv_rev,) = ax.autograd.grad((g * ax.tensor(vn)).sum(), u)
    np.testing.assert_allclose(jv_rev.numpy(), jv.numpy(), rtol=1e-10)


def test_hessian_through_a_recurrent_layer_matches_torch():
    """Forward over reverse through the fused recurrence kernel (its jvp and its recorded BPTT)."""
    t_mod = torch.nn.GRU(2, 3, batch_first=True).double()
    a_mod = ax.nn.GRU(2, 3, batch_first=True).double()
    a_mod.load_state_dict({k: ax.tensor(v.detach().numpy()) for k, v in t_mod.state_dict().items()})
    xn = RNG.standard_normal((1, 3, 2))
    mine = AFn.hessian(lambda x: (a_mod(x)[0] ** 2).sum())(ax.tensor(xn))
    theirs = TFn.hessian(lambda x: (t_mod(x)[0] ** 2).sum())(torch.tensor(xn))
    np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), rtol=1e-8,
                               atol=1e-12)


def test_linearize():
    a, t = _both((3,), (3,))
    out_a, fn_a = AFn.linearize(lambda x, y: (x * y.sin(), x + y), *a)
    out_t, fn_t = TFn.linearize(lambda x, y: (x * y.sin(), x + y), *t)
    _same(out_a, out_t)
    vs = [RNG.standard_normal(3) for _ in range(2)]
    _same(fn_a(*[ax.tensor(v) for v in vs]), fn_t(*[torch.tensor(v) for v in vs]))
    with pytest.raises(RuntimeError, match="doesn't match the shape"):
        fn_a(ax.zeros(4, dtype=ax.float64), ax.zeros(3, dtype=ax.float64))
