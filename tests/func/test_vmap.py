"""axonal.func.vmap against torch.func.vmap: in_dims/out_dims (ints, negative, None, nested), nested
vmap, tuple and dict outputs, broadcasting, non-contiguous inputs; the body runs once for ops with a
batching rule (call counter); the per-op and whole-function loop fallbacks; randomness modes;
per-sample gradients of an MLP and a conv net; autograd through vmap from outside; error messages."""
import re

import numpy as np
import pytest

import axonal as ax
import axonal.nn.functional as F
from axonal.func import _batching, vmap
torch = pytest.importorskip("torch")  # the oracle; CI's fresh-clone venv has none

TF = torch.nn.functional


def rnd(*shape, seed=0):
    return np.random.default_rng(seed + len(shape) * 7 + sum(shape)).standard_normal(shape) \
        .astype(np.float32)


def both(arr):
    return ax.tensor(arr), torch.tensor(arr)


def check(a, t, tol=1e-5):
    if isinstance(t, (tuple, list)):
        assert type(a) is type(t) and len(a) == len(t)
        for x, y in zip(a, t):
            check(x, y, tol)
        return
    if isinstance(t, dict):
        assert a.keys() == t.keys()
        for k in t:
            check(a[k], t[k], tol)
        return
    assert tuple(a.shape) == tuple(t.shape), (tuple(a.shape), tuple(t.shape))
    np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


def run_both(fa, ft, arrays, tol=1e-5, **kw):
    a = vmap(fa, **kw)(*[ax.tensor(x) if isinstance(x, np.ndarray) else x for x in arrays])
    t = torch.func.vmap(ft, **kw)(*[torch.tensor(x) if isinstance(x, np.ndarray) else x
                                     for x in arrays])
    check(a, t, tol)
    return a


# -- parity ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("in_dims,shapes", [
    (0, [(4, 3), (4, 3)]),
    ((1, None), [(3, 4), (3,)]),
    ((-1, 0), [(3, 4), (4, 3)]),
    ((None, -2), [(2, 3), (2, 5, 3)]),
])
def test_elementwise_and_reductions(in_dims, shapes):
    def f(x, y, lib):
        z = x * y + lib.exp(x) / (1 + y * y) - x ** 2
        return z.sum(-1), lib.tanh(z).mean(0), z.amax(), (z > 0.1).to(z.dtype) * z
    arrays = [rnd(*s, seed=i) for i, s in enumerate(shapes)]
    run_both(lambda x, y: f(x, y, ax), lambda x, y: f(x, y, torch), arrays, in_dims=in_dims)


def test_broadcasting_logical_ranks():
    # a batched (3,) against an unbatched (2, 3) and a batched (2, 1, 3): right-aligned per sample
    def f(a, b, c):
        return a + b, a * c, c - b
    run_both(f, f, [rnd(5, 3), rnd(2, 3), rnd(5, 2, 1, 3)], in_dims=(0, None, 0))


@pytest.mark.parametrize("out_dims", [0, 1, -1, (1, 0)])
def test_out_dims_and_tuple_outputs(out_dims):
    def f(x):
        return x @ x.T, x.sum(1)
    run_both(f, f, [rnd(4, 3, 2)], out_dims=out_dims)


def test_nested_in_dims_pytree_and_dict_output():
    def fa(d, pair):
        return {"s": d["a"] * pair[0] + d["b"], "t": (pair[1] * 2,)}
    arrays_a = ({"a": ax.tensor(rnd(4, 3)), "b": ax.tensor(rnd(3, seed=1))},
                [ax.tensor(rnd(3, 4, seed=2)), ax.tensor(rnd(4, seed=3))])
    arrays_t = ({"a": torch.tensor(rnd(4, 3)), "b": torch.tensor(rnd(3, seed=1))},
                [torch.tensor(rnd(3, 4, seed=2)), torch.tensor(rnd(4, seed=3))])
    in_dims = ({"a": 0, "b": None}, [1, 0])
    check(vmap(fa, in_dims=in_dims)(*arrays_a), torch.func.vmap(fa, in_dims=in_dims)(*arrays_t))
    # an int standing for a whole sub-structure
    a = vmap(lambda d: d["a"] + d["b"], in_dims=({"a": 0, "b": 0},))
    t = torch.func.vmap(lambda d: d["a"] + d["b"], in_dims=(0,))
    d = {"a": rnd(4, 3), "b": rnd(4, 3, seed=5)}
    check(a({k: ax.tensor(v) for k, v in d.items()}), t({k: torch.tensor(v) for k, v in d.items()}))


