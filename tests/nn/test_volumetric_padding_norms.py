"""Conv3d, ConvTranspose3d, the 3-D pools, BatchNorm3d, the padding layers and F.pad modes,
InstanceNorm1d/2d/3d, RMSNorm, LocalResponseNorm and the pixel/channel shuffles against torch.nn:
printed form, state_dict keys, outputs and gradients (input and parameters) in float32 and
float64, on two shapes, with a non-contiguous input; float64 finite differences of the functional
forms (axonal.autograd.gradcheck)."""
import numpy as np
import pytest

import axonal
import axonal.nn as nn
import axonal.nn.functional as F
from axonal.autograd import gradcheck

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

TOL = {np.float32: 2e-4, np.float64: 1e-10}


def _noncontig(x):
    """The same values through a transposed copy: a non-C-contiguous array."""
    return np.ascontiguousarray(np.swapaxes(x, -1, -2)).swapaxes(-1, -2)


def _pair(name, *args, **kw):
    axonal.manual_seed(0)
    torch.manual_seed(0)
    return getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)


def compare(name, args, shape, dtype, kw=None, fwd_kw=None, seed=0, train=True):
    """Module vs torch: repr, state keys, forward/backward; weights copied from torch."""
    kw, fwd_kw = kw or {}, fwd_kw or {}
    rng = np.random.default_rng(seed)
    am, tm = _pair(name, *args, **kw)
    assert repr(am) == repr(tm)
    state = tm.state_dict()
    assert list(am.state_dict()) == list(state)
    am.load_state_dict({k: axonal.tensor(v.numpy().copy()) for k, v in state.items()})
    am.to(getattr(axonal, np.dtype(dtype).name))
    tm.to(getattr(torch, np.dtype(dtype).name))
    if not train:
        am.eval()
        tm.eval()
    x = _noncontig(rng.standard_normal(shape).astype(dtype))
    assert not x.flags.c_contiguous
    xa = axonal.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ya, yt = am(xa, **fwd_kw), tm(xt, **fwd_kw)
    if isinstance(yt, tuple):
        np.testing.assert_array_equal(ya[1].numpy(), yt[1].numpy())
        ya, yt = ya[0], yt[0]
    tol = TOL[dtype]
    assert ya.dtype == getattr(axonal, np.dtype(dtype).name)
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    ya.backward(axonal.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
    for (n, pa), (_, pt) in zip(am.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(pa.grad.numpy(), pt.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=n)
    for (n, ba), (_, bt) in zip(am.named_buffers(), tm.named_buffers()):
        np.testing.assert_allclose(ba.numpy(), bt.numpy(), rtol=tol, atol=tol, err_msg=n)
    return am, tm


DTYPES = [np.float32, np.float64]

LAYERS = [
    ("Conv3d", (4, 6, (3, 2, 3)), dict(stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1),
                                      groups=2), (2, 4, 5, 6, 7)),
    ("Conv3d", (3, 2, 2), dict(padding="same", bias=False), (3, 4, 5, 4)),
    ("Conv3d", (2, 3, 3), dict(padding=1, padding_mode="reflect"), (1, 2, 4, 5, 6)),
    ("Conv3d", (2, 3, 3), dict(padding=(1, 2, 1), padding_mode="circular"), (2, 4, 5, 6)),
    ("ConvTranspose3d", (4, 6, (3, 2, 3)), dict(stride=(2, 2, 1), padding=(1, 0, 1),
                                               output_padding=(1, 1, 0), groups=2,
                                               dilation=(1, 1, 2)), (2, 4, 3, 4, 5)),
    ("ConvTranspose3d", (3, 2, 2), dict(stride=2, bias=False), (3, 2, 3, 2)),
    ("MaxPool3d", ((2, 3, 2),), dict(stride=(1, 2, 2), padding=(1, 1, 0), dilation=(2, 1, 1),
                                     ceil_mode=True, return_indices=True), (2, 3, 5, 6, 7)),
    ("MaxPool3d", (2,), {}, (3, 4, 5, 6)),
    ("AvgPool3d", ((3, 3, 2),), dict(stride=(2, 2, 1), padding=1, ceil_mode=True,
                                     count_include_pad=False), (2, 3, 5, 6, 7)),
    ("AvgPool3d", (2,), dict(divisor_override=3), (3, 4, 5, 6)),
    ("AdaptiveAvgPool3d", ((3, None, 4),), {}, (2, 3, 5, 6, 7)),
    ("AdaptiveMaxPool3d", ((3, 4, 5),), dict(return_indices=True), (3, 5, 6, 7)),
    ("BatchNorm3d", (3,), {}, (2, 3, 4, 3, 2)),
    ("InstanceNorm1d", (3,), dict(affine=True, track_running_stats=True), (4, 3, 5)),
    ("InstanceNorm1d", (3,), {}, (3, 5)),
    ("InstanceNorm2d", (3,), dict(affine=True), (2, 3, 4, 5)),
    ("InstanceNorm2d", (3,), dict(track_running_stats=True, momentum=None), (3, 4, 5)),
    ("InstanceNorm3d", (2,), dict(affine=True, track_running_stats=True), (2, 2, 3, 4, 5)),
    ("RMSNorm", (5,), {}, (2, 3, 5)),
    ("RMSNorm", ([4, 5],), dict(eps=1e-3, elementwise_affine=False), (3, 4, 5)),
    ("LocalResponseNorm", (3,), dict(alpha=0.1, beta=0.7, k=2.0), (2, 5, 4, 3)),
    ("LocalResponseNorm", (2,), {}, (2, 4, 6)),
    ("PixelShuffle", (2,), {}, (2, 8, 3, 4)),
    ("PixelShuffle", (3,), {}, (9, 2, 2)),
    ("PixelUnshuffle", (2,), {}, (2, 3, 4, 6)),
    ("ChannelShuffle", (3,), {}, (2, 6, 2, 3)),
]


def _pad_cases():
    cases = []
    for n, shape in ((1, (2, 3, 5)), (2, (2, 3, 4, 5)), (3, (2, 2, 3, 4, 5))):
        widths = (2, 1, 0, 3, 1, 2)[:2 * n]
        for kind in ("Zero", "Reflection", "Replication", "Circular"):
            cases.append((f"{kind}Pad{n}d", (widths,), {}, shape))
            cases.append((f"{kind}Pad{n}d", (1,), {}, shape[1:]))
        cases.append((f"ConstantPad{n}d", (widths, 2.5), {}, shape))
    return cases


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args,kw,shape", LAYERS + _pad_cases())
def test_layer_matches_torch(name, args, kw, shape, dtype):
    am, tm = compare(name, args, shape, dtype, kw)
    if name.startswith(("BatchNorm", "InstanceNorm")) and kw.get("track_running_stats", True) \
            and am.running_mean is not None:
        # evaluation with the running statistics just updated
        compare(name, args, shape, dtype, kw, seed=1, train=False)


def test_conv_transpose3d_output_size():
    am, tm = _pair("ConvTranspose3d", 2, 3, 3, stride=2)
    am.load_state_dict({k: axonal.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4, 3)).astype(np.float32)
    ya = am(axonal.tensor(x), output_size=(8, 10, 7))
    yt = tm(torch.tensor(x), output_size=(8, 10, 7))
    assert tuple(ya.shape) == tuple(yt.shape) == (1, 3, 8, 10, 7)
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)


