"""Pooling, interpolation and unfold/fold: forward, backward and indices against PyTorch over a grid
of geometries (float32 takes the numba kernels, float64 the NumPy reference path), first and second
derivatives against finite differences, PyTorch's tie/NaN conventions, and the error messages."""
import itertools

import numpy as np
import pytest

import axonal
from axonal.autograd import gradcheck, gradgradcheck
from axonal.kernels import pool as kpool
from axonal.ops import _pool_arrays as PA
from axonal.ops import pool as P
from axonal.ops import resample as R

torch = pytest.importorskip("torch")
TF = torch.nn.functional
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _check(name, x, kw, rng, *, ax_mod=P, indices=False, tol=1e-5):
    """name(x, **kw) in both libraries: output, indices and input gradient must agree."""
    ax = axonal.tensor(x, requires_grad=True)
    th = torch.tensor(x, requires_grad=True)
    ya, yt = getattr(ax_mod, name)(ax, **kw), getattr(TF, name)(th, **kw)
    if indices:
        (ya, ia), (yt, it) = ya, yt
        assert ia.dtype == axonal.int64
        np.testing.assert_array_equal(ia.numpy(), it.numpy())
    assert tuple(ya.shape) == tuple(yt.shape)
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(tuple(yt.shape)).astype(x.dtype)
    ya.backward(axonal.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(ax.grad.numpy(), th.grad.numpy(), rtol=tol, atol=tol)


MAX_GRID = list(itertools.product([2, 3, (3, 2)], [None, 1, 2], [0, 1], [1, 2], [False, True]))


@DTYPES
@pytest.mark.parametrize("k,s,p,d,ceil", MAX_GRID)
def test_max_pool2d_matches_torch(k, s, p, d, ceil, dtype, rng):
    x = np.round(rng.standard_normal((2, 3, 7, 8)) * 2).astype(dtype)  # many ties
    _check("max_pool2d", x, dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil,
                                 return_indices=True), rng, indices=True)


@DTYPES
@pytest.mark.parametrize("k,s,p,d,ceil", list(itertools.product([2, 3], [None, 2], [0, 1],
                                                                 [1, 2], [False, True])))
def test_max_pool1d_matches_torch(k, s, p, d, ceil, dtype, rng):
    x = rng.standard_normal((2, 3, 9)).astype(dtype)
    _check("max_pool1d", x, dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil,
                                 return_indices=True), rng, indices=True)


@DTYPES
def test_max_pool_unbatched_nan_and_inf(dtype, rng):
    x = rng.standard_normal((3, 6, 6)).astype(dtype)
    x[0, 1, 1] = np.nan           # NaN wins its windows
    x[0, 1, 2] = np.nan           # ... and the last NaN's index is kept
    x[1, :2, :2] = -np.inf        # an all -inf window points at its first element
    x[2, 4, 4] = np.inf
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)):
        ya, ia = P.max_pool2d(axonal.tensor(x), return_indices=True, **kw)
        yt, it = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
        np.testing.assert_array_equal(ya.numpy(), yt.numpy())
        np.testing.assert_array_equal(ia.numpy(), it.numpy())


AVG_GRID = list(itertools.product([2, 3, (3, 2)], [None, 1, (2, 1)], [0, 1], [False, True],
                                  [False, True]))


@DTYPES
@pytest.mark.parametrize("k,s,p,ceil,cip", AVG_GRID)
def test_avg_pool2d_matches_torch(k, s, p, ceil, cip, dtype, rng):
    x = rng.standard_normal((2, 3, 7, 8)).astype(dtype)
    _check("avg_pool2d", x, dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil,
                                 count_include_pad=cip), rng)


@DTYPES
@pytest.mark.parametrize("k,s,p,ceil,cip", list(itertools.product([2, 3], [None, 2], [0, 1],
                                                                  [False, True], [False, True])))