def test_nested_vmap():
    def f(x, y):
        return (x * y).sum() + x.max()
    a = vmap(vmap(f, in_dims=(0, None)), in_dims=(None, 0))
    t = torch.func.vmap(torch.func.vmap(f, in_dims=(0, None)), in_dims=(None, 0))
    x, y = rnd(3, 4), rnd(5, 4, seed=1)
    check(a(ax.tensor(x), ax.tensor(y)), t(torch.tensor(x), torch.tensor(y)))
    g = vmap(vmap(lambda m, v: m @ v), in_dims=(0, 1))
    tg = torch.func.vmap(torch.func.vmap(lambda m, v: m @ v), in_dims=(0, 1))
    m, v = rnd(2, 3, 4, 5), rnd(3, 2, 5)
    check(g(ax.tensor(m), ax.tensor(v)), tg(torch.tensor(m), torch.tensor(v)), 1e-4)


def test_non_contiguous_inputs_and_shape_ops():
    base = rnd(6, 4, 5)
    x = base.transpose(2, 0, 1)[:, ::2]  # (5, 3, 4), not contiguous

    def f(x, lib):
        y = x.reshape(2, 6).permute(1, 0).flip(0)
        z = lib.cat([y, y * 2], 1)
        w = z.unsqueeze(0).expand(3, 6, 4).sum(0)
        return lib.stack([w[1:4, ::2], w[:3, 1::2]], 0).transpose(0, 2)[0], x[None, 1, ..., -1]
    run_both(lambda x: f(x, ax), lambda x: f(x, torch), [np.ascontiguousarray(x)])
    run_both(lambda x: f(x, ax), lambda x: f(x, torch), [x], in_dims=0)


@pytest.mark.parametrize("in_dims", [(0, None, None), (0, 0, 0), (None, 0, 0)])
def test_matmul_linear_conv_rules(in_dims):
    x, w, b = rnd(3, 2, 4), rnd(3, 5, 4, seed=1), rnd(3, 5, seed=2)
    if in_dims[1] is None:
        w, b = w[0], b[0]
    if in_dims[0] is None:
        x = x[0]
    run_both(lambda x, w, b: (F.linear(x, w, b), x @ w.T),
             lambda x, w, b: (TF.linear(x, w, b), x @ w.T), [x, w, b], 1e-4, in_dims=in_dims)
    xc, wc, bc = rnd(3, 2, 2, 6, 6), rnd(3, 4, 2, 3, 3, seed=1), rnd(3, 4, seed=2)
    if in_dims[1] is None:
        wc, bc = wc[0], bc[0]
    if in_dims[0] is None:
        xc = xc[0]
    run_both(lambda x, w, b: F.conv2d(x, w, b, padding=1, stride=(1, 2)),
             lambda x, w, b: TF.conv2d(x, w, b, padding=1, stride=(1, 2)), [xc, wc, bc], 1e-4,
             in_dims=in_dims)


def test_chunk_size_matches():
    def f(x):
        return x.softmax(-1) @ x.unsqueeze(-1)
    for cs in (1, 2, 3, 10):
        run_both(f, f, [rnd(5, 3)], 1e-5, chunk_size=cs)


def test_unbatched_output_is_broadcast():
    def f(x, y):
        return y * 2, x + 1
    run_both(f, f, [rnd(3, 2), rnd(2)], in_dims=(0, None))


def no_whole_loop(monkeypatch):
    """Make the whole-function loop fallback fail the test (the batched path must serve)."""
    from axonal.func import _vmap

    def refuse(*args):
        raise AssertionError("vmap fell back to running the function per sample")
    monkeypatch.setattr(_vmap, "_run_loop", refuse)


@pytest.mark.parametrize("name", ["argmax", "sort", "gather", "avg_pool", "var", "where",
                                  "layer_norm", "adaptive", "masked", "index"])
