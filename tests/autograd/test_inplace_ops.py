"""Differentiable in-place ops, against PyTorch (and finite differences in float64 for some).

Each op runs on a non-leaf (`x = leaf.clone()`), directly and through a view of it (the graph of the
base is rebased: PyTorch's CopySlices), and must give PyTorch's result, return `self`, bump the
version counter once, and give PyTorch's gradients for every leaf. Dtype rules are PyTorch's: the
result is cast to `self`'s dtype, and an op whose result type cannot be cast to it (a float result
into an int tensor) raises.
"""
import numpy as np
import pytest
from inplace_harness import T, fd_check, same

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
W = rng.standard_normal((3, 4))
POS = np.abs(A) + 0.5
UNIT = np.tanh(A) * 0.9  # inside (-1, 1)

# name, call (on x, with `o` an operand tensor of x's shape), domain of x
UNARY = [
    ("abs_", lambda x, o: x.abs_(), A), ("neg_", lambda x, o: x.neg_(), A),
    ("exp_", lambda x, o: x.exp_(), A), ("log_", lambda x, o: x.log_(), POS),
    ("log1p_", lambda x, o: x.log1p_(), POS), ("sqrt_", lambda x, o: x.sqrt_(), POS),
    ("rsqrt_", lambda x, o: x.rsqrt_(), POS), ("sin_", lambda x, o: x.sin_(), A),
    ("cos_", lambda x, o: x.cos_(), A), ("tanh_", lambda x, o: x.tanh_(), A),
    ("sigmoid_", lambda x, o: x.sigmoid_(), A), ("relu_", lambda x, o: x.relu_(), A),
    ("erf_", lambda x, o: x.erf_(), A), ("sign_", lambda x, o: x.sign_(), A),
    ("floor_", lambda x, o: x.floor_(), A * 3), ("ceil_", lambda x, o: x.ceil_(), A * 3),
    ("round_", lambda x, o: x.round_(), A * 3), ("trunc_", lambda x, o: x.trunc_(), A * 3),
    ("square_", lambda x, o: x.square_(), A), ("reciprocal_", lambda x, o: x.reciprocal_(), POS),
    ("clamp_", lambda x, o: x.clamp_(-0.5, 0.5), A),
    ("clamp_min_only", lambda x, o: x.clamp_(min=0.1), A),
    ("clamp_max_only", lambda x, o: x.clamp_(max=-0.1), A),
    ("clamp_tensor", lambda x, o: x.clamp_(min=o - 0.5, max=o + 0.5), A),
    ("clip_", lambda x, o: x.clip_(-0.3, 0.3), A),
    ("pow_scalar", lambda x, o: x.pow_(3), A), ("pow_half", lambda x, o: x.pow_(0.5), POS),
    ("pow_tensor", lambda x, o: x.pow_(o), POS),
    ("add_", lambda x, o: x.add_(o), A), ("add_alpha", lambda x, o: x.add_(o, alpha=-2.5), A),
    ("add_scalar", lambda x, o: x.add_(1.5), A),
    ("add_broadcast", lambda x, o: x.add_(o[0]), A),
    ("sub_", lambda x, o: x.sub_(o), A), ("sub_alpha", lambda x, o: x.sub_(o, alpha=3), A),
    ("mul_", lambda x, o: x.mul_(o), A), ("mul_scalar", lambda x, o: x.mul_(-2), A),
    ("mul_col", lambda x, o: x.mul_(o[:, :1]), A),
    ("div_", lambda x, o: x.div_(o.abs() + 0.5), A), ("div_scalar", lambda x, o: x.div_(4), A),
    ("div_floor", lambda x, o: x.div_(o.abs() + 0.5, rounding_mode="floor"), A * 3),
    ("divide_", lambda x, o: x.divide_(2.0), A), ("multiply_", lambda x, o: x.multiply_(o), A),
    ("subtract_", lambda x, o: x.subtract_(o), A),
    ("true_divide_", lambda x, o: x.true_divide_(3), A),
    ("cumsum_", lambda x, o: x.cumsum_(1), A), ("tril_", lambda x, o: x.tril_(), A),
    ("triu_", lambda x, o: x.triu_(1), A),
    ("masked_fill_", lambda x, o: x.masked_fill_(o > 0, -1.0), A),
    ("masked_fill_tensor", lambda x, o: x.masked_fill_(o > 0, o.sum()), A),
    ("copy_", lambda x, o: x.copy_(o * 2), A), ("copy_broadcast", lambda x, o: x.copy_(o[1]), A),
    ("fill_", lambda x, o: x.fill_(0.25), A), ("fill_tensor", lambda x, o: x.fill_(o.sum()), A),
    ("zero_", lambda x, o: x.zero_(), A), ("detach_", lambda x, o: x.detach_(), A),
    ("eq_", lambda x, o: x.eq_(o.round()), A.round()), ("lt_", lambda x, o: x.lt_(o), A),
    ("ge_", lambda x, o: x.ge_(0.0), A), ("logical_not_", lambda x, o: x.logical_not_(), A.round()),
    ("lerp_", lambda x, o: x.lerp_(o, 0.3), A),
    ("addcmul_", lambda x, o: x.addcmul_(o, o, value=0.5), A),
    ("addcdiv_", lambda x, o: x.addcdiv_(o, o.abs() + 1, value=2), A),
]


