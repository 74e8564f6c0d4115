"""The autograd engine and the Tensor API: deep graphs, memory release, higher-order derivatives
(against PyTorch), gradgradcheck over a selection of registry ops, retain_graph / accumulation /
grad-mode semantics, custom Functions, and the basic Tensor constructors and conversions."""
import gc
import weakref

import numpy as np
import pytest

import axonal
from axonal import GraphError
from axonal.autograd import Function, gradcheck, gradgradcheck
from op_specs import SPECS, In, as_function_of_diff_args

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

F64 = axonal.float64


def t64(a, requires_grad=True):
    return axonal.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


# -- deep graphs --------------------------------------------------------------------------------

def test_10000_op_chain_backward_without_recursion():
    x = axonal.tensor([0.5, -1.0, 2.0], dtype=F64, requires_grad=True)
    y = x
    for i in range(10_000):  # 10,000 recorded ops in one chain
        y = y * 0.9999 if i % 2 else y + 0.001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 0.9999 ** 5000), rtol=1e-10)
    np.testing.assert_allclose(y.detach().numpy(), _chain_np(x.detach().numpy()), rtol=1e-10)


def _chain_np(x):
    for i in range(10_000):
        x = x * 0.9999 if i % 2 else x + 0.001
    return x


def test_deep_graph_is_freed_without_backward():
    x = axonal.ones(2, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    ref = weakref.ref(y.grad_fn)
    del y  # a recursive teardown of 20,000 nodes would overflow the C stack
    assert ref() is None


def test_rnn_1000_steps_matches_torch():
    import torch

    rng = np.random.default_rng(0)
    n, steps = 4, 1000
    w0 = rng.standard_normal((n, n)) * 0.4
    xs0 = rng.standard_normal((steps, n)) * 0.5

    def run(m, w, xs):
        h = m.zeros(n, dtype=w.dtype)
        for t in range(steps):
            h = m.tanh(w @ h + xs[t])
        return (h * m.arange(1, n + 1, dtype=w.dtype)).sum()

    w, xs = t64(w0), t64(xs0)
    loss = run(axonal, w, xs)
    loss.backward()
    tw = torch.tensor(w0, requires_grad=True)
    txs = torch.tensor(xs0, requires_grad=True)
    tloss = run(torch, tw, txs)
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(xs.grad.numpy(), txs.grad.numpy(), rtol=1e-8, atol=1e-12)


# -- memory: the graph and its saved tensors are released -------------------------------------

def _build(x):
    """A small graph using ops that save inputs (mul, log) and outputs (exp, tanh, softmax)."""
    a = x * 2.0
    b = a.exp()
    c = b.tanh().log1p()
    d = axonal.softmax(c, dim=0)
    e = (d * a).sum()
    return [a, b, c, d], e


@pytest.mark.parametrize("collect", [False, True], ids=["refcount", "gc"])
def test_intermediates_freed_after_backward_and_del(collect):
    x = axonal.randn(5, requires_grad=True)
    gc_was_enabled = gc.isenabled()
    if not collect:
        gc.disable()  # refcounting alone must free everything: no reference cycles
    try:
        inter, loss = _build(x)
        refs = [weakref.ref(t) for t in inter] + [weakref.ref(t.grad_fn) for t in inter]
        refs.append(weakref.ref(loss.grad_fn))
        loss.backward()
        del inter, loss
        if collect:
            gc.collect()
        alive = [r() for r in refs if r() is not None]
        assert not alive, f"still alive: {alive}"
        assert x.grad is not None and x.grad.grad_fn is None
    finally:
        if gc_was_enabled:
            gc.enable()


def test_intermediates_freed_without_backward():
    x = axonal.randn(5, requires_grad=True)
    gc.disable()
    try:
        inter, loss = _build(x)
        refs = [weakref.ref(t) for t in inter] + [weakref.ref(loss.grad_fn)]
        del inter, loss
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_saved_tensors_released_by_backward_while_output_lives():
    x = axonal.randn(4, requires_grad=True)
    a = x * 3.0
    b = a.sin()  # Sin saves its input `a`
    loss = b.sum()
    ref = weakref.ref(a)
    del a, b
    assert ref() is not None  # kept alive by the graph (saved for backward)
    loss.backward()
    assert ref() is None  # released after backward, although `loss` is still alive
    with pytest.raises(GraphError, match="retain_graph"):
        loss.backward()


def test_retained_graph_keeps_saved_tensors():
    x = axonal.randn(4, requires_grad=True)
    a = x * 3.0
    loss = a.sin().sum()
    ref = weakref.ref(a)
    del a
    loss.backward(retain_graph=True)
    assert ref() is not None
    loss.backward()
    assert ref() is None


# -- higher-order derivatives against PyTorch ---------------------------------------------------

def test_second_derivative_of_tanh_matches_torch():
    import torch

    x0 = np.linspace(-2.5, 2.5, 11)
    x = t64(x0)
    (g,) = axonal.autograd.grad(axonal.tanh(x).sum(), x, create_graph=True)
    (gg,) = axonal.autograd.grad(g.sum(), x, create_graph=True)
    (ggg,) = axonal.autograd.grad(gg.sum(), x)
    tx = torch.tensor(x0, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.tanh(tx).sum(), tx, create_graph=True)
    (tgg,) = torch.autograd.grad(tg.sum(), tx, create_graph=True)
    (tggg,) = torch.autograd.grad(tgg.sum(), tx)
    for a, b in ((g, tg), (gg, tgg), (ggg, tggg)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-12)
    # and the closed forms: tanh'' = -2 tanh (1 - tanh^2)
    th = np.tanh(x0)
    np.testing.assert_allclose(gg.detach().numpy(), -2 * th * (1 - th ** 2), rtol=1e-10)


def _mlp_loss(m, params, x, y):
    w1, b1, w2, b2 = params
    h = m.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    logp = m.log_softmax(logits, dim=1)
    nll = -logp.gather(1, y.unsqueeze(1)).mean()
    return nll + 0.1 * (w1 ** 2).sum() + (m.sigmoid(h) * h).mean()


def test_hessian_vector_product_of_mlp_matches_torch():
    import torch

    rng = np.random.default_rng(1)
    shapes = [(3, 5), (5,), (5, 4), (4,)]
    p0 = [rng.standard_normal(s) * 0.7 for s in shapes]
    v0 = [rng.standard_normal(s) for s in shapes]
    x0, y0 = rng.standard_normal((6, 3)), rng.integers(0, 4, 6)

    def hvp(m, tensor):
        params = [tensor(p, requires_grad=True) for p in p0]
        vs = [tensor(v) for v in v0]
        x, y = tensor(x0), m.tensor(y0)
        loss = _mlp_loss(m, params, x, y)
        grads = m.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vs))
        return loss, grads, m.autograd.grad(dot, params)

    ax = hvp(axonal, lambda a, requires_grad=False: t64(a, requires_grad))
    th = hvp(torch, lambda a, requires_grad=False: torch.tensor(a, dtype=torch.float64,
                                                                requires_grad=requires_grad))
    np.testing.assert_allclose(ax[0].item(), th[0].item(), rtol=1e-10)
    for a, b in zip(ax[1], th[1]):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-12)
    for a, b in zip(ax[2], th[2]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-12)
    assert any(np.abs(a.numpy()).max() > 1e-3 for a in ax[2])  # the check is not vacuous


