"""Autograd's safety checks for in-place ops, with PyTorch's exception types and messages
(normalised: tensor type names, node names, the hint; see inplace_harness.normalise):

* an in-place op on a leaf that requires grad raises outside no_grad and works inside it;
* an in-place op on a view of such a leaf raises ("a view of a leaf Variable ...");
* a view created under no_grad cannot be modified in place under grad mode;
* outputs of multi-view ops (unbind, split, chunk) cannot be modified in place;
* a tensor saved for backward (an input or an output of an op, an index or a mask) that is
  modified in place before backward makes backward raise, naming the tensor, its node and both
  versions; where nothing saved was modified, backward gives PyTorch's gradient; changes through
  `.data` go unseen;
* an operand that partly overlaps the tensor written is refused.
"""
import numpy as np
import pytest
from inplace_harness import T, same

rng = np.random.default_rng(3)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4)) + 2

IN_PLACE = [
    ("add_", lambda lib, x: x.add_(1)), ("mul_", lambda lib, x: x.mul_(2)),
    ("sub_tensor", lambda lib, x: x.sub_(T(lib, np.ones(4)))), ("exp_", lambda lib, x: x.exp_()),
    ("zero_", lambda lib, x: x.zero_()), ("fill_", lambda lib, x: x.fill_(3)),
    ("copy_", lambda lib, x: x.copy_(T(lib, np.ones(4)))),
    ("clamp_", lambda lib, x: x.clamp_(0, 1)),
    ("masked_fill_", lambda lib, x: x.masked_fill_(x > 0, 0.0)),
    ("setitem_all", lambda lib, x: x.__setitem__(Ellipsis, 0.0)),
    ("iadd", lambda lib, x: x.__iadd__(1)), ("imul", lambda lib, x: x.__imul__(x)),
    ("uniform_", lambda lib, x: x.uniform_()), ("normal_", lambda lib, x: x.normal_()),
    ("relu_", lambda lib, x: x.relu_()), ("sigmoid_", lambda lib, x: x.sigmoid_()),
    ("unsqueeze_", lambda lib, x: x.unsqueeze_(0)), ("t_", lambda lib, x: x.t_()),
]


def _ids(rows):
    return [r[0] for r in rows]


@pytest.mark.parametrize("name,op", IN_PLACE, ids=_ids(IN_PLACE))
def test_in_place_on_a_leaf_that_requires_grad_raises(name, op):
    def program(lib):
        op(lib, T(lib, A, requires_grad=True))

    same(program, torch_raises=True)


@pytest.mark.parametrize("name,op", IN_PLACE, ids=_ids(IN_PLACE))
def test_in_place_on_a_leaf_under_no_grad_works(name, op):
    def program(lib):
        lib.manual_seed(0)
        w = T(lib, A, requires_grad=True)
        with lib.no_grad():
            r = op(lib, w)
        out = [r is w, w.is_leaf, w.requires_grad, w.grad_fn is None, w._version,
               tuple(w.shape)]
        (w * w).sum().backward()  # the new values are used
        out.append(w.grad.shape)
        if name not in ("uniform_", "normal_"):
            out += [w.detach(), w.grad]
        return out

    same(program)


VIEWS = [
    ("int", lambda x: x[0]), ("slice", lambda x: x[1:]), ("view", lambda x: x.view(12)),
    ("t", lambda x: x.t()), ("transpose", lambda x: x.transpose(0, 1)),
    ("select", lambda x: x.select(1, 2)), ("narrow", lambda x: x.narrow(0, 1, 1)),
    ("unsqueeze", lambda x: x.unsqueeze(0)), ("diagonal", lambda x: x.diagonal()),
    ("expand", lambda x: x[:1].expand(3, 4)), ("view_of_view", lambda x: x[1:].t()[2]),
]


@pytest.mark.parametrize("name,view", VIEWS, ids=_ids(VIEWS))
def test_in_place_on_a_view_of_a_leaf_raises(name, view):
    def program(lib):
        view(T(lib, A, requires_grad=True)).mul_(2)

    same(program, torch_raises=True)


