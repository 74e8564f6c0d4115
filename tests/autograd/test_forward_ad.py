"""Forward-mode AD (`axonal.autograd.forward_ad`): every op's tangent against PyTorch's forward AD
and against the reverse-mode Jacobian times the direction; custom Functions with `jvp`; the level
rules (make_dual / unpack_dual / dual_level as PyTorch's); tangents are computed in the forward pass
(no backward runs); reverse mode through a tangent."""
import numpy as np
import pytest

import axonal as ax
import axonal.autograd.forward_ad as fwAD
from axonal import _engine
from axonal.autograd import Function
from axonal.autograd.functional import jacobian

torch = pytest.importorskip("torch")
tfwAD = torch.autograd.forward_ad

RNG = np.random.default_rng(20261207)


def _pos(shape):
    return RNG.uniform(0.5, 2.0, shape)


def _any(shape):
    return RNG.standard_normal(shape)


# (id, fn(lib, F, *xs), input makers); lib is axonal or torch, F its nn.functional
CASES = [
    ("add_broadcast", lambda L, F, a, b: a + b, [(_any, (3, 4)), (_any, (4,))]),
    ("sub_scalar", lambda L, F, a, b: 2.0 - a - b, [(_any, (2, 3)), (_any, (2, 3))]),
    ("mul", lambda L, F, a, b: a * b * 3.0, [(_any, (3, 1)), (_any, (1, 4))]),
    ("div", lambda L, F, a, b: a / b + 1.0 / b, [(_any, (3, 4)), (_pos, (3, 4))]),
    ("pow_scalar", lambda L, F, a: a ** 3 + a ** 0.5, [(_pos, (5,))]),
    ("pow_tensor", lambda L, F, a, b: a ** b, [(_pos, (2, 3)), (_any, (2, 3))]),
    ("rpow", lambda L, F, a: 2.0 ** a, [(_any, (4,))]),
    ("neg", lambda L, F, a: -a, [(_any, (3,))]),
    ("exp_log", lambda L, F, a: a.exp() + a.log() + a.log1p(), [(_pos, (2, 3))]),
    ("sqrt_rsqrt", lambda L, F, a: a.sqrt() * a.rsqrt() + a.sqrt(), [(_pos, (4,))]),
    ("trig", lambda L, F, a: a.sin() * a.cos(), [(_any, (3, 2))]),
    ("tanh_sigmoid", lambda L, F, a: a.tanh() + a.sigmoid(), [(_any, (5,))]),
    ("relu_abs", lambda L, F, a: a.relu() + a.abs(), [(_any, (6,))]),
    ("erf", lambda L, F, a: L.erf(a), [(_any, (4,))]),
    ("floor_sign", lambda L, F, a: a.floor() + a.sign() + a, [(_any, (4,))]),
    ("where", lambda L, F, a, b: L.where(a > 0, a, b), [(_any, (3, 4)), (_any, (3, 4))]),
    ("where_scalar", lambda L, F, a: L.where(a > 0, a, 0.0), [(_any, (3, 4))]),
    ("clamp", lambda L, F, a: a.clamp(-0.5, 0.5), [(_any, (10,))]),
    ("maximum", lambda L, F, a, b: L.maximum(a, b) + L.minimum(a, b) * 2,
     [(_any, (3, 4)), (_any, (4,))]),
    ("matmul", lambda L, F, a, b: a @ b, [(_any, (3, 4)), (_any, (4, 2))]),
    ("matmul_batched", lambda L, F, a, b: L.matmul(a, b), [(_any, (2, 3, 4)), (_any, (4, 5))]),
    ("mv_dot", lambda L, F, a, b: L.mv(a, b).sum() + L.dot(b, b), [(_any, (3, 4)), (_any, (4,))]),
    ("linear", lambda L, F, x, w, b: F.linear(x, w, b),
     [(_any, (5, 3)), (_any, (2, 3)), (_any, (2,))]),
    ("linear_3d", lambda L, F, x, w: F.linear(x, w), [(_any, (2, 5, 3)), (_any, (4, 3))]),
    ("sum_mean", lambda L, F, a: a.sum(1) + a.mean(1) + a.sum(), [(_any, (3, 4))]),
    ("prod", lambda L, F, a: a.prod(1), [(_any, (3, 4))]),
    ("amax", lambda L, F, a: a.amax(1) + a.amin(0).sum(), [(_any, (3, 4))]),
    ("max_dim", lambda L, F, a: a.max(1).values + a.min(0, keepdim=True).values.sum(),
     [(_any, (3, 4))]),
    ("max_all", lambda L, F, a: a.max(), [(_any, (3, 4))]),
    ("logsumexp", lambda L, F, a: L.logsumexp(a, 1), [(_any, (3, 4))]),
    ("softmax", lambda L, F, a: a.softmax(1) + a.log_softmax(0), [(_any, (3, 4))]),
    ("norm", lambda L, F, a: a.norm() + a.norm(dim=1).sum(), [(_any, (3, 4))]),
    ("var_std", lambda L, F, a: a.var(1) + a.std(0).sum(), [(_any, (3, 4))]),
    ("cumsum", lambda L, F, a: a.cumsum(1), [(_any, (3, 4))]),
    ("reshape_view", lambda L, F, a: a.reshape(4, 3).view(2, 6) * 2, [(_any, (3, 4))]),
    ("transpose_permute", lambda L, F, a: a.transpose(0, 2) + a.permute(2, 1, 0),
     [(_any, (2, 3, 2))]),
    ("expand", lambda L, F, a: a.expand(3, 4) * 1.5, [(_any, (1, 4))]),
    ("getitem", lambda L, F, a: a[1:, ::2].sum(0) * 2 + a[[0, 2, 0], 1:3].sum(0), [(_any, (3, 4))]),
    ("cat_stack", lambda L, F, a, b: L.cat([a, b, a], 0).sum(0) + L.stack([a, b], 1).sum((0, 1)),
     [(_any, (3, 4)), (_any, (3, 4))]),
    ("cat_partly_dual", lambda L, F, a: L.cat([a, L.ones(2, 4, dtype=L.float64)], 0),
     [(_any, (3, 4))]),
    ("squeeze", lambda L, F, a: a.unsqueeze(0).squeeze(2) * 3, [(_any, (3, 1, 4))]),
    ("flip_pad", lambda L, F, a: F.pad(a.flip(1), (1, 2), value=3.0), [(_any, (2, 3))]),
    ("tril_diag", lambda L, F, a: a.tril() + L.diag(L.diag(a)), [(_any, (3, 3))]),
    ("gather", lambda L, F, a: a.gather(1, L.tensor([[0, 2], [1, 1], [3, 0]])), [(_any, (3, 4))]),
    ("split_chunk", lambda L, F, a: a.split(1, 0)[1] + a.chunk(3, 0)[2], [(_any, (3, 4))]),
    ("repeat_clone", lambda L, F, a: a.repeat(2, 1).clone(), [(_any, (2, 3))]),
    ("masked_fill", lambda L, F, a: a.masked_fill(a > 0, 2.0), [(_any, (3, 4))]),
    ("index_select", lambda L, F, a: a.index_select(0, L.tensor([2, 0])), [(_any, (3, 4))]),
    ("cast", lambda L, F, a: (a * 2).float(), [(_any, (3,))]),
    ("conv2d", lambda L, F, x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
     [(_any, (2, 2, 5, 5)), (_any, (3, 2, 3, 3)), (_any, (3,))]),
    ("conv2d_groups", lambda L, F, x, w: F.conv2d(x, w, groups=2, dilation=2),
     [(_any, (1, 4, 6, 6)), (_any, (2, 2, 2, 2))]),
    ("conv_transpose2d", lambda L, F, x, w: F.conv_transpose2d(x, w, stride=2),
     [(_any, (1, 2, 3, 3)), (_any, (2, 3, 2, 2))]),
    ("pools", lambda L, F, x: F.max_pool2d(x, 2) + F.avg_pool2d(x, 2) +
     F.adaptive_avg_pool2d(x, 2), [(_any, (2, 3, 4, 4))]),
    ("unfold_fold", lambda L, F, x: F.fold(F.unfold(x, 2) * 2, (4, 4), 2), [(_any, (1, 2, 4, 4))]),
    ("einsum", lambda L, F, a, b: L.einsum("ij,jk->ik", a, b) + L.einsum("ij->j", a).sum(),
     [(_any, (3, 4)), (_any, (4, 2))]),
    ("activations", lambda L, F, x: F.leaky_relu(x, 0.1) + F.elu(x) + F.selu(x) + F.gelu(x) +
     F.gelu(x, approximate="tanh") + F.silu(x) + F.softplus(x) + F.hardtanh(x) +
     F.hardsigmoid(x) + F.hardswish(x), [(_any, (3, 5))]),
    ("layer_norm", lambda L, F, x, w, b: F.layer_norm(x, (4,), w, b), [(_any, (3, 4)),
                                                                       (_any, (4,)), (_any, (4,))]),
    ("batch_norm", lambda L, F, x: F.batch_norm(x, None, None, training=True),
     [(_any, (4, 3, 2, 2))]),
    ("group_norm", lambda L, F, x: F.group_norm(x, 2), [(_any, (2, 4, 3))]),
    ("cross_entropy", lambda L, F, x: F.cross_entropy(x, L.tensor([0, 2, 1])), [(_any, (3, 4))]),
    ("cross_entropy_opts", lambda L, F, x: F.cross_entropy(x, L.tensor([0, 2, 1]),
                                                           reduction="none", label_smoothing=0.1)
     + F.cross_entropy(x, L.tensor([0, 2, 1]), weight=L.tensor([1.0, 2.0, 0.5, 1.0],
                                                               dtype=L.float64)),
     [(_any, (3, 4))]),
    ("bce", lambda L, F, x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid(), reduction="sum")
     + F.binary_cross_entropy_with_logits(x, y.sigmoid(), pos_weight=L.ones(4, dtype=L.float64) * 2),
     [(_any, (3, 4)), (_any, (3, 4))]),
    ("embedding", lambda L, F, w: F.embedding(L.tensor([[0, 2], [2, 1]]), w), [(_any, (3, 4))]),
    ("mlp", lambda L, F, x, w1, w2: (F.linear(x, w1).tanh() @ w2).log_softmax(1),
     [(_any, (4, 3)), (_any, (5, 3)), (_any, (5, 2))]),
]