def _ids(rows):
    return [r[0] for r in rows]


def _program(call, domain, where, dtype=np.float64):
    """`call` on x = leaf.clone() (where="direct"), on a slice / transposed view of it, and the
    gradients of sum(w * x) for the leaf and the operand leaf."""
    def program(lib):
        leaf = T(lib, domain, requires_grad=True, dtype=dtype)
        other = T(lib, B, requires_grad=True, dtype=dtype)
        x = leaf.clone()
        target = {"direct": x, "slice": x[1:], "transposed": x.t(), "column": x[:, 2]}[where]
        o = {"direct": other, "slice": other[1:], "transposed": other.t(),
             "column": other[:, 2]}[where]
        before = x._version
        r = call(target, o)
        out = {"returns_self": r is target, "bumps": x._version - before, "x": x, "target": target}
        if x.requires_grad:
            (x * T(lib, W, dtype=dtype)).sum().backward()
        out["grads"] = [leaf.grad, other.grad]
        return out

    return program


@pytest.mark.parametrize("where", ["direct", "slice", "transposed"])
@pytest.mark.parametrize("name,call,domain", UNARY, ids=_ids(UNARY))
def test_in_place_op_vs_torch(name, call, domain, where):
    # PyTorch raises for a few (detach_ of a view; floor_divide_ has no derivative): Axonal must
    # raise the same exception type (the messages are compared by the safety tests)
    same(_program(call, domain, where), message=False)


@pytest.mark.parametrize("name,call,domain", UNARY[:30], ids=_ids(UNARY[:30]))
def test_in_place_op_float32_column_view(name, call, domain):
    same(_program(call, domain, "column", np.float32), rtol=1e-5, atol=1e-6, message=False)


FD = ["exp_", "log_", "sqrt_", "tanh_", "sigmoid_", "pow_tensor", "add_alpha", "mul_", "div_",
      "clamp_tensor", "cumsum_", "masked_fill_tensor", "copy_broadcast", "addcdiv_", "lerp_"]


@pytest.mark.parametrize("name", FD)
def test_in_place_op_vs_finite_differences(name):
    _, call, domain = next(r for r in UNARY if r[0] == name)

    def loss(lib, leaf, other):
        x = leaf.clone()
        call(x[1:], other[1:])  # through a view, so the base's graph is rebased
        return (x * T(lib, W)).sum()

    fd_check(loss, domain, B)


# -- operators ------------------------------------------------------------------------------------

IOPS = [("iadd", "+="), ("isub", "-="), ("imul", "*="), ("itruediv", "/="), ("ipow", "**="),
        ("ifloordiv", "//="), ("imod", "%=")]