@pytest.mark.parametrize("name,view", VIEWS[:5], ids=_ids(VIEWS[:5]))
def test_setitem_on_a_view_of_a_leaf_raises(name, view):
    def program(lib):
        view(T(lib, A, requires_grad=True))[0] = 1.0

    same(program, torch_raises=True)


@pytest.mark.parametrize("name,view", VIEWS[:9], ids=_ids(VIEWS[:9]))
def test_in_place_on_a_view_of_a_leaf_under_no_grad_works(name, view):
    def program(lib):
        w = T(lib, A, requires_grad=True)
        with lib.no_grad():
            view(w).mul_(-3)
        (w * w).sum().backward()
        return w.detach(), w._version, w.is_leaf, w.grad

    same(program)


def test_detach_of_a_leaf_can_be_modified_and_shares_the_version():
    def program(lib):
        w = T(lib, A, requires_grad=True)
        w.detach().mul_(2)
        return w.detach(), w._version, w.requires_grad

    same(program, torch_raises=False)


@pytest.mark.parametrize("base", ["leaf", "non_leaf"])
def test_view_created_under_no_grad_cannot_be_modified_under_grad(base):
    def program(lib):
        w = T(lib, A, requires_grad=True)
        x = w if base == "leaf" else w * 2
        with lib.no_grad():
            v = x[0]
        v.mul_(2)

    same(program, torch_raises=True)


def test_base_modified_under_no_grad_then_view_used():
    def program(lib):
        w = T(lib, A, requires_grad=True)
        x = w * 2
        v = x[0]
        with lib.no_grad():
            x.mul_(3)
        (v * v).sum().backward()
        return v, w.grad, x._version

    same(program)


@pytest.mark.parametrize("which", ["unbind", "split", "chunk", "split_sizes"])
@pytest.mark.parametrize("mode", ["grad", "no_grad_op", "no_grad_view"])
def test_multi_output_views_cannot_be_modified_in_place(which, mode):
    def program(lib):
        w = T(lib, A, requires_grad=True)
        x = w * 2
        make = {"unbind": lambda: x.unbind(0), "split": lambda: x.split(2),
                "chunk": lambda: x.chunk(2, 1), "split_sizes": lambda: x.split([1, 3], 1)}[which]
        if mode == "no_grad_view":
            with lib.no_grad():
                parts = make()
        else:
            parts = make()
        if mode == "no_grad_op":
            with lib.no_grad():
                parts[1].mul_(2)
        else:
            parts[1].mul_(2)
        x.sum().backward()
        return x, w.grad

    same(program)


# -- saved tensors modified before backward: hand-written programs --------------------------------

SAVED = [
    ("mul_modify_input", lambda lib, x, y: (x * y, x.add_(1))[0]),
    ("mul_modify_other", lambda lib, x, y: (x * y, y.mul_(2))[0]),
    ("add_modify_input", lambda lib, x, y: (x + y, x.add_(1))[0]),  # add saves nothing
    ("exp_modify_output", lambda lib, x, y: x.exp().mul_(2)),
    ("exp_modify_input", lambda lib, x, y: (x.exp(), x.mul_(2))[0]),  # exp saves its output only
    ("tanh_modify_output_view", lambda lib, x, y: (lambda o: (o, o[1].zero_())[0])(x.tanh())),
    ("sigmoid_output", lambda lib, x, y: x.sigmoid().add_(1)),
    ("relu_output", lambda lib, x, y: x.relu().mul_(2)),
    ("sin_input_through_view", lambda lib, x, y: (x.sin(), x[:, 1].fill_(0))[0]),
    ("sin_input_through_base", lambda lib, x, y: (lambda v: (v.sin(), x.add_(1))[0])(x[0])),
    ("div_denominator", lambda lib, x, y: (x / y, y.add_(1))[0]),
    ("div_numerator", lambda lib, x, y: (x / y, x.add_(1))[0]),  # d/dy needs x? PyTorch: no
    ("pow_input", lambda lib, x, y: (x ** 3, x.mul_(1))[0]),
    ("matmul_input", lambda lib, x, y: (x @ y.t(), y.mul_(1))[0]),
    ("sum_input", lambda lib, x, y: (x.sum(), x.mul_(5))[0]),
    ("twice_modified", lambda lib, x, y: (x * y, x.add_(1), x.add_(1))[0]),
    ("modified_then_restored_value", lambda lib, x, y: (x * y, x.add_(1), x.sub_(1))[0]),
    ("setitem_on_saved", lambda lib, x, y: (x * y, x.__setitem__(0, 1.0))[0]),
    ("clone_is_safe", lambda lib, x, y: (lambda c: (c * y, x.add_(1))[0])(x.clone())),
    ("detach_shares_version", lambda lib, x, y: (x * y, x.detach().add_(1))[0]),
    ("data_is_unseen", lambda lib, x, y: (x * y, x.data.add_(1))[0]),
    # fill_ overwrites everything, yet PyTorch keeps the edge to tanh_'s node (a zero gradient)
    # and so still finds tanh_'s saved output overwritten
    ("fill_after_tanh_", lambda lib, x, y: x.tanh_().fill_(0.25)),
    ("zero_after_sigmoid_of_view", lambda lib, x, y: (x[1].sigmoid_(), x.zero_())[1]),
]


