"""In-place ops on views rebase the graph of their base (PyTorch's CopySlices): after
`y[0].mul_(3)` the base `y` has a new grad_fn, the gradient of every later use of `y` (or of any
view of it, old or new) flows through the multiplication to the inputs of `y`. Values, gradients,
grad_fn names and higher-order gradients against PyTorch, and finite differences in float64.
"""
import numpy as np
import pytest
from inplace_harness import T, fd_check, is_torch, normalise, same

rng = np.random.default_rng(4)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
W = rng.standard_normal((3, 4))

# programs on (lib, y = leaf_a * leaf_b (a non-leaf), b (a leaf)) -> the tensor whose weighted
# sum is differentiated
PROGRAMS = [
    ("select_mul", lambda lib, y, b: (y[0].mul_(3), y)[1]),
    ("slice_add_tensor", lambda lib, y, b: (y[1:].add_(b[1:] * 2), y)[1]),
    ("column_exp", lambda lib, y, b: (y[:, 1].exp_(), y)[1]),
    ("t_row_copy", lambda lib, y, b: (y.t()[2].copy_(b[:, 0]), y)[1]),
    ("view_of_view", lambda lib, y, b: (y[1:].t()[1:3].mul_(b[:2, :2].t()), y)[1]),
    ("two_writes_overlapping", lambda lib, y, b: (y[:2].mul_(2), y[1:].add_(y[0]), y)[-1]),
    ("write_then_use_old_view", lambda lib, y, b: (lambda v: (y.mul_(b), v)[1])(y[1])),
    ("write_view_use_other_view", lambda lib, y, b: (lambda u, v: (u.mul_(4), v)[1])(
        y[:, :2], y[1])),
    ("view_reshaped", lambda lib, y, b: (y.view(12)[3:7].sigmoid_(), y)[1]),
    ("unsqueeze_view", lambda lib, y, b: (y.unsqueeze(0)[0, 1].tanh_(), y)[1]),
    ("diagonal", lambda lib, y, b: (y.diagonal().mul_(b.diagonal()), y)[1]),
    ("narrow_clamp", lambda lib, y, b: (y.narrow(1, 1, 2).clamp_(-0.2, 0.2), y)[1]),
    ("view_write_reading_a_sibling_view_raises", lambda lib, y, b: (y.__setitem__((0, 0), b[2, 3]),
                                                   y[0].mul_(y[2]), y)[-1]),
    ("base_write_after_view_write", lambda lib, y, b: (y[0].mul_(3), y.mul_(b), y)[-1]),
    ("result_and_view", lambda lib, y, b: (lambda v: (v.mul_(2), y * v.sum())[1])(y[2])),
    ("masked_fill_view", lambda lib, y, b: (y[1:].masked_fill_(b[1:] > 0, 0.5), y)[1]),
    ("pow_view", lambda lib, y, b: (y[:, 2:].pow_(2), y)[1]),
    ("div_view_by_view", lambda lib, y, b: (y[0].div_(b[1].abs() + 1), y)[1]),
    ("index_add_view", lambda lib, y, b: (y[1:].index_add_(1, T(lib, np.array([0, 0])),
                                                           b[1:, :2]), y)[1]),
]


def _ids(rows):
    return [r[0] for r in rows]


@pytest.mark.parametrize("name,prog", PROGRAMS, ids=_ids(PROGRAMS))
def test_in_place_on_a_view_rebases_the_base(name, prog):
    def program(lib):
        a = T(lib, A, requires_grad=True)
        b = T(lib, B, requires_grad=True)
        y = a * b
        out = prog(lib, y, b)
        (out * T(lib, W[: out.shape[0]] if out.ndim == 2 else W[0, : out.shape[0]])).sum() \
            .backward()
        return out, y, y._version, a.grad, b.grad

    same(program)


@pytest.mark.parametrize("name", ["select_mul", "slice_add_tensor", "view_of_view",
                                  "two_writes_overlapping", "write_then_use_old_view",
                                  "diagonal", "div_view_by_view"])
