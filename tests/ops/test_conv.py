"""Convolutions: forward and backward against PyTorch over a grid of geometries, against float64
finite differences (first and second order), the numba kernels against the NumPy reference path,
the lecture example, and the error messages."""
import numpy as np
import pytest

import axonal
from axonal.autograd import gradcheck, gradgradcheck
from axonal.kernels import _conv_numpy as conv_numpy
from axonal.kernels import conv as kconv
from axonal.ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d

torch = pytest.importorskip("torch")
TF = torch.nn.functional
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _run_both(ax_fn, th_fn, arrays, rng, dtype):
    """Forward and backward (with a random upstream gradient) of the same function in both
    libraries; returns [(axonal array, torch array), ...] for the output and every input grad."""
    arrays = [None if a is None else a.astype(dtype) for a in arrays]
    ax_in = [None if a is None else axonal.tensor(a, requires_grad=True) for a in arrays]
    th_in = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    y_ax, y_th = ax_fn(*ax_in), th_fn(*th_in)
    g = rng.standard_normal(tuple(y_th.shape)).astype(dtype)
    y_ax.backward(axonal.tensor(g))
    y_th.backward(torch.tensor(g))
    pairs = [(y_ax.detach().numpy(), y_th.detach().numpy())]
    pairs += [(a.grad.numpy(), t.grad.numpy()) for a, t in zip(ax_in, th_in) if a is not None]
    return pairs


def _assert_pairs(pairs, dtype):
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for k, (a, t) in enumerate(pairs):
        assert a.shape == t.shape, (k, a.shape, t.shape)
        np.testing.assert_allclose(a, t, err_msg=f"tensor {k} (0 = output, then input grads)",
                                   **tol)


def test_lecture_example():
    img = axonal.tensor([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0],
                         [0, 1, 1, 0, 0]], dtype=axonal.float32).reshape(1, 1, 5, 5)
    kernel = axonal.tensor([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=axonal.float32)
    out = conv2d(img, kernel.reshape(1, 1, 3, 3))
    np.testing.assert_array_equal(out.numpy()[0, 0], [[4, 3, 4], [2, 4, 3], [2, 3, 4]])
    out64 = conv2d(img.double()[0], kernel.double().reshape(1, 1, 3, 3))  # unbatched, reference
    np.testing.assert_array_equal(out64.numpy()[0], [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


CONV2D_GRID = [
    # (input shape, weight shape, kwargs)
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(padding=1)),
    ((2, 1, 9, 8), (5, 1, 5, 5), dict(padding=2)),                        # wide rows (C=1)
    ((2, 4, 9, 8), (6, 4, 3, 2), dict(stride=2, padding=(1, 0))),
    ((2, 5, 9, 10), (3, 5, 3, 3), dict(stride=(2, 3), padding=(2, 1), dilation=(1, 2))),
    ((2, 6, 8, 9), (4, 6, 2, 3), dict(padding="same")),                    # asymmetric same
    ((2, 3, 8, 9), (4, 3, 4, 4), dict(padding="same", dilation=2)),
    ((2, 6, 8, 9), (4, 6, 3, 3), dict(padding="valid", dilation=(2, 1))),
    ((2, 4, 7, 7), (6, 2, 3, 3), dict(padding=1, groups=2)),
    ((2, 6, 9, 8), (6, 1, 3, 3), dict(padding=1, groups=6)),               # depthwise
    ((2, 6, 9, 8), (9, 2, 2, 3), dict(stride=2, groups=3)),
    ((3, 7, 6), (4, 3, 3, 3), dict(padding=1)),                            # unbatched
    ((1, 2, 5, 5), (3, 2, 5, 5), {}),                                      # kernel = input
    ((2, 8, 11, 13), (16, 8, 3, 3), dict(stride=2, padding=1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("xs,ws,kw", CONV2D_GRID)
def test_conv2d_matches_torch(xs, ws, kw, bias, dtype, rng):
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws),
              rng.standard_normal(ws[0]) if bias else None]
    pairs = _run_both(lambda x, w, b: conv2d(x, w, b, **kw),
                      lambda x, w, b: TF.conv2d(x, w, b, **kw), arrays, rng, dtype)
    _assert_pairs(pairs, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 3, 11), (4, 3, 3), dict(padding=1)),
    ((2, 4, 12), (6, 2, 4), dict(stride=2, groups=2, dilation=2)),
    ((3, 10), (5, 3, 4), dict(padding="same")),
    ((2, 1, 9), (2, 1, 5), dict(padding="valid", stride=3)),
])
def test_conv1d_matches_torch(xs, ws, kw, dtype, rng):
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])]
    pairs = _run_both(lambda x, w, b: conv1d(x, w, b, **kw),
                      lambda x, w, b: TF.conv1d(x, w, b, **kw), arrays, rng, dtype)
    _assert_pairs(pairs, dtype)