def test_raw_array_wrappers_stay_batched(name, monkeypatch):
    # wrappers that compute on raw arrays (argmax, sort order, gather's bounds check, moments,
    # comparisons) run batched on the guarded views, without the whole-function loop
    no_whole_loop(monkeypatch)
    fns = {
        "argmax": lambda x, lib, fn: (x.argmax(-1), x.argmin(1, keepdim=True)),
        "sort": lambda x, lib, fn: (x.sort(-1)[0], x.sort(0, descending=True)[1], x.argsort(1)),
        "gather": lambda x, lib, fn: x.gather(1, (x * 2).long().clamp(0, 1)),
        "avg_pool": lambda x, lib, fn: fn.avg_pool2d(x, 2, stride=1),
        "var": lambda x, lib, fn: (x.var(-1), x.std(), x.logsumexp(1), x.norm()),
        "where": lambda x, lib, fn: lib.where(x > 0, x, 0.5 * x) + x.clamp(-0.2, 0.3),
        "layer_norm": lambda x, lib, fn: fn.layer_norm(x, (6,)),
        "adaptive": lambda x, lib, fn: fn.adaptive_avg_pool2d(x, (2, 3)),
        "masked": lambda x, lib, fn: x.masked_fill(x > 0.5, 0.0).cumsum(0),
        "index": lambda x, lib, fn: (x[0, [1, 0]], x[:, 1, ::2, None], x[..., 2:4].split(1, -1)),
    }
    f = fns[name]
    run_both(lambda x: f(x, ax, F), lambda x: f(x, torch, TF), [rnd(3, 2, 4, 6)], 1e-5)


def test_checks_that_pass_for_every_sample_do_not_loop(monkeypatch):
    no_whole_loop(monkeypatch)

    def f(x):
        assert bool((x.abs() >= 0).all())  # the same answer for every sample: no loop
        return x * int(x.shape[0])
    check(vmap(f)(ax.tensor(rnd(4, 3))), torch.tensor(rnd(4, 3) * 3))


# -- the body runs once -----------------------------------------------------------------------------
def test_body_runs_once_with_rules():
    calls = []
    n_loop = []
    real_loop = _batching.loop_rule

    def counting_loop(*args, **kwargs):
        n_loop.append(args[0].__name__)
        return real_loop(*args, **kwargs)

    def f(x, w, k):
        calls.append(1)
        h = F.conv2d(x, k, padding=1).relu().sum((2, 3))  # conv, element-wise, reduction
        return (h @ w).tanh().mean(-1) * 2 + x.amax()  # matmul
    x, w, k = rnd(7, 1, 2, 5, 5), rnd(4, 3), rnd(4, 2, 3, 3)
    _batching.loop_rule = counting_loop
    try:
        out = vmap(f, in_dims=(0, None, None))(ax.tensor(x), ax.tensor(w), ax.tensor(k))
    finally:
        _batching.loop_rule = real_loop
    ref = torch.func.vmap(lambda x, w, k: (TF.conv2d(x, k, padding=1).relu().sum((2, 3)) @ w)
                          .tanh().mean(-1) * 2 + x.amax(), in_dims=(0, None, None))(
        torch.tensor(x), torch.tensor(w), torch.tensor(k))
    check(out, ref, 1e-4)
    assert len(calls) == 1 and n_loop == []


def test_op_without_rule_loops_per_op():
    # tril has no rule: it runs per sample, the body still once (einsum, layer_norm have rules)
    calls, n_loop = [], []
    real_loop = _batching.loop_rule

    def counting_loop(*args, **kwargs):
        n_loop.append(args[0].__name__)
        return real_loop(*args, **kwargs)

    def f(x, w, lib, fn):
        calls.append(1)
        y = lib.einsum("ij,jk->ik", lib.tril(x), w)
        return fn.layer_norm(y, (2,)) * 2

    x, w = rnd(4, 3, 3), rnd(4, 3, 2, seed=1)
    _batching.loop_rule = counting_loop
    try:
        out = vmap(lambda x, w: f(x, w, ax, F))(ax.tensor(x), ax.tensor(w))
    finally:
        _batching.loop_rule = real_loop
    assert len(calls) == 1 and n_loop == ["_Triangle"]
    ref = torch.func.vmap(lambda x, w: f(x, w, torch, TF))(torch.tensor(x), torch.tensor(w))
    check(out, ref, 1e-5)


def test_data_dependent_code_falls_back_to_a_loop():
    calls = []

    def f(x):
        calls.append(1)
        return x * 2 if float(x.sum()) > 0 else x - 1  # reads a value: per sample

    x = rnd(5, 3)
    out = vmap(f)(ax.tensor(x))
    ref = np.stack([r * 2 if r.sum() > 0 else r - 1 for r in x])
    np.testing.assert_allclose(out.numpy(), ref)
    assert len(calls) == 1 + 5  # the batched attempt, then once per sample


