"""AdaptiveLogSoftmaxWithLoss against torch: printed form, state_dict keys, (output, loss) and
gradients of input and parameters for batched / unbatched targets in float32 and float64,
log_prob, predict, errors; float64 finite differences of the loss."""
import numpy as np
import pytest

import axonal
import axonal.nn as nn
from axonal.autograd import gradcheck

torch = pytest.importorskip("torch")


def _pair(dtype, **kw):
    torch.manual_seed(0)
    t = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5, 12], **kw)
    t = t.to(getattr(torch, np.dtype(dtype).name))
    a = nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5, 12], **kw)
    a.to(getattr(axonal, np.dtype(dtype).name))
    assert repr(a) == repr(t)
    assert list(a.state_dict()) == list(t.state_dict())
    a.load_state_dict({k: axonal.tensor(v.detach().numpy().copy())
                       for k, v in t.state_dict().items()})
    return a, t


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [{}, {"div_value": 2.0, "head_bias": True}])
def test_matches_torch(kw, dtype):
    a, t = _pair(dtype, **kw)
    rng = np.random.default_rng(0)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for x, y in ((rng.standard_normal((7, 8)), np.array([0, 4, 5, 11, 12, 19, 3])),
                 (rng.standard_normal((4, 8)), np.array([1, 2, 3, 4])),  # shortlist only
                 (rng.standard_normal(8), np.array(15))):                 # unbatched
        x = x.astype(dtype)
        xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        oa, ot = a(xa, axonal.tensor(y)), t(xt, torch.tensor(y))
        assert oa._fields == ("output", "loss")
        assert tuple(oa.output.shape) == tuple(ot.output.shape)
        np.testing.assert_allclose(oa.output.detach().numpy(), ot.output.detach().numpy(),
                                   rtol=tol, atol=tol)
        a.zero_grad()
        t.zero_grad()
        oa.loss.backward()
        ot.loss.backward()
        np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
        for (n, pa), (_, pt) in zip(a.named_parameters(), t.named_parameters()):
            ga = pa.grad.numpy() if pa.grad is not None else np.zeros(pa.shape)
            gt = pt.grad.numpy() if pt.grad is not None else np.zeros(tuple(pt.shape))
            np.testing.assert_allclose(ga, gt, rtol=tol, atol=tol, err_msg=n)
    x = rng.standard_normal((6, 8)).astype(dtype) * 3
    np.testing.assert_allclose(a.log_prob(axonal.tensor(x)).detach().numpy(),
                               t.log_prob(torch.tensor(x)).detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_array_equal(a.predict(axonal.tensor(x)).numpy(),
                                  t.predict(torch.tensor(x)).numpy())


def test_errors_and_finite_differences():
    with pytest.raises(ValueError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5, 3])
    a, _ = _pair(np.float64)
    with pytest.raises(RuntimeError, match="Target values should be in"):
        a(axonal.randn(2, 8, dtype=axonal.float64), axonal.tensor([0, 20]))
    y = axonal.tensor([0, 6, 13, 2])
    x = axonal.tensor(np.random.default_rng(1).standard_normal((4, 8)), requires_grad=True)
    assert gradcheck(lambda x: a(x, y).loss, [x], eps=1e-6, atol=1e-6, rtol=1e-4)