def _inputs(makers):
    return [maker(shape) for maker, shape in makers]


def _ax_fwd(fn, xs, vs):
    with fwAD.dual_level():
        duals = [fwAD.make_dual(ax.tensor(x), ax.tensor(v)) for x, v in zip(xs, vs)]
        out = fn(ax, ax.nn.functional, *duals)
        p, t = fwAD.unpack_dual(out)
        return p.detach().numpy(), (None if t is None else t.detach().numpy())


def _torch_fwd(fn, xs, vs):
    with tfwAD.dual_level():
        duals = [tfwAD.make_dual(torch.tensor(x), torch.tensor(v)) for x, v in zip(xs, vs)]
        out = fn(torch, torch.nn.functional, *duals)
        p, t = tfwAD.unpack_dual(out)
        return p.detach().numpy(), (np.zeros_like(p.detach().numpy()) if t is None else
                                    t.detach().numpy())


@pytest.mark.parametrize("name,fn,makers", CASES, ids=[c[0] for c in CASES])
def test_tangent_matches_torch_and_jacobian_times_v(name, fn, makers):
    xs = _inputs(makers)
    vs = [RNG.standard_normal(np.shape(x)) for x in xs]
    primal, tangent = _ax_fwd(fn, xs, vs)
    t_primal, t_tangent = _torch_fwd(fn, xs, vs)
    np.testing.assert_allclose(primal, t_primal, rtol=1e-10, atol=1e-12)
    assert tangent is not None, f"{name}: no tangent"
    rtol = 1e-8 if primal.dtype == np.float64 else 1e-6
    np.testing.assert_allclose(tangent, t_tangent, rtol=rtol, atol=rtol * 1e-2)
    # independent of PyTorch: J v from the reverse-mode Jacobian
    jac = jacobian(lambda *a: fn(ax, ax.nn.functional, *a), tuple(ax.tensor(x) for x in xs))
    jv = sum(j.numpy().reshape(primal.size, -1) @ v.reshape(-1) for j, v in zip(jac, vs))
    np.testing.assert_allclose(tangent.reshape(-1), jv, rtol=rtol, atol=rtol * 1e-2)