# -- randomness -------------------------------------------------------------------------------------
def test_randomness_error_by_default():
    with pytest.raises(RuntimeError) as ea:
        vmap(lambda x: x + ax.randn(3))(ax.tensor(rnd(4, 3)))
    with pytest.raises(RuntimeError) as et:
        torch.func.vmap(lambda x: x + torch.randn(3))(torch.tensor(rnd(4, 3)))
    assert str(ea.value) == str(et.value)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(lambda x: F.dropout(x, 0.5))(ax.tensor(rnd(4, 3)))
    with pytest.raises(RuntimeError) as ea:
        vmap(lambda x: x, randomness="sometimes")
    with pytest.raises(RuntimeError) as et:
        torch.func.vmap(lambda x: x, randomness="sometimes")(torch.zeros(2))
    assert str(ea.value) == str(et.value)


def test_randomness_same_and_different():
    x = ax.zeros(6, 4)
    same = vmap(lambda x: x + ax.randn(4), randomness="same")(x).numpy()
    assert np.allclose(same, same[0]) and same.std() > 0
    diff = vmap(lambda x: x + ax.rand_like(x), randomness="different")(x).numpy()
    assert not np.allclose(diff[0], diff[1]) and diff.min() >= 0 and diff.max() < 1
    drop = vmap(lambda x: F.dropout(x + 1, 0.5), randomness="different")(x).numpy()
    assert set(np.unique(drop)) <= {0.0, 2.0} and len({r.tobytes() for r in drop}) > 1
    drop_same = vmap(lambda x: F.dropout(x + 1, 0.5), randomness="same")(x).numpy()
    assert np.allclose(drop_same, drop_same[0])
    ax.manual_seed(3)
    a = vmap(lambda x: x + ax.randn(4), randomness="different")(x)
    ax.manual_seed(3)
    b = vmap(lambda x: x + ax.randn(4), randomness="different")(x)
    assert np.array_equal(a.numpy(), b.numpy())  # seeded, reproducible


# -- per-sample gradients ---------------------------------------------------------------------------
def local_grad(f):
    """torch.func.grad's contract (gradient w.r.t. the first argument, a list of tensors), written
    with axonal.autograd.grad."""
    def g(params, *args):
        params = [p.detach().requires_grad_() for p in params]
        return list(ax.autograd.grad(f(params, *args), params))
    return g


def mlp_loss(lib, lin):
    def loss(p, x, y):
        h = lib.tanh(x @ p[0].T + p[1])
        return ((lin(h, p[2], p[3]) - y) ** 2).mean()
    return loss


def test_per_sample_gradients_mlp(monkeypatch):
    no_whole_loop(monkeypatch)
    P = [rnd(5, 3), rnd(5, seed=1), rnd(2, 5, seed=2), rnd(2, seed=3)]
    X, Y = rnd(6, 3, seed=4), rnd(6, 2, seed=5)
    a = vmap(local_grad(mlp_loss(ax, F.linear)), in_dims=(None, 0, 0))(
        [ax.tensor(p) for p in P], ax.tensor(X), ax.tensor(Y))
    t = torch.func.vmap(torch.func.grad(mlp_loss(torch, TF.linear)), in_dims=(None, 0, 0))(
        [torch.tensor(p) for p in P], torch.tensor(X), torch.tensor(Y))
    check(a, t, 1e-5)


def test_per_sample_gradients_conv_net(monkeypatch):
    no_whole_loop(monkeypatch)

    def net(lib, fn):
        def loss(p, x, y):
            h = fn.conv2d(x.unsqueeze(0), p[0], p[1], padding=1).relu()
            h = fn.avg_pool2d(h, 2)
            logits = fn.linear(h.flatten(1), p[2], p[3])
            return -(fn.log_softmax(logits, -1)[0] * y).sum()
        return loss
    P = [rnd(4, 2, 3, 3), rnd(4, seed=1), rnd(3, 36, seed=2) * 0.2, rnd(3, seed=3)]
    X = rnd(5, 2, 6, 6, seed=4)
    Y = np.eye(3, dtype=np.float32)[[0, 2, 1, 1, 0]]
    a = vmap(local_grad(net(ax, F)), in_dims=(None, 0, 0))(
        [ax.tensor(p) for p in P], ax.tensor(X), ax.tensor(Y))
    t = torch.func.vmap(torch.func.grad(net(torch, TF)), in_dims=(None, 0, 0))(
        [torch.tensor(p) for p in P], torch.tensor(X), torch.tensor(Y))
    check(a, t, 2e-4)


