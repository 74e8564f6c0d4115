"""axonal.kernels and axonal._threads: every kernel against a NumPy (float64) reference, on both
sides of its size threshold, serial and parallel, and on inputs that must take the NumPy fallback."""
import os
import subprocess
import sys

import numba
import numpy as np
from scipy import special as scipy_special
import pytest

import axonal
import axonal._threads as threads
import axonal.kernels as K
from axonal.kernels import elementwise as ew
from axonal.kernels import optim as op
from axonal.kernels import reductions as rd
from axonal.kernels._jit import FTZ_SUPPORTED
from axonal.kernels._math import exp32, tanh32

F32 = np.float32
OWN = ("_jit", "elementwise", "reductions", "optim")     # this layer's modules (not conv)
ROUTED = {ew: ["_unary_core", "_unary_par", "_binary_core", "_binary_par", "_rowvec_core",
               "_rowvec_par"],
          rd: ["_sum_rows_core", "_sum_rows_par", "_sce_core", "_sce_par", "_sce_bwd_core",
               "_sce_bwd_par", "_log_softmax_core", "_log_softmax_par"],
          op: ["_sgd_core", "_sgd_par", "_momentum_core", "_momentum_par", "_adam_core",
               "_adam_par"]}


@pytest.fixture
def calls(monkeypatch):
    """Records which compiled kernels the wrappers call (empty list: the NumPy fallback ran)."""
    K.warmup(modules=OWN)    # compile first: a driver compiled while its core is patched would see the spy
    seen = []
    def spy(orig, name):
        def call(*args):
            seen.append(name)
            return orig(*args)
        return call

    for mod, names in ROUTED.items():
        for name in names:
            monkeypatch.setattr(mod, name, spy(getattr(mod, name), name))
    return seen


@pytest.fixture
def par(monkeypatch):
    """Force the kernels, with the parallel drivers for all but tiny arrays (64 items per thread)."""
    if threads.get_num_threads() < 2:
        pytest.skip("needs 2 numba threads")
    for name in list(K.THRESHOLDS):
        monkeypatch.setitem(K.THRESHOLDS, name, (1, 64))


@pytest.fixture
def serial(monkeypatch):
    """Force the serial kernels for every size."""
    for name in list(K.THRESHOLDS):
        monkeypatch.setitem(K.THRESHOLDS, name, (1, 1 << 62))


def rand(shape, scale=3.0, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(F32)


def sigmoid64(x):
    x = np.asarray(x, np.float64)
    with np.errstate(invalid="ignore"):
        return np.exp(-np.logaddexp(0.0, -x))


def gelu64(x):
    x = np.asarray(x, np.float64)
    return 0.5 * x * scipy_special.erfc(-x / np.sqrt(2))  # erfc: accurate in the lower tail


def gelu_backward64(g, x):
    x = np.asarray(x, np.float64)
    return g * (0.5 * scipy_special.erfc(-x / np.sqrt(2)) + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi))


UNARY = {"relu": lambda x: np.maximum(x.astype(np.float64), 0), "sigmoid": sigmoid64,
         "gelu": gelu64}
MATH = {"exp": lambda x: np.exp(x.astype(np.float64)), "tanh": lambda x: np.tanh(
    x.astype(np.float64)), "sigmoid": sigmoid64}


@numba.njit
def _map32(x, out, op):
    for i in range(x.size):
        out[i] = exp32(x[i]) if op == 0 else tanh32(x[i])


def math32(name):
    """exp32 / tanh32 (axonal.kernels._math) on an array. The package calls them only inside fused
    kernels (NumPy's own exp and tanh are as fast for a plain array), so the test maps them here."""
    if name == "sigmoid":
        return K.sigmoid

    def fn(x):
        out = np.empty_like(x)
        _map32(x.reshape(-1), out.reshape(-1), 0 if name == "exp" else 1)
        return out

    return fn


def close(got, want, rtol=2e-6, atol=1e-30):
    want = np.asarray(want, np.float64)
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=rtol, atol=atol)


