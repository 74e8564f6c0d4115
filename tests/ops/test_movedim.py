"""torch.movedim / Tensor.movedim with one dim and with sequences of dims, values and gradients
against PyTorch."""
import numpy as np
import pytest

import axonal

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("src,dst", [(1, -1), (0, 2), ((0, 1), (1, 2)), ((0, 1), (2, 0)),
                                     ([2], [0]), ((0, 2), (0, 1))])
@pytest.mark.parametrize("method", [False, True])
def test_movedim_as_torch(src, dst, method):
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    x = axonal.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    y = x.movedim(src, dst) if method else axonal.movedim(x, src, dst)
    u = t.movedim(src, dst) if method else torch.movedim(t, src, dst)
    np.testing.assert_array_equal(y.detach().numpy(), u.detach().numpy())
    w = np.random.default_rng(1).standard_normal(tuple(u.shape))
    (y * axonal.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_movedim_length_mismatch_raises_as_torch():
    with pytest.raises(RuntimeError, match="movedim"):
        axonal.movedim(axonal.zeros(2, 3), (0, 1), (1,))
    with pytest.raises(RuntimeError, match="movedim"):
        torch.movedim(torch.zeros(2, 3), (0, 1), (1,))
