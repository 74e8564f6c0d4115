"""kernels.where_rows: where(cond, number, x) / where(cond, x, number) with cond broadcast over the
leading dims of x (masked_fill of attention scores and its backward), against numpy.where and
PyTorch's masked_fill; the cases it leaves to NumPy."""
import numpy as np
import pytest

import axonal
import axonal.kernels as K
from axonal.kernels import elementwise as KE

torch = pytest.importorskip("torch")


@pytest.fixture(params=["serial", "parallel"])
def blocks(request, monkeypatch):
    if request.param == "parallel":
        monkeypatch.setattr(KE, "parallel_blocks", lambda n, per: 3)
    return request.param


@pytest.mark.parametrize("xshape,cshape", [((4, 3, 32, 32), (1, 1, 32, 32)), ((50, 200), (200,)),
                                           ((9, 30, 40), (30, 40)), ((9, 30, 40), (1, 40))])
@pytest.mark.parametrize("value", [float("-inf"), 0.0, 2.5, 3, 1e40])
def test_matches_numpy_where(xshape, cshape, value, blocks):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xshape).astype(np.float32)
    x.reshape(-1)[::7] = np.nan
    cond = rng.random(cshape) < 0.4
    with np.errstate(over="ignore"):
        for a, b in ((value, x), (x, value)):
            got = K.where_rows(cond, a, b)
            want = np.where(cond, a, b)
            assert got is not None and got.dtype == want.dtype == np.float32
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("cond,a,b", [
    (np.ones((1, 64), bool), 1.0, np.ones((2, 64), np.float64)),         # float64
    (np.ones((2, 64), bool), 1.0, np.ones((1, 64), np.float32)),          # cond not broadcast
    (np.ones((64, 1), bool), 1.0, np.ones((64, 64), np.float32)),         # along a trailing dim
    (np.ones(128, bool)[::2], 1.0, np.ones((200, 64), np.float32)),       # cond strided
    (np.ones(64, np.int8), 1.0, np.ones((200, 64), np.float32)),          # not bool
    (np.ones(64, bool), 1.0, 2.0),                                        # two numbers
    (np.ones(64, bool), np.ones((200, 64), np.float32), np.ones((200, 64), np.float32)),
    (np.ones(64, bool), True, np.ones((200, 64), np.float32)),            # bool value
    (np.ones(64, bool), 1.0, np.ones((200, 64), np.float32)[:, ::2]),     # x not contiguous
])
def test_other_cases_are_left_to_numpy(cond, a, b):
    assert K.where_rows(cond, a, b) is None


def test_masked_fill_and_its_gradient_match_torch(blocks):
    rng = np.random.default_rng(1)
    s = rng.standard_normal((4, 4, 32, 32)).astype(np.float32)
    g = rng.standard_normal(s.shape).astype(np.float32)
    out = []
    for lib in (axonal, torch):
        x = lib.tensor(s, requires_grad=True)
        mask = lib.tril(lib.ones(32, 32)).view(1, 1, 32, 32)
        y = x.masked_fill(mask == 0, float("-inf"))
        y2 = lib.where(mask == 0, 0.5, x)
        ((y.clamp(min=-1e30) + y2) * lib.tensor(g)).sum().backward()
        out.append((y.detach().numpy(), y2.detach().numpy(), x.grad.numpy()))
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