def test_forward_mode_runs_no_backward(monkeypatch):
    calls = []
    monkeypatch.setattr(_engine, "_run_backward", lambda *a, **k: calls.append("engine"))
    monkeypatch.setattr(Function, "_backward_apply", lambda self, g: calls.append(type(self)))
    x = ax.randn(4, 3, dtype=ax.float64, requires_grad=True)  # the reverse graph is recorded too
    w = ax.randn(3, 2, dtype=ax.float64)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, ax.ones_like(x))
        y = (d @ w).tanh().softmax(1).sum()
        assert fwAD.unpack_dual(y).tangent is not None
    assert calls == []


class _MulFn(Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_forward(x, y)
        ctx.save_for_backward(x, y)
        return x._data * y._data

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y, g * x

    @staticmethod
    def jvp(ctx, tx, ty):
        x, y = ctx.saved_tensors  # save_for_forward's tensors, as in PyTorch
        _MulFn.seen = (tx, ty)
        return tx * y + x * ty


def test_custom_function_jvp_gets_zeros_for_plain_inputs_and_saved_tensors():
    x, y = ax.randn(3, dtype=ax.float64), ax.randn(3, dtype=ax.float64)
    v = ax.randn(3, dtype=ax.float64)
    with fwAD.dual_level():
        out = _MulFn.apply(fwAD.make_dual(x, v), y)
        t = fwAD.unpack_dual(out).tangent
    np.testing.assert_allclose(t.numpy(), (v * y).numpy())
    tx, ty = _MulFn.seen
    np.testing.assert_array_equal(tx.numpy(), v.numpy())
    np.testing.assert_array_equal(ty.numpy(), np.zeros(3))  # zeros, not None (PyTorch's contract)
    # the backward still works on the same call
    xr = x.clone().requires_grad_()
    with fwAD.dual_level():
        _MulFn.apply(fwAD.make_dual(xr, v), y).sum().backward()
    np.testing.assert_allclose(xr.grad.numpy(), y.numpy())


def test_missing_jvp_names_the_op():
    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            return x._data * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = ax.randn(2, 1, 5, 5)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, ax.ones_like(x))
        with pytest.raises(NotImplementedError, match="forward AD: Twice has no jvp rule"):
            Twice.apply(d)
        Twice.apply(x)  # a plain input needs no rule


