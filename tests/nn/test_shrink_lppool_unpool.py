"""Hardshrink, Softshrink, Tanhshrink, GLU, RReLU, Softmax2d, LPPool1d/2d/3d, MaxUnpool1d/2d/3d
and the *_with_indices / upsample_* functional spellings against torch: printed form, outputs and
input gradients in float32 and float64 on two shapes with non-contiguous inputs; float64 finite
differences; RReLU's random slopes in training."""
import numpy as np
import pytest

import axonal
import axonal.nn as nn
import axonal.nn.functional as F
from axonal.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = {np.float32: 2e-5, np.float64: 1e-12}


def _nc(x):
    return np.swapaxes(np.ascontiguousarray(np.swapaxes(x, -1, -2)), -1, -2)


def run(ma, mt, x, dtype, extra_a=(), extra_t=()):
    x = _nc(x.astype(dtype))
    assert not x.flags.c_contiguous
    xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yt = ma(xa, *extra_a), mt(xt, *extra_t)
    tol = TOL[dtype]
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(9).standard_normal(tuple(yt.shape)).astype(dtype)
    ya.backward(axonal.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)


MODULES = [("Hardshrink", ()), ("Hardshrink", (1.2,)), ("Softshrink", ()), ("Softshrink", (0.9,)),
           ("Tanhshrink", ()), ("GLU", ()), ("GLU", (1,)), ("RReLU", ()), ("RReLU", (0.2, 0.4)),
           ("Softmax2d", ())]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 4, 3, 6), (4, 6, 2)])
@pytest.mark.parametrize("name,args", MODULES, ids=[f"{n}{a}" for n, a in MODULES])
def test_elementwise_modules(name, args, shape, dtype):
    ma, mt = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ma) == repr(mt)
    ma.eval(), mt.eval()  # (RReLU: the deterministic slope)
    x = np.random.default_rng(0).standard_normal(shape) * 2
    run(ma, mt, x, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,args,kw,shape", [
    ("LPPool1d", (2, 3), {}, (2, 3, 7)), ("LPPool1d", (1.5, 2), {"stride": 1}, (3, 6)),
    ("LPPool2d", (2, 2), {}, (2, 3, 4, 6)), ("LPPool2d", (1.5, (3, 2)),
                                             {"stride": 1, "ceil_mode": True}, (3, 5, 4)),
    ("LPPool3d", (2, 2), {}, (1, 2, 4, 4, 6)), ("LPPool3d", (3, (2, 1, 2)), {"stride": 1},
                                                 (2, 3, 3, 4))])
def test_lp_pool(name, args, kw, shape, dtype):
    ma, mt = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ma) == repr(mt)
    run(ma, mt, np.abs(np.random.default_rng(1).standard_normal(shape)) + 0.1, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,k,kw,shape,out", [
    (1, 2, {}, (2, 3, 8), None), (1, 3, {"stride": 2, "padding": 1}, (3, 9), (9,)),
    (2, 2, {}, (2, 3, 6, 4), None), (2, 2, {}, (2, 6, 4), (7, 5)),
    (3, 2, {}, (1, 2, 4, 6, 4), None), (3, (2, 1, 2), {"stride": 2}, (2, 4, 3, 4), None)])
def test_max_unpool(n, k, kw, shape, out, dtype):
    x = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    pooled, idx = getattr(TF, f"max_pool{n}d")(torch.tensor(x), k, return_indices=True, **kw)
    ma, mt = getattr(nn, f"MaxUnpool{n}d")(k, **kw), getattr(torch.nn, f"MaxUnpool{n}d")(k, **kw)
    assert repr(ma) == repr(mt)
    ia = axonal.tensor(idx.numpy())
    run(ma, mt, pooled.numpy(), dtype, (ia, out), (idx, out))
    # axonal's own pooling indices round-trip the same way
    ya, ia2 = getattr(F, f"max_pool{n}d")(axonal.tensor(x), k, return_indices=True, **kw)
    np.testing.assert_array_equal(ia2.numpy(), idx.numpy())


