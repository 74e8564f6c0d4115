"""`axonal.autograd.functional` against `torch.autograd.functional`: jacobian (both strategies,
vectorize), hessian (both outer strategies), vjp, jvp, vhp, hvp; single-Tensor and tuple inputs and
outputs give the same nesting; create_graph keeps the graph; strict mode and argument errors raise
as PyTorch does. float64 throughout. Also: autograd.grad/backward still work after their move."""
import numpy as np
import pytest

import axonal as ax
import axonal.autograd.functional as AF

torch = pytest.importorskip("torch")
TF = torch.autograd.functional

RNG = np.random.default_rng(7)


def _both(*shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    return tuple(ax.tensor(a) for a in arrays), tuple(torch.tensor(a) for a in arrays)


def _same(mine, theirs, rtol=1e-9):
    """Same nesting (tuple vs Tensor at every level) and the same values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(mine, ax.Tensor), f"expected a Tensor, got {type(mine).__name__}"
        assert tuple(mine.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                                   atol=1e-11)
        return
    assert type(mine) is type(theirs) and len(mine) == len(theirs), (type(mine), type(theirs))
    for m, t in zip(mine, theirs):
        _same(m, t, rtol)


# f(lib, *xs): single or tuple outputs
def f_single(L, x):
    return (x.sin() * x.exp()).sum(0) ** 2


def f_two_in(L, x, y):
    return (x @ y).tanh()


def f_two_out(L, x, y):
    return (x * y.sum()).exp(), (x ** 3).sum() + y.prod()


def f_scalar(L, x, y):
    return (x.sin() @ y).pow(2).sum() + (x * x).sum() * y.sum()


def f_scalar1(L, x):
    return (x.exp() * x.cos()).sum() + x.norm()


CASES = [(f_single, ((3, 2),), False), (f_two_in, ((2, 3), (3, 4)), True),
         (f_two_out, ((3,), (2, 2)), True), (f_single, ((4, 1),), True)]


@pytest.mark.parametrize("fn,shapes,as_tuple", CASES)
@pytest.mark.parametrize("mode", ["reverse", "reverse-vectorize", "forward"])
def test_jacobian(fn, shapes, as_tuple, mode):
    a, t = _both(*shapes)
    a_in, t_in = (a, t) if as_tuple else (a[0], t[0])
    kw = {"vectorize": mode != "reverse",
          "strategy": "forward-mode" if mode == "forward" else "reverse-mode"}
    mine = AF.jacobian(lambda *x: fn(ax, *x), a_in, **kw)
    theirs = TF.jacobian(lambda *x: fn(torch, *x), t_in, **kw)
    _same(mine, theirs)


@pytest.mark.parametrize("fn,shapes,as_tuple", [(f_scalar, ((2, 3), (3,)), True),
                                                 (f_scalar1, ((4,),), True),
                                                 (f_scalar1, ((4,),), False)])
@pytest.mark.parametrize("outer", ["reverse-mode", "forward-mode"])
def test_hessian(fn, shapes, outer, as_tuple):
    a, t = _both(*shapes)
    a_in, t_in = (a, t) if as_tuple else (a[0], t[0])
    vec = outer == "forward-mode"  # PyTorch's forward-mode outer Jacobian needs vectorize=True
    mine = AF.hessian(lambda *x: fn(ax, *x), a_in, vectorize=vec, outer_jacobian_strategy=outer)
    theirs = TF.hessian(lambda *x: fn(torch, *x), t_in, vectorize=vec,
                        outer_jacobian_strategy=outer)
    _same(mine, theirs)


@pytest.mark.parametrize("name", ["vjp", "jvp"])
@pytest.mark.parametrize("fn,shapes,as_tuple", CASES)
def test_vjp_jvp(name, fn, shapes, as_tuple):
    a, t = _both(*shapes)
    a_in, t_in = (a, t) if as_tuple else (a[0], t[0])
    t_out = fn(torch, *t)
    if name == "vjp":
        like = t_out if isinstance(t_out, tuple) else (t_out,)
    else:
        like = t
    vs = [RNG.standard_normal(tuple(x.shape)) for x in like]
    single = not isinstance(t_out, tuple) if name == "vjp" else not as_tuple
    a_v = ax.tensor(vs[0]) if single else tuple(ax.tensor(v) for v in vs)
    t_v = torch.tensor(vs[0]) if single else tuple(torch.tensor(v) for v in vs)
    mine = getattr(AF, name)(lambda *x: fn(ax, *x), a_in, a_v)
    theirs = getattr(TF, name)(lambda *x: fn(torch, *x), t_in, t_v)
    _same(mine, theirs)


@pytest.mark.parametrize("name", ["vhp", "hvp"])
@pytest.mark.parametrize("fn,shapes", [(f_scalar, ((2, 3), (3,))), (f_scalar1, ((4,),))])
def test_vhp_hvp(name, fn, shapes):
    a, t = _both(*shapes)
    vs = [RNG.standard_normal(s) for s in shapes]
    single = len(shapes) == 1
    a_in, t_in = (a[0], t[0]) if single else (a, t)
    a_v = ax.tensor(vs[0]) if single else tuple(ax.tensor(v) for v in vs)
    t_v = torch.tensor(vs[0]) if single else tuple(torch.tensor(v) for v in vs)
    mine = getattr(AF, name)(lambda *x: fn(ax, *x), a_in, a_v)
    theirs = getattr(TF, name)(lambda *x: fn(torch, *x), t_in, t_v)
    _same(mine, theirs)


def test_v_none_for_a_scalar_and_errors_as_pytorch():
    x = ax.tensor(np.array([0.3]))
    _, g = AF.vjp(lambda x: (x * x).sum(), x)
    np.testing.assert_allclose(g.numpy(), [0.6])
    with pytest.raises(RuntimeError, match="The vector v can only be None"):
        AF.vjp(lambda x: x * 2, ax.randn(3, dtype=ax.float64))
    with pytest.raises(RuntimeError, match="v has invalid size"):
        AF.jvp(lambda x: x * 2, ax.randn(3, dtype=ax.float64), ax.randn(4, dtype=ax.float64))
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        AF.jacobian(lambda x: x, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        AF.hvp(lambda x: (x, x), x, x)
    with pytest.raises(NotImplementedError, match="only implemented for `vectorize=True`"):
        AF.jacobian(lambda x: x, x, strategy="forward-mode")
    with pytest.raises(AssertionError, match="Expected strategy"):
        AF.jacobian(lambda x: x, x, strategy="sideways")


def test_strict_and_independent_inputs():
    x, y = ax.randn(2, dtype=ax.float64), ax.randn(2, dtype=ax.float64)
    jac = AF.jacobian(lambda x, y: x * 2, (x, y))
    np.testing.assert_array_equal(jac[1].numpy(), np.zeros((2, 2)))  # zeros, not None
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda x, y: x * 2, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="does not require gradients"):
        AF.vjp(lambda x: ax.ones(2, dtype=ax.float64), x, x, strict=True)
    with pytest.raises(RuntimeError, match="independent of the input"):
        AF.hessian(lambda x: (x * 2).sum(), x, strict=True)


def test_create_graph_keeps_the_graph_and_default_detaches():
    xn = RNG.standard_normal(3)
    x = ax.tensor(xn, requires_grad=True)
    jac = AF.jacobian(lambda x: x ** 3, x)
    assert not jac.requires_grad
    jac = AF.jacobian(lambda x: x ** 3, x, create_graph=True)
    assert jac.requires_grad
    jac.sum().backward()  # d/dx sum(diag(3 x^2)) = 6 x
    np.testing.assert_allclose(x.grad.numpy(), 6 * xn)
    _, hv = AF.hvp(lambda x: (x ** 4).sum(), x, ax.ones(3, dtype=ax.float64), create_graph=True)
    assert hv.requires_grad


def test_grad_and_backward_keep_working_after_the_move():
    from axonal.autograd import _grad

    assert ax.autograd.grad is _grad.grad and ax.autograd.backward is _grad.backward
    x = ax.tensor([1.0, 2.0], dtype=ax.float64, requires_grad=True)
    (g,) = ax.autograd.grad((x * x).sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
