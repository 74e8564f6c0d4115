"""kernels.attention: row softmax, its backward and the causal variant, against the NumPy fallback
(float64), PyTorch (softmax, scaled_dot_product_attention with is_causal, forward and gradients),
and gradgradcheck through the recorded backward."""
import numpy as np
import pytest

import axonal
import axonal.nn.functional as F
from axonal.autograd import gradcheck, gradgradcheck
from axonal.kernels import THRESHOLDS
from axonal.kernels import attention as KA

torch = pytest.importorskip("torch")


@pytest.fixture(params=["serial", "parallel"])
def blocks(request, monkeypatch):
    """Both drivers: one block in the calling thread, or two parallel blocks however small."""
    for key in ("softmax", "softmax_backward"):  # the kernels at every size
        monkeypatch.setitem(THRESHOLDS, key, (1, THRESHOLDS[key][1]))
    if request.param == "parallel":
        monkeypatch.setattr(KA, "parallel_blocks", lambda n, per: 2)
    return request.param


def _f64_softmax(x, scale=1.0, causal=False):
    z = x.astype(np.float64) * scale
    if causal:
        z = np.where(np.tri(*x.shape[-2:], dtype=bool), z, -np.inf)
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("shape", [(7, 33), (2, 3, 5, 17), (300, 1), (4, 128)])
def test_softmax_and_backward_match_float64(shape, blocks):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    for scale in (1.0, 0.125):
        assert KA.kernel_ok(x) and KA.kernel_ok(x, "softmax_backward")
        y = KA.softmax(x, scale)
        want = _f64_softmax(x, scale)
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-7)
        gx = KA.softmax_backward(y, g, scale)
        want_g = scale * want * (g - (g * want).sum(-1, keepdims=True))
        np.testing.assert_allclose(gx, want_g, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("L,S", [(9, 9), (5, 12), (12, 5), (1, 7)])
def test_causal_softmax_matches_float64_and_masks_exactly(L, S, blocks):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, L, S)).astype(np.float32)
    x[..., np.triu_indices(L, 1, S)[0], np.triu_indices(L, 1, S)[1]] = np.nan  # never read
    g = rng.standard_normal(x.shape).astype(np.float32)
    y = KA.causal_softmax(x, 0.5)
    want = _f64_softmax(np.nan_to_num(x), 0.5, causal=True)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-7)
    assert (y[..., ~np.tri(L, S, dtype=bool)] == 0).all()
    gx = KA.causal_softmax_backward(y, g, 0.5)
    want_g = 0.5 * want * (g - (g * want).sum(-1, keepdims=True))
    np.testing.assert_allclose(gx, want_g, rtol=1e-4, atol=1e-6)
    assert (gx[..., ~np.tri(L, S, dtype=bool)] == 0).all()


def test_kernels_equal_their_numpy_fallbacks(monkeypatch):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((3, 6, 40)) * 3).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    for key in ("softmax", "softmax_backward"):
        monkeypatch.setitem(THRESHOLDS, key, (1, THRESHOLDS[key][1]))
    assert KA.kernel_ok(x, "softmax_backward")
    yc = _f64_softmax(x, 0.3, causal=True).astype(np.float32)  # 0 where masked, as y always is
    fast = [KA.softmax(x, 0.3), KA.softmax_backward(x, g, 0.3), KA.causal_softmax(x, 0.3),
            KA.causal_softmax_backward(yc, g, 0.3)]
    monkeypatch.setitem(THRESHOLDS, "softmax", (1 << 62, 1 << 62))
    monkeypatch.setitem(THRESHOLDS, "softmax_backward", (1 << 62, 1 << 62))
    assert not KA.kernel_ok(x)
    slow = [KA.softmax(x, 0.3), KA.softmax_backward(x, g, 0.3), KA.causal_softmax(x, 0.3),
            KA.causal_softmax_backward(yc, g, 0.3)]
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("scale", [2.0, -0.5, 0.0])
def test_any_scale_sign(scale):
    """The row max is taken before scaling only for scale > 0; negative and zero scales too."""
    x = np.random.default_rng(7).standard_normal((5, 37)).astype(np.float32)
    np.testing.assert_allclose(KA.softmax(x, scale), _f64_softmax(x, scale), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(KA.causal_softmax(x, scale), _f64_softmax(x, scale, causal=True),
                               rtol=1e-5, atol=1e-7)


def test_inf_and_nan_rows_as_numpy():
    x = np.zeros((4, 70), np.float32)
    x[0, 5:] = -np.inf           # masked keys: weight exactly 0
    x[1, :] = -np.inf            # every key masked: NaN row (PyTorch gives NaN too)
    x[2, 3] = np.nan             # NaN propagates to the row
    y = KA.softmax(x)
    assert np.allclose(y[0, :5], 0.2) and (y[0, 5:] == 0).all()
    assert np.isnan(y[1]).all() and np.isnan(y[2]).all()
    np.testing.assert_allclose(y[3], 1 / 70, rtol=1e-6)
    t = torch.softmax(torch.from_numpy(x), -1).numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(t))