def _gg_cases():
    out = []
    for s in SPECS:
        if not s.gg:
            continue
        picked = [c for c in s.get_cases() if c.fd and s.diff_args(c) and "zero" not in c.label
                  and all(a.base.size <= 12 for a in c.args if isinstance(a, In))
                  and any(a.base.size > 1 for a in c.args if isinstance(a, In))][:2]
        out += [(s, c) for c in picked]
    return out


GG = _gg_cases()


@pytest.mark.parametrize("spec,case", GG, ids=[f"{s.name}-{c.label}" for s, c in GG])
def test_gradgradcheck(spec, case):
    fn, diff = as_function_of_diff_args(spec, case, np.float64)
    assert gradgradcheck(fn, diff, eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_double_backward_with_zeros(dim):
    # one zero in a group: the first derivative is nonzero only at the zero; two zeros: all zero,
    # but the second derivative is not
    for rows in ([[1.5, 0.0, 2.0], [0.5, -1.0, 3.0]], [[0.0, 0.0, 2.0], [0.5, -1.0, 0.0]]):
        x = t64(rows)
        fn = (lambda t: axonal.prod(t)) if dim is None else (lambda t: axonal.prod(t, dim=dim))
        assert gradgradcheck(fn, (x,))


def test_gradgradcheck_selection_is_broad():
    names = {s.name for s, _ in GG}
    assert len(names) >= 25, sorted(names)


# -- retain_graph, accumulation, retain_grad -------------------------------------------------

def test_second_backward_without_retain_graph_raises():
    x = axonal.randn(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(GraphError, match="retain_graph"):
        y.backward()


def test_retain_graph_accumulates():
    x0 = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    x = axonal.tensor(x0, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), 2 * x0)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x0)


