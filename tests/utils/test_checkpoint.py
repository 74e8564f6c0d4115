"""utils.checkpoint: outputs and gradients equal the plain run's and torch's checkpoint, the
segment is recomputed in backward (the function runs twice, the first run's intermediates are
freed at once), dropout masks are replayed (RNG state preserved), parameters get gradients with
no input requiring grad, autograd.grad works (use_reentrant=False semantics), kwargs and tuple
outputs, checkpoint_sequential, and PyTorch's use_reentrant=True / None behaviours."""
import gc
import weakref

import numpy as np
import pytest

import axonal
import axonal.nn as nn
from axonal.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential

torch = pytest.importorskip("torch")
import torch.utils.checkpoint as tcp


def _pair(dtype=np.float64):
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    t = t.to(getattr(torch, np.dtype(dtype).name))
    a = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    a.to(getattr(axonal, np.dtype(dtype).name))
    a.load_state_dict({k: axonal.tensor(v.numpy().copy()) for k, v in t.state_dict().items()})
    return a, t


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)])
def test_matches_torch_checkpoint(shape, dtype):
    a, t = _pair(dtype)
    rng = np.random.default_rng(0)
    x = np.swapaxes(np.ascontiguousarray(np.swapaxes(rng.standard_normal(shape), -1, -2)),
                    -1, -2).astype(dtype, copy=False)  # non-contiguous
    assert not x.flags.c_contiguous
    xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya = checkpoint(a, xa, use_reentrant=False)
    yt = tcp.checkpoint(t, xt, use_reentrant=False)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    ya.backward(axonal.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
    for (n, pa), (_, pt) in zip(a.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(pa.grad.numpy(), pt.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=n)


def test_recomputes_in_backward_and_frees_the_first_run():
    calls, inner = [], []
    w = axonal.randn(4, 4, requires_grad=True)

    def block(x):
        calls.append(1)
        h = (x @ w).tanh()
        inner.append(weakref.ref(h))
        return (h * h).sum(1)

    x = axonal.randn(3, 4, requires_grad=True)
    y = checkpoint(block, x, use_reentrant=False)
    gc.collect()
    assert len(calls) == 1
    assert inner[0]() is None  # the first run's activations are not kept
    y.sum().backward()
    assert len(calls) == 2  # recomputed once, in backward
    ref_x, ref_w = x.grad.numpy().copy(), w.grad.numpy().copy()
    x.grad = w.grad = None
    block(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref_x, rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), ref_w, rtol=1e-6)


def test_dropout_masks_are_replayed():
    a = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.5), nn.Linear(16, 2))
    x = axonal.randn(8, 4, requires_grad=True)
    axonal.manual_seed(5)
    ref = a(x)
    ref.sum().backward()
    gx, gw = x.grad.numpy().copy(), a[0].weight.grad.numpy().copy()
    x.grad = None
    a.zero_grad()
    axonal.manual_seed(5)
    y = checkpoint(a, x, use_reentrant=False)
    axonal.rand(3)  # the global stream moves on before backward
    after = axonal.random.get_rng_state()
    y.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), ref.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), gx, rtol=1e-6)
    np.testing.assert_allclose(a[0].weight.grad.numpy(), gw, rtol=1e-6)
    assert np.array_equal(np.asarray(axonal.random.get_rng_state()), np.asarray(after))


def test_parameters_only_autograd_grad_kwargs_and_tuples():
    a, t = _pair()
    x = np.random.default_rng(1).standard_normal((3, 4))

    def f(inp, scale=1.0):
        out = a(inp)
        return out * scale, out.sum()

    ya, sa = checkpoint(f, axonal.tensor(x), use_reentrant=False, scale=2.0)
    ga = axonal.autograd.grad((ya.sum() + sa), list(a.parameters()))

    def ft(inp, scale=1.0):
        out = t(inp)
        return out * scale, out.sum()

    yt, st = tcp.checkpoint(ft, torch.tensor(x), use_reentrant=False, scale=2.0)
    gt = torch.autograd.grad((yt.sum() + st), list(t.parameters()))
    for u, v in zip(ga, gt):
        np.testing.assert_allclose(u.numpy(), v.numpy(), rtol=1e-12, atol=1e-12)


def test_checkpoint_sequential_matches_torch():
    torch.manual_seed(0)
    t = torch.nn.Sequential(*[torch.nn.Linear(3, 3) for _ in range(4)]).double()
    a = nn.Sequential(*[nn.Linear(3, 3) for _ in range(4)]).double()
    a.load_state_dict({k: axonal.tensor(v.numpy().copy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((2, 3))
    xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya = checkpoint_sequential(a, 2, xa, use_reentrant=False)
    yt = tcp.checkpoint_sequential(t, 2, xt, use_reentrant=False)
    ya.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_reentrant_and_default_behaviour():
    a, _ = _pair()
    x = axonal.randn(2, 4, dtype=axonal.float64)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed"):
        checkpoint(a, x.clone().requires_grad_())
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        y = checkpoint(a, x, use_reentrant=True)
    assert not y.requires_grad  # as PyTorch's reentrant variant: no graph, no parameter grads
    with pytest.raises(ValueError, match="Unexpected keyword arguments"):
        checkpoint(a, x, use_reentrant=True, extra=1)
    y = checkpoint(a, x, use_reentrant=False)  # non-reentrant: the parameters get gradients
    y.sum().backward()
    assert a[0].weight.grad is not None


def test_nondeterministic_recompute_is_detected():
    flip = [0]

    def f(x):
        flip[0] += 1
        return x[: flip[0]] * 2

    y = checkpoint(f, axonal.randn(4, requires_grad=True), use_reentrant=False)
    with pytest.raises(CheckpointError, match="different metadata"):
        y.sum().backward()
