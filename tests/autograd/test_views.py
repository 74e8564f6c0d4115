"""Storage, views and version counters, as PyTorch (each test runs one program on both libraries).

A view (basic slicing, view, reshape without a copy, transpose/permute/t, expand, narrow, select,
unsqueeze/squeeze, unbind/split/chunk, diagonal, movedim, detach, .data) shares its base's memory:
writes through either are seen by the other, `data_ptr()` is the base's plus the view's offset, and
in-place ops never move the memory. Every storage has one version counter, bumped by each in-place
op and shared by all its views (`x._version`); `.detach()` shares it, `.data` does not (PyTorch's
historical escape hatch: changes through `.data` are invisible to autograd's checks).
"""
import numpy as np
import pytest
from inplace_harness import T, is_torch, normalise, same

BASE = np.arange(24, dtype=np.float64).reshape(2, 3, 4)

# view constructors: (name, f(lib, x) -> a view of x, writable)
VIEWS = [
    ("slice", lambda lib, x: x[1:, :, ::2], True),
    ("int_index", lambda lib, x: x[1], True),
    ("ellipsis_none", lambda lib, x: x[..., None, 1:3], True),
    ("view", lambda lib, x: x.view(6, 4), True),
    ("view_minus1", lambda lib, x: x.view(-1), True),
    ("reshape_no_copy", lambda lib, x: x.reshape(3, 8), True),
    ("transpose", lambda lib, x: x.transpose(0, 2), True),
    ("permute", lambda lib, x: x.permute(2, 0, 1), True),
    ("t", lambda lib, x: x[0].t(), True),
    ("T_2d", lambda lib, x: x[1].T, True),
    ("mT", lambda lib, x: x.mT, True),
    ("narrow", lambda lib, x: x.narrow(1, 1, 2), True),
    ("select", lambda lib, x: x.select(2, -1), True),
    ("select_of_slice", lambda lib, x: x[:, 1:][1], True),
    ("unsqueeze", lambda lib, x: x.unsqueeze(1), True),
    ("squeeze", lambda lib, x: x[:, :1].squeeze(1), True),
    ("flatten_contiguous", lambda lib, x: x.flatten(), True),
    ("view_as", lambda lib, x: x.view_as(x.new_zeros(4, 6)), True),
    ("unflatten", lambda lib, x: x.unflatten(2, (2, 2)), True),
    ("movedim", lambda lib, x: x.movedim(0, -1), True),
    ("diagonal", lambda lib, x: x[0].diagonal(), True),
    ("detach", lambda lib, x: x.detach(), True),
    ("data", lambda lib, x: x.data, True),
    ("contiguous_is_self", lambda lib, x: x.contiguous(), True),
    ("expand", lambda lib, x: x[:, :1].expand(2, 3, 4), False),
    ("expand_as", lambda lib, x: x[:1].expand_as(x), False),
    ("broadcast_to", lambda lib, x: x[0, 0].broadcast_to((3, 4)), False),
    ("unbind", lambda lib, x: x.unbind(1)[2], True),
    ("split", lambda lib, x: x.split(2, dim=2)[1], True),
    ("chunk", lambda lib, x: x.chunk(3, dim=1)[0], True),
]


def _ids(rows):
    return [r[0] for r in rows]


@pytest.mark.parametrize("name,make,writable", VIEWS, ids=_ids(VIEWS))
def test_view_shares_memory_and_version(name, make, writable):
    def program(lib):
        x = T(lib, BASE)
        v = make(lib, x)
        out = {"offset": (v.data_ptr() - x.data_ptr()) // x.element_size(),
               "shape": tuple(v.shape), "contiguous": v.is_contiguous(),
               "is_view": v._is_view(), "base_is_x": v._base is x, "x_base": x._base,
               "same_object": v is x, "v0": v.clone()}
        ptr = x.data_ptr()
        x.add_(100)  # a write through the base is seen by the view
        out["v_after_base_write"] = v.clone()
        out["versions_1"] = (x._version, v._version)
        if writable:
            v.mul_(-1)  # a write through the view is seen by the base
            out["versions_2"] = (x._version, v._version)
        out["x_final"] = x
        out["ptr_unchanged"] = x.data_ptr() == ptr
        return out

    same(program)


@pytest.mark.parametrize("name,make,writable", VIEWS, ids=_ids(VIEWS))
def test_view_strides_and_storage_offset(name, make, writable):
    def program(lib):
        x = T(lib, BASE)
        v = make(lib, x)
        return v.stride(), v.storage_offset(), x.stride(), x.storage_offset()

    same(program)