def test_avg_pool1d_matches_torch(k, s, p, ceil, cip, dtype, rng):
    x = rng.standard_normal((2, 3, 9)).astype(dtype)
    _check("avg_pool1d", x, dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil,
                                 count_include_pad=cip), rng)


def test_avg_pool2d_divisor_override_and_unbatched(rng):
    x = rng.standard_normal((3, 7, 8)).astype(np.float32)
    _check("avg_pool2d", x, dict(kernel_size=3, stride=2, padding=1, divisor_override=5), rng)


@DTYPES
@pytest.mark.parametrize("out", [1, 2, 3, (2, 5), (None, 3), (7, 8), 4, (1, 8)])
def test_adaptive_pool2d_matches_torch(out, dtype, rng):
    x = rng.standard_normal((2, 3, 7, 8)).astype(dtype)
    _check("adaptive_avg_pool2d", x, dict(output_size=out), rng)
    _check("adaptive_max_pool2d", x, dict(output_size=out, return_indices=True), rng,
           indices=True)
    _check("adaptive_max_pool2d", x[0], dict(output_size=out, return_indices=True), rng,
           indices=True)


@pytest.mark.parametrize("out", [1, 2, 4, 5, 9])
def test_adaptive_pool1d_matches_torch(out, rng):
    x = rng.standard_normal((2, 3, 9))
    _check("adaptive_avg_pool1d", x, dict(output_size=out), rng)
    _check("adaptive_max_pool1d", x, dict(output_size=out, return_indices=True), rng,
           indices=True)


@pytest.mark.parametrize("fn", [
    lambda x: P.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: P.max_pool2d(x, 2, 1, dilation=2),
    lambda x: P.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: P.adaptive_avg_pool2d(x, (3, 4)),
    lambda x: P.adaptive_max_pool2d(x, (3, 4)),
    lambda x: P.max_pool1d(x.reshape(2, 2, 30), 4, 3),
    lambda x: R.interpolate(x, size=(4, 7), mode="bilinear", align_corners=True),
    lambda x: R.interpolate(x, scale_factor=1.5, mode="bicubic"),
    lambda x: R.interpolate(x, scale_factor=(2, 1.5), mode="nearest"),
    lambda x: R.unfold(x, 2, padding=1, stride=2),
    lambda x: R.fold(R.unfold(x, (2, 3), dilation=(2, 1)), (5, 6), (2, 3), dilation=(2, 1)),
], ids=["max", "max-dil", "avg", "adaptive-avg", "adaptive-max", "max1d", "bilinear", "bicubic",
        "nearest", "unfold", "fold"])
def test_gradcheck_and_gradgradcheck(fn, rng):
    x = axonal.tensor(rng.standard_normal((2, 2, 5, 6)), requires_grad=True)  # float64, no ties
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@pytest.fixture(params=["serial", "parallel"])
def pool_blocks(request, monkeypatch):
    monkeypatch.setattr(kpool, "PAR_MIN_ELEMENTS", 1 << 40 if request.param == "serial" else 1)


def test_max_pool_kernel_matches_reference(rng, pool_blocks):
    """The float32 numba kernel against the NumPy reference (run on float64 of the same values)."""
    for kh, kw, sh, sw, ph, pw, dh, dw, ceil in [(2, 2, 2, 2, 0, 0, 1, 1, False),
                                                 (3, 2, 2, 1, 1, 1, 1, 2, True),
                                                 (3, 3, 1, 3, 1, 0, 2, 1, True)]:
        x = np.round(rng.standard_normal((2, 3, 9, 8)) * 2)
        ho = PA.pool_out(9, kh, sh, ph, dh, ceil)
        wo = PA.pool_out(8, kw, sw, pw, dw, ceil)
        ref = kpool.max_pool2d(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)  # float64: NumPy
        got = kpool.max_pool2d(x.astype(np.float32), kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)
        np.testing.assert_array_equal(got[0], ref[0].astype(np.float32))
        np.testing.assert_array_equal(got[1], ref[1])
        g = rng.standard_normal(ref[0].shape)
        np.testing.assert_allclose(kpool.plane_scatter(g.astype(np.float32), got[1], x.shape),
                                   kpool.plane_scatter(g, ref[1], x.shape), rtol=1e-5, atol=1e-5)