CONVT_GRID = [
    ((2, 4, 5, 4), (4, 3, 3, 3), {}),
    ((2, 4, 5, 4), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 5, 4), (4, 2, 3, 2), dict(stride=(2, 3), padding=(1, 0), output_padding=(0, 2))),
    ((2, 4, 5, 4), (4, 3, 3, 3), dict(stride=2, output_padding=1)),         # op > padding
    ((2, 4, 4, 5), (4, 3, 3, 3), dict(stride=2, padding=1, groups=2)),
    ((2, 2, 4, 5), (2, 3, 3, 3), dict(dilation=2, padding=2)),
    ((2, 6, 3, 4), (6, 1, 2, 2), dict(stride=2, groups=6, dilation=(1, 2), output_padding=1)),
    ((3, 4, 5), (3, 2, 4, 4), dict(stride=2, padding=1)),                   # unbatched
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("xs,ws,kw", CONVT_GRID)
def test_conv_transpose2d_matches_torch(xs, ws, kw, dtype, rng):
    groups = kw.get("groups", 1)
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws),
              rng.standard_normal(ws[1] * groups)]
    pairs = _run_both(lambda x, w, b: conv_transpose2d(x, w, b, **kw),
                      lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw), arrays, rng, dtype)
    _assert_pairs(pairs, dtype)


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1), dict(groups=2)])
def test_conv_transpose1d_matches_torch(kw, rng):
    arrays = [rng.standard_normal((2, 4, 6)), rng.standard_normal((4, 3, 3)),
              rng.standard_normal(3 * kw.get("groups", 1))]
    pairs = _run_both(lambda x, w, b: conv_transpose1d(x, w, b, **kw),
                      lambda x, w, b: TF.conv_transpose1d(x, w, b, **kw), arrays, rng, np.float32)
    _assert_pairs(pairs, np.float32)


def _f64(rng, *shapes):
    return [axonal.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(dilation=2, padding=2),
                                dict(groups=2, padding=(0, 1)), dict(padding="same")])
def test_conv2d_gradcheck_and_gradgradcheck(kw, rng):
    x, w, b = _f64(rng, (2, 4, 5, 5), (2, 4 // kw.get("groups", 1), 3, 2), (2,))

    def fn(x, w, b):
        return conv2d(x, w, b, **kw)

    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1),
                                dict(groups=2, dilation=2)])
def test_conv_transpose2d_gradcheck_and_gradgradcheck(kw, rng):
    x, w, b = _f64(rng, (1, 4, 3, 3), (4, 1, 2, 3), (1 * kw.get("groups", 1),))

    def fn(x, w, b):
        return conv_transpose2d(x, w, b, **kw)

    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


def test_conv1d_gradgradcheck(rng):
    x, w = _f64(rng, (2, 3, 6), (2, 3, 3))
    assert gradgradcheck(lambda x, w: conv1d(x, w, stride=2, padding=1), (x, w))


def test_third_derivative_of_conv_is_consistent(rng):
    """d/dx of (d/dw <conv(x, w), v>) . u equals the analytic mixed derivative conv_t(v, u):
    the backward of the backward is itself made of convolutions."""
    x, w = _f64(rng, (2, 3, 6, 5), (4, 3, 3, 3))
    v = axonal.tensor(rng.standard_normal((2, 4, 4, 3)))
    u = axonal.tensor(rng.standard_normal((4, 3, 3, 3)))
    (gw,) = axonal.autograd.grad([conv2d(x, w)], [w], [v], create_graph=True)
    (gx,) = axonal.autograd.grad([(gw * u).sum()], [x])
    expected = TF.conv_transpose2d(torch.tensor(v.numpy()), torch.tensor(u.numpy()))
    np.testing.assert_allclose(gx.numpy(), expected.numpy(), rtol=1e-10, atol=1e-10)