# results that PyTorch computes into new memory: writing to them leaves the input alone
COPIES = [
    ("flip", lambda lib, x: x.flip(0)), ("clone", lambda lib, x: x.clone()),
    ("repeat", lambda lib, x: x.repeat(1, 1, 1)),
    ("int_tensor_index", lambda lib, x: x[T(lib, [1, 0])]),
    ("list_index", lambda lib, x: x[[0, 1]]), ("bool_mask_index", lambda lib, x: x[x > -1]),
    ("index_select", lambda lib, x: x.index_select(0, T(lib, [0, 1]))),
    ("cat", lambda lib, x: lib.cat([x, x[:0]])), ("stack", lambda lib, x: lib.stack([x])[0]),
    ("reshape_of_transpose", lambda lib, x: x.transpose(1, 2).reshape(-1)),
    ("contiguous_of_transpose", lambda lib, x: x.transpose(1, 2).contiguous()),
    ("to_float32", lambda lib, x: x.to(lib.float32)), ("add_zero", lambda lib, x: x + 0),
    ("flatten_of_transpose", lambda lib, x: x.transpose(0, 1).flatten()),
    ("repeat_interleave", lambda lib, x: x.repeat_interleave(1, dim=0)),
]


@pytest.mark.parametrize("name,make", COPIES, ids=_ids(COPIES))
def test_copies_do_not_share_memory(name, make):
    def program(lib):
        x = T(lib, BASE)
        c = make(lib, x)
        c.mul_(-5)
        return x, x._version, c._version

    same(program)


def test_a_select_of_an_expanded_view_is_writable():
    """x.expand(2, 3, 4)[1] has no overlapping elements: PyTorch writes through it into x."""
    def program(lib):
        x = T(lib, BASE[0])
        e = x.expand(2, 3, 4)
        e[1].add_(1)
        e[0, 1].mul_(2)
        return x, x._version, e

    same(program)


def test_reshape_copies_when_it_must():
    def program(lib):
        x = T(lib, BASE)
        r = x.transpose(0, 1).reshape(-1)  # not expressible as a view: a copy
        x.add_(1)
        return r, r._is_view(), r._base is None, x._version, r._version

    same(program)


def test_expanded_view_refuses_in_place_writes():
    def program(lib):
        x = T(lib, BASE)
        x[:, :1].expand(2, 3, 4).add_(1)

    same(program, torch_raises=True)


@pytest.mark.parametrize("which", ["unbind", "split", "chunk"])
def test_multi_output_views_are_views_without_grad(which):
    def program(lib):
        x = T(lib, BASE)
        parts = {"unbind": x.unbind(0), "split": x.split(1), "chunk": x.chunk(2)}[which]
        parts[1].fill_(-1)
        return x, x._version, [p._version for p in parts]

    same(program)