def test_masked_fill_softmax_pattern_matches_torch(blocks):
    """The GPT idiom: scores.masked_fill(tril == 0, -inf), softmax(-1), forward and backward."""
    rng = np.random.default_rng(3)
    s = rng.standard_normal((2, 4, 16, 16)).astype(np.float32)
    g = rng.standard_normal(s.shape).astype(np.float32)
    out = []
    for lib in (axonal, torch):
        x = lib.tensor(s, requires_grad=True)
        mask = lib.tril(lib.ones(16, 16)).view(1, 1, 16, 16)
        y = lib.nn.functional.softmax(x.masked_fill(mask == 0, float("-inf")) * 1.0, dim=-1)
        (y * lib.tensor(g)).sum().backward()
        out.append((y.detach().numpy(), x.grad.numpy()))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("L,S", [(16, 16), (6, 10), (10, 6)])
def test_causal_sdpa_matches_torch(L, S, blocks):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((2, 3, n, 8)).astype(np.float32) for n in (L, S, S)]
    g = rng.standard_normal((2, 3, L, 8)).astype(np.float32)
    out = []
    for lib in (axonal, torch):
        q, k, v = (lib.tensor(a, requires_grad=True) for a in arrays)
        y = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        (y * lib.tensor(g)).sum().backward()
        out.append([y.detach().numpy()] + [t.grad.numpy() for t in (q, k, v)])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_causal_sdpa_gradgradcheck_float64():
    """Fused forward, recorded backward: second derivatives through CausalSoftmax.backward."""
    rng = np.random.default_rng(5)
    q, k, v = (axonal.tensor(rng.standard_normal((1, 2, n, 3)), dtype=axonal.float64,
                             requires_grad=True) for n in (4, 5, 5))

    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7)
    assert gradcheck(fn, (q, k, v))
    assert gradgradcheck(fn, (q, k, v))


def test_softmax_gradgradcheck_float64():
    x = axonal.tensor(np.random.default_rng(6).standard_normal((3, 5)), dtype=axonal.float64,
                      requires_grad=True)
    assert gradgradcheck(lambda t: F.softmax(t * t, dim=-1), (x,))
    assert gradgradcheck(lambda t: F.softmax(t * t, dim=0), (x,))



def test_causal_sdpa_forward_ad_and_vmap_match_the_unfused_ops():
    """jvp (forward AD) and vmap through the fused CausalSoftmax, against the same attention
    written with an explicit -inf mask (matmul + softmax, each with its own rules)."""
    rng = np.random.default_rng(8)
    q, k, v, tq = (axonal.tensor(rng.standard_normal((2, 5, 4)), dtype=axonal.float64)
                   for _ in range(4))
    mask = axonal.tensor(np.triu(np.full((5, 5), -np.inf), 1))

    def fused(q):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3)

    def plain(q):
        return F.softmax((q @ k.transpose(-2, -1)) * 0.3 + mask, dim=-1) @ v

    y1, t1 = axonal.func.jvp(fused, (q,), (tq,))
    y2, t2 = axonal.func.jvp(plain, (q,), (tq,))
    np.testing.assert_allclose(y1.numpy(), y2.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t1.numpy(), t2.numpy(), rtol=1e-10, atol=1e-12)
    k1, v1 = k[0], v[0]  # vmap over q's batch, one (5, 4) key/value set shared

    def fused1(q):
        return F.scaled_dot_product_attention(q, k1, v1, is_causal=True, scale=0.3)

    want = F.softmax((q @ k1.transpose(-2, -1)) * 0.3 + mask, dim=-1) @ v1
    vb = axonal.vmap(fused1)(q)
    np.testing.assert_allclose(vb.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
