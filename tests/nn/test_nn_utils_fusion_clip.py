"""nn.utils.fuse_conv_bn_eval / fuse_linear_bn_eval (and their *_weights), clip_grads_with_norm_,
the deprecated clip_grad_norm, and skip_init, against torch."""
import numpy as np
import pytest

import axonal
import axonal.nn as nn

torch = pytest.importorskip("torch")


def _copy(a, t):
    a.load_state_dict({k: axonal.tensor(v.detach().numpy().copy())
                       for k, v in t.state_dict().items()})


def _trained_bn(tb, c, rng, ndim):
    """Give the BatchNorm non-trivial running statistics and affine parameters."""
    tb.train()
    for _ in range(3):
        tb(torch.tensor(rng.standard_normal((4, c) + (3,) * (ndim - 2)) * 2 + 1))
    with torch.no_grad():
        if tb.weight is not None:
            tb.weight.uniform_(0.5, 1.5)
            tb.bias.uniform_(-1, 1)
    tb.eval()


@pytest.mark.parametrize("case", ["conv2d", "conv2d_nobias_noaffine", "convT2d", "conv1d",
                                  "linear"])
def test_fusion_matches_torch(case):
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    if case.startswith("conv2d"):
        bias = case == "conv2d"
        tc, ac = torch.nn.Conv2d(3, 4, 3, bias=bias), nn.Conv2d(3, 4, 3, bias=bias)
        tb, ab = torch.nn.BatchNorm2d(4, affine=bias), nn.BatchNorm2d(4, affine=bias)
        shape, transpose = (2, 3, 6, 6), False
    elif case == "convT2d":
        tc, ac = torch.nn.ConvTranspose2d(3, 4, 3), nn.ConvTranspose2d(3, 4, 3)
        tb, ab = torch.nn.BatchNorm2d(4), nn.BatchNorm2d(4)
        shape, transpose = (2, 3, 4, 4), True
    elif case == "conv1d":
        tc, ac = torch.nn.Conv1d(3, 4, 3), nn.Conv1d(3, 4, 3)
        tb, ab = torch.nn.BatchNorm1d(4), nn.BatchNorm1d(4)
        shape, transpose = (2, 3, 7), False
    else:
        tc, ac = torch.nn.Linear(3, 4), nn.Linear(3, 4)
        tb, ab = torch.nn.BatchNorm1d(4), nn.BatchNorm1d(4)
        shape, transpose = (5, 3), False
    for m in (tc, tb):
        m.double()
    for m in (ac, ab):
        m.double()
    _trained_bn(tb, 4, rng, 4 if "2d" in case else 3)
    _copy(ac, tc)
    _copy(ab, tb)
    ac.eval(), ab.eval(), tc.eval()
    if case == "linear":
        fa, ft = nn.utils.fuse_linear_bn_eval(ac, ab), torch.nn.utils.fuse_linear_bn_eval(tc, tb)
    else:
        fa = nn.utils.fuse_conv_bn_eval(ac, ab, transpose)
        ft = torch.nn.utils.fuse_conv_bn_eval(tc, tb, transpose)
    assert type(fa) is type(ac) and fa is not ac
    assert isinstance(fa.weight, nn.Parameter) and isinstance(fa.bias, nn.Parameter)
    for k, v in ft.state_dict().items():
        np.testing.assert_allclose(fa.state_dict()[k].numpy(), v.numpy(), rtol=1e-12,
                                   atol=1e-12, err_msg=k)
    x = axonal.tensor(rng.standard_normal(shape))
    np.testing.assert_allclose(fa(x).detach().numpy(), ab(ac(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-10)
    ac.train()
    with pytest.raises(AssertionError, match="eval"):
        (nn.utils.fuse_linear_bn_eval if case == "linear" else nn.utils.fuse_conv_bn_eval)(ac, ab)


def test_clip_grads_with_norm_and_deprecated_clip_grad_norm():
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal((3, 4)) * 5, rng.standard_normal(4)]
    pa = [axonal.zeros(*g.shape, dtype=axonal.float64, requires_grad=True) for g in grads]
    pt = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(pa, grads):
        p.grad = axonal.tensor(g.copy())
    for p, g in zip(pt, grads):
        p.grad = torch.tensor(g.copy())
    na = nn.utils.get_total_norm([p.grad for p in pa])
    nt = torch.nn.utils.get_total_norm([p.grad for p in pt])
    nn.utils.clip_grads_with_norm_(pa, 2.0, na)
    torch.nn.utils.clip_grads_with_norm_(pt, 2.0, nt)
    for a, t in zip(pa, pt):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        total = nn.utils.clip_grad_norm(pa, 1.0)
    assert abs(float(total.item()) - 2.0) < 1e-5


def test_skip_init_draws_nothing():
    axonal.manual_seed(3)
    before = axonal.random.get_rng_state()
    m = nn.utils.skip_init(nn.Linear, 5, 3)
    assert type(m) is nn.Linear and tuple(m.weight.shape) == (3, 5)
    assert np.array_equal(np.asarray(axonal.random.get_rng_state()), np.asarray(before))

    class NoDevice(nn.Module):
        def __init__(self):
            super().__init__()

    with pytest.raises(RuntimeError, match="device"):
        nn.utils.skip_init(NoDevice)