def test_in_place_on_a_view_vs_finite_differences(name):
    prog = dict((r[0], r[1]) for r in PROGRAMS)[name]

    def loss(lib, a, b):
        out = prog(lib, a * b, b)
        w = T(lib, W[: out.shape[0]] if out.ndim == 2 else W[0, : out.shape[0]])
        return (out * w).sum()

    fd_check(loss, A, B)


def test_grad_fn_names_after_in_place_on_a_view():
    """The base's grad_fn becomes CopySlices; views taken after it point at the new base."""
    def program(lib):
        def name(t):
            n = t.grad_fn
            return normalise(type(n).__name__ if is_torch(lib) else n.name())

        a = T(lib, A, requires_grad=True)
        y = a * 2
        v = y[0]
        before = [name(y), name(v)]
        v.mul_(3)
        # (v's own new node is an implementation detail - PyTorch regenerates it as AsStrided)
        return before, [name(y), name(y[1]), v.grad_fn is not None, y.is_leaf, v._base is y]

    same(program)


def test_in_place_on_a_base_that_does_not_require_grad():
    """A plain tensor that receives a value requiring grad through a view starts requiring grad:
    the gradient reaches the value, and the untouched elements get none."""
    def program(lib):
        w = T(lib, B, requires_grad=True)
        x = T(lib, np.zeros((3, 4)))
        v = x[1]
        v.copy_(w[0] * 2)
        out = [x.requires_grad, v.requires_grad, x.is_leaf, x._version]
        (x * T(lib, W)).sum().backward()
        return out, w.grad, x

    same(program)


def test_retain_grad_on_a_base_rebased_by_a_view_write():
    def program(lib):
        a = T(lib, A, requires_grad=True)
        y = a * 2
        y[0].mul_(3)
        y.retain_grad()
        (y * T(lib, W)).sum().backward()
        return y.grad, a.grad

    same(program)


def test_second_order_through_in_place_ops():
    def program(lib):
        a = T(lib, A, requires_grad=True)
        y = a * a
        y[1:].mul_(a[1:])  # y = a^3 on rows 1..2
        y.mul_(2)
        (g,) = lib.autograd.grad(y.sum(), a, create_graph=True)
        (gg,) = lib.autograd.grad((g * T(lib, W)).sum(), a)
        return g, gg

    same(program)


def test_in_place_on_output_of_a_custom_like_chain_keeps_other_branches():
    """Two branches read y before the write (they saved nothing of y) and one after."""
    def program(lib):
        a = T(lib, A, requires_grad=True)
        y = a * 1.5
        s1 = y + 1  # add saves nothing: a later write to y is allowed
        s2 = y.sum(0)
        y[2].add_(s2)  # the write reads the base (through s2) and writes a view of it
        loss = (s1 * T(lib, W)).sum() + (y * y).sum()
        loss.backward()
        return y, a.grad

    same(program)


def test_many_small_writes_in_a_loop():
    def program(lib):
        a = T(lib, A, requires_grad=True)
        y = a.clone()
        for i in range(3):
            for j in range(4):
                y[i, j] = y[i, j] * (i + 1) + y[i, (j + 1) % 4] * 0.5
        (y * T(lib, W)).sum().backward()
        return y, y._version, a.grad

    same(program)


def test_gradient_accumulation_writes_into_the_existing_grad():
    """A second backward adds into the leaf's existing `.grad` in place (PyTorch's AccumulateGrad):
    a reference to it - or a view of it - held between the two passes sees the sum."""
    def program(lib):
        w = T(lib, A, requires_grad=True)
        (w * 2).sum().backward()
        g = w.grad
        v = g[0]
        (w * w).sum().backward()
        return g is w.grad, g, v, w.grad._version

    same(program)


def test_grad_zeroed_in_place_then_accumulated():
    def program(lib):
        w = T(lib, A, requires_grad=True)
        (w * 2).sum().backward()
        g = w.grad
        g.zero_()
        (w * 3).sum().backward()
        return g is w.grad, w.grad, w.grad._version

    same(program)