# -- interpolate -------------------------------------------------------------------------------
INTERP_4D = [(m, size, sf, ac, rsf)
             for m in ("nearest", "nearest-exact", "bilinear", "bicubic", "area")
             for size, sf in [((10, 13), None), ((3, 4), None), (None, 2), (None, (1.5, 2.25)),
                              (None, 0.5), (None, 1.7)]
             for ac in ([None] if m in ("nearest", "nearest-exact", "area") else [False, True])
             for rsf in ([None, True] if sf is not None else [None])]


@pytest.mark.parametrize("mode,size,sf,ac,rsf", INTERP_4D)
def test_interpolate_4d_matches_torch(mode, size, sf, ac, rsf, rng):
    x = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    _check("interpolate", x, dict(size=size, scale_factor=sf, mode=mode, align_corners=ac,
                                  recompute_scale_factor=rsf), rng, ax_mod=R,
           tol=1e-4 if mode == "bicubic" else 1e-5)


@pytest.mark.parametrize("mode,size,sf,ac", [
    (m, size, sf, ac) for m in ("nearest", "nearest-exact", "linear", "area")
    for size, sf in [(11, None), (3, None), (None, 2), (None, 1.5)]
    for ac in ([None] if m != "linear" else [False, True])])
def test_interpolate_3d_matches_torch(mode, size, sf, ac, rng):
    x = rng.standard_normal((2, 3, 6))
    _check("interpolate", x, dict(size=size, scale_factor=sf, mode=mode, align_corners=ac), rng,
           ax_mod=R)


# -- unfold / fold -----------------------------------------------------------------------------
BLOCKS = list(itertools.product([2, (3, 2)], [1, 2], [0, 1], [1, 2]))


@DTYPES
@pytest.mark.parametrize("k,d,p,s", BLOCKS)
def test_unfold_fold_match_torch(k, d, p, s, dtype, rng):
    x = rng.standard_normal((2, 3, 7, 8)).astype(dtype)
    _check("unfold", x, dict(kernel_size=k, dilation=d, padding=p, stride=s), rng, ax_mod=R)
    _check("unfold", x[0], dict(kernel_size=k, dilation=d, padding=p, stride=s), rng, ax_mod=R)
    cols = TF.unfold(torch.tensor(x), k, d, p, s).numpy()
    _check("fold", cols, dict(output_size=(7, 8), kernel_size=k, dilation=d, padding=p,
                              stride=s), rng, ax_mod=R)


def test_unfold_matmul_is_conv2d(rng):
    from axonal.ops.conv import conv2d

    x = axonal.tensor(rng.standard_normal((2, 3, 6, 5)))
    w = axonal.tensor(rng.standard_normal((4, 3, 3, 2)))
    cols = R.unfold(x, (3, 2), padding=1)
    y = (w.reshape(4, -1) @ cols).reshape(2, 4, 6, 6)
    np.testing.assert_allclose(y.numpy(), conv2d(x, w, padding=1).numpy(), rtol=1e-12)


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,exc,text", [
    (lambda x: P.max_pool2d(x, 2, padding=2), ValueError, "pad should be at most half"),
    (lambda x: P.max_pool2d(x, 9), axonal.ShapeError, "too small"),
    (lambda x: P.max_pool2d(x[0, 0], 2), axonal.ShapeError, "expected 3D or 4D input"),
    (lambda x: P.avg_pool2d(x, 2, divisor_override=0), ValueError, "divisor must be not zero"),
    (lambda x: P.avg_pool2d(x, 0), ValueError, "kernel_size must be >= 1"),
    (lambda x: P.adaptive_avg_pool2d(x, (1, 2, 3)), ValueError, "tuple of 2"),
    (lambda x: R.interpolate(x, size=4, scale_factor=2), ValueError, "exactly one"),
    (lambda x: R.interpolate(x, size=4, mode="cubic"), ValueError, "unknown mode"),
    (lambda x: R.interpolate(x, size=4, align_corners=True), ValueError, "align_corners"),
    (lambda x: R.interpolate(x, size=4, mode="linear"), axonal.ShapeError, "expected 3D"),
    (lambda x: R.fold(x.reshape(2, 12, 6), (4, 4), 2), axonal.ShapeError, "sliding blocks"),
    (lambda x: R.unfold(x, 7), axonal.ShapeError, "does not fit"),
])
def test_bad_inputs_raise(call, exc, text):
    x = axonal.zeros(2, 3, 4, 6)
    with pytest.raises(exc) as e:
        call(x)
    assert text in str(e.value)


