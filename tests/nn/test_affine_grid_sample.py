"""F.affine_grid (2-D and 3-D) and F.grid_sample (4-D input; bilinear and nearest; zeros, border
and reflection padding; align_corners both ways) against torch: values and the gradients of the
input, the grid and theta in float32 and float64, non-contiguous inputs, points outside [-1, 1];
float64 finite differences; the spatial-transformer pipeline affine_grid -> grid_sample."""
import numpy as np
import pytest

import axonal
import axonal.nn.functional as F
from axonal.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = {np.float32: 2e-5, np.float64: 1e-12}


def _nc(x):
    return np.swapaxes(np.ascontiguousarray(np.swapaxes(x, -1, -2)), -1, -2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 5, 4), (1, 2, 3, 4, 5)])
def test_affine_grid(size, align, dtype):
    rng = np.random.default_rng(0)
    k = len(size) - 2
    th = rng.standard_normal((size[0], k, k + 1)).astype(dtype)
    ta, tt = axonal.tensor(th, requires_grad=True), torch.tensor(th, requires_grad=True)
    ga, gt = F.affine_grid(ta, size, align), TF.affine_grid(tt, size, align)
    tol = TOL[dtype]
    np.testing.assert_allclose(ga.detach().numpy(), gt.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(tuple(gt.shape)).astype(dtype)
    ga.backward(axonal.tensor(g))
    gt.backward(torch.tensor(g))
    np.testing.assert_allclose(ta.grad.numpy(), tt.grad.numpy(), rtol=tol * 10, atol=tol * 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("shapes", [((2, 3, 5, 6), (2, 4, 3, 2)), ((1, 2, 4, 4), (1, 6, 5, 2))])
def test_grid_sample(shapes, mode, padding_mode, align, dtype):
    rng = np.random.default_rng(1)
    x = _nc(rng.standard_normal(shapes[0]).astype(dtype))
    grid = rng.uniform(-1.5, 1.5, shapes[1]).astype(dtype)
    xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ga, gt = axonal.tensor(grid, requires_grad=True), torch.tensor(grid, requires_grad=True)
    ya = F.grid_sample(xa, ga, mode, padding_mode, align)
    yt = TF.grid_sample(xt, gt, mode, padding_mode, align)
    tol = TOL[dtype]
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    ya.backward(axonal.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(ga.grad.numpy(), gt.grad.numpy(), rtol=tol * 10, atol=tol * 10)


def test_spatial_transformer_and_finite_differences():
    rng = np.random.default_rng(2)
    x = axonal.tensor(rng.standard_normal((1, 1, 4, 5)), requires_grad=True)
    th = axonal.tensor(np.array([[[0.9, 0.1, 0.05], [-0.1, 0.8, 0.1]]]), requires_grad=True)

    def stn(x, th):
        return F.grid_sample(x, F.affine_grid(th, (1, 1, 3, 3), False), align_corners=False)

    assert gradcheck(stn, [x, th], eps=1e-6, atol=1e-6, rtol=1e-4)
    grid = axonal.tensor(rng.uniform(-1.2, 1.2, (1, 3, 2, 2)), requires_grad=True)
    assert gradcheck(lambda x, g: F.grid_sample(x, g, padding_mode="reflection",
                                                align_corners=True), [x, grid],
                     eps=1e-6, atol=1e-6, rtol=1e-4)
    with pytest.warns(UserWarning, match="align_corners=False"):
        F.affine_grid(th.detach(), (1, 1, 3, 3))
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.grid_sample(x, grid, mode="bicubic", align_corners=False)
