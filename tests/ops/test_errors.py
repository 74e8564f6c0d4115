"""Errors are clear: the right type (ShapeError / DTypeError / GraphError, which are also the
ValueError/TypeError/RuntimeError that Python and PyTorch users catch) and a message that names the
op and the offending shapes or dtypes."""
import numpy as np
import pytest

import axonal
from axonal import DTypeError, GraphError, ShapeError


def ones(*shape, **kw):
    return axonal.ones(*shape, **kw)


def test_error_types_are_python_and_torch_compatible():
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, RuntimeError)
    assert issubclass(DTypeError, TypeError) and issubclass(DTypeError, RuntimeError)
    assert issubclass(GraphError, RuntimeError)


def test_matmul_shape_mismatch_names_op_and_shapes():
    with pytest.raises(ShapeError) as e:
        ones(4, 3) @ ones(4, 3)
    msg = str(e.value)
    assert "matmul" in msg and "(4, 3)" in msg
    assert "3 != 4" in msg  # which dimensions disagree
    with pytest.raises(RuntimeError, match="matmul"):  # what ported PyTorch code catches
        axonal.matmul(ones(4, 3), ones(4, 3))


def test_add_broadcast_failure_names_op_and_shapes():
    with pytest.raises(ShapeError) as e:
        ones(2, 3) + ones(4)
    msg = str(e.value)
    assert "add" in msg and "(2, 3)" in msg and "(4,)" in msg and "broadcast" in msg


def test_reshape_to_wrong_size():
    with pytest.raises(ShapeError) as e:
        ones(2, 3).reshape(4, 5)
    msg = str(e.value)
    assert "reshape" in msg and "(4, 5)" in msg and "6" in msg


def test_cat_with_mismatched_shapes():
    with pytest.raises(ShapeError) as e:
        axonal.cat([ones(2, 3), ones(2, 4)], dim=0)
    msg = str(e.value)
    assert "cat" in msg and "(2, 3)" in msg and "(2, 4)" in msg


def test_gather_index_out_of_range():
    x = ones(3, 4)
    with pytest.raises(IndexError) as e:
        axonal.gather(x, 1, axonal.tensor([[0, 4], [1, 2], [0, 0]]))
    msg = str(e.value)
    assert "gather" in msg and "out of range" in msg and "4" in msg
    with pytest.raises(IndexError, match="gather"):
        axonal.gather(x, 1, axonal.tensor([[-1, 0], [0, 0], [0, 0]]))