def test_conv2d_relu_maxpool_equals_the_unfused_ops(rng):
    """relu(max_pool(conv)) is max_pool(relu(conv)): same values and gradients, also where whole
    windows are negative (bias -2) and with NaN inputs."""
    x = rng.standard_normal((3, 3, 10, 10))
    w = rng.standard_normal((4, 3, 3, 3))
    b = np.array([-2.0, 0.0, 0.5, -8.0])
    for dtype in (np.float32, np.float64):
        xa = [axonal.tensor(a.astype(dtype), requires_grad=True) for a in (x, w, b)]
        ta = [torch.tensor(a.astype(dtype), requires_grad=True) for a in (x, w, b)]
        ya = P.conv2d_relu_maxpool(*xa, padding=1, pool_kernel_size=3, pool_stride=2)
        yt = TF.max_pool2d(torch.relu(TF.conv2d(*ta, padding=1)), 3, 2)
        g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
        ya.backward(axonal.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
        for a, t in zip(xa, ta):
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4)
    xn = x.copy()
    xn[0, 0, 4, 4] = np.nan
    out = P.conv2d_relu_maxpool(axonal.tensor(xn), axonal.tensor(w), padding=1).numpy()
    ref = TF.max_pool2d(torch.relu(TF.conv2d(torch.tensor(xn), torch.tensor(w), padding=1)), 2)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref.numpy()))
    xs = [axonal.tensor(rng.standard_normal(s), requires_grad=True)
          for s in ((1, 2, 6, 6), (2, 2, 3, 3))]
    assert gradgradcheck(lambda x, w: P.conv2d_relu_maxpool(x, w, padding=1), xs)


@DTYPES
def test_empty_batch(dtype):
    """A batch of 0 samples flows forward and backward through every op with the right shapes."""
    from axonal.ops.conv import conv2d, conv_transpose2d

    x = axonal.zeros(0, 3, 4, 4, requires_grad=True, dtype=axonal.float32 if dtype == np.float32
                     else axonal.float64)
    w = axonal.zeros(4, 3, 3, 3, dtype=x.dtype, requires_grad=True)
    cases = [(lambda x: conv2d(x, w, padding=1), (0, 4, 4, 4)),
             (lambda x: conv_transpose2d(x, w.transpose(0, 1), stride=2), (0, 4, 9, 9)),
             (lambda x: P.max_pool2d(x, 2), (0, 3, 2, 2)),
             (lambda x: P.max_pool2d(x, 3, 1, 1), (0, 3, 4, 4)),
             (lambda x: P.avg_pool2d(x, 2), (0, 3, 2, 2)),
             (lambda x: P.adaptive_avg_pool2d(x, 3), (0, 3, 3, 3)),
             (lambda x: P.adaptive_max_pool2d(x, 3), (0, 3, 3, 3)),
             (lambda x: R.interpolate(x, scale_factor=2, mode="bilinear"), (0, 3, 8, 8)),
             (lambda x: R.unfold(x, 2), (0, 12, 9))]
    for fn, shape in cases:
        y = fn(x)
        assert tuple(y.shape) == shape
        y.sum().backward()
        assert tuple(x.grad.shape) == (0, 3, 4, 4)
        x.grad = None
