"""diagonal / as_strided (views with explicit geometry), alpha dropout and dropout3d details, as
PyTorch: values, view-ness, strides, gradients of first and second order, errors."""
import math
import warnings

import numpy as np
import pytest
from inplace_harness import T, fd_check, same

rng = np.random.default_rng(14)
A = rng.standard_normal((3, 4, 5))
W = rng.standard_normal((3, 4, 5))

DIAGS = [(0, 0, 1), (1, 0, 1), (-2, 0, 1), (2, 1, 2), (0, 2, 0), (-1, -1, 0), (9, 0, 1)]


@pytest.mark.parametrize("offset,dim1,dim2", DIAGS)
def test_diagonal_vs_torch(offset, dim1, dim2):
    def program(lib):
        leaf = T(lib, A, requires_grad=True)
        x = leaf * 1.0
        d = x.diagonal(offset, dim1, dim2)
        f = lib.diagonal(x, offset=offset, dim1=dim1, dim2=dim2)
        out = [d, f, d.stride(), d.storage_offset(), d._base is x, d.is_contiguous()]
        w = T(lib, np.random.default_rng(0).standard_normal(tuple(d.shape)))
        g, = lib.autograd.grad((d * d * w).sum(), leaf, create_graph=True)
        gg, = lib.autograd.grad((g * T(lib, W)).sum(), leaf)  # second order: 2 w W on the diagonal
        return out + [g, gg]

    same(program)


def test_diagonal_errors_and_write_through():
    def program(lib):
        x = T(lib, A[0])
        x.diagonal(1).fill_(-1.0)  # writes go through to x
        out = [x, x._version]
        for call in (lambda: x.diagonal(0, 1, 1), lambda: x.diagonal(0, 0, 2)):
            try:
                call()
            except Exception as exc:  # noqa: BLE001 - the error type is compared
                out.append(type(exc).__name__)
        return out

    same(program)


def test_diagonal_second_order_vs_finite_differences():
    def loss(lib, a):
        d = (a * a).diagonal(1, 0, 2)
        return (d.sin() * T(lib, W[:, 0, :4].T)).sum()

    fd_check(loss, A)


STRIDED = [((2, 2), (1, 4), None), ((3, 3), (1, 1), 2), ((2, 3), (0, 1), 5), ((4,), (5,), 1),
           ((2, 2, 2), (20, 5, 1), 0)]


@pytest.mark.parametrize("size,stride,offset", STRIDED)
@pytest.mark.parametrize("of", ["whole", "row"])
def test_as_strided_vs_torch(size, stride, offset, of):
    """Overlapping results (stride 0, sliding windows) sum their gradients per storage element."""
    def program(lib):
        leaf = T(lib, A, requires_grad=True)
        x = leaf * 1.0
        src = x if of == "whole" else x[1]
        v = src.as_strided(size, stride, offset) if offset is not None else \
            src.as_strided(size, stride)
        w = T(lib, np.random.default_rng(0).standard_normal(size))
        g, = lib.autograd.grad((v * v * w).sum(), leaf, create_graph=True)
        gg, = lib.autograd.grad((g * g).sum(), leaf)
        return v, v.stride(), v.storage_offset(), v._base is x, g, gg

    same(program)


def test_as_strided_vs_finite_differences():
    def loss(lib, a):
        v = (a * 1.0).as_strided((3, 3), (1, 1), 2)  # overlapping sliding windows
        return (v.exp() * T(lib, W[0, :3, :3])).sum()

    fd_check(loss, A)


def test_as_strided_out_of_bounds_raises():
    def program(lib):
        lib.tensor(A).as_strided((5, 20), (20, 1))

    same(program, torch_raises=True)


def test_as_strided_in_place_writes_and_shares():
    def program(lib):
        x = T(lib, A[0])
        v = x.as_strided((2, 2), (1, 5), 3)
        v.mul_(10)
        return x, x._version, v._version

    same(program)


# -- dropout details -------------------------------------------------------------------------------

def test_alpha_dropout_values_follow_the_formula():
    """Kept: x a + alpha' a p; dropped: alpha' a (p - 1); a = ((1 - p)(1 + p alpha'^2))^-1/2."""
    import axonal

    p, alpha = 0.3, 1.7580993408473766
    a = 1 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    x = axonal.tensor(rng.standard_normal((40, 30)))
    y = axonal.nn.functional.alpha_dropout(x, p, training=True).numpy()
    kept = np.isclose(y, x.numpy() * a + alpha * a * p)
    assert np.allclose(y[~kept], alpha * a * (p - 1))
    assert 0.6 < kept.mean() < 0.8
    assert axonal.nn.functional.alpha_dropout(x, p) is x  # training defaults to False


@pytest.mark.parametrize("shape", [(2, 3), (3, 2, 2, 2)])
def test_dropout3d_unbatched_drops_along_the_first_dim(shape):
    import axonal

    x = axonal.ones(shape)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = axonal.nn.functional.dropout3d(x, 0.5, training=True).numpy()
    assert len(caught) == (1 if len(shape) != 4 else 0)
    per = y.reshape(shape[0], -1)
    assert np.all(per.min(1) == per.max(1)) and set(np.unique(per)) <= {0.0, 2.0}


def test_feature_alpha_dropout_needs_two_dims():
    def program(lib):
        lib.nn.functional.feature_alpha_dropout(T(lib, A[0, 0]), 0.4, True)

    same(program, torch_raises=True)


# -- forward AD through the in-place machinery ------------------------------------------------------

@pytest.mark.parametrize("write", ["view_mul", "fill_expanded_row", "eq_operand", "diagonal"])
def test_forward_ad_through_in_place_writes_vs_torch(write):
    def program(lib):
        fw = lib.autograd.forward_ad
        other = T(lib, A[0, 0, :3], requires_grad=True) * 1.0
        with fw.dual_level():
            d = fw.make_dual(T(lib, A[0]), T(lib, W[0]))
            y = d * 2.0
            if write == "view_mul":
                y[1:3].mul_(d[1:3])
            elif write == "fill_expanded_row":
                y[0].fill_(0.5)
            elif write == "eq_operand":
                y[:, :3].eq_(other.round())
            else:
                y.diagonal().mul_(3.0)
            return fw.unpack_dual(y).tangent, y.detach()

    same(program)