# ------------------------------------------------------------------------------ element-wise


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_threshold_and_paths(name, calls, monkeypatch):
    fn, ref, lo = getattr(K, name), UNARY[name], K.THRESHOLDS[name][0]
    x = rand(lo - 1)
    close(fn(x), ref(x))
    assert calls == []                        # below the threshold: NumPy
    x = rand(lo)
    y = fn(x)
    assert y.dtype == F32 and y.shape == x.shape
    assert calls in (["_unary_core"], ["_unary_par"])
    close(y, ref(x))
    monkeypatch.setitem(K.THRESHOLDS, name, (1, 64))
    x = rand((33, 129))                       # odd sizes: block edges inside cache lines
    close(fn(x), ref(x))
    if threads.get_num_threads() >= 2:
        assert calls[-1] == "_unary_par"


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_fallback_inputs(name, calls):
    fn, ref = getattr(K, name), UNARY[name]
    x64 = rand((64, 64)).astype(np.float64)
    y = fn(x64)
    assert y.dtype == np.float64
    close(y, ref(x64), rtol=1e-12)
    strided = rand((64, 128))[:, ::2]         # non-contiguous float32
    close(fn(strided), ref(strided))
    readonly = rand(8192)
    readonly.flags.writeable = False          # would need its own numba signature
    close(fn(readonly), ref(readonly))
    assert fn(np.empty((0, 5), F32)).shape == (0, 5)
    assert calls == []


EXTREMES = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-6, -1e-6, 0.3, 0.624, 0.626, 1.0, -1.0,
                     20.0, -20.0, 87.0, -87.0, 88.5, 88.72, -87.3, 89.0, -88.0, 100.0, -100.0,
                     1e4, -1e4, np.inf, -np.inf], F32)


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid"])
def test_transcendental_extremes_and_nan(name, par):
    fn, ref = math32(name), MATH[name]
    x = np.tile(np.append(EXTREMES, np.nan).astype(F32), 400)        # kernel path, both threads
    with np.errstate(over="ignore"):
        want = ref(x).astype(F32)                   # float32 overflow: exp(89) = inf
    got = fn(x)
    assert np.array_equal(np.isnan(got), np.isnan(x))                # NaN in, NaN out, no other
    # relative 2e-6; results below FLT_MIN (subnormal in float32) may be flushed to 0
    close(got, want, rtol=2e-6, atol=1.2e-38)


def test_exp_accuracy_full_range(serial):
    x = np.linspace(-87.3, 88.72, 1_000_001).astype(F32)
    rel = np.abs(math32("exp")(x) / np.exp(x.astype(np.float64)) - 1)
    assert rel.max() < 1e-6, rel.max()


def test_tanh_sigmoid_accuracy(serial):
    x = np.concatenate([np.linspace(-12, 12, 200_001), np.geomspace(1e-7, 0.7, 50_000)]).astype(F32)
    x = np.concatenate([x, -x])
    x = x[x != 0]
    assert np.max(np.abs(math32("tanh")(x) / np.tanh(x.astype(np.float64)) - 1)) < 1e-6
    x = np.linspace(-85, 40, 200_001).astype(F32)
    assert np.max(np.abs(K.sigmoid(x) / sigmoid64(x) - 1)) < 1e-6


def test_relu_nan_and_zero(calls, serial):
    x = np.tile(np.array([np.nan, -0.0, 0.0, -1.0, 2.0, np.inf, -np.inf], F32), 1000)
    y = K.relu(x)
    assert calls == ["_unary_core"]
    assert np.array_equal(y, np.maximum(x, 0), equal_nan=True)


BINARY = {
    "relu_backward": lambda g, x: np.where(x > 0, g, 0),
    "tanh_backward": lambda g, y: g * (1 - y * y), "sigmoid_backward": lambda g, y: g * y * (1 - y),
    "gelu_backward": gelu_backward64,
}


@pytest.mark.parametrize("name", list(BINARY))
def test_binary(name, calls, monkeypatch):
    fn, ref = getattr(K, name), BINARY[name]
    lo = K.THRESHOLDS[name][0]
    for n, expect in ((lo - 1, []), (lo, ["_binary_core"])):
        a, b = rand(n, seed=1), np.tanh(rand(n, seed=2))
        calls.clear()
        # atol: 1 - y*y cancels for |y| ~ 1 (float32 rounding of y*y, times |grad|)
        close(fn(a, b), ref(a.astype(np.float64), b.astype(np.float64)), rtol=1e-6, atol=2e-6)
        assert calls == expect
    monkeypatch.setitem(K.THRESHOLDS, name, (lo, 64))
    a, b = rand((40, 100), seed=3), np.tanh(rand((40, 100), seed=4))
    close(fn(a, b), ref(a.astype(np.float64), b.astype(np.float64)), rtol=1e-6, atol=2e-6)
    # fallbacks: broadcasting, float64, non-contiguous
    calls.clear()
    close(fn(a, b[0]), ref(a.astype(np.float64), b[0].astype(np.float64)), rtol=1e-6, atol=2e-6)
    assert fn(a.astype(np.float64), b.astype(np.float64)).dtype == np.float64
    close(fn(a[:, ::2], b[:, ::2]), ref(a[:, ::2].astype(np.float64), b[:, ::2]), rtol=1e-6,
          atol=2e-6)
    assert calls == []


