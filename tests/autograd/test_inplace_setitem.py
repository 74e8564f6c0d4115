"""`x[key] = value`, as PyTorch: every index kind Axonal reads (int, slice, ellipsis, None, bool
mask, int tensor, lists, mixed) with scalar and tensor values (broadcast), values and gradients
(to the base's inputs and to the value), in and out of the graph, and through views.
"""
import numpy as np
import pytest
from inplace_harness import T, fd_check, same

rng = np.random.default_rng(1)
A = rng.standard_normal((4, 5))
A3 = rng.standard_normal((2, 4, 5))
I = lambda *v: np.array(v, dtype=np.int64)

# (name, key builder (lib -> key), value shape for a tensor value of the indexed result's shape)
KEYS2 = [
    ("int", lambda lib: 1), ("neg_int", lambda lib: -1), ("slice", lambda lib: slice(1, 3)),
    ("slice_step", lambda lib: (slice(None), slice(0, None, 2))),
    ("neg_slice", lambda lib: slice(-3, -1)),
    ("int_slice", lambda lib: (2, slice(1, 4))), ("ellipsis", lambda lib: Ellipsis),
    ("ellipsis_int", lambda lib: (Ellipsis, 3)), ("none", lambda lib: (None, 1)),
    ("none_slice_none", lambda lib: (slice(None), None, 2)),
    ("bool_mask", lambda lib: T(lib, A > 0)), ("bool_rows", lambda lib: T(lib, I(1, 0, 1, 0) > 0)),
    ("bool_cols", lambda lib: (slice(None), T(lib, I(0, 1, 1, 0, 1) > 0))),
    ("int_tensor", lambda lib: T(lib, I(2, 0))), ("int_tensor_2d", lambda lib: T(lib, I(0, 3, 1,
                                                                                          0)[:2])),
    ("two_int_tensors", lambda lib: (T(lib, I(0, 2, 3)), T(lib, I(4, 0, 1)))),
    ("list", lambda lib: [0, 3]), ("list_of_lists", lambda lib: ([0, 1], [2, 2])),
    ("mixed_int_tensor", lambda lib: (1, T(lib, I(0, 4, 2)))),
    ("mixed_slice_tensor", lambda lib: (slice(1, None), T(lib, I(3, 1)))),
    ("zero_dim_int_tensor", lambda lib: T(lib, np.array(2))),
    ("empty_int_tensor", lambda lib: T(lib, I())),
]

VALUES = ["scalar", "int_scalar", "tensor_same", "tensor_broadcast", "zero_dim", "grad_tensor"]


def _ids(rows):
    return [r[0] for r in rows]


def _value(lib, kind, shape, leaf_v):
    if kind == "scalar":
        return -2.5
    if kind == "int_scalar":
        return 3
    if kind == "zero_dim":
        return T(lib, np.array(0.75))
    full = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) / 7 + 0.1
    if kind == "tensor_same":
        return T(lib, full)
    if kind == "tensor_broadcast":
        return T(lib, full[..., -1:] if len(shape) else full)
    return leaf_v.expand(*shape) * 1 if len(shape) else leaf_v.sum()  # grad_tensor: in the graph


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("name,key", KEYS2, ids=_ids(KEYS2))
def test_setitem_vs_torch(name, key, value):
    def program(lib):
        leaf = T(lib, A, requires_grad=True)
        leaf_v = T(lib, np.array(0.5), requires_grad=True)
        x = leaf * 1.0
        v = x[1:]  # a view made before: it sees the write
        k = key(lib)
        shape = tuple(x[k].shape)
        x[k] = _value(lib, value, shape, leaf_v)
        out = {"x": x, "view": v, "version": x._version}
        (x * x).sum().backward()
        out["grads"] = [leaf.grad, leaf_v.grad]
        return out

    same(program, message=False)


KEYS3 = [
    ("int_int", (1, 2)), ("slice_ellipsis", (slice(0, 1), Ellipsis, 0)),
    ("none_ellipsis", (None, Ellipsis, slice(1, 3))),
    ("separated_tensors", (I(0, 1), slice(None), I(4, 0))),
    ("tensor_slice_int", (I(1, 0), slice(1, 3), -1)),
    ("slice_bool_2d_mask", (slice(None), (A3 > 0.5)[0])),
]


@pytest.mark.parametrize("name,key", KEYS3, ids=_ids(KEYS3))
def test_setitem_3d_through_a_view(name, key):
    def program(lib):
        leaf = T(lib, A3, requires_grad=True)
        val = T(lib, np.array([1.5]), requires_grad=True)
        base = leaf.clone()
        y = base.transpose(0, 1)[:, :]  # a non-contiguous view: the write goes through to base
        k = tuple(T(lib, p) if isinstance(p, np.ndarray) else p for p in key)
        y.transpose(0, 1)[k] = val * 2
        (base.sin()).sum().backward()
        return base, base._version, leaf.grad, val.grad

    same(program, message=False)


def test_setitem_without_grad_on_leaf_and_int_tensor():
    def program(lib):
        x = T(lib, np.arange(12).reshape(3, 4))
        x[1] = 7
        x[:, T(lib, I(0, 3))] = T(lib, np.array([[-1, -2]]))
        x[x > 8] = 0
        x[..., 1] = 2.9  # a float into an int tensor is truncated, as PyTorch
        return x, x.dtype, x._version

    same(program)


def test_setitem_on_a_leaf_that_requires_grad_raises():
    def program(lib):
        x = T(lib, A, requires_grad=True)
        x[0] = 1.0

    same(program, torch_raises=True)


def test_setitem_on_a_leaf_under_no_grad():
    def program(lib):
        x = T(lib, A, requires_grad=True)
        with lib.no_grad():
            x[0] = 1.0
            x[:, 1] = T(lib, np.arange(4.0))
        return x.detach(), x._version, x.is_leaf, x.requires_grad, x.grad_fn is None

    same(program)


def test_setitem_value_shape_mismatch_raises():
    def program(lib):
        x = T(lib, A)
        x[1:3] = T(lib, np.ones((3, 5)))

    same(program, message=False, torch_raises=True)


def test_setitem_vs_finite_differences():
    mask = A > 0

    def loss(lib, leaf, val):
        x = leaf.sin() * 1.5  # exp would save its output, which the writes below overwrite
        x[T(lib, mask)] = val[T(lib, mask)] * 3
        x[:, 1:3] = val[0, :2]  # broadcast over rows
        x[1] = x[2] * 2 + x[3]  # a value computed from x itself (read before the write)
        return (x * x).sum()

    fd_check(loss, A, A[::-1].copy())


def test_setitem_with_a_value_aliasing_the_target():
    """x[1:] = x[:-1] reads an overlapping view of the same storage."""
    def program(lib):
        leaf = T(lib, A, requires_grad=True)
        x = leaf * 2
        x[1:] = x[:-1]
        (x * T(lib, A)).sum().backward()
        return x, leaf.grad

    same(program, message=False)
