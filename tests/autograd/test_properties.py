"""Property tests (Hypothesis): broadcasting and its adjoint, shape round trips, reductions.

Small examples and few of them, so the file runs in seconds; `derandomize=True` keeps runs
reproducible (the examples are a function of the test, not of the clock).
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import axonal

FAST = settings(max_examples=30, deadline=None, derandomize=True)

SHAPES = array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3)
NONEMPTY = array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3)


def _arr(shape, seed, positive=False):
    a = np.asarray(np.random.default_rng(seed).standard_normal(shape), dtype=np.float64)
    return np.abs(a) + 0.5 if positive else a


def _sum_to(g, shape):
    """The adjoint of broadcasting `shape` to g.shape, in NumPy: sum the broadcast axes."""
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b, g: (g, g)),
    "sub": (lambda a, b: a - b, lambda a, b, g: (g, -g)),
    "mul": (lambda a, b: a * b, lambda a, b, g: (g * b, g * a)),
    "div": (lambda a, b: a / b, lambda a, b, g: (g / b, -g * a / b ** 2)),
    "maximum": (lambda a, b: axonal.maximum(a, b) if isinstance(a, axonal.Tensor) else
                np.maximum(a, b),
                lambda a, b, g: (g * (a > b), g * (a < b))),
}


@FAST
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2 ** 16))
def test_binary_broadcast_grads_are_summed_to_input_shapes(shapes, op, seed):
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    fwd, local = BINARY[op]
    a0 = _arr(sa, seed)
    b0 = _arr(sb, seed + 1, positive=op == "div") + (0.37 if op == "maximum" else 0.0)
    g0 = _arr(out_shape, seed + 2)
    a = axonal.tensor(a0, requires_grad=True)
    b = axonal.tensor(b0, requires_grad=True)
    out = fwd(a, b)
    assert tuple(out.shape) == out_shape
    np.testing.assert_allclose(out.detach().numpy(), fwd(a0, b0), rtol=1e-12)
    out.backward(axonal.tensor(g0))
    assert tuple(a.grad.shape) == sa and tuple(b.grad.shape) == sb
    ga_full, gb_full = local(*np.broadcast_arrays(a0, b0), g0)
    np.testing.assert_allclose(a.grad.numpy(), _sum_to(ga_full, sa).reshape(sa), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), _sum_to(gb_full, sb).reshape(sb), rtol=1e-10,
                               atol=1e-12)


@FAST
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2 ** 16))
def test_where_broadcasts_three_ways(shapes, seed):
    sc, sa, sb = shapes.input_shapes
    cond = np.random.default_rng(seed).random(sc) < 0.5
    a0, b0 = _arr(sa, seed), _arr(sb, seed + 1)
    a, b = axonal.tensor(a0, requires_grad=True), axonal.tensor(b0, requires_grad=True)
    out = axonal.where(axonal.tensor(cond), a, b)
    np.testing.assert_array_equal(out.detach().numpy(), np.where(cond, a0, b0))
    out.sum().backward()
    full = np.broadcast_to(cond, shapes.result_shape)
    np.testing.assert_allclose(a.grad.numpy(), _sum_to(full * 1.0, sa).reshape(sa))
    np.testing.assert_allclose(b.grad.numpy(), _sum_to(~full * 1.0, sb).reshape(sb))


@FAST
@given(shape=SHAPES, data=st.data())
def test_permute_round_trip_and_its_adjoint(shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    x0 = _arr(shape, len(shape))
    x = axonal.tensor(x0, requires_grad=True)
    y = x.permute(*perm)
    np.testing.assert_array_equal(y.detach().numpy(), np.transpose(x0, perm))
    back = y.permute(*np.argsort(perm).tolist())
    np.testing.assert_array_equal(back.detach().numpy(), x0)
    g0 = _arr(y.shape, 5)
    y.backward(axonal.tensor(g0))
    np.testing.assert_array_equal(x.grad.numpy(), np.transpose(g0, np.argsort(perm)))


def _factorizations(n):
    """Shapes whose product is n (n > 0), drawn from n's divisors, plus -1 variants."""
    divs = [d for d in range(1, n + 1) if n % d == 0]
    return st.lists(st.sampled_from(divs), min_size=0, max_size=3).map(
        lambda ds: _complete(ds, n))


def _complete(ds, n):
    shape, rest = [], n
    for d in ds:
        if rest % d == 0:
            shape.append(d)
            rest //= d
    return tuple(shape) + (rest,) if rest != 1 or not shape else tuple(shape)


@FAST
@given(shape=NONEMPTY, data=st.data())
def test_reshape_round_trip(shape, data):
    n = int(np.prod(shape))
    target = data.draw(_factorizations(n))
    use_minus_one = data.draw(st.booleans()) and len(target) > 0
    spec = list(target)
    if use_minus_one:
        spec[data.draw(st.integers(0, len(spec) - 1))] = -1
    x0 = _arr(shape, n)
    x = axonal.tensor(x0, requires_grad=True)
    transposed = data.draw(st.booleans()) and len(shape) >= 2
    src = x.transpose(0, 1) if transposed else x  # reshape of a non-contiguous view
    ref = np.swapaxes(x0, 0, 1) if transposed else x0
    y = src.reshape(*spec) if spec else src.reshape(())
    assert tuple(y.shape) == target
    np.testing.assert_array_equal(y.detach().numpy(), ref.reshape(target))
    np.testing.assert_array_equal(y.flatten().detach().numpy(), ref.ravel())
    back = y.reshape(tuple(src.shape))
    np.testing.assert_array_equal(back.detach().numpy(), ref)
    g0 = _arr(target, 3)
    y.backward(axonal.tensor(g0))
    expected = g0.reshape(ref.shape)
    np.testing.assert_array_equal(x.grad.numpy(), np.swapaxes(expected, 0, 1) if transposed
                                  else expected)