def test_backward_through_freed_graph():
    x = ones(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(GraphError) as e:
        y.backward()
    msg = str(e.value)
    assert "retain_graph" in msg and "second time" in msg


def test_backward_on_non_scalar():
    y = ones(2, 3, requires_grad=True) * 2
    with pytest.raises(GraphError) as e:
        y.backward()
    msg = str(e.value)
    assert "scalar" in msg and "(2, 3)" in msg


def test_requires_grad_on_int():
    with pytest.raises(DTypeError) as e:
        axonal.tensor([1, 2, 3]).requires_grad_()
    msg = str(e.value)
    assert "floating" in msg and "int64" in msg
    with pytest.raises(RuntimeError):  # PyTorch raises RuntimeError here
        axonal.tensor([1, 2, 3], requires_grad=True)


@pytest.mark.parametrize("fn,exc,needles", [
    (lambda: ones(2, 3) - ones(3, 2), ShapeError, ["sub", "(2, 3)", "(3, 2)"]),
    (lambda: ones(2, 3) * ones(4, 1, 2), ShapeError, ["mul", "(2, 3)", "(4, 1, 2)"]),
    (lambda: ones(2, 3) / ones(2), ShapeError, ["div", "(2, 3)", "(2,)"]),
    (lambda: ones(2) ** ones(3), ShapeError, ["pow", "(2,)", "(3,)"]),
    (lambda: axonal.maximum(ones(2), ones(3)), ShapeError, ["maximum", "(2,)", "(3,)"]),
    (lambda: axonal.where(ones(2).bool(), ones(3), ones(2)), ShapeError, ["where", "(3,)"]),
    (lambda: ones(3) @ ones(4), ShapeError, ["matmul", "(3,)", "(4,)"]),
    (lambda: ones(2, 2, 3) @ ones(3, 3, 2), ShapeError, ["matmul", "(2, 2, 3)", "(3, 3, 2)"]),
    (lambda: axonal.matmul(ones(()), ones(3)), ShapeError, ["matmul", "()"]),
    (lambda: axonal.mm(ones(3), ones(3, 2)), ShapeError, ["mm", "(3,)"]),
    (lambda: axonal.bmm(ones(2, 3, 4), ones(3, 4, 5)), ShapeError, ["bmm", "(2, 3, 4)"]),
    (lambda: ones(6).view(4, -1), ShapeError, ["(4, -1)", "6"]),
    (lambda: ones(2, 3).T.view(6), ShapeError, ["view", "(6,)", "(3, 2)", "reshape"]),
    (lambda: ones(6).reshape(-1, -1), ShapeError, ["reshape", "-1"]),
    (lambda: ones(3, 1).expand(3, 4, 2), ShapeError, ["expand", "(3, 1)"]),
    (lambda: ones(2, 3).expand(2, 4), ShapeError, ["expand", "(2, 3)"]),
    (lambda: ones(2, 3).permute(0), ShapeError, ["permute", "(2, 3)"]),
    (lambda: axonal.stack([ones(2), ones(3)]), ShapeError, ["stack", "(2,)", "(3,)"]),
    (lambda: axonal.cat([ones(2, 3), ones(3)], 0), ShapeError, ["cat", "(2, 3)", "(3,)"]),
    (lambda: ones(5).split([2, 2]), ShapeError, ["split", "[2, 2]", "5"]),
    (lambda: ones(2, 3).repeat(2), ShapeError, ["repeat"]),
    (lambda: ones(2, 3).sum(2), IndexError, ["sum", "2", "[-2, 1]"]),
    (lambda: ones(2, 3).softmax(dim=3), IndexError, ["softmax", "3"]),
    (lambda: ones(2, 3).unsqueeze(4), IndexError, ["unsqueeze", "4"]),
    (lambda: ones(2, 3).transpose(0, 2), IndexError, ["transpose", "2"]),
    (lambda: ones(2, 3)[3], IndexError, ["index", "(2, 3)"]),
    (lambda: ones(2, 3)[:, axonal.tensor([0, 5])], IndexError, ["index", "(2, 3)"]),
    (lambda: ones(2, 3)[ones(2)], IndexError, ["integer or bool", "float32"]),
    (lambda: ones(2, 3).gather(0, axonal.tensor([0, 1])), ShapeError, ["gather", "(2,)",
                                                                       "(2, 3)"]),
    (lambda: ones(2, 3).gather(1, ones(2, 3)), TypeError, ["gather", "float32"]),
    (lambda: ones(2, 3).scatter(1, axonal.tensor([[3, 0]]), ones(1, 2)), IndexError,
     ["scatter", "out of range"]),
    (lambda: ones(2, 3).index_select(0, axonal.tensor([[0]])), ShapeError, ["index_select"]),
    (lambda: ones(2, 3).masked_fill(ones(2, 3), 0.0), TypeError, ["masked_fill", "bool"]),
    (lambda: ones(4, 3).index_put((axonal.tensor([0, 1]),), ones(3, 3)), ShapeError,
     ["index_put", "(3, 3)"]),
    (lambda: axonal.linear(ones(2, 3), ones(4, 5)), ShapeError, ["linear", "(2, 3)", "(4, 5)"]),
    (lambda: axonal.amax(ones(0, 3), 0), ValueError, ["amax", "empty", "(0, 3)"]),
    (lambda: axonal.max(ones(0)), ValueError, ["max", "empty"]),
    (lambda: axonal.mean(axonal.tensor([1, 2])), TypeError, ["mean", "int64"]),
    (lambda: ones(2, 3).item(), ValueError, ["item", "(2, 3)"]),
    (lambda: bool(ones(2)), RuntimeError, ["ambiguous"]),
    (lambda: axonal.tensor(["a"]), TypeError, ["tensor"]),
    (lambda: axonal.zeros(2, dtype="complex128"), TypeError, ["complex128"]),
])
def test_errors_name_the_op_and_the_operands(fn, exc, needles):
    with pytest.raises(exc) as e:
        fn()
    msg = str(e.value)
    for n in needles:
        assert n in msg, f"{n!r} not in error message: {msg!r}"


def test_matmul_dtype_mismatch_names_dtypes():
    with pytest.raises(TypeError) as e:
        ones(2, 3) @ ones(3, 2, dtype=axonal.float64)
    assert "matmul" in str(e.value) and "float32" in str(e.value) and "float64" in str(e.value)


def test_graph_misuse_errors():
    x = ones(3, requires_grad=True)
    with pytest.raises(GraphError, match="does not require grad"):
        ones(3).sum().backward()
    with pytest.raises(GraphError, match="shape"):
        (x * 2).backward(ones(2))
    with pytest.raises(GraphError, match="in-place"):
        x.zero_()
    with pytest.raises(GraphError, match="detach"):
        (x * 2).requires_grad_(False)
    with pytest.raises(GraphError, match="input 0"):
        axonal.autograd.grad((x * 2).sum(), ones(3))
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(GraphError, match="retain_graph"):
        axonal.autograd.grad(y, x)


def test_saved_tensors_access_after_release_is_clear():
    seen = {}

    class Keep(axonal.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            seen["ctx"] = ctx
            return x._data * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = ones(2, requires_grad=True)
    Keep.apply(x).sum().backward()
    with pytest.raises(GraphError, match="freed"):
        _ = seen["ctx"].saved_tensors


def test_error_messages_for_numpy_interop():
    with pytest.raises(GraphError, match="detach"):
        ones(2, requires_grad=True).numpy()
    with pytest.raises(TypeError, match="from_numpy"):
        axonal.from_numpy([1.0])
    with pytest.raises(TypeError, match="not supported"):
        axonal.from_numpy(np.zeros(2, dtype=np.complex64))


@pytest.mark.parametrize("name", ["tril", "triu"])
def test_triangle_needs_a_matrix_as_in_torch(name):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch, name)(torch.ones(3))
    with pytest.raises(RuntimeError) as ours:
        getattr(axonal, name)(ones(3))
    assert str(ours.value).startswith(str(theirs.value))  # "tril: input tensor must have at least 2 dimensions"