def test_level_rules_as_pytorch():
    x, v = ax.randn(3, dtype=ax.float64), ax.randn(3, dtype=ax.float64)
    with pytest.raises(RuntimeError, match="no level exists"):
        fwAD.make_dual(x, v)
    with fwAD.dual_level() as level:
        assert level == 0
        with pytest.raises(RuntimeError, match="Nested forward mode AD"):
            fwAD.enter_dual_level()
        with pytest.raises(RuntimeError, match="different size"):
            fwAD.make_dual(x, ax.randn(4, dtype=ax.float64))
        d = fwAD.make_dual(x, v)
        u = fwAD.unpack_dual(d)
        assert type(u).__name__ == "UnpackedDualTensor" and u.tangent is v
        assert fwAD.unpack_dual(u.primal).tangent is None  # the primal is a plain view
        assert fwAD.unpack_dual(d.detach()).tangent is None  # detach drops the tangent, as torch
        assert fwAD.unpack_dual(x) == (x, None)
        np.testing.assert_array_equal(u.primal.numpy(), x.numpy())
    assert fwAD.unpack_dual(d).tangent is None  # the level is gone
    level = fwAD.enter_dual_level()
    fwAD.exit_dual_level(level=level)
    assert not ax._config._state.layers  # the layer is popped: ops run plain again