def test_with_indices_and_upsample_spellings():
    x = np.random.default_rng(3).standard_normal((2, 3, 6, 6))
    for n, arr in ((1, x[0]), (2, x), (3, x)):
        ya, ia = getattr(F, f"max_pool{n}d_with_indices")(axonal.tensor(arr), 2)
        yt, it = getattr(TF, f"max_pool{n}d_with_indices")(torch.tensor(arr), 2)
        np.testing.assert_array_equal(ya.numpy(), yt.numpy())
        np.testing.assert_array_equal(ia.numpy(), it.numpy())
        ya, ia = getattr(F, f"adaptive_max_pool{n}d_with_indices")(axonal.tensor(arr), 3)
        yt, it = getattr(TF, f"adaptive_max_pool{n}d_with_indices")(torch.tensor(arr), 3)
        np.testing.assert_array_equal(ia.numpy(), it.numpy())
    for name in ("upsample_nearest", "upsample_bilinear"):
        with pytest.warns(UserWarning, match="deprecated"):
            ya = getattr(F, name)(axonal.tensor(x), scale_factor=2)
        with pytest.warns(UserWarning):
            yt = getattr(TF, name)(torch.tensor(x), scale_factor=2)
        np.testing.assert_allclose(ya.numpy(), yt.numpy(), rtol=1e-12, atol=1e-12)


def test_rrelu_training_slopes():
    axonal.manual_seed(0)
    x = axonal.tensor(-np.ones(10000), requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.005 and slopes.std() > 0.05  # U(0.1, 0.3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes)  # the gradient is the drawn slope
    pos = axonal.tensor(np.ones(5))
    np.testing.assert_array_equal(F.rrelu(pos, training=True).numpy(), np.ones(5))
    z = axonal.tensor(-np.ones(4))
    F.rrelu_(z)
    np.testing.assert_allclose(z.numpy(), -np.ones(4) * (1 / 8 + 1 / 3) / 2)


FD = [("hardshrink", lambda x: F.hardshrink(x, 0.3)), ("softshrink", lambda x: F.softshrink(x)),
      ("tanhshrink", F.tanhshrink), ("glu", lambda x: F.glu(x, 0)),
      ("lp_pool2d", lambda x: F.lp_pool2d(x.abs() + 0.5, 2.5, 2))]


@pytest.mark.parametrize("name,fn", FD, ids=[f[0] for f in FD])
def test_finite_differences(name, fn):
    x = axonal.tensor(np.random.default_rng(4).standard_normal((4, 3, 4)), requires_grad=True)
    assert gradcheck(fn, [x], eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,k,kw,shape", [
    (2, 3, {"output_size": (5, 4)}, (2, 3, 11, 9)), (2, (2, 3), {"output_ratio": 0.6}, (3, 9, 10)),
    (3, 2, {"output_size": (4, 5, 3)}, (1, 2, 7, 8, 6)), (3, (2, 1, 2), {"output_ratio": 0.5},
                                                          (2, 6, 5, 8))])
def test_fractional_max_pool(n, k, kw, shape, dtype):
    rng = np.random.default_rng(6)
    batch = shape[0] if len(shape) == n + 2 else 1
    samples = rng.random((batch, shape[-n - 1], n)).astype(dtype)
    name = f"FractionalMaxPool{n}d"
    ma = getattr(nn, name)(k, return_indices=True, _random_samples=axonal.tensor(samples), **kw)
    mt = getattr(torch.nn, name)(k, return_indices=True, _random_samples=torch.tensor(samples),
                                 **kw)
    assert repr(ma) == repr(mt)
    x = _nc(rng.standard_normal(shape).astype(dtype))
    xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ya, ia), (yt, it) = ma(xa), mt(xt)
    np.testing.assert_array_equal(ia.numpy(), it.numpy())
    np.testing.assert_array_equal(ya.detach().numpy(), yt.detach().numpy())
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    ya.backward(axonal.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(xa.grad.numpy(), xt.grad.numpy())
    # without samples: random windows, still a max over k-windows of the input
    axonal.manual_seed(0)
    y = getattr(nn, name)(k, **kw)(axonal.tensor(x))
    assert tuple(y.shape) == tuple(yt.shape)
    with pytest.raises(ValueError, match="output_size or an output_ratio|output size"):
        getattr(nn, name)(k)