def test_relu_backward_selects_nan_gradients_away(serial):
    a = np.tile(np.array([1.5, np.nan, -2.0, np.inf, 0.0], F32), 1000)
    g = np.full(5000, np.nan, F32)
    assert np.array_equal(K.relu_backward(g, a), np.where(a > 0, g, 0), equal_nan=True)


def test_add_rowvec_inplace(calls, monkeypatch):
    out, b = rand((128, 64)), rand(64, seed=5)
    want = out + b
    res = K.add_rowvec_inplace(out, b)
    assert res is out and calls == ["_rowvec_core"]
    np.testing.assert_array_equal(out, want)
    monkeypatch.setitem(K.THRESHOLDS, "add_rowvec_inplace", (1024, 64))
    out3 = rand((4, 32, 64))                  # (..., C) also works
    want = out3 + b
    K.add_rowvec_inplace(out3, b)
    np.testing.assert_array_equal(out3, want)
    calls.clear()
    small, o64 = rand((2, 64)), rand((64, 64)).astype(np.float64)
    np.testing.assert_array_equal(K.add_rowvec_inplace(small.copy(), b), small + b)
    np.testing.assert_array_equal(K.add_rowvec_inplace(o64.copy(), b), o64 + b)
    assert calls == []


# ------------------------------------------------------------------------------ reductions


@pytest.mark.parametrize("shape", [(1, 1024), (128, 10), (128, 512), (1000, 3), (4096, 33)])
def test_sum_rows(shape, calls, par):
    x = rand(shape, seed=6) + 1.0
    got = K.sum_rows(x)
    assert got.dtype == F32 and got.shape == (shape[1],)
    want = x.astype(np.float64).sum(0)
    scale = np.abs(x).astype(np.float64).sum(0)
    assert np.all(np.abs(got - want) <= 1e-5 * scale + 1e-30)
    assert calls and calls[0] in ("_sum_rows_core", "_sum_rows_par")


def test_sum_rows_long_columns_and_fallback(calls):
    x = (np.random.default_rng(7).random((200_000, 4)) + 1).astype(F32)   # 200k rows, all > 0
    got = K.sum_rows(x)
    np.testing.assert_allclose(got, x.astype(np.float64).sum(0), rtol=1e-5)
    calls.clear()
    for y in (x[:10], x.astype(np.float64), x[::2], np.zeros((0, 4), F32)):
        np.testing.assert_allclose(K.sum_rows(y), y.sum(0), rtol=1e-6)
    assert calls == []


def sce_ref(x, t):
    x = x.astype(np.float64)
    sh = x - x.max(1, keepdims=True)
    lse = np.log(np.exp(sh).sum(1, keepdims=True))
    logp = sh - lse
    return -logp[np.arange(len(t)), t].mean(), np.exp(logp)


@pytest.mark.parametrize("shape", [(1, 256), (128, 10), (128, 512), (3, 2000)])
@pytest.mark.parametrize("parallel", [False, True])
def test_softmax_cross_entropy(shape, parallel, calls, monkeypatch):
    if parallel:
        monkeypatch.setitem(K.THRESHOLDS, "softmax_cross_entropy", (256, 64))
    x = rand(shape, scale=4.0, seed=8)
    t = np.random.default_rng(9).integers(0, shape[1], shape[0])
    loss, probs = K.softmax_cross_entropy(x, t)
    want_loss, want_p = sce_ref(x, t)
    assert isinstance(loss, float) and calls
    assert abs(loss - want_loss) <= 2e-6 * abs(want_loss)
    close(probs, want_p, rtol=2e-6, atol=1e-12)
    g = K.softmax_cross_entropy_backward(probs, t, 0.5)
    onehot = np.eye(shape[1])[t]
    close(g, (want_p - onehot) * 0.5, rtol=1e-5, atol=1e-7)