def test_reverse_mode_through_a_tangent_matches_torch():
    xn, vn = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))

    def f(L, x):
        return (x.sin() * x).tanh() @ x.t()

    x, v = ax.tensor(xn, requires_grad=True), ax.tensor(vn, requires_grad=True)
    with fwAD.dual_level():
        t = fwAD.unpack_dual(f(ax, fwAD.make_dual(x, v))).tangent
        (t * t).sum().backward()
    tx, tv = torch.tensor(xn, requires_grad=True), torch.tensor(vn, requires_grad=True)
    with tfwAD.dual_level():
        tt = tfwAD.unpack_dual(f(torch, tfwAD.make_dual(tx, tv))).tangent
        (tt * tt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), rtol=1e-9)


def test_apply_with_ctx_does_every_step_of_apply():
    """`Function._apply_with_ctx` (forward AD runs the op through it to get the ctx) repeats the
    steps of `Function.apply`; every name apply uses after the layer hand-off must appear in it too,
    so that a step added to apply (view tracking, version snapshots ...) is not skipped silently
    under forward AD."""
    import ast
    import inspect
    import textwrap

    def names(fn, skip=()):
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        return {n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(tree)
                if isinstance(n, (ast.Name, ast.Attribute))} - set(skip)

    used_by_apply = names(Function.apply.__func__, skip=("layers", "_through_layers", "kwargs"))
    missing = used_by_apply - names(Function._apply_with_ctx.__func__)
    assert not missing, f"Function._apply_with_ctx lacks steps of apply: {sorted(missing)}"


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_recurrent_layers_match_torch(kind):
    """The fused recurrence kernel's tangent (recomputed as ops at a private level) for x and h0."""
    t_mod = getattr(torch.nn, kind)(3, 4, batch_first=True).double()
    a_mod = getattr(ax.nn, kind)(3, 4, batch_first=True).double()
    a_mod.load_state_dict({k: ax.tensor(v.detach().numpy()) for k, v in t_mod.state_dict().items()})
    xn, vn = RNG.standard_normal((2, 5, 3)), RNG.standard_normal((2, 5, 3))
    hn, un = RNG.standard_normal((1, 2, 4)), RNG.standard_normal((1, 2, 4))
    h_a = (ax.tensor(hn),) * 2 if kind == "LSTM" else ax.tensor(hn)
    with fwAD.dual_level():
        h = fwAD.make_dual(ax.tensor(hn), ax.tensor(un))
        out, _ = a_mod(fwAD.make_dual(ax.tensor(xn), ax.tensor(vn)),
                       (h, h_a[1]) if kind == "LSTM" else h)
        mine = fwAD.unpack_dual(out).tangent.detach().numpy()
    with tfwAD.dual_level():
        h = tfwAD.make_dual(torch.tensor(hn), torch.tensor(un))
        out, _ = t_mod(tfwAD.make_dual(torch.tensor(xn), torch.tensor(vn)),
                       (h, torch.tensor(hn)) if kind == "LSTM" else h)
        theirs = tfwAD.unpack_dual(out).tangent.detach().numpy()
    np.testing.assert_allclose(mine, theirs, rtol=1e-8, atol=1e-10)


def test_after_inplace_hands_the_tangent_to_the_written_tensor():
    """The contract in-place ops use: after writing op(y) into y, y carries op(y)'s tangent."""
    x, v = ax.randn(3, dtype=ax.float64), ax.randn(3, dtype=ax.float64)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, v)
        y = d * 1
        out = (y * 2).exp()
        y._data[...] = out._data
        fwAD.after_inplace(y, out)
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.numpy(),
                                   (2 * v * (2 * x).exp()).numpy())
        fwAD.after_inplace(y, ax.zeros(3, dtype=ax.float64))  # a constant result: no tangent
        assert fwAD.unpack_dual(y).tangent is None
    fwAD.after_inplace(y, out)  # no level: nothing to do