def test_grad_of_batched_input_and_backward_through_vmap():
    # vmap(grad) w.r.t. a batched argument
    def f(x):
        x = x.detach().requires_grad_()
        return ax.autograd.grad((x.sin() * x).sum(), x)[0]
    x = rnd(4, 3)
    check(vmap(f)(ax.tensor(x)), torch.func.vmap(torch.func.grad(lambda x: (x.sin() * x).sum()))(
        torch.tensor(x)))
    # backward from outside through a vmapped function, batched and unbatched inputs
    xa, wa = ax.tensor(x, requires_grad=True), ax.tensor(rnd(3, 2, seed=1), requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(rnd(3, 2, seed=1), requires_grad=True)
    (vmap(lambda x, w: (x @ w).tanh(), in_dims=(0, None))(xa, wa) ** 2).sum().backward()
    (torch.func.vmap(lambda x, w: (x @ w).tanh(), in_dims=(0, None))(xt, wt) ** 2).sum().backward()
    check(xa.grad, xt.grad)
    check(wa.grad, wt.grad)


# -- errors, as PyTorch's -----------------------------------------------------------------------------
def _message(fn, *args):
    try:
        fn(*args)
    except (ValueError, RuntimeError) as e:
        return type(e).__name__, re.sub(r"<function <lambda>[^>]*>|<lambda>", "F",
                                        re.split(" (?:in|out)_dims has structure", str(e))[0])
    raise AssertionError("no error")


def f_sum(x, y=None):
    return x


@pytest.mark.parametrize("in_dims,shapes,args", [
    (0, [(3, 2), (4, 2)], None),  # size mismatch
    ((0, 2), [(3, 2), (3, 2)], None),  # in_dim out of range
    ((0, -3), [(3, 2), (3, 2)], None),
    ((0, 1.5), [(3, 2), (3, 2)], None),  # not an int
    ([0, 0], [(3, 2), (3, 2)], None),  # a list at the top
    ((0, 0, 0), [(3, 2), (3, 2)], None),  # structure
    ((None, None), [(3, 2), (3, 2)], None),  # nothing to map over
    ((0, 0), [(3, 2)], [5]),  # a non-Tensor with an int in_dim
])
def test_input_errors_match_torch(in_dims, shapes, args):
    ins = [rnd(*s) for s in shapes]
    a_args = [ax.tensor(x) for x in ins] + (args or [])
    t_args = [torch.tensor(x) for x in ins] + (args or [])
    assert _message(vmap(f_sum, in_dims=in_dims), *a_args) == \
        _message(torch.func.vmap(f_sum, in_dims=in_dims), *t_args)


def test_output_errors_match_torch():
    x = rnd(3, 2)
    for fn, kw in [(lambda x: 3, {}), (lambda x: x, {"out_dims": None}),
                   (lambda x: (x, x), {"out_dims": (0, 0, 0)}), (lambda x: x, {"out_dims": "a"})]:
        assert _message(lambda fn=fn, kw=kw: vmap(fn, **kw)(ax.tensor(x))) == \
            _message(lambda fn=fn, kw=kw: torch.func.vmap(fn, **kw)(torch.tensor(x)))
    assert _message(vmap(f_sum)) == _message(torch.func.vmap(f_sum))


def test_per_sample_gradients_cross_entropy_max_pool():
    # cross_entropy checks its targets' range and max_pool2d runs a kernel on the raw array: both
    # make vmap run per sample, and the result is still torch's
    def net(fn):
        def loss(p, x, t):
            h = fn.max_pool2d(fn.conv2d(x.unsqueeze(0), p[0], p[1]).relu(), 2)
            return fn.cross_entropy(fn.linear(h.flatten(1), p[2]), t.unsqueeze(0))
        return loss
    P = [rnd(3, 1, 3, 3), rnd(3, seed=1), rnd(4, 27, seed=2) * 0.3]
    X, T = rnd(4, 1, 8, 8, seed=3), np.array([0, 3, 1, 3])
    a = vmap(local_grad(net(F)), in_dims=(None, 0, 0))(
        [ax.tensor(p) for p in P], ax.tensor(X), ax.tensor(T))
    t = torch.func.vmap(torch.func.grad(net(TF)), in_dims=(None, 0, 0))(
        [torch.tensor(p) for p in P], torch.tensor(X), torch.tensor(T))
    check(a, t, 1e-4)


def test_nested_vmap_of_grad_and_module_backward_from_outside():
    def f(w, x):
        return ((x @ w).tanh() ** 2).sum()
    W, X = rnd(3, 2), rnd(4, 5, 3, seed=1)
    grad_w = local_grad(lambda p, x: f(p[0], x))
    a = vmap(vmap(grad_w, in_dims=(None, 0)), in_dims=(None, 0))([ax.tensor(W)], ax.tensor(X))
    t = torch.func.vmap(torch.func.vmap(torch.func.grad(lambda p, x: f(p[0], x)), in_dims=(None, 0)),
                        in_dims=(None, 0))([torch.tensor(W)], torch.tensor(X))
    check(a, t, 1e-5)
    # an nn.Module mapped over the samples; the parameters' gradients from a backward outside
    lin, tlin = ax.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    with torch.no_grad():
        tlin.weight.copy_(torch.tensor(lin.weight.detach().numpy()))
        tlin.bias.copy_(torch.tensor(lin.bias.detach().numpy()))
    ya, yt = vmap(lin)(ax.tensor(X[0])), torch.func.vmap(tlin)(torch.tensor(X[0]))
    check(ya, yt)
    (ya ** 2).sum().backward()
    (yt ** 2).sum().backward()
    check(lin.weight.grad, tlin.weight.grad)
    check(lin.bias.grad, tlin.bias.grad)


def test_in_place_writes_and_integer_inputs(monkeypatch):
    no_whole_loop(monkeypatch)

    def f(x):
        y = x * 1
        y[0] = 5.0
        y[1, :1] = x[2, 1:]
        z = x.clone()
        z[...] = 0.0
        z[..., 0] = x[:, 1]
        return y, z
    run_both(f, f, [rnd(4, 3, 2)])
    run_both(lambda i: (i * 2 + 1, i.sum()), lambda i: (i * 2 + 1, i.sum()),
             [np.arange(12).reshape(4, 3)])
    run_both(lambda x: x * 2, lambda x: x * 2, [np.zeros((0, 3), np.float32)])


def test_randomness_with_chunks_and_the_loop():
    x = ax.zeros(6, 4)
    same = vmap(lambda x: x + ax.randn(4), randomness="same", chunk_size=4)(x).numpy()
    assert np.allclose(same, same[0])
    diff = vmap(lambda x: x + ax.randn(4), randomness="different", chunk_size=4)(x).numpy()
    assert len({r.tobytes() for r in diff}) == 6

    def branchy(x):  # the samples take different branches: the whole-function loop
        return x + ax.randn(4) if float(x.sum()) == 0 else x
    x = ax.tensor(np.array([[0.0] * 4, [1.0] * 4] * 3, np.float32))
    same = vmap(branchy, randomness="same")(x).numpy()
    assert np.allclose(same[::2], same[0]) and same[0].std() > 0 and np.all(same[1::2] == 1)
    diff = vmap(branchy, randomness="different")(x).numpy()
    assert len({r.tobytes() for r in diff[::2]}) == 3
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(branchy)(x)


@pytest.mark.parametrize("affine", [True, False])
def test_per_sample_gradients_through_rules_and_the_per_op_loop(affine, monkeypatch):
    # layer_norm and einsum (rules) and tril (per-op loop), with shared parameters
    no_whole_loop(monkeypatch)

    def loss(fn, lib):
        def f(p, x):
            h = fn.layer_norm(x, (4,), p[0] if affine else None, p[1] if affine else None)
            h = lib.einsum("ij,kj->ik", h, p[-2])
            return (h.softmax(-1) * lib.tril(p[-1])).sum() + fn.gelu(h).var()
        return f
    P = [rnd(4), rnd(4, seed=1), rnd(3, 4, seed=2), rnd(3, 3, seed=3)][0 if affine else 2:]
    X = rnd(5, 3, 4, seed=4)
    a = vmap(local_grad(loss(F, ax)), in_dims=(None, 0))([ax.tensor(p) for p in P], ax.tensor(X))
    t = torch.func.vmap(torch.func.grad(loss(TF, torch)), in_dims=(None, 0))(
        [torch.tensor(p) for p in P], torch.tensor(X))
    check(a, t, 1e-5)


def test_layer_norm_per_sample_affine_and_backward_from_outside():
    X, W, B = rnd(5, 3, 4), rnd(5, 4, seed=1), rnd(4, seed=2)
    for in_dims, b in [((0, 0, None), B), ((0, 0, 0), np.tile(B, (5, 1)))]:
        run_both(lambda x, w, b: F.layer_norm(x, (4,), w, b),
                 lambda x, w, b: TF.layer_norm(x, (4,), w, b), [X, W, b], 1e-5, in_dims=in_dims)
    ln, tln = ax.nn.LayerNorm(4), torch.nn.LayerNorm(4)
    xa, xt = ax.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    (vmap(ln)(xa) ** 3).sum().backward()
    (torch.func.vmap(tln)(xt) ** 3).sum().backward()
    check(xa.grad, xt.grad, 1e-4)
    check(ln.weight.grad, tln.weight.grad, 1e-4)
    check(ln.bias.grad, tln.bias.grad, 1e-4)


def test_printing_and_python_values_inside_vmap_run_per_sample(capsys):
    # printing or converting a batched tensor needs the values of each sample: the loop fallback
    # shows each sample (never the first one as if it were the whole batch)
    def f(x):
        print(x.tolist())
        return x * 2
    out = vmap(f)(ax.tensor(np.arange(6.0).reshape(2, 3)))
    assert capsys.readouterr().out.split("\n")[:2] == ["[0.0, 1.0, 2.0]", "[3.0, 4.0, 5.0]"]
    np.testing.assert_array_equal(out.numpy(), np.arange(6.0).reshape(2, 3) * 2)


def grad_cg(f):
    """A grad with create_graph=True (as axonal.func.grad runs inside vmap), w.r.t. argument 0."""
    def g(p, *args):
        p = p if p.requires_grad else p.detach().requires_grad_()
        with ax.enable_grad():
            return ax.autograd.grad(f(p, *args), p, create_graph=True)[0]
    return g


def test_higher_order_gradients_inside_vmap(monkeypatch):
    no_whole_loop(monkeypatch)

    def f(lib):
        return lambda w, x: (lib.tanh(x @ w) ** 2).sum() + (w * w * x.sum()).sum()
    W, X = ax.tensor(rnd(3, 2)), ax.tensor(rnd(4, 5, 3, seed=1))
    Wt, Xt = torch.tensor(rnd(3, 2)), torch.tensor(rnd(4, 5, 3, seed=1))
    tgrad = torch.func.grad
    cases = [  # per-sample gradient recorded with create_graph; second order w.r.t. w and x
        (grad_cg(f(ax)), tgrad(f(torch)), (None, 0), (W, X), (Wt, Xt)),
        (grad_cg(lambda w, x: grad_cg(f(ax))(w, x).sum()),
         tgrad(lambda w, x: tgrad(f(torch))(w, x).sum()), (None, 0), (W, X), (Wt, Xt)),
        (grad_cg(lambda x, w: grad_cg(lambda x, w: f(ax)(w, x))(x, w).sum()),
         tgrad(lambda x, w: tgrad(lambda x, w: f(torch)(w, x))(x, w).sum()), (0, None), (X, W),
         (Xt, Wt)),
    ]
    for fa, ft, in_dims, args_a, args_t in cases:
        check(vmap(fa, in_dims=in_dims)(*args_a), torch.func.vmap(ft, in_dims=in_dims)(*args_t),
              1e-5)
    conv = lambda fn: lambda p, x: (fn.conv2d(x.unsqueeze(0), p, padding=1).relu() ** 2).mean()
    P, XC = rnd(4, 2, 3, 3, seed=2), rnd(3, 2, 5, 5, seed=3)
    check(vmap(grad_cg(conv(F)), in_dims=(None, 0))(ax.tensor(P), ax.tensor(XC)),
          torch.func.vmap(tgrad(conv(TF)), in_dims=(None, 0))(torch.tensor(P), torch.tensor(XC)),
          1e-5)


def test_hessian_of_a_vmapped_function_from_outside_raises():
    x = ax.tensor(rnd(3, 2), requires_grad=True)
    y = (vmap(lambda v: v.sin())(x) ** 2).sum()
    (g,) = ax.autograd.grad(y, x, create_graph=False)
    np.testing.assert_allclose(g.numpy(), 2 * np.sin(rnd(3, 2)) * np.cos(rnd(3, 2)), rtol=1e-5)
    y = (vmap(lambda v: v.sin())(x) ** 2).sum()
    with pytest.raises(NotImplementedError, match="from outside the vmap"):
        ax.autograd.grad(y, x, create_graph=True)


def test_in_place_ops_on_recorded_tensors_inside_vmap():
    # writing into a tensor of the graph (inside grad) runs per sample: exact, as torch's
    def grad_w(f):
        def g(w, x):
            w = w.detach().requires_grad_()
            return ax.autograd.grad(f(w, x), w)[0]
        return g

    def fa(w, x):
        h = x @ w
        h[0] = h[1] * 3
        return (h ** 2).sum()

    def ft(w, x):
        h = x @ w
        return (torch.cat([h[1:2] * 3, h[1:]]) ** 2).sum()
    W, X = rnd(2, 2), rnd(4, 3, 2, seed=1)
    try:
        grad_w(fa)(ax.tensor(W), ax.tensor(X[0]))
    except ax.GraphError:
        pytest.skip("this autograd refuses in-place writes into the graph, vmap or not")
    check(vmap(grad_w(fa), in_dims=(None, 0))(ax.tensor(W), ax.tensor(X)),
          torch.func.vmap(torch.func.grad(ft), in_dims=(None, 0))(torch.tensor(W), torch.tensor(X)),
          1e-5)


def test_forward_mode_tangents_survive_vmap():
    # jacfwd(vmap(f)) where the forward-mode AD exists: its tangents live on the tensors, so
    # vmap keeps a graph-free input's tangent on its physical value
    func = pytest.importorskip("axonal.func")
    if not hasattr(func, "jacfwd"):
        pytest.skip("no axonal.func.jacfwd here")
    f = lambda x: (x.sin() * x).sum()
    X = rnd(4, 3)
    check(func.jacfwd(vmap(f))(ax.tensor(X)), torch.func.jacfwd(torch.func.vmap(f))(torch.tensor(X)))
    check(func.jacrev(vmap(f))(ax.tensor(X)), torch.func.jacrev(torch.func.vmap(f))(torch.tensor(X)))
    check(vmap(func.grad(f))(ax.tensor(X)), torch.func.vmap(torch.func.grad(f))(torch.tensor(X)))


def test_custom_function_with_its_own_vmap_rule():
    # PyTorch's contract: vmap(info, in_dims, *args) -> (output, out_dims); without one, the op
    # runs per sample
    calls = []

    class TCube(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return x ** 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

        @staticmethod
        def vmap(info, in_dims, x):
            return TCube.apply(x), in_dims[0]

    class AxCube(ax.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x._data ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

        @staticmethod
        def vmap(info, in_dims, x):
            calls.append(info.batch_size)
            return AxCube.apply(x.transpose(0, 1)), 1

    x = rnd(4, 3)
    check(vmap(lambda v: AxCube.apply(v) + 1)(ax.tensor(x)),
          torch.func.vmap(lambda v: TCube.apply(v) + 1)(torch.tensor(x)))
    assert calls == [4]
    xa = ax.tensor(x, requires_grad=True)
    vmap(lambda v: AxCube.apply(v).sum())(xa).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), 3 * x ** 2, rtol=1e-5)


def test_numpy_on_the_raw_array_is_per_sample():
    # a function that drops to NumPy on x.numpy(): element-wise ufuncs, reshape, broadcast_to,
    # astype, reductions along axes and sorting stay batched; anything else (np.linalg here) runs
    # per sample - never on the first sample only
    calls = []

    def f(x):
        calls.append(1)
        a = x.numpy()
        b = np.broadcast_to(np.sin(a).reshape(-1), (2, 6)).astype(np.float64)
        return ax.from_numpy(b * a.max(axis=1).sum() + np.sort(a, axis=0)[0, 0])

    x = rnd(4, 3, 2)
    out = vmap(f)(ax.tensor(x))
    ref = np.stack([np.broadcast_to(np.sin(s).reshape(-1), (2, 6)) * s.max(axis=1).sum()
                    + np.sort(s, axis=0)[0, 0] for s in x.astype(np.float64)])
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6)
    assert len(calls) == 1
    out = vmap(lambda x: ax.from_numpy(np.linalg.norm(x.numpy(), axis=1)))(ax.tensor(x))
    np.testing.assert_allclose(out.numpy(), np.linalg.norm(x, axis=2), rtol=1e-6)