def test_grad_accumulates_across_graphs():
    x = axonal.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    x.grad = None
    (x ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_leaf_grads_do_not_alias_each_other():
    a = axonal.ones(3, requires_grad=True)
    b = axonal.ones(3, requires_grad=True)
    (a + b).sum().backward()  # both leaves receive the same upstream gradient
    a.grad._data += 10  # an optimizer may update .grad in place
    np.testing.assert_allclose(b.grad.numpy(), np.ones(3))
    x = axonal.ones(2, 3, requires_grad=True)
    x.sum().backward()  # the gradient is a broadcast view: it must be materialized
    x.grad._data[0, 0] = 5
    assert x.grad.numpy().sum() == 10


def test_retain_grad_on_non_leaf():
    x = axonal.tensor([1.0, -2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = x * 2  # no retain_grad: stays None
    ((y * y).sum() + z.sum()).backward()
    np.testing.assert_allclose(y.grad.numpy(), [6.0, -12.0])
    assert y.retains_grad and not z.retains_grad
    assert z.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [20.0, -34.0])


def test_backward_inputs_argument():
    a, b = axonal.ones(2, requires_grad=True), axonal.ones(2, requires_grad=True)
    (a * b * 3).sum().backward(inputs=[a])
    assert b.grad is None
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 3.0])


# -- grad mode ---------------------------------------------------------------------------------

def test_requires_grad_and_detach():
    x = axonal.ones(3)
    assert not x.requires_grad and x.is_leaf
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y._data)  # detach shares storage, like PyTorch
    with pytest.raises(GraphError):
        y.requires_grad_(False)  # only leaves can stop requiring grad
    x.requires_grad_(False)
    assert not (x * 2).requires_grad
    x.requires_grad = True
    assert x.requires_grad