FUNCTIONAL = [
    ("conv3d", lambda x, w, b: F.conv3d(x, w, b, 2, 1, 1, 2), [(2, 4, 3, 4, 3), (2, 2, 2, 1, 2),
                                                               (2,)]),
    ("conv_transpose3d", lambda x, w: F.conv_transpose3d(x, w, None, 2, 1, 1, 1, 1),
     [(1, 2, 2, 3, 2), (2, 2, 2, 2, 2)]),
    ("max_pool3d", lambda x: F.max_pool3d(x, 2, 1, 1), [(1, 2, 3, 3, 3)]),
    ("avg_pool3d", lambda x: F.avg_pool3d(x, 2, 2, 1, True, False), [(1, 2, 3, 4, 3)]),
    ("adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x, (2, 3, 2)), [(1, 1, 3, 4, 3)]),
    ("pad_reflect", lambda x: F.pad(x, (2, 1, 1, 2), "reflect"), [(2, 3, 4)]),
    ("pad_circular", lambda x: F.pad(x, (2, 1, 1, 0, 1, 1), "circular"), [(1, 2, 3, 4)]),
    ("instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [(2, 2, 5), (2,),
                                                                             (2,)]),
    ("rms_norm", lambda x, w: F.rms_norm(x, (3,), w), [(2, 3), (3,)]),
    ("local_response_norm", lambda x: F.local_response_norm(x, 3, 0.5, 0.75, 1.0), [(1, 4, 3)]),
]