@pytest.mark.parametrize("name,prog", SAVED, ids=_ids(SAVED))
def test_saved_tensor_modified_before_backward(name, prog):
    def program(lib):
        a = T(lib, A, requires_grad=True)
        b = T(lib, B, requires_grad=True)
        x, y = a * 1.0, b * 1.0
        out = prog(lib, x, y)
        out.sum().backward()
        return a.grad, b.grad

    same(program)


def test_saved_leaf_modified_under_no_grad():
    """A leaf saved by mul and then changed under no_grad: the message names no node (a leaf)."""
    def program(lib):
        w = T(lib, A, requires_grad=True)
        b = T(lib, B, requires_grad=True)
        y = (w * b).sum()
        with lib.no_grad():
            w.mul_(2)
        y.backward()

    same(program, torch_raises=True)


def test_saved_leaf_changed_through_data_goes_unseen():
    def program(lib):
        w = T(lib, A, requires_grad=True)
        b = T(lib, B, requires_grad=True)
        y = (w * b).sum()
        w.data.mul_(2)
        y.backward()
        return b.grad, w._version

    same(program, torch_raises=False)


def test_second_backward_after_a_modification_raises():
    def program(lib):
        w = T(lib, A, requires_grad=True)
        x = w * 1.0
        y = (x * x).sum()
        y.backward(retain_graph=True)
        g1 = w.grad.clone()
        x.add_(1)
        y.backward()
        return g1

    same(program, torch_raises=True)


def test_modification_after_backward_is_fine():
    def program(lib):
        w = T(lib, A, requires_grad=True)
        x = w * 1.0
        (x * x).sum().backward(retain_graph=True)  # keeps x's own node for the second pass
        x.add_(1)  # x*x's saved x is stale now, but that graph is done with
        (x * 3).sum().backward()
        return w.grad, x._version

    same(program, torch_raises=False)


@pytest.mark.parametrize("opt", ["SGD", "Adam", "manual_no_grad", "manual_data"])
def test_optimizer_step_is_an_in_place_write_of_the_parameters(opt):
    """A graph that saved a parameter before step() refuses a second backward (PyTorch's
    optimizers write under no_grad, which bumps the version; `.data` writes do not)."""
    def program(lib):
        w = T(lib, A, requires_grad=True)
        loss = (w * w).sum()  # saves w
        loss.backward(retain_graph=True)
        if opt == "manual_no_grad":
            with lib.no_grad():
                w -= 0.1 * w.grad
        elif opt == "manual_data":
            w.data -= 0.1 * w.grad
        else:
            getattr(lib.optim, opt)([w], lr=0.1).step()
        out = [w._version, w.detach().clone()]
        loss.backward()
        return out, w.grad

    same(program)


def test_versions_in_the_message_count_every_write():
    def program(lib):
        w = T(lib, A, requires_grad=True)
        x = w * 1.0
        x.add_(1)
        x.add_(1)  # version 2 when saved
        y = x.exp()
        y[0].zero_()
        y[1].zero_()
        y.t()[0].add_(1)  # version 3, expected 0
        y.sum().backward()

    same(program, torch_raises=True)