def test_softmax_cross_entropy_edges(calls):
    x = rand((64, 16), seed=10)
    x[0, :] = [1e4] + [-1e4] * 15             # huge logits: no overflow, loss ~0
    x[1, 3] = np.nan
    t = np.arange(64) % 16
    loss, probs = K.softmax_cross_entropy(x, t.astype(np.int32))   # int32 targets accepted
    assert calls == ["_sce_core"] and np.isnan(loss)
    assert np.all(np.isnan(probs[1])) and not np.any(np.isnan(np.delete(probs, 1, 0)))
    x[1, 3] = 0
    loss, probs = K.softmax_cross_entropy(x, t)
    close(loss, sce_ref(x, t)[0], rtol=2e-6)
    assert probs[0, 0] == 1.0
    for fn in (K.softmax_cross_entropy, lambda a, b: K.softmax_cross_entropy_backward(a, b, 1.0)):
        for bad in (16, -1):
            tb = t.copy()
            tb[5] = bad
            with pytest.raises(IndexError):
                fn(x, tb)                    # kernel path
            with pytest.raises(IndexError):
                fn(x[:2], tb[:2] * 0 + bad)   # NumPy path
    loss, probs = K.softmax_cross_entropy(np.zeros((0, 4), F32), np.zeros(0, np.int64))
    assert np.isnan(loss) and probs.shape == (0, 4)
    x64 = x.astype(np.float64)
    loss, probs = K.softmax_cross_entropy(x64, t)
    assert probs.dtype == np.float64 and abs(loss - sce_ref(x64, t)[0]) < 1e-12
    g = K.softmax_cross_entropy_backward(probs, t, np.full((64, 1), 2.0))   # per-row scale
    close(g, (probs - np.eye(16)[t]) * 2.0, rtol=1e-12)


@pytest.mark.parametrize("shape", [(8, 32), (128, 10), (2, 3, 500), (4096,)])
def test_log_softmax(shape, calls, par):
    x = rand(shape, scale=5.0, seed=11)
    x.reshape(-1)[0] = 1e4                   # large logit: result must not lose digits
    x64 = x.astype(np.float64)
    sh = x64 - x64.max(-1, keepdims=True)
    want = sh - np.log(np.exp(sh).sum(-1, keepdims=True))
    got = K.log_softmax(x)
    assert got.shape == x.shape and got.dtype == F32
    close(got, want, rtol=2e-6, atol=2e-6)
    assert calls and calls[0] in ("_log_softmax_core", "_log_softmax_par")
    y = K.log_softmax(x64)
    close(y, want, rtol=1e-12)
    for row in ([np.nan, 1], [1, np.nan]):   # a NaN anywhere in a row: the whole row is NaN
        assert np.all(np.isnan(K.log_softmax(np.tile(np.array(row, F32), (200, 1)))))


def test_log_softmax_along_another_dim_falls_back(calls):
    x = rand((6, 40, 3), seed=12)
    x64 = x.astype(np.float64)
    sh = x64 - x64.max(1, keepdims=True)
    close(K.log_softmax(x, 1), sh - np.log(np.exp(sh).sum(1, keepdims=True)), rtol=2e-6,
          atol=2e-6)
    assert calls == []
    assert K.log_softmax(x, 2).shape == x.shape and calls  # the last dim, by index: the kernel


def test_sigmoid_fallback_is_exact_in_both_tails():
    x = np.array([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])
    for dtype in (np.float64, np.float16):
        with np.errstate(over="raise"):                 # exp of a non-positive number only
            y = K.sigmoid(x.astype(dtype))
        assert y.dtype == dtype
        half = dtype == np.float16                      # float16 ends at 6e-8
        close(y, sigmoid64(x.astype(dtype)), rtol=1e-3 if half else 1e-15, atol=6e-8 if half else 0)


# ------------------------------------------------------------------------------ optimizers


def torch_sgd_ref(p, g, buf, lr, mom, damp, nesterov, wd, first):
    """PyTorch's torch.optim.SGD step (single-tensor form) in NumPy float64."""
    d = g + wd * p
    if mom:
        buf[...] = d if first else mom * buf + (1 - damp) * d
        d = d + mom * buf if nesterov else buf
    p -= lr * d