def test_no_grad_context_manager_and_decorators():
    x = axonal.ones(2, requires_grad=True)
    with axonal.no_grad():
        assert not axonal.is_grad_enabled()
        y = x * 2
        with axonal.enable_grad():
            z = x * 2
    assert axonal.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @axonal.no_grad()
    def f(t):
        return t * 2

    @axonal.no_grad  # bare decorator, as PyTorch allows
    def g(t):
        return t * 2

    @axonal.enable_grad()
    def h(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad and g.__name__ == "g"
    with axonal.no_grad():
        assert h(x).requires_grad
        assert not axonal.is_grad_enabled()
    assert axonal.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with axonal.no_grad():
            raise ValueError
    assert axonal.is_grad_enabled()


def test_set_grad_enabled_call_context_decorator():
    x = axonal.ones(2, requires_grad=True)
    with axonal.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert axonal.is_grad_enabled()
    axonal.set_grad_enabled(False)  # as a plain call it switches immediately
    try:
        assert not axonal.is_grad_enabled()
    finally:
        axonal.set_grad_enabled(True)
    assert (x * 2).requires_grad

    @axonal.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert axonal.is_grad_enabled()  # decorating does not change the mode
    assert not f(x).requires_grad
    assert axonal.is_grad_enabled()


def test_no_grad_is_thread_local():
    import threading

    seen = []
    with axonal.no_grad():
        th = threading.Thread(target=lambda: seen.append(axonal.is_grad_enabled()))
        th.start()
        th.join()
    assert seen == [True]


# -- autograd.grad ------------------------------------------------------------------------------

def test_grad_allow_unused_and_materialize():
    a, b = axonal.ones(2, requires_grad=True), axonal.ones(2, requires_grad=True)
    loss = (a * 2).sum()
    with pytest.raises(GraphError, match="allow_unused"):
        axonal.autograd.grad(loss, [a, b], retain_graph=True)
    ga, gb = axonal.autograd.grad(loss, [a, b], retain_graph=True, allow_unused=True)
    np.testing.assert_allclose(ga.numpy(), [2.0, 2.0])
    assert gb is None
    ga, gb = axonal.autograd.grad(loss, [a, b], materialize_grads=True)
    np.testing.assert_allclose(gb.numpy(), [0.0, 0.0])
    assert a.grad is None and b.grad is None  # grad() never writes .grad


def test_grad_wrt_non_leaf_and_grad_outputs():
    x = axonal.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    z = y.sin()
    (gy,) = axonal.autograd.grad(z, y, grad_outputs=axonal.tensor([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(gy.numpy(), np.cos(np.array([1.0, 4.0, 9.0], np.float32)) *
                               [1, 0, 2], rtol=1e-6)


def test_autograd_backward_of_several_outputs():
    x = axonal.tensor([1.0, 2.0], requires_grad=True)
    axonal.autograd.backward([(x * 2).sum(), (x * x).sum()])
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 6.0])


# -- custom Function -------------------------------------------------------------------------

class MulCube(Function):
    """f(x, y) = x^3 * y, with a backward made of differentiable Tensor ops."""

    seen_needs = []

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x._data ** 3 * y._data

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        MulCube.seen_needs.append(ctx.needs_input_grad)
        gx = g * 3 * x * x * y if ctx.needs_input_grad[0] else None
        gy = g * x ** 3 if ctx.needs_input_grad[1] else None
        return gx, gy


def test_custom_function_forward_backward_and_needs_input_grad():
    x0, y0 = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    x, y = t64(x0), t64(y0, requires_grad=False)
    MulCube.seen_needs.clear()
    out = MulCube.apply(x, y)
    assert isinstance(out, axonal.Tensor) and out.requires_grad
    assert isinstance(out.grad_fn, MulCube)  # PyTorch's node type: MulCubeBackward
    assert type(out.grad_fn).__name__ == out.grad_fn.name() == "MulCubeBackward"
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * x0 ** 2 * y0)
    assert MulCube.seen_needs == [(True, False)]
    assert not MulCube.apply(t64(x0, False), y).requires_grad  # nothing to differentiate


def test_custom_function_double_backward():
    x, y = t64([1.0, -2.0, 0.5]), t64([0.5, 3.0, -1.0])
    assert gradcheck(MulCube.apply, (x, y))
    assert gradgradcheck(MulCube.apply, (x, y))
    (gx,) = axonal.autograd.grad(MulCube.apply(x, y).sum(), x, create_graph=True)
    (gxx,) = axonal.autograd.grad(gx.sum(), x)
    np.testing.assert_allclose(gxx.numpy(), 6 * x.detach().numpy() * y.detach().numpy())


class SplitScale(Function):
    """Two outputs; the unused one gets a materialized zero gradient."""

    @staticmethod
    def forward(ctx, x):
        return x._data * 2, x._data * 3

    @staticmethod
    def backward(ctx, g2, g3):
        return g2 * 2 + g3 * 3


def test_custom_function_two_outputs():
    x = axonal.ones(3, requires_grad=True)
    a, b = SplitScale.apply(x)
    assert a.requires_grad and b.requires_grad and a.grad_fn is b.grad_fn
    a.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_custom_function_wrong_gradient_count_or_shape_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x._data + y._data

        @staticmethod
        def backward(ctx, g):
            return g  # one gradient for two inputs

    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x._data.sum()

        @staticmethod
        def backward(ctx, g):
            return g  # shape () for an input of shape (3,)

    a, b = axonal.ones(3, requires_grad=True), axonal.ones(3, requires_grad=True)
    with pytest.raises(GraphError, match="Bad"):
        Bad.apply(a, b).sum().backward()
    with pytest.raises(axonal.ShapeError, match=r"\(3,\)"):
        BadShape.apply(a).backward()


def test_once_differentiable():
    from axonal.autograd import once_differentiable

    class Sq(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x._data ** 2

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x

    x = t64([1.0, 2.0])
    (g,) = axonal.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [2.0, 4.0])
    assert not g.requires_grad


# -- misuse ---------------------------------------------------------------------------------------

def test_backward_on_non_scalar_without_gradient_raises():
    x = axonal.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(GraphError, match=r"scalar.*\(2, 3\)"):
        y.backward()
    y.backward(axonal.ones(2, 3))  # fine with an explicit gradient
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 2.0))
    with pytest.raises(GraphError, match="shape"):
        (x * 2).backward(axonal.ones(3))


def test_requires_grad_on_integer_tensor_raises():
    with pytest.raises(RuntimeError, match="floating"):
        axonal.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating"):
        axonal.zeros(2, dtype=axonal.int64).requires_grad_()
    with pytest.raises(RuntimeError, match="floating"):
        axonal.ones(2, dtype=axonal.bool, requires_grad=True)