# index and mask tensors are saved for backward too: changing them after the forward would route
# the gradient to the wrong elements, so PyTorch's backward refuses
INDEX_SAVED = [
    ("getitem", lambda lib, a, i, m: a[i], "i"),
    ("gather", lambda lib, a, i, m: a.gather(0, i), "i"),
    ("index_select", lambda lib, a, i, m: a.index_select(0, i), "i"),
    ("scatter", lambda lib, a, i, m: a.scatter(0, i, a[:2] * 2), "i"),
    ("index_put", lambda lib, a, i, m: a.index_put((i,), a[:2] * 3), "i"),
    ("masked_fill", lambda lib, a, i, m: a.masked_fill(m, 0.0), "m"),
    ("where", lambda lib, a, i, m: lib.where(m, a, a * 2), "m"),
    ("boolean_getitem", lambda lib, a, i, m: a[m], "m"),
]


@pytest.mark.parametrize("name,op,which", INDEX_SAVED, ids=_ids(INDEX_SAVED))
def test_index_or_mask_modified_before_backward(name, op, which):
    def program(lib):
        a = T(lib, np.arange(4.0) + 1, requires_grad=True)
        i = T(lib, np.array([0, 1]))
        m = T(lib, np.array([True, False, True, False]))
        y = op(lib, a, i, m)
        if which == "i":
            i.add_(2)  # other, valid indices: the gradient would land elsewhere
        else:
            m.logical_not_()
        (y * y).sum().backward()
        return a.grad

    same(program, torch_raises=True)


# an operand that shares memory with self: the very same elements are fine, a partial or permuted
# overlap is refused (the result would depend on the order of the writes)
ALIASING = [
    ("same_tensor", lambda lib, x: x.add_(x)), ("same_view", lambda lib, x: x[0].mul_(x[0])),
    ("transpose", lambda lib, x: x.mul_(x.t())), ("shifted", lambda lib, x: x[1:].add_(x[:-1])),
    ("copy_transpose", lambda lib, x: x.copy_(x.t())),
    ("index_add_source", lambda lib, x: x.index_add_(0, T(lib, np.array([0, 1])), x[2:])),
    ("masked_fill_value_from_self", lambda lib, x: x.masked_fill_(x > 3, x.sum())),
    ("lerp", lambda lib, x: x.lerp_(x.t(), 0.5)), ("addcmul", lambda lib, x: x.addcmul_(x.t(), x)),
    ("clamp_min_tensor", lambda lib, x: x.clamp_(min=x.t())),
    ("sub_alpha", lambda lib, x: x.sub_(x.t(), alpha=2)),
    ("row_broadcast", lambda lib, x: x.add_(x[0])),
    ("row_into_other_rows", lambda lib, x: x[1:].sub_(x[0])),
    ("disjoint_halves", lambda lib, x: x[:2].add_(x[2:])),
    ("same_region_other_view", lambda lib, x: x.view(16)[:4].add_(x[0])),
    ("strided_not_dense", lambda lib, x: x[:, ::2].add_(x[:, 1::2])),
    ("index_copy_source", lambda lib, x: x.index_copy_(0, T(lib, np.array([0, 1])), x[1:3])),
    ("index_fill_0d_value", lambda lib, x: x.index_fill_(0, T(lib, np.array([1])), x[0, 0])),
    ("copy_0d_self", lambda lib, x: x.copy_(x[0, 0])),
    ("setitem_shifted", lambda lib, x: x.__setitem__(slice(1, None), x[:-1])),
]


@pytest.mark.parametrize("grad", [False, True], ids=["plain", "in_graph"])
@pytest.mark.parametrize("name,call", ALIASING, ids=_ids(ALIASING))
def test_operand_aliasing_self(name, call, grad):
    def program(lib):
        leaf = T(lib, np.arange(16.0).reshape(4, 4) / 8, requires_grad=grad)
        x = leaf * 1.0 if grad else leaf
        call(lib, x)
        if grad:
            (x * x).sum().backward()
        return x, x._version, leaf.grad

    same(program)