def torch_adam_ref(p, g, m, v, step, lr, b1, b2, eps, wd, decoupled):
    if wd:
        if decoupled:
            p *= 1 - lr * wd
        else:
            g = g + wd * p
    m += (1 - b1) * (g - m)
    v[...] = b2 * v + (1 - b2) * g * g
    denom = np.sqrt(v) / np.sqrt(1 - b2 ** step) + eps
    p -= lr / (1 - b1 ** step) * m / denom


def _grads(n, steps):
    rng = np.random.default_rng(12)
    return [(rng.standard_normal(n) * 0.1).astype(F32) for _ in range(steps)]


@pytest.mark.parametrize("where", ["below", "at", "parallel"])
@pytest.mark.parametrize("mom,damp,nesterov,wd", [(0, 0, False, 0), (0, 0, False, 0.01),
                                                  (0.9, 0, False, 0), (0.9, 0.1, False, 0.01),
                                                  (0.9, 0, True, 1e-3)])
def test_sgd(where, mom, damp, nesterov, wd, calls, monkeypatch):
    key = "sgd_momentum_update" if mom else "sgd_update"
    lo = K.THRESHOLDS[key][0]
    n = {"below": lo - 1, "at": lo, "parallel": 5000}[where]
    if where == "parallel":
        monkeypatch.setitem(K.THRESHOLDS, key, (lo, 64))
    p = rand(n, scale=1.0, seed=13)
    buf = np.zeros_like(p)
    p64, buf64 = p.astype(np.float64), np.zeros(n)
    for i, g in enumerate(_grads(n, 5)):
        if mom:
            K.sgd_momentum_update(p, g, buf, 0.1, mom, damp, nesterov, wd, first_step=(i == 0))
        else:
            K.sgd_update(p, g, 0.1, wd)
        torch_sgd_ref(p64, g.astype(np.float64), buf64, 0.1, mom, damp, nesterov, wd, i == 0)
    close(p, p64, rtol=1e-5, atol=1e-6)
    assert bool(calls) == (n >= lo)


@pytest.mark.parametrize("where", ["below", "at", "parallel"])
@pytest.mark.parametrize("wd,decoupled", [(0, False), (0.01, False), (0.01, True)])
def test_adam(where, wd, decoupled, calls, monkeypatch):
    lo = K.THRESHOLDS["adam_update"][0]
    n = {"below": lo - 1, "at": lo, "parallel": 4096}[where]
    if where == "parallel":
        monkeypatch.setitem(K.THRESHOLDS, "adam_update", (lo, 64))
    p = rand(n, scale=1.0, seed=14)
    m, v = np.zeros_like(p), np.zeros_like(p)
    p64, m64, v64 = p.astype(np.float64), np.zeros(n), np.zeros(n)
    for step, g in enumerate(_grads(n, 6), start=1):
        K.adam_update(p, g, m, v, step, 1e-2, 0.9, 0.999, 1e-8, wd, decoupled)
        torch_adam_ref(p64, g.astype(np.float64), m64, v64, step, 1e-2, 0.9, 0.999, 1e-8, wd,
                       decoupled)
    close(p, p64, rtol=1e-5, atol=1e-6)
    close(m, m64, rtol=1e-5, atol=1e-8)     # m + w (g - m) cancels: error ~ eps |g|, g ~ 0.1
    close(v, v64, rtol=1e-5, atol=1e-12)
    assert bool(calls) == (n >= lo)


def test_optimizers_float64_and_mismatch_fall_back(calls):
    p, g = rand(4096).astype(np.float64), rand(4096, seed=1).astype(np.float64)
    want = p - 0.1 * g
    K.sgd_update(p, g, 0.1)
    np.testing.assert_allclose(p, want, rtol=1e-15)
    p32, g_strided = rand(4096), rand(8192, seed=2)[::2]
    want = p32 - F32(0.1) * g_strided
    K.sgd_update(p32, g_strided, 0.1)
    np.testing.assert_allclose(p32, want, rtol=1e-6)
    assert calls == []
    with pytest.raises(ValueError):
        K.adam_update(p32, p32, p32.copy(), p32.copy(), 0, 0.1)


