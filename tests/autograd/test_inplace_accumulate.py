"""`.grad` accumulation in place (PyTorch's AccumulateGrad) without corrupting anything that holds a
gradient array: hooks that keep the gradients they see, the caller's `gradient=` tensors, a
gradient shared by two leaves; plus remainder / floor_divide / shifts as PyTorch's."""
import numpy as np
import pytest
from inplace_harness import T, fd_check, same

rng = np.random.default_rng(7)
A = rng.standard_normal((3, 4))
B = np.abs(rng.standard_normal((3, 4))) + 0.5
G = rng.standard_normal((3, 4))


def test_accumulation_keeps_the_tensor_and_bumps_once_per_backward():
    def program(lib):
        w = T(lib, A, requires_grad=True)
        (w * w * w).sum().backward()  # three contributions to one leaf: one accumulation
        g, ptr, versions = w.grad, w.grad.data_ptr(), [w.grad._version]
        for _ in range(2):
            (w * w + w).sum().backward()
            versions.append(w.grad._version)
        # (the first version depends on how each library sums the first pass's contributions)
        return g is w.grad, w.grad.data_ptr() == ptr, np.diff(versions).tolist(), w.grad

    same(program)


def test_create_graph_accumulates_out_of_place():
    def program(lib):
        w = T(lib, A, requires_grad=True)
        (w * w).sum().backward(create_graph=True)
        g = w.grad
        (w * w).sum().backward(create_graph=True)
        return g is w.grad, g, w.grad, w.grad.requires_grad

    same(program)


def test_hooks_keep_what_they_saw():
    """A tensor hook and a node hook that keep their gradients: later passes do not change them."""
    def program(lib):
        w = T(lib, A, requires_grad=True)
        seen = []
        w.register_hook(lambda g: seen.append(g))
        v = T(lib, B, requires_grad=True)
        kept = []
        for k in range(3):
            y = v * float(k + 1)
            y.grad_fn.register_hook(lambda gi, go: kept.append(gi[0]))
            y.sum().backward()
            (w * float(k + 2)).sum().backward()
        return seen, kept, w.grad, v.grad

    same(program)


def test_the_callers_gradient_is_never_written():
    def program(lib):
        w = T(lib, A, requires_grad=True)
        gw = T(lib, G)
        w.backward(gw)  # a leaf as the root: its seed is the caller's tensor
        w.backward(gw)
        v = T(lib, A, requires_grad=True)
        gv = T(lib, G)
        for _ in range(2):
            v.clone().backward(gv)  # clone's backward hands the seed on unchanged
        return gw, gv, w.grad, v.grad

    same(program)


def test_one_gradient_for_two_leaves():
    def program(lib):
        a = T(lib, A, requires_grad=True)
        b = T(lib, B, requires_grad=True)
        for _ in range(2):
            (a + b).sum().backward()  # add hands the same gradient to both
        a.grad.mul_(10)
        return a.grad, b.grad

    same(program)


def test_grad_held_by_the_optimizer_pattern():
    """p.grad read as `g = p.grad` before a zero_grad(set_to_none=False) and a new backward:
    the same tensor, now holding the new gradient (PyTorch's semantics)."""
    def program(lib):
        p = T(lib, A, requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1)
        (p * p).sum().backward()
        g = p.grad
        opt.step()
        opt.zero_grad(set_to_none=False)
        (p * 3).sum().backward()
        return g is p.grad, g, p

    same(program)


# -- remainder, floor_divide, shifts ----------------------------------------------------------------

@pytest.mark.parametrize("form", ["tensor", "scalar", "row", "number_first"])
def test_remainder_vs_torch(form):
    def program(lib):
        a = T(lib, A * 3, requires_grad=True)
        b = T(lib, B, requires_grad=True)
        y = {"tensor": lambda: a % b, "scalar": lambda: a % 0.7, "row": lambda: a % b[0],
             "number_first": lambda: 2.5 % b}[form]()
        out = [y, type(y.grad_fn).__name__]
        try:
            (y * T(lib, G)).sum().backward()
        except RuntimeError as exc:  # number % tensor: PyTorch has no derivative
            out.append(str(exc))
        return out + [a.grad, b.grad]

    same(program)


def test_remainder_vs_finite_differences():
    def loss(lib, a, b):
        return ((a * 3) % (b.abs() + 0.5) * T(lib, G)).sum()

    fd_check(loss, A, B)


def test_floor_divide_records_a_node_without_derivative():
    def program(lib):
        a = T(lib, A * 3, requires_grad=True)
        y = a // 0.7
        out = [y, y.requires_grad, type(y.grad_fn).__name__]
        y.sum().backward()
        return out

    same(program, torch_raises=True)


@pytest.mark.parametrize("op", ["<<", ">>"])
def test_shifts_vs_torch(op):
    def program(lib):
        x = T(lib, np.array([[3, -8, 5], [1, 2, 7]]))
        s = T(lib, np.array([[1, 2, 0], [3, 1, 2]]))
        out = [eval(f"x {op} s"), eval(f"x {op} 2")]  # noqa: S307 - the operator under test
        name = "bitwise_left_shift" if op == "<<" else "bitwise_right_shift"
        out.append(getattr(lib, name)(x, s))
        try:
            eval(f"T(lib, A) {op} 1")  # noqa: S307
        except Exception as exc:  # noqa: BLE001 - the exception type is compared
            out.append(type(exc).__name__)
        return out

    same(program)


def test_fresh_reference_count_is_measured_for_this_interpreter():
    """The first gradient is stored without a copy only when its array's reference count is that
    of a fresh array; the baseline is measured at import, and an array with one more holder is
    above it (so it is copied, never aliased)."""
    import sys

    from axonal import _engine

    holder = _engine._Holder()
    holder._data = object()
    data, extra = holder._data, None
    assert sys.getrefcount(data) == _engine.FRESH_REFS
    extra = data  # noqa: F841  (a second holder)
    assert sys.getrefcount(data) > _engine.FRESH_REFS