def test_backward_without_grad_raises():
    with pytest.raises(GraphError):
        axonal.ones(2).sum().backward()
    with axonal.no_grad():
        y = (axonal.ones(2, requires_grad=True) * 2).sum()
    with pytest.raises(GraphError):
        y.backward()


def test_integer_outputs_never_require_grad():
    x = axonal.randn(4, requires_grad=True)
    assert not (x > 0).requires_grad
    assert not x.argmax().requires_grad
    assert not axonal.max(x, 0).indices.requires_grad
    assert not x.long().requires_grad
    assert x.double().requires_grad  # a float cast stays differentiable
    x.double().sum().backward()
    assert x.grad.dtype is axonal.float32


def test_inplace_on_a_leaf_is_refused_and_on_graph_tensors_recorded():
    x = axonal.ones(3, requires_grad=True)
    with pytest.raises(GraphError, match="a view of a leaf Variable that requires grad"):
        x[0] = 2.0
    with pytest.raises(GraphError, match="a leaf Variable that requires grad"):
        x.zero_()
    y = x * 2
    y.zero_()  # recorded, as PyTorch: the old values get no gradient
    (y + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 1])
    with axonal.no_grad():
        x[0] = 5.0  # allowed outside autograd
    assert x._data[0] == 5.0 and x._version == 1


# -- Tensor API basics, against PyTorch where it defines the answer ----------------------------