@pytest.mark.torch
def test_optimizers_match_torch():
    torch = pytest.importorskip("torch")
    n = 3000
    grads = _grads(n, 4)
    for cls, kw in ((torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True,
                                       "weight_decay": 1e-2}),
                    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.8, "dampening": 0.3}),
                    (torch.optim.Adam, {"lr": 1e-2, "weight_decay": 1e-2}),
                    (torch.optim.AdamW, {"lr": 1e-2, "weight_decay": 1e-1})):
        p = rand(n, scale=1.0, seed=15)
        tp = torch.nn.Parameter(torch.from_numpy(p.copy()))
        opt = cls([tp], **kw)
        buf, m, v = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
        for step, g in enumerate(grads, start=1):
            tp.grad = torch.from_numpy(g.copy())
            opt.step()
            if cls is torch.optim.SGD:
                K.sgd_momentum_update(p, g, buf, kw["lr"], kw["momentum"], kw.get("dampening", 0),
                                      kw.get("nesterov", False), kw.get("weight_decay", 0),
                                      first_step=step == 1)
            else:
                K.adam_update(p, g, m, v, step, kw["lr"], 0.9, 0.999, 1e-8, kw["weight_decay"],
                              decoupled=cls is torch.optim.AdamW)
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------------ denormals


def _sgd_from_zero(g, lr):
    """p = 0 - lr * g, computed in float32 inside the SGD kernel."""
    p = np.zeros_like(g)
    K.sgd_update(p, g, lr)
    return p


@pytest.mark.skipif(not FTZ_SUPPORTED, reason="FTZ/DAZ via MXCSR is x86 only")
def test_denormals_flushed_inside_kernels_only(serial, monkeypatch):
    assert K.flush_denormals_active()
    tiny = np.full(4096, 1e-20, F32)
    assert np.all(_sgd_from_zero(tiny, 1e-20) == 0)        # FTZ: 1e-40 is subnormal
    sub = np.full(4096, 1e-40, F32)
    assert np.all(_sgd_from_zero(sub, 1e30) == 0)          # DAZ: 1e-40 read as 0 (else 1e-10)
    monkeypatch.setitem(K.THRESHOLDS, "sgd_update", (1, 64))
    assert np.all(_sgd_from_zero(tiny, 1e-20) == 0)        # every worker thread too
    # the caller's environment is restored: NumPy and Python still produce subnormals
    assert tiny[0] * tiny[0] != 0 and 2.0 ** -1073 != 0
    assert np.all(np.multiply(tiny, tiny) != 0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_uses_serial_kernels(par):
    """GNU OpenMP aborts a forked child that enters a parallel region after the parent used the
    pool: children (e.g. data-loader workers) must run the serial kernels."""
    x = rand(1 << 14)
    K.sigmoid(x)                                            # the parent's pool is now live
    pid = os.fork()
    if pid == 0:                                            # child: never return into pytest
        code = 1
        try:
            code = 0 if np.allclose(K.sigmoid(x), sigmoid64(x), rtol=1e-5) else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# ------------------------------------------------------------------------------ threads


def test_thread_policy_env_in_fresh_process():
    code = ("import importlib.util, os, sys; "
            "s = importlib.util.spec_from_file_location('t', sys.argv[1]); "
            "e = dict(os.environ); m = importlib.util.module_from_spec(s); "
            "s.loader.exec_module(m); "  # loading the module alone writes nothing
            "assert 'numpy' not in sys.modules and dict(os.environ) == e; m.configure(); "
            "print(m.configure(), *(os.environ[k] for k in ('OPENBLAS_NUM_THREADS', "
            "'NUMBA_NUM_THREADS', 'OPENBLAS_THREAD_TIMEOUT', 'GOMP_SPINCOUNT', "
            "'MKL_NUM_THREADS', 'MKL_THREADING_LAYER')))")
    path = os.path.join(os.path.dirname(threads.__file__), "_threads.py")

    def run(**env):
        base = {k: v for k, v in os.environ.items()
                if k not in ("AXONAL_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                             "NUMBA_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT", "GOMP_SPINCOUNT",
                             "MKL_NUM_THREADS", "MKL_THREADING_LAYER", "AXONAL_BLAS")}
        out = subprocess.run([sys.executable, "-c", code, path], env=dict(base, **env),
                             capture_output=True, text=True, check=True)
        return out.stdout.split()

    # without MKL: OpenBLAS has the pool's threads and both pools spin briefly
    assert run(AXONAL_NUM_THREADS="3", AXONAL_BLAS="openblas") == \
        ["3", "3", "3", "4", "10000", "3", "GNU"]
    assert run(AXONAL_NUM_THREADS="3", OPENBLAS_NUM_THREADS="2", GOMP_SPINCOUNT="7",
               AXONAL_BLAS="openblas") == ["3", "2", "3", "4", "7", "3", "GNU"]  # the user's win
    assert run(OMP_NUM_THREADS="2", AXONAL_BLAS="openblas")[:3] == ["2", "2", "2"]
    n = str(len(os.sched_getaffinity(0)))
    assert run(AXONAL_NUM_THREADS="zero", AXONAL_BLAS="openblas")[:3] == [n, n, n]  # ignored
    # with MKL installed: one GNU OpenMP pool for MKL and numba, OpenBLAS single-threaded
    if threads.mkl_library_paths():
        assert run(AXONAL_NUM_THREADS="3") == ["3", "1", "3", "4", "100000", "3", "GNU"]


def test_set_num_threads_roundtrip(calls, monkeypatch):
    before = threads.get_num_threads()
    monkeypatch.setitem(K.THRESHOLDS, "sigmoid", (1, 64))
    try:
        route = threads.set_num_threads(1)
        assert route in ("openblas", "openblas+mkl", "mkl", "none")
        assert threads.get_num_threads() == 1 and threads.num_threads_hint() == 1
        x = rand(1 << 12)
        close(K.sigmoid(x), sigmoid64(x))
        assert calls == ["_unary_core"]                   # one thread: serial kernel
    finally:
        threads.set_num_threads(before)
    assert threads.get_num_threads() == before
    with pytest.raises(ValueError):
        threads.set_num_threads(0)


# ------------------------------------------------------------------------------ signatures (last)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_gather_backward_accumulates_repeated_rows(dtype):
    # the backward of w[idx] (an embedding lookup) adds rows with the index_add_rows kernel
    from axonal.kernels.reductions import index_add_rows

    rng = np.random.default_rng(4)
    idx = rng.integers(-7, 7, (5, 9))
    src = rng.standard_normal((5, 9, 3, 2)).astype(dtype)
    want = np.zeros((7, 3, 2))
    np.add.at(want, idx, src.astype(np.float64))
    got = index_add_rows(np.zeros((7, 3, 2), dtype), idx, src)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    w = axonal.tensor(np.zeros((7, 3, 2), dtype), requires_grad=True)
    (w[axonal.tensor(idx)] * axonal.tensor(src)).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-6, atol=1e-6)