@pytest.mark.parametrize("name,fn,shapes", FUNCTIONAL, ids=[f[0] for f in FUNCTIONAL])
def test_functional_finite_differences(name, fn, shapes):
    rng = np.random.default_rng(3)
    inputs = [axonal.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


def test_pad_functional_modes_and_errors():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5))
    for mode in ("constant", "reflect", "replicate", "circular"):
        ya = F.pad(axonal.tensor(x), (1, 2, 3, 0), mode)
        yt = torch.nn.functional.pad(torch.tensor(x), (1, 2, 3, 0), mode)
        np.testing.assert_array_equal(ya.numpy(), yt.numpy())
    # negative widths crop, in constant mode only
    ya = F.pad(axonal.tensor(x), (-1, 2, 0, -2), value=1.5)
    yt = torch.nn.functional.pad(torch.tensor(x), (-1, 2, 0, -2), value=1.5)
    np.testing.assert_array_equal(ya.numpy(), yt.numpy())
    with pytest.raises(Exception, match="reflect"):
        F.pad(axonal.tensor(x), (5, 0), "reflect")  # width >= size
    with pytest.raises(NotImplementedError, match="non-constant"):
        F.pad(axonal.tensor(x[0]), (1, 1, 1, 1, 1, 1), "replicate")  # 3-D input, 3 dims


def test_instance_norm_num_features_mismatch():
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(4)(axonal.randn(2, 3, 5))
    with pytest.raises(Exception, match="num_features"):
        nn.InstanceNorm1d(4, affine=True)(axonal.randn(2, 3, 5))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(axonal.randn(2, 3, 1))


def test_module_import_paths():
    from axonal.nn.modules.batchnorm import BatchNorm3d
    from axonal.nn.modules.channelshuffle import ChannelShuffle
    from axonal.nn.modules.conv import Conv3d, ConvTranspose3d
    from axonal.nn.modules.instancenorm import InstanceNorm2d
    from axonal.nn.modules.normalization import LocalResponseNorm, RMSNorm
    from axonal.nn.modules.padding import CircularPad3d, ZeroPad2d
    from axonal.nn.modules.pixelshuffle import PixelShuffle, PixelUnshuffle
    from axonal.nn.modules.pooling import AdaptiveAvgPool3d, AvgPool3d, MaxPool3d
    for cls in (BatchNorm3d, ChannelShuffle, Conv3d, ConvTranspose3d, InstanceNorm2d,
                LocalResponseNorm, RMSNorm, CircularPad3d, ZeroPad2d, PixelShuffle,
                PixelUnshuffle, AdaptiveAvgPool3d, AvgPool3d, MaxPool3d):
        assert getattr(nn, cls.__name__) is cls
