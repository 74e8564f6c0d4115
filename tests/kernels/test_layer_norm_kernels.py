"""kernels.layer_norm (the row path of nn.functional's Normalize): layer_norm forward and
gradients against PyTorch and the NumPy path, with and without affine parameters, serial and
parallel blocks; group norm's moments; the fallbacks; second derivatives through the recorded
backward."""
import numpy as np
import pytest

import axonal
import axonal.nn.functional as F
from axonal.autograd import gradcheck, gradgradcheck
from axonal.kernels import THRESHOLDS
from axonal.kernels import layer_norm as KL

torch = pytest.importorskip("torch")


@pytest.fixture(params=["serial", "parallel"])
def blocks(request, monkeypatch):
    if request.param == "parallel":
        monkeypatch.setattr(KL, "parallel_blocks", lambda n, per: 3)
    return request.param


def _run(lib, x, shape, w, b, g, eps=1e-5):
    xt = lib.tensor(x, requires_grad=True)
    wt = lib.tensor(w, requires_grad=True) if w is not None else None
    bt = lib.tensor(b, requires_grad=True) if b is not None else None
    y = lib.nn.functional.layer_norm(xt, shape, wt, bt, eps)
    (y * lib.tensor(g)).sum().backward()
    return [y.detach().numpy(), xt.grad.numpy()] + [t.grad.numpy() for t in (wt, bt) if t is not None]


@pytest.mark.parametrize("xshape,nshape", [((16, 12, 64), (64,)), ((300, 8), (8,)),
                                           ((8, 4, 6, 7), (6, 7)), ((70, 256), (256,))])
@pytest.mark.parametrize("affine", ["wb", "w", "b", "none"])
def test_layer_norm_matches_torch(xshape, nshape, affine, blocks):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(xshape) * 3 + 1).astype(np.float32)
    g = rng.standard_normal(xshape).astype(np.float32)
    w = (rng.standard_normal(nshape) + 1).astype(np.float32) if "w" in affine else None
    b = rng.standard_normal(nshape).astype(np.float32) if "b" in affine else None
    n = len(nshape)
    assert KL.rows_ok(x.reshape(-1, int(np.prod(xshape[-n:]))))
    mine, ref = _run(axonal, x, nshape, w, b, g), _run(torch, x, nshape, w, b, g)
    assert len(mine) == len(ref)
    for a, r in zip(mine, ref):
        assert a.shape == r.shape
        np.testing.assert_allclose(a, r, rtol=2e-4, atol=2e-4 * np.sqrt(x.size / x.shape[-1]))


def test_kernel_path_equals_numpy_path(monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 96)).astype(np.float32)
    w, b = rng.standard_normal(96).astype(np.float32), rng.standard_normal(96).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    fast = _run(axonal, x, (96,), w, b, g)
    monkeypatch.setitem(THRESHOLDS, "layer_norm", (1 << 62, 1 << 62))
    assert not KL.rows_ok(x)
    slow = _run(axonal, x, (96,), w, b, g)
    for a, s in zip(fast, slow):
        np.testing.assert_allclose(a, s, rtol=1e-5, atol=1e-5)


def test_moments_match_float64_for_large_offsets():
    x = (np.random.default_rng(2).standard_normal((9, 512)) + 1000).astype(np.float32)
    mean, var, invstd = KL.moments(x, 1e-5)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mean, x64.mean(1), rtol=1e-7)
    np.testing.assert_allclose(var, x64.var(1), rtol=1e-4)
    np.testing.assert_allclose(invstd, 1 / np.sqrt(x64.var(1) + 1e-5), rtol=1e-4)


def test_group_norm_uses_row_moments_and_matches_torch(blocks):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6, 5, 5)).astype(np.float32)
    w, b = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    out = []
    for lib in (axonal, torch):
        xt = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.group_norm(xt, 3, lib.tensor(w), lib.tensor(b))
        y.square().sum().backward()
        out.append((y.detach().numpy(), xt.grad.numpy()))
    for a, r in zip(*out):
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-4)


def test_non_contiguous_and_float64_inputs_take_the_numpy_path():
    rng = np.random.default_rng(4)
    base = rng.standard_normal((64, 80)).astype(np.float32)
    x = axonal.tensor(base).T          # not C-contiguous: NumPy path, same answer as torch
    y = F.layer_norm(x, (64,)).numpy()
    ref = torch.nn.functional.layer_norm(torch.from_numpy(base).T, (64,)).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)


def test_layer_norm_gradgradcheck_float64():
    rng = np.random.default_rng(5)
    x = axonal.tensor(rng.standard_normal((3, 8)), dtype=axonal.float64, requires_grad=True)
    w = axonal.tensor(rng.standard_normal(8), dtype=axonal.float64, requires_grad=True)
    b = axonal.tensor(rng.standard_normal(8), dtype=axonal.float64, requires_grad=True)
    fn = lambda x, w, b: F.layer_norm(x, (8,), w, b)  # noqa: E731
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


def test_second_derivative_through_the_float32_kernel_forward():
    """Forward on the kernel path, create_graph backward through Normalize.backward (exact)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((16, 32)).astype(np.float32)
    res = []
    for lib in (axonal, torch):
        xt = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.layer_norm(xt, (32,))
        (gx,) = lib.autograd.grad((y ** 3).sum(), xt, create_graph=True)
        (gxx,) = lib.autograd.grad(gx.square().sum(), xt)
        res.append((gx.detach().numpy(), gxx.numpy()))
    for a, r in zip(*res):
        np.testing.assert_allclose(a, r, rtol=1e-3, atol=1e-3)