def test_view_of_view_has_the_root_as_base():
    def program(lib):
        x = T(lib, BASE)
        v = x[1]
        w = v.t()[2:]
        u = w.unsqueeze(0).select(0, 0)
        return (w._base is x, u._base is x, v._base is x, x._base is None,
                (u.data_ptr() - x.data_ptr()) // 8, u.stride())

    same(program)


def test_version_counter_sequences():
    """Each in-place op bumps the shared counter by one, whichever alias it goes through; ops
    that do not write (out-of-place, views, clone, detach) leave it alone."""
    def program(lib):
        x = T(lib, BASE)
        v, d = x[0], x.detach()
        log = [(x._version, v._version, d._version)]
        for step in (lambda: x.add_(1), lambda: v.mul_(2), lambda: d.zero_(),
                     lambda: x.sub_(1, alpha=2), lambda: v[1].fill_(3),
                     lambda: x.clone().add_(1), lambda: x + 1, lambda: x.view(-1),
                     lambda: x.__iadd__(1), lambda: x.__setitem__((0, 0), 5.0),
                     lambda: x.__setitem__(x > 10, 0.0), lambda: v.copy_(v * 0 + 1),
                     lambda: x.data.add_(1), lambda: x.detach().add_(1), lambda: x.clamp_(0, 4),
                     lambda: x.exp_(), lambda: x.unsqueeze_(0), lambda: x.squeeze_(0)):
            step()
            log.append((x._version, v._version, d._version))
        return log, x, v, d

    same(program)


def test_new_tensors_start_at_version_zero():
    def program(lib):
        x = T(lib, BASE)
        x.add_(1)
        return [t._version for t in (x.clone(), x + 0, x.contiguous().clone(), x.data,
                                     lib.zeros(3), x.detach(), x.view(-1), x[0])]

    same(program)


def test_data_and_detach_are_tensors_outside_the_graph():
    def program(lib):
        x = T(lib, BASE, requires_grad=True)
        y = x * 2
        out = {}
        for name, t in (("data", y.data), ("detach", y.detach()), ("x_data", x.data)):
            out[name] = (type(t) is lib.Tensor, t.requires_grad, t.is_leaf, t.grad_fn is None,
                         t.data_ptr() == (y if name != "x_data" else x).data_ptr(),
                         t._is_view(), t._base is None)
        y.data.add_(1)  # unseen by autograd: y's version is unchanged
        out["y_version_after_data_write"] = y._version
        y.detach().add_(1)  # detach shares the counter
        out["y_version_after_detach_write"] = y._version
        out["y"] = y.detach().clone()
        y.sum().backward()
        out["grad"] = x.grad
        return out

    same(program)


def test_data_setter_swaps_the_storage():
    def program(lib):
        x = T(lib, BASE)
        v = x[0]
        x.data = T(lib, -BASE[:1])
        x.add_(1)
        return x, v, tuple(x.shape), x._version

    same(program)


def test_numpy_and_asarray_share_memory():
    def program(lib):
        x = T(lib, BASE)
        a = x.numpy()
        b = np.asarray(x)
        a[0, 0, 0] = -7.0  # the NumPy array is the tensor's memory
        x[1, 2, 3] = -9.0
        return (type(a) is np.ndarray, np.shares_memory(a, b), float(b[0, 0, 0]),
                float(a[1, 2, 3]), x, x._version)

    same(program)


def test_numpy_of_a_view_is_a_view():
    def program(lib):
        x = T(lib, BASE)
        a = x[1].t().numpy()
        a[:] = 0.0
        return x, a.shape, a.strides

    same(program)


def test_numpy_refuses_a_tensor_that_requires_grad():
    def program(lib):
        return T(lib, BASE, requires_grad=True).numpy()

    same(program, message=False, torch_raises=True)


def test_view_made_before_sees_values_written_after():
    def program(lib):
        x = T(lib, BASE)
        rows, cols, diag = x[:, 1], x[..., 2], x[0].diagonal()
        x.mul_(-1)
        x[0] = 0.5
        x[1, :, 0].fill_(7)
        return rows, cols, diag, x

    same(program)


def test_in_place_ops_keep_data_ptr_and_identity():
    ops = ["add_(1)", "mul_(2)", "sub_(x)", "div_(3)", "neg_()", "abs_()", "exp_()", "clamp_(0, 1)",
           "zero_()", "fill_(2)", "copy_(x.flip(0))", "sigmoid_()", "tanh_()", "sqrt_()", "pow_(2)",
           "masked_fill_(x > 1, 0)", "relu_()", "uniform_()", "normal_()"]

    def program(lib):
        x = T(lib, BASE) + 1
        ptr, res = x.data_ptr(), []
        for op in ops:
            r = eval(f"x.{op}", {"x": x})
            res.append((op, r is x, x.data_ptr() == ptr, x._version))
        return res

    same(program)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_views_keep_dtype_element_size_and_strides(dtype):
    def program(lib):
        x = T(lib, BASE, dtype=dtype)
        v = x[1:].transpose(1, 2)
        return v.dtype, v.element_size(), (v.data_ptr() - x.data_ptr()) // x.element_size(), \
            v.stride(), v.storage_offset()

    same(program)


def test_is_view_is_not_a_copy_for_leaves_that_require_grad():
    """Views of a leaf that requires grad are non-leaf tensors whose grad_fn is a view node."""
    def program(lib):
        x = T(lib, BASE, requires_grad=True)
        v = x[0]
        w = x.detach()
        return (v.is_leaf, v.requires_grad, v._base is x, w.is_leaf, w.requires_grad,
                v.grad_fn is not None, torch_name(lib, v.grad_fn))

    same(program)


def torch_name(lib, node):
    """The grad_fn's op name, library-neutral ("Select" for SelectBackward0)."""
    return normalise(type(node).__name__ if is_torch(lib) else node.name())
