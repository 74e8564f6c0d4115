"""Which sgemm the convolution kernels call (kernels.conv._conv_sgemm), and that the kernels give
PyTorch's results with either library, on ResNet-20's convolution shapes (3x3 stride 1 and 2,
padding 1, 1x1 stride-2 projections, 16-64 channels)."""
import numpy as np
import pytest

from axonal.kernels import _sgemm
from axonal.kernels import conv as kconv

torch = pytest.importorskip("torch")


def _choice(monkeypatch, blas, cpu, features, env=None):
    monkeypatch.setattr(_sgemm, "BLAS", blas)
    monkeypatch.setattr(_sgemm, "SGEMM", object() if blas else None)
    monkeypatch.setattr(kconv, "_host_cpu", lambda: (cpu, features))
    monkeypatch.setattr(_sgemm, "_find_openblas", lambda: ("sgemm", None, None, "openblas"))
    if env is None:
        monkeypatch.delenv("AXONAL_CONV_BLAS", raising=False)
    else:
        monkeypatch.setenv("AXONAL_CONV_BLAS", env)
    return kconv._conv_sgemm()[1]


def test_openblas_replaces_mkl_only_on_amd_with_avx512(monkeypatch):
    assert _choice(monkeypatch, "mkl 2026.2", "znver5", {"avx512f": True}) == "openblas"
    assert _choice(monkeypatch, "mkl 2026.2", "znver3", {"avx512f": False}) == "mkl 2026.2"
    assert _choice(monkeypatch, "mkl 2026.2", "sapphirerapids", {"avx512f": True}) == "mkl 2026.2"
    assert _choice(monkeypatch, "openblas", "znver5", {"avx512f": True}) == "openblas"
    assert _choice(monkeypatch, None, "znver5", {"avx512f": True}) is None
    assert _choice(monkeypatch, "mkl 2026.2", "znver5", {"avx512f": True},
                   env="default") == "mkl 2026.2"


def _sgemms():
    """The sgemm pointers available in this process: the library's and NumPy's OpenBLAS."""
    out = {}
    if _sgemm.SGEMM is not None:
        out[_sgemm.BLAS] = _sgemm.SGEMM
    found = _sgemm._find_openblas()
    if found is not None:
        out["openblas"] = found[0]
    return out


# (N, C, CO, H, kernel, stride, padding): ResNet-20's convolutions, smaller batches
SHAPES = [(6, 16, 16, 14, 3, 1, 1), (5, 16, 32, 14, 3, 2, 1), (5, 16, 32, 14, 1, 2, 0),
          (4, 64, 64, 7, 3, 1, 1), (3, 32, 64, 9, 3, 2, 1)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("lib", sorted(_sgemms()))
def test_conv_kernels_match_torch_with_each_sgemm(shape, lib, monkeypatch):
    n, c, co, h, k, s, p = shape
    monkeypatch.setattr(kconv, "SGEMM", _sgemms()[lib])
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c, h, h)).astype(np.float32)
    w = (rng.standard_normal((co, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
    geo = (s, s, p, p, p, p, 1, 1)
    y = kconv.conv2d(x, w, None, geo, 1)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, stride=s, padding=p)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    g = rng.standard_normal(yt.shape).astype(np.float32)
    yt.backward(torch.from_numpy(g))
    gx, gw = kconv.conv2d_backward(x, w, g, geo, 1, True, True)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-4, atol=2e-4)


def test_conv_kernels_run_with_openblas_at_one_thread():
    """The kernels' sgemm runs single-threaded inside the context, whichever library it is, and
    the thread count is restored after."""
    if kconv._OPENBLAS_THREADS is None:
        pytest.skip("the convolution kernels use the library's BLAS here")
    set_n, get_n = kconv._OPENBLAS_THREADS
    prev = get_n()
    set_n(2)
    try:
        with kconv._blas_one_thread():
            assert get_n() == 1
        assert get_n() == 2
    finally:
        set_n(prev)