def test_warmup_and_one_signature_per_kernel():
    times = K.warmup(modules=OWN)
    cases = K._kernels(OWN)
    assert len(times) == len(cases) == 24
    for fn, _ in cases:       # every test above ran: still one compiled signature per kernel
        assert len(fn.signatures) == 1, (fn.__name__, fn.signatures)



def test_gelu_tails_and_specials(serial):
    """The fused gelu keeps relative accuracy in the lower tail (erfc, no 1 + erf cancellation),
    saturates to x above, gives inf and NaN at +-inf as PyTorch's float64 gelu, and passes NaN; erf
    matches the float64 erf in every dtype."""
    x = np.concatenate([np.linspace(-9, 9, 20001), [0.0, -0.0, np.inf, -np.inf, np.nan]]).astype(F32)
    y = K.gelu(x)
    finite = np.isfinite(x)
    close(y[finite], gelu64(x[finite]), rtol=2e-6, atol=1e-37)
    assert y[-3] == np.inf and np.isnan(y[-2]) and np.isnan(y[-1])  # -inf * Phi(-inf): as torch
    # the derivative crosses zero near x = -0.75 (Phi + x phi cancels): absolute error there
    close(K.gelu_backward(np.ones_like(x), x)[finite], gelu_backward64(1.0, x[finite]), rtol=2e-6,
          atol=2e-7)
    for dtype in (np.float16, np.float32, np.float64):
        z = np.linspace(-4, 4, 101).astype(dtype)
        got = K.erf(z)
        assert got.dtype == dtype
        close(got, scipy_special.erf(z.astype(np.float64)), rtol=1e-3 if dtype == np.float16 else 2e-7,
              atol=1e-3 if dtype == np.float16 else 1e-15)


@pytest.mark.parametrize("out_shape,idx", [((0, 3), []), ((4, 0), [1, 2]), ((4, 3), [])])
def test_index_add_rows_on_empty_arrays(out_shape, idx):
    """Empty tables, empty rows and empty index lists (the backward of an empty index_select)."""
    out = np.zeros(out_shape, F32)
    idx = np.asarray(idx, np.int64)
    src = np.ones(idx.shape + out_shape[1:], F32)
    assert K.index_add_rows(out, idx, src) is out
    assert not out.any()