def _same(a, t):
    assert tuple(a.shape) == tuple(t.shape)
    assert a.dtype.name == str(t.dtype).replace("torch.", "")
    np.testing.assert_allclose(np.asarray(a.numpy(), np.float64), t.numpy().astype(np.float64),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("make", [
    lambda m: m.zeros(2, 3), lambda m: m.zeros((2, 3)), lambda m: m.ones(4, dtype=m.int64),
    lambda m: m.full((2, 2), 7), lambda m: m.full((2,), 1.5), lambda m: m.full((2,), True),
    lambda m: m.empty(0, 3).shape and m.zeros(0, 3), lambda m: m.arange(5),
    lambda m: m.arange(1, 4, 0.5), lambda m: m.arange(0, 1, 0.1), lambda m: m.arange(2.0, 5),
    lambda m: m.arange(10, 0, -3), lambda m: m.linspace(0, 1, 5), lambda m: m.linspace(-1, 1, 1),
    lambda m: m.eye(3), lambda m: m.eye(2, 4, dtype=m.float64), lambda m: m.zeros(()),
    lambda m: m.tensor([[1, 2], [3, 4]]), lambda m: m.tensor(3.5), lambda m: m.tensor([]),
    lambda m: m.zeros_like(m.ones(2, dtype=m.int32)), lambda m: m.ones_like(m.zeros(3)),
    lambda m: m.full_like(m.zeros(2, dtype=m.float64), 2), lambda m: m.empty_like(m.ones(3)).fill_(2),  # uninitialised: NaN * 0 is NaN
    lambda m: m.ones(2, 3).T, lambda m: m.arange(6).reshape(2, 3).T,
], ids=lambda f: "")
def test_creation_matches_torch(make):
    import torch

    _same(make(axonal), make(torch))


def test_random_reproducible_with_manual_seed_and_generator():
    for fn in (lambda g=None: axonal.rand(3, 2, generator=g),
               lambda g=None: axonal.randn(4, generator=g),
               lambda g=None: axonal.randint(0, 10, (5,), generator=g),
               lambda g=None: axonal.randperm(6, generator=g),
               lambda g=None: axonal.normal(1.0, 2.0, (3,), generator=g),
               lambda g=None: axonal.normal(axonal.zeros(3), axonal.ones(3), generator=g)):
        axonal.manual_seed(123)
        a = fn()
        b = fn()
        axonal.manual_seed(123)
        c = fn()
        assert np.array_equal(a.numpy(), c.numpy()) and not np.array_equal(a.numpy(), b.numpy()) \
            or a.numel() <= 1
        g1, g2 = axonal.Generator().manual_seed(7), axonal.Generator().manual_seed(7)
        axonal.randn(10)  # the default generator does not affect explicit ones
        assert np.array_equal(fn(g1).numpy(), fn(g2).numpy())
    assert axonal.rand(2).dtype is axonal.float32 and axonal.randint(3, (2,)).dtype is axonal.int64
    assert sorted(axonal.randperm(6).tolist()) == list(range(6))
    r = axonal.randint(2, 5, (1000,))
    assert r.min().item() >= 2 and r.max().item() <= 4
    u = axonal.rand(2000)
    assert 0 <= u.min().item() and u.max().item() < 1 and abs(u.mean().item() - 0.5) < 0.05
    n = axonal.randn(4000, dtype=axonal.float64)
    assert abs(n.mean().item()) < 0.1 and abs(n.std().item() - 1) < 0.1
    state = axonal.get_rng_state()
    a = axonal.randn(3)
    axonal.set_rng_state(state)
    assert np.array_equal(a.numpy(), axonal.randn(3).numpy())


def test_like_random_constructors():
    x = axonal.zeros(2, 3, dtype=axonal.float64)
    for t in (axonal.rand_like(x), axonal.randn_like(x)):
        assert t.shape == (2, 3) and t.dtype is axonal.float64
    r = axonal.randint_like(axonal.zeros(4, dtype=axonal.int64), 0, 3)
    assert r.dtype is axonal.int64 and r.shape == (4,)


def test_from_numpy_and_numpy_share_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = axonal.from_numpy(a)
    a[0, 0] = 100
    assert t[0, 0].item() == 100
    n = t.numpy()
    n[1, 2] = -1
    assert a[1, 2] == -1
    assert not np.shares_memory(axonal.tensor(a).numpy(), a)  # tensor() copies
    assert axonal.from_numpy(np.zeros(3, np.int32)).dtype is axonal.int32
    with pytest.raises(TypeError):
        axonal.from_numpy([1, 2])
    with pytest.raises(RuntimeError):
        axonal.ones(2, requires_grad=True).numpy()  # needs detach(), as in PyTorch


def test_scalar_conversions_and_properties():
    x = axonal.tensor([[1.5, 2.0, -3.0], [4.0, 5.0, 6.0]])
    assert x.shape == (2, 3) and x.shape == axonal.Size([2, 3]) and x.ndim == 2 and x.dim() == 2
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3 and x.numel() == 6
    assert x.dtype is axonal.float32 and str(x.device) == "cpu" and x.device.type == "cpu"
    assert x.T.shape == (3, 2) and x.T[2, 0].item() == -3.0
    assert x[0, 1].item() == 2.0 and isinstance(x[0, 1].item(), float)
    assert isinstance(axonal.tensor(3).item(), int)
    assert x.tolist() == [[1.5, 2.0, -3.0], [4.0, 5.0, 6.0]]
    assert axonal.tensor(2.5).tolist() == 2.5
    assert float(axonal.tensor([2.5])) == 2.5 and int(axonal.tensor(7)) == 7
    with pytest.raises(ValueError):
        x.item()
    assert x.float().dtype is axonal.float32 and x.double().dtype is axonal.float64
    assert x.long().dtype is axonal.int64 and x.long().tolist()[0] == [1, 2, -3]
    assert x.to(axonal.float64).dtype is axonal.float64 and x.to("cpu") is x
    assert x.to(axonal.zeros(1, dtype=axonal.int32)).dtype is axonal.int32
    assert x.to(dtype=axonal.float16).dtype is axonal.float16
    assert x.int().dtype is axonal.int32 and x.bool().dtype is axonal.bool
    assert len(x) == 2 and [r.shape for r in x] == [(3,), (3,)]
    assert x.is_contiguous() and not x.T.is_contiguous()
    assert x.is_floating_point() and not x.long().is_floating_point()
    assert "tensor(" in repr(x) and "float64" in repr(x.double())


def test_float16_storage():
    x = axonal.tensor([1.0, 2.0, 65504.0], dtype=axonal.float16)
    assert x._data.dtype == np.float16 and x.element_size() == 2 and x._data.nbytes == 6
    assert x.half().dtype is axonal.float16
    y = axonal.randn(4).half()
    assert y.dtype is axonal.float16
    assert (y * 2).dtype is axonal.float16
    z = y.float()
    assert z.dtype is axonal.float32
    np.testing.assert_array_equal(z.numpy(), y.numpy().astype(np.float32))
    w = axonal.ones(3, dtype=axonal.float16, requires_grad=True)
    (w * 3).sum().backward()
    assert w.grad.dtype is axonal.float16
    np.testing.assert_array_equal(w.grad.numpy(), np.full(3, 3, np.float16))