@pytest.mark.parametrize("operand", ["tensor", "scalar", "row"])
@pytest.mark.parametrize("name,op", IOPS, ids=_ids(IOPS))
def test_augmented_assignment(name, op, operand):
    def program(lib):
        leaf = T(lib, POS, requires_grad=True)
        other = T(lib, POS[::-1] + 0.25, requires_grad=True)
        x = leaf.clone()
        ident, v = id(x), x[1:]
        y = {"tensor": other, "scalar": 1.5, "row": other[0]}[operand]
        scope = {"x": x, "y": y}
        exec(f"x {op} y", scope)  # noqa: S102 - the augmented assignment under test
        x = scope["x"]
        out = {"same_object": id(x) == ident, "version": x._version, "x": x, "view": v}
        if x.requires_grad:
            (x * T(lib, W)).sum().backward()
        out["grads"] = [leaf.grad, other.grad]
        return out

    same(program, message=False)  # //= has no derivative in PyTorch: it raises


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "//=", "%=", "&=", "|=", "^=", "<<=",
                                ">>="])
@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_augmented_assignment_integer_and_bool(op, dtype):
    """Integer / bool tensors: PyTorch's dtype rules (int /= int raises: the float result cannot
    be cast back; bool -= bool raises)."""
    def program(lib):
        x = T(lib, np.array([[3, 0, 5], [1, 2, 7]]), dtype=dtype)
        y = T(lib, np.array([[1, 1, 2], [1, 3, 1]]), dtype=dtype)
        ident = id(x)
        scope = {"x": x, "y": y}
        exec(f"x {op} y", scope)  # noqa: S102
        return scope["x"], id(scope["x"]) == ident, scope["x"]._version

    same(program, message=False)


@pytest.mark.parametrize("name,call", [
    ("exp_", lambda x: x.exp_()), ("add_float", lambda x: x.add_(0.5)),
    ("div_", lambda x: x.div_(2)), ("mul_int", lambda x: x.mul_(3)),
    ("sigmoid_", lambda x: x.sigmoid_()), ("pow_", lambda x: x.pow_(2)),
    ("clamp_", lambda x: x.clamp_(0, 4)), ("div_floor", lambda x: x.div_(2, rounding_mode="floor")),
    ("float_into_int_copy_", lambda x: x.copy_(x.float() * 1.7)),
    ("fill_float", lambda x: x.fill_(2.7)), ("abs_", lambda x: x.abs_()),
])
def test_result_type_must_fit_self(name, call):
    def program(lib):
        x = T(lib, np.array([[3, -2, 5], [1, 2, 7]]))
        r = call(x)
        return r is x, x, x.dtype, x._version

    same(program, message=False)


def test_float32_self_keeps_its_dtype():
    def program(lib):
        x = T(lib, A, dtype=np.float32)
        x.add_(T(lib, B))  # a float64 operand: the result is cast back to float32
        x.mul_(T(lib, np.array(2)))
        return x, x.dtype

    same(program, rtol=1e-6)


def test_self_cannot_broadcast():
    def program(lib):
        x = T(lib, A[:, :1])
        x.add_(T(lib, A))

    same(program, message=False, torch_raises=True)


def test_in_place_op_on_a_tensor_that_does_not_require_grad_with_an_operand_that_does():
    """x does not require grad; after x.mul_(w) it does, and its gradient reaches w."""
    def program(lib):
        w = T(lib, B, requires_grad=True)
        x = T(lib, A)
        x[1:].mul_(w[1:])
        out = [x.requires_grad, x.is_leaf, x._version]
        (x * T(lib, W)).sum().backward()
        return out, w.grad, x

    same(program)


def test_in_place_under_no_grad_is_not_recorded():
    def program(lib):
        leaf = T(lib, A, requires_grad=True)
        x = leaf * 2
        with lib.no_grad():
            x.mul_(3)
            x[0].add_(1)
        out = [x._version, x.requires_grad]
        (x * T(lib, W)).sum().backward()
        return out, leaf.grad, x

    same(program)


