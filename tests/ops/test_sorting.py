"""sort / argsort / topk / msort against PyTorch (values, indices, gradients) and gradcheck."""
import numpy as np
import pytest

import axonal
from axonal._errors import ShapeError
from axonal.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")


def _data(shape, seed=0, ties=True, nan=False):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, shape).astype(np.float32) if ties else \
        rng.standard_normal(shape).astype(np.float32)
    if nan:
        x.reshape(-1)[::7] = np.nan
    return x


@pytest.mark.parametrize("shape,dim", [((7,), 0), ((4, 6), 1), ((4, 6), 0), ((3, 5, 4), -2)])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("nan", [False, True])
def test_sort_matches_torch_stable(shape, dim, descending, nan):
    x = _data(shape, nan=nan)
    g = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    va, ia = axonal.sort(xa, dim=dim, descending=descending, stable=True)
    vt, it = torch.sort(xt, dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(ia.numpy(), it.numpy())
    np.testing.assert_array_equal(va.detach().numpy(), vt.detach().numpy())
    axonal.where(axonal.isnan(va), 0.0, va * axonal.tensor(g)).sum().backward()
    torch.where(torch.isnan(vt), 0.0, vt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy())
    np.testing.assert_array_equal(axonal.argsort(xa, dim, descending, stable=True).numpy(),
                                  it.numpy())


@pytest.mark.parametrize("k,dim,largest", [(3, -1, True), (3, -1, False), (1, 0, True),
                                           (0, 1, True), (6, 1, False)])
def test_topk_matches_torch(k, dim, largest):
    x = _data((4, 6), ties=False)
    xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    va, ia = xa.topk(k, dim=dim, largest=largest)
    vt, it = xt.topk(k, dim=dim, largest=largest)
    np.testing.assert_array_equal(ia.numpy(), it.numpy())
    np.testing.assert_array_equal(va.detach().numpy(), vt.detach().numpy())
    (va ** 2).sum().backward()
    (vt ** 2).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy())


def test_integer_and_bool_sorts_and_extremes():
    x = np.array([3, np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max, 3], np.int64)
    va, ia = axonal.tensor(x).sort(descending=True, stable=True)
    vt, it = torch.tensor(x).sort(descending=True, stable=True)
    np.testing.assert_array_equal(va.numpy(), vt.numpy())
    np.testing.assert_array_equal(ia.numpy(), it.numpy())
    b = np.array([True, False, True, False])
    np.testing.assert_array_equal(axonal.tensor(b).argsort(stable=True).numpy(),
                                  torch.tensor(b).argsort(stable=True).numpy())
    np.testing.assert_array_equal(axonal.msort(axonal.tensor([[2, 1], [0, 3]])).numpy(),
                                  [[0, 1], [2, 3]])


def test_gradcheck_and_second_order():
    x = axonal.tensor(np.random.default_rng(2).standard_normal((3, 5)), dtype=axonal.float64,
                      requires_grad=True)
    assert gradcheck(lambda t: axonal.sort(t, dim=1).values * t, (x,))
    assert gradgradcheck(lambda t: axonal.topk(t * t, 2).values, (x,))


def test_topk_errors():
    with pytest.raises(ShapeError, match=r"topk: k \(7\) out of range for dim -1 of size 6"):
        axonal.zeros(2, 6).topk(7)
    with pytest.raises(TypeError, match="sort: expected a Tensor"):
        axonal.sort(np.zeros(3))