# -- kernels against the reference path ------------------------------------------------------
GEOS = [  # (x shape, w shape, geo = (sh, sw, pt, pb, pl, pr, dh, dw))
    ((3, 5, 9, 8), (4, 5, 3, 3), (1, 1, 1, 1, 1, 1, 1, 1)),
    ((3, 5, 9, 8), (4, 5, 3, 2), (2, 1, 1, 0, 0, 2, 1, 2)),
    ((2, 7, 10, 11), (3, 7, 3, 3), (3, 2, 1, 2, 2, 1, 2, 2)),
    ((2, 6, 9, 9), (5, 6, 3, 3), (1, 1, 2, -1, 0, -2, 1, 1)),   # negative pads crop
    ((3, 2, 9, 8), (4, 2, 4, 3), (1, 1, 1, 2, 0, 1, 1, 2)),     # wide rows
    ((2, 1, 12, 10), (6, 1, 5, 5), (1, 1, 0, 0, 0, 0, 1, 1)),   # LeNet conv1 shape family
    ((2, 3, 9, 8), (4, 3, 3, 3), (2, 2, 1, 1, 1, 1, 1, 1)),     # small C, strided: spans
]


@pytest.mark.parametrize("xs,ws,geo", GEOS)
def test_kernels_match_reference_path(xs, ws, geo, rng):
    """float32 NumPy arrays take the numba kernels; the same values in float64 take the im2col
    reference. Forward, input gradient and weight gradient must agree."""
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    ref_y = conv_numpy.conv_forward(x, w, b, geo, 1)
    g = rng.standard_normal(ref_y.shape)
    ref_gx = conv_numpy.conv_input_grad(g, w, geo, 1, x.shape)
    ref_gw = conv_numpy.conv_weight_grad(x, g, geo, 1, w.shape)
    f = [a.astype(np.float32) for a in (x, w, b, g)]
    y = kconv.forward(f[0], f[1], f[2], geo)
    gx, gw = kconv.backward(f[0], f[1], f[3], geo, True, True)
    for got, ref in ((y, ref_y), (gx, ref_gx), (gw, ref_gw)):
        assert got.dtype == np.float32 and got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=2e-4, atol=2e-4)


def test_wide_and_span_layouts_agree(rng, monkeypatch):
    """Stride-1 convolutions with few channels take the wide-row kernels; forcing the NHWC span
    kernels must give the same results (with padding, an odd kernel and dilation)."""
    x = rng.standard_normal((3, 3, 8, 7)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 2)).astype(np.float32)
    for geo in [(1, 1, 1, 1, 1, 1, 1, 1), (1, 1, 2, 0, 1, 2, 2, 1), (1, 1, 0, -1, 1, 0, 1, 2)]:
        ho, wo = kconv.out_size(geo, 8, 7, 3, 2)
        g = rng.standard_normal((3, 5, ho, wo)).astype(np.float32)
        wide = _all_grads(x, w, g, geo)
        monkeypatch.setattr(kconv, "WIDE_MAX_C", 0)
        span = _all_grads(x, w, g, geo)
        monkeypatch.undo()
        for a, b in zip(wide, span):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def _all_grads(x, w, g, geo):
    return [kconv.forward(x, w, None, geo), *kconv.backward(x, w, g, geo),
            kconv.backward(x, w, g, geo, need_w=False)[0],
            kconv.backward(x, None, g, geo, need_x=False, w_shape=w.shape)[1]]


@pytest.mark.parametrize("variant", ["tiny-chunks", "parallel", "serial", "np.matmul"])
@pytest.mark.parametrize("c_in", [2, 12], ids=["wide", "span"])
def test_kernel_variants_agree(variant, c_in, rng, monkeypatch):
    """Chunking, the parallel and serial drivers and the np.matmul fallback (used when no
    OpenBLAS sgemm can be called from numba) all compute the same convolution."""
    x = rng.standard_normal((5, c_in, 7, 7)).astype(np.float32)
    w = rng.standard_normal((4, c_in, 3, 3)).astype(np.float32)
    g = rng.standard_normal((5, 4, 7, 7)).astype(np.float32)
    geo = (1, 1, 1, 1, 1, 1, 1, 1)
    monkeypatch.setattr(kconv, "PAR_MIN_FLOPS", 1 << 40)   # reference: serial, one chunk
    expected = _all_grads(x, w, g, geo)
    if variant == "tiny-chunks":
        monkeypatch.setattr(kconv, "CHUNK_FLOATS", 1)
    elif variant == "parallel":
        monkeypatch.setattr(kconv, "PAR_MIN_FLOPS", 1)
    elif variant == "np.matmul":
        monkeypatch.setattr(kconv, "SGEMM", None)
        monkeypatch.setattr(kconv, "CHUNK_FLOATS", 1)
    got = _all_grads(x, w, g, geo)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_non_contiguous_float32_input(rng):
    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    xt = axonal.tensor(x).transpose(2, 3)  # a non-contiguous view
    y = conv2d(xt, axonal.tensor(w), padding=1)
    ref = TF.conv2d(torch.tensor(x).transpose(2, 3), torch.tensor(w), padding=1)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-4, atol=1e-4)