def test_chained_in_place_ops_return_self():
    def program(lib):
        leaf = T(lib, A, requires_grad=True)
        x = leaf.clone()
        y = x.mul_(2).add_(1).clamp_(-0.5, 0.9).tanh_()
        (y * T(lib, W)).sum().backward()
        return y is x, x._version, x, leaf.grad

    same(program, torch_raises=False)


def test_chained_in_place_ops_overwrite_a_saved_output():
    """tanh_ saves its output for backward; the clamp_ after it overwrites it: backward raises,
    naming the node and the versions (4, expected 3)."""
    def program(lib):
        leaf = T(lib, A, requires_grad=True)
        x = leaf.clone()
        x.mul_(2).add_(1).tanh_().clamp_(-0.5, 0.9)
        (x * T(lib, W)).sum().backward()

    same(program, torch_raises=True)


# -- shape-changing in-place ops -------------------------------------------------------------------

SHAPE = [
    ("unsqueeze_", lambda x: x.unsqueeze_(1)), ("unsqueeze_neg", lambda x: x.unsqueeze_(-1)),
    ("squeeze_", lambda x: x.unsqueeze_(0).squeeze_()),
    ("squeeze_dim", lambda x: x[:1].squeeze_(0)),
    ("t_", lambda x: x.t_()), ("transpose_", lambda x: x.transpose_(0, 1)),
    ("swapaxes_", lambda x: x.swapaxes_(0, 1)),
    ("resize_same_numel", lambda x: x.resize_(4, 3)), ("resize_smaller", lambda x: x.resize_(2, 2)),
    ("resize_as_", lambda x: x.resize_as_(x.new_zeros(6, 2))),
    ("as_strided_", lambda x: x.as_strided_((2, 2), (1, 4), 1)),
]


@pytest.mark.parametrize("grad", [False, True], ids=["plain", "in_graph"])
@pytest.mark.parametrize("name,call", SHAPE, ids=_ids(SHAPE))
def test_shape_in_place(name, call, grad):
    """Shape ops change the tensor's metadata, not its memory: same data_ptr, new shape/strides.
    In the graph, PyTorch differentiates some of them and refuses resize_."""
    def program(lib):
        leaf = T(lib, A, requires_grad=grad)
        x = leaf.clone() if grad else leaf
        ptr = x.data_ptr()
        r = call(x)
        out = [r is x, tuple(x.shape), x.stride(), x.data_ptr() == ptr, x._version, x]
        if grad:
            (x * x).sum().backward()
            out.append(leaf.grad)
        return out

    same(program, message=False)


# -- indexing in-place ops ------------------------------------------------------------------------

IDX = np.array([2, 0])
IDX_REP = np.array([1, 1, 0])
SCAT = np.array([[0, 2, 1, 2], [2, 1, 0, 0]])
MASK = A > 0

INDEXING = [
    ("index_add_", lambda lib, x, s: x.index_add_(0, T(lib, IDX_REP), s[:3])),
    ("index_add_alpha", lambda lib, x, s: x.index_add_(1, T(lib, IDX), s[:, :2], alpha=-2)),
    ("index_copy_", lambda lib, x, s: x.index_copy_(0, T(lib, IDX), s[:2])),
    ("index_fill_", lambda lib, x, s: x.index_fill_(1, T(lib, IDX), -3.0)),
    ("index_fill_tensor", lambda lib, x, s: x.index_fill_(0, T(lib, IDX), s.sum())),
    ("index_put_", lambda lib, x, s: x.index_put_((T(lib, IDX), T(lib, IDX)), s[0, :2])),
    ("index_put_accumulate", lambda lib, x, s: x.index_put_((T(lib, IDX_REP),), s[:3],
                                                            accumulate=True)),
    ("scatter_", lambda lib, x, s: x.scatter_(0, T(lib, SCAT[:, :3]), s[:2, :3])),
    ("scatter_value", lambda lib, x, s: x.scatter_(1, T(lib, SCAT.T[:3, :1]), 1.5)),
    ("scatter_add_", lambda lib, x, s: x.scatter_add_(0, T(lib, SCAT), s[:2])),
    ("masked_fill_", lambda lib, x, s: x.masked_fill_(T(lib, MASK), 0.0)),
    ("masked_fill_row_mask", lambda lib, x, s: x.masked_fill_(T(lib, MASK[0]), s[0, 0])),
    ("masked_scatter_", lambda lib, x, s: x.masked_scatter_(T(lib, MASK), s)),
    ("masked_scatter_bcast", lambda lib, x, s: x.masked_scatter_(T(lib, MASK[1]), s)),
]