@FAST
@given(shape=SHAPES, data=st.data())
def test_unsqueeze_squeeze_round_trip(shape, data):
    d = data.draw(st.integers(-len(shape) - 1, len(shape)))
    x = axonal.tensor(_arr(shape, 1))
    y = x.unsqueeze(d)
    assert y.shape[d] == 1 and y.ndim == len(shape) + 1
    np.testing.assert_array_equal(y.squeeze(d).numpy(), x.numpy())


@FAST
@given(shape=NONEMPTY, data=st.data())
def test_sum_over_dims_in_any_order_equals_total(shape, data):
    x0 = _arr(shape, 2)
    x = axonal.tensor(x0, dtype=axonal.float64, requires_grad=True)
    order = data.draw(st.permutations(range(len(shape))))
    y = x
    for d in order:  # keepdim=True keeps the original dim numbers valid
        y = y.sum(d, keepdim=True)
    assert tuple(y.shape) == (1,) * len(shape)
    total = x.sum()
    np.testing.assert_allclose(y.reshape(()).item(), total.item(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(total.item(), x0.sum(), rtol=1e-12, atol=1e-12)
    k = data.draw(st.integers(1, len(shape)))
    dims = tuple(order[:k])
    partial = x.sum(dims)  # a tuple of dims at once
    np.testing.assert_allclose(partial.sum().item(), total.item(), rtol=1e-12, atol=1e-12)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(shape))


@FAST
@given(shape=NONEMPTY, data=st.data())
def test_mean_times_count_is_sum(shape, data):
    x = axonal.tensor(_arr(shape, 3), dtype=axonal.float64)
    dims = tuple(sorted(data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))))
    count = int(np.prod([shape[d] for d in dims]))
    np.testing.assert_allclose((x.mean(dims) * count).numpy(), x.sum(dims).numpy(), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(x.mean().item() * x.numel(), x.sum().item(), rtol=1e-12,
                               atol=1e-12)


REDUCTIONS = {
    "sum": lambda x, d, k: x.sum(d, keepdim=k), "mean": lambda x, d, k: x.mean(d, keepdim=k),
    "amax": lambda x, d, k: x.amax(d, keepdim=k), "amin": lambda x, d, k: x.amin(d, keepdim=k),
    "var": lambda x, d, k: x.var(d, keepdim=k), "std": lambda x, d, k: x.std(d, keepdim=k),
    "logsumexp": lambda x, d, k: x.logsumexp(d, keepdim=k),
    "norm": lambda x, d, k: x.norm(dim=d, keepdim=k),
    "prod_1d": lambda x, d, k: x.prod(d[0], keepdim=k),
    "max_dim": lambda x, d, k: x.max(d[0], keepdim=k).values,
    "argmax": lambda x, d, k: x.argmax(d[0], keepdim=k),
}


@FAST
@given(shape=NONEMPTY, op=st.sampled_from(sorted(REDUCTIONS)),
       keepdim=st.booleans(), data=st.data())
def test_reduction_keepdim_shapes(shape, op, keepdim, data):
    dims = tuple(sorted(data.draw(st.sets(st.integers(-len(shape), len(shape) - 1), min_size=1)
                                  .filter(lambda s: len({d % len(shape) for d in s}) == len(s)))))
    if op in ("prod_1d", "max_dim", "argmax"):
        dims = dims[:1]
    x = axonal.tensor(_arr(shape, 4), requires_grad=True)
    out = REDUCTIONS[op](x, dims, keepdim)
    pos = {d % len(shape) for d in dims}
    kept = tuple(1 if i in pos else s for i, s in enumerate(shape))
    dropped = tuple(s for i, s in enumerate(shape) if i not in pos)
    assert tuple(out.shape) == (kept if keepdim else dropped)
    if out.requires_grad:
        out.sum().backward()
        assert tuple(x.grad.shape) == shape
    # keepdim=True is keepdim=False plus unsqueezed dims
    other = REDUCTIONS[op](x.detach(), dims, not keepdim)
    a, b = (out.detach(), other) if keepdim else (other, out.detach())
    np.testing.assert_array_equal(a.numpy().reshape(b.shape), b.numpy())


@FAST
@given(shape=NONEMPTY, data=st.data())
def test_cat_split_round_trip(shape, data):
    d = data.draw(st.integers(0, len(shape) - 1))
    n = shape[d]
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
    sizes = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    x0 = _arr(shape, 6)
    x = axonal.tensor(x0, requires_grad=True)
    parts = x.split(sizes, d)
    assert [p.shape[d] for p in parts] == sizes
    y = axonal.cat(list(parts), d)
    np.testing.assert_array_equal(y.detach().numpy(), x0)
    g0 = _arr(shape, 7)
    y.backward(axonal.tensor(g0))
    np.testing.assert_array_equal(x.grad.numpy(), g0)