# -- errors ------------------------------------------------------------------------------------
def test_channel_mismatch_message():
    x, w = axonal.zeros(8, 1, 28, 28), axonal.zeros(16, 3, 5, 5)
    with pytest.raises(axonal.ShapeError) as e:
        conv2d(x, w)
    assert str(e.value) == ("conv2d: expected input with 3 channels (weight (16, 3, 5, 5), "
                            "groups=1), got shape (8, 1, 28, 28)")


@pytest.mark.parametrize("call,exc,text", [
    (lambda: conv2d(axonal.zeros(1, 3, 4, 4), axonal.zeros(2, 3, 5, 5)), axonal.ShapeError,
     "larger than the padded input"),
    (lambda: conv2d(axonal.zeros(1, 3, 8, 8), axonal.zeros(2, 3, 3, 3), stride=2,
                    padding="same"), ValueError, "not supported for strided"),
    (lambda: conv2d(axonal.zeros(1, 3, 8, 8), axonal.zeros(2, 3, 3, 3), padding="full"),
     ValueError, "invalid padding string"),
    (lambda: conv2d(axonal.zeros(1, 3, 8, 8), axonal.zeros(2, 3, 3), ), axonal.ShapeError,
     "expected 4D weight"),
    (lambda: conv2d(axonal.zeros(3, 8), axonal.zeros(2, 3, 3, 3)), axonal.ShapeError,
     "expected 3D or 4D input"),
    (lambda: conv2d(axonal.zeros(1, 4, 8, 8), axonal.zeros(3, 2, 3, 3), groups=2),
     axonal.ShapeError, "not divisible by groups=2"),
    (lambda: conv2d(axonal.zeros(1, 3, 8, 8), axonal.zeros(2, 3, 3, 3), axonal.zeros(3)),
     axonal.ShapeError, "expected bias of shape (2,)"),
    (lambda: conv2d(axonal.zeros(1, 3, 8, 8, dtype=axonal.float64), axonal.zeros(2, 3, 3, 3)),
     axonal.DTypeError, "must be the same"),
    (lambda: conv2d(axonal.zeros(1, 3, 8, 8), axonal.zeros(2, 3, 3, 3), stride=0), ValueError,
     "stride must be >= 1"),
    (lambda: conv2d(axonal.zeros(1, 3, 8, 8), axonal.zeros(2, 3, 3, 3), padding=(1, 1, 1)),
     ValueError, "expected padding to be a single integer value or a list of 2"),
    (lambda: conv_transpose2d(axonal.zeros(1, 3, 4, 4), axonal.zeros(3, 2, 3, 3), stride=2,
                              output_padding=2), ValueError, "output padding must be smaller"),
    (lambda: conv_transpose2d(axonal.zeros(1, 2, 4, 4), axonal.zeros(3, 2, 3, 3)),
     axonal.ShapeError, "expected input with 3 channels"),
    (lambda: conv1d(axonal.zeros(1, 2, 4, 4), axonal.zeros(3, 2, 3)), axonal.ShapeError,
     "conv1d: expected 2D or 3D input"),
])
def test_bad_inputs_raise(call, exc, text):
    with pytest.raises(exc) as e:
        call()
    assert text in str(e.value)


def test_torch_agrees_on_what_is_an_error():
    """A sample of the invalid calls above is invalid for PyTorch too (the oracle can fail)."""
    with pytest.raises(RuntimeError):
        TF.conv2d(torch.zeros(8, 1, 28, 28), torch.zeros(16, 3, 5, 5))
    with pytest.raises(RuntimeError):
        TF.conv2d(torch.zeros(1, 3, 4, 4), torch.zeros(2, 3, 5, 5))


def test_grid_is_exercised_on_both_paths():
    """Sanity check of the test grid itself: it covers the wide-row kernels, the span kernels and
    the grouped path (so a broken path cannot hide behind another)."""
    strided = [np.max(c[2].get("stride", 1)) > 1 for c in CONV2D_GRID]
    wide = [c for c, st in zip(CONV2D_GRID, strided) if c[0][-3] <= kconv.WIDE_MAX_C and not st
            and c[2].get("groups", 1) == 1]
    span = [c for c, st in zip(CONV2D_GRID, strided) if c[0][-3] > kconv.WIDE_MAX_C or st]
    grouped = [c for c in CONV2D_GRID if c[2].get("groups", 1) > 1]
    assert wide and span and grouped