@pytest.mark.parametrize("where", ["direct", "view"])
@pytest.mark.parametrize("name,call", INDEXING, ids=_ids(INDEXING))
def test_indexing_in_place(name, call, where):
    def program(lib):
        leaf = T(lib, A, requires_grad=True)
        src = T(lib, B, requires_grad=True)
        big = leaf.clone() if where == "direct" else T(lib, np.zeros((2, 3, 4))) + leaf
        x = big if where == "direct" else big[1]
        r = call(lib, x, src)
        out = {"returns_self": r is x, "version": x._version, "x": x}
        (big * big).sum().backward()
        out["grads"] = [leaf.grad, src.grad]
        return out

    same(program)


def test_index_add_vs_finite_differences():
    def loss(lib, leaf, src):
        x = leaf.clone()
        x.t().index_add_(0, T(lib, IDX), src[:, :2].t(), alpha=0.5)
        return (x.sin() * T(lib, W)).sum()

    fd_check(loss, A, B)


def test_copy_between_dtypes_and_to_a_view_sends_the_gradient_to_the_source():
    def program(lib):
        src = T(lib, B, requires_grad=True, dtype=np.float32)
        leaf = T(lib, A, requires_grad=True)
        x = leaf.clone()
        x[:, 1:3].copy_(src[:, :2])  # float32 into a float64 view
        (x * T(lib, W)).sum().backward()
        return x, x.dtype, src.grad, src.grad.dtype, leaf.grad

    same(program, rtol=1e-6)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0, 4)], ids=str)
def test_in_place_on_empty_tensors(shape):
    """Empty tensors have no elements to overlap: every in-place op is a no-op but a write."""
    def program(lib):
        leaf = T(lib, np.zeros(shape), requires_grad=True)
        x = leaf * 2
        res = []
        for op in (lambda t: t.add_(1), lambda t: t.mul_(3), lambda t: t.sub_(2),
                   lambda t: t.fill_(3), lambda t: t.zero_(), lambda t: t.copy_(t * 2),
                   lambda t: t.masked_fill_(t > 0, 1.0), lambda t: t.clamp_(0, 1)):
            r = op(x)
            res.append((r is x, x._version))
        x.sum().backward()
        plain = T(lib, np.zeros(shape))
        plain.add_(1).mul_(2).uniform_()
        return res, leaf.grad, plain, plain._version

    same(program)


def test_in_place_comparison_cuts_the_gradient():
    """x.eq_(y) writes 0/1: the gradient through x is zero (PyTorch), not passed through."""
    def program(lib):
        leaf = T(lib, A, requires_grad=True)
        x = leaf * 1.0
        x.gt_(0.0)
        (x * T(lib, W)).sum().backward()
        return x, leaf.grad

    same(program)


def test_overwriting_fill_leaves_a_zero_gradient_not_none():
    """After x.zero_() / fill_ / copy_ of a constant, PyTorch's leaf gradient is a zero tensor."""
    def program(lib):
        out = []
        for op in (lambda t: t.zero_(), lambda t: t.fill_(2.0), lambda t: t.copy_(t.detach() * 3)):
            leaf = T(lib, A, requires_grad=True)
            x = leaf * 1.0
            op(x)
            (x * T(lib, W)).sum().backward()
            out.append(leaf.grad)
        return out

    same(program)
