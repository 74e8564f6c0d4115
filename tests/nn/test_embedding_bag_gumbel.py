"""EmbeddingBag / F.embedding_bag (2-D input, 1-D input with offsets, include_last_offset,
padding_idx, per_sample_weights, empty bags, sum / mean / max) and F.gumbel_softmax against torch:
outputs and weight gradients in float32 and float64; float64 finite differences."""
import numpy as np
import pytest

import axonal
import axonal.nn as nn
import axonal.nn.functional as F
from axonal.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _pair(dtype, **kw):
    torch.manual_seed(0)
    t = torch.nn.EmbeddingBag(10, 4, **kw).to(getattr(torch, np.dtype(dtype).name))
    a = nn.EmbeddingBag(10, 4, **kw).to(getattr(axonal, np.dtype(dtype).name))
    a.load_state_dict({k: axonal.tensor(v.numpy().copy()) for k, v in t.state_dict().items()})
    assert repr(a) == repr(t)
    return a, t


def _run(a, t, inp, offsets=None, psw=None, dtype=np.float64):
    tol = TOL[dtype]
    pa = None if psw is None else axonal.tensor(psw.astype(dtype), requires_grad=True)
    pt = None if psw is None else torch.tensor(psw.astype(dtype), requires_grad=True)
    ya = a(axonal.tensor(inp), None if offsets is None else axonal.tensor(offsets), pa)
    yt = t(torch.tensor(inp), None if offsets is None else torch.tensor(offsets), pt)
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(5).standard_normal(tuple(yt.shape)).astype(dtype)
    ya.backward(axonal.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(a.weight.grad.numpy(), t.weight.grad.numpy(), rtol=tol, atol=tol)
    if psw is not None:
        np.testing.assert_allclose(pa.grad.numpy(), pt.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_forms(mode, dtype):
    rng = np.random.default_rng(0)
    a, t = _pair(dtype, mode=mode)
    _run(a, t, rng.integers(0, 10, (3, 4)), dtype=dtype)              # 2-D: fixed-length bags
    a, t = _pair(dtype, mode=mode)
    flat = rng.integers(0, 10, 9)
    _run(a, t, flat, np.array([0, 2, 2, 6]), dtype=dtype)             # an empty bag
    a, t = _pair(dtype, mode=mode, include_last_offset=True)
    _run(a, t, flat, np.array([0, 3, 3, 9]), dtype=dtype)
    a, t = _pair(dtype, mode=mode, padding_idx=2)
    bags = np.array([[2, 1, 2, 5], [2, 2, 2, 2], [3, 4, 2, 9]])       # a bag of padding only
    _run(a, t, bags, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_per_sample_weights_and_max_norm(dtype):
    rng = np.random.default_rng(1)
    a, t = _pair(dtype, mode="sum")
    _run(a, t, rng.integers(0, 10, 7), np.array([0, 3]), rng.standard_normal(7), dtype)
    a, t = _pair(dtype, mode="mean", max_norm=1.0)
    _run(a, t, rng.integers(0, 10, (2, 3)), dtype=dtype)
    np.testing.assert_allclose(a.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        F.embedding_bag(axonal.tensor([[1, 2]]), a.weight, mode="mean",
                        per_sample_weights=axonal.ones(1, 2))
    with pytest.raises(ValueError, match="offsets"):
        F.embedding_bag(axonal.tensor([[1, 2]]), a.weight, axonal.tensor([0]))


def test_embedding_bag_finite_differences():
    idx = axonal.tensor(np.array([1, 3, 1, 0, 2, 3]))
    off = axonal.tensor(np.array([0, 2, 5]))
    w = axonal.tensor(np.random.default_rng(2).standard_normal((4, 3)), requires_grad=True)
    for mode in ("sum", "mean", "max"):
        assert gradcheck(lambda w, mode=mode: F.embedding_bag(idx, w, off, mode=mode), [w],
                         eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax(hard):
    axonal.manual_seed(0)
    logits = axonal.tensor(np.log(np.array([[0.1, 0.6, 0.3]] * 4000)), requires_grad=True)
    y = F.gumbel_softmax(logits, tau=0.5, hard=hard)
    v = y.detach().numpy()
    np.testing.assert_allclose(v.sum(1), 1.0, rtol=1e-12)
    if hard:
        assert set(np.unique(v)) <= {0.0, 1.0}
    # samples follow softmax(logits): the argmax frequencies
    freq = np.bincount(v.argmax(1), minlength=3) / len(v)
    np.testing.assert_allclose(freq, [0.1, 0.6, 0.3], atol=0.03)
    # torch's same construction with our noise: same value and gradient
    g = np.random.default_rng(3).standard_normal(v.shape)
    (y * axonal.tensor(g)).sum().backward()
    noise = np.log(v) if not hard else None
    if not hard:  # y = softmax((l + n) / tau): recover n up to a per-row constant
        lt = torch.tensor(logits.detach().numpy(), requires_grad=True)
        n = torch.tensor(noise * 0.5 - logits.detach().numpy())
        yt = torch.softmax((lt + n) / 0.5, -1)
        np.testing.assert_allclose(yt.detach().numpy(), v, rtol=1e-9, atol=1e-12)
        (yt * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(logits.grad.numpy(), lt.grad.numpy(), rtol=1e-7, atol=1e-10)
