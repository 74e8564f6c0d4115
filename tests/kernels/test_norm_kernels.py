"""Batch norm on the per-channel kernels (axonal.kernels.norm) against PyTorch and float64 NumPy.

The kernel path runs for float32 (N, C, *) inputs with at least 8 values per channel row, so these
shapes are larger than those of the layer-grid tests (which take the NumPy path)."""
import numpy as np
import pytest

import axonal
from axonal.kernels import norm as kernels_norm

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape", [(8, 16, 12, 12), (6, 5, 160), (4, 3, 9, 9, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_kernel_path_matches_torch(shape, affine):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3 + 5).astype(np.float32)  # offset: tests the moments
    g = rng.standard_normal(shape).astype(np.float32)
    c = shape[1]
    assert kernels_norm.channel_kernel_ok(x.reshape(shape[0], c, -1))
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    stats = rng.random((2, c)).astype(np.float32)
    ra = [axonal.tensor(v.copy()) for v in stats]
    rt = [torch.tensor(v.copy()) for v in stats]
    xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    wa, wt = axonal.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    ba, bt = axonal.tensor(b, requires_grad=True), torch.tensor(b, requires_grad=True)
    ya = axonal.nn.functional.batch_norm(xa, *ra, wa if affine else None, ba if affine else None,
                                         training=True)
    yt = torch.nn.functional.batch_norm(xt, *rt, wt if affine else None, bt if affine else None,
                                        training=True)
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    ya.backward(axonal.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-4)
    if affine:
        np.testing.assert_allclose(wa.grad.numpy(), wt.grad.numpy(), rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(ba.grad.numpy(), bt.grad.numpy(), rtol=1e-4, atol=1e-3)
    for a, t in zip(ra, rt):  # running mean and (unbiased) running variance
        np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)


def test_moments_accumulate_in_float64():
    # 2^17 values per channel around 1000: a float32 running sum would be off by ~1e-3 relative
    rng = np.random.default_rng(1)
    x = (1000 + rng.standard_normal((64, 2, 2048))).astype(np.float32)
    mean, var = kernels_norm.channel_moments(x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mean, x64.mean(axis=(0, 2)), rtol=1e-7)
    np.testing.assert_allclose(var, x64.var(axis=(0, 2)), rtol=1e-5)


def test_kernels_equal_their_numpy_fallbacks():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 4, 32)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    mean, var = kernels_norm.channel_moments(x)
    invstd = (1 / np.sqrt(var + 1e-5)).astype(np.float32)
    scale = (invstd * rng.standard_normal(4)).astype(np.float32)
    fast = kernels_norm.batch_norm_backward(g, x, mean, invstd, scale)
    slow = kernels_norm.batch_norm_backward(g.astype(np.float64), x.astype(np.float64), mean,
                                            invstd, scale)
    for f, s in zip(fast, slow):
        np.testing.assert_allclose(f, s, rtol=1e-4, atol=1e-5)
    shift = rng.standard_normal(4).astype(np.float32)
    np.testing.assert_allclose(kernels_norm.channel_affine(x, scale, shift),
                               x.astype(np.float64) * scale[:, None] + shift[:, None], rtol=1e-6,
                               atol=1e-6)


def test_second_derivative_through_the_kernel_forward():
    # create_graph=True: the backward recomputes from x with tensor ops, so the double backward
    # equals the float64 NumPy path's
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 16)).astype(np.float32)
    outs = []
    for dt in (np.float32, np.float64):
        xa = axonal.tensor(x.astype(dt), requires_grad=True)
        w = axonal.tensor(np.linspace(0.5, 1.5, 3).astype(dt), requires_grad=True)
        y = axonal.nn.functional.batch_norm(xa, None, None, w, None, training=True)
        (gx,) = axonal.autograd.grad((y * y * y).sum(), xa, create_graph=True)
        (gw,) = axonal.autograd.grad((gx * gx).sum(), w)
        outs.append(gw.numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=2e-3, atol=1e-3)


def test_non_contiguous_gradient_matches_the_float64_path():
    axonal.manual_seed(0)
    x = axonal.randn(4, 8, 6, 6)
    r = axonal.randn(4, 8, 6, 6)
    grads = []
    for dt in (axonal.float32, axonal.float64):  # float64 takes the NumPy path
        xi = x.to(dt).clone().requires_grad_()  # clone: a fresh leaf for each dtype
        y = axonal.nn.functional.batch_norm(xi, None, None, training=True)
        (y.permute(0, 1, 3, 2) * r.to(dt)).sum().backward()  # the gradient arrives transposed
        grads.append(xi.grad.double().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-5)

