"""Sparse COO matrices (`sparse_coo_tensor`, `to_dense`, `coalesce`, `t`) and the sparse-dense
product (`sparse.mm`, `spmm`, `@`) against PyTorch 2.x: values, and gradients for the dense
operand and for the values."""
import numpy as np
import pytest

import axonal

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning",
                                        "ignore:torch.sparse.SparseTensor:UserWarning")


def _coo(rng, n, m, nnz):
    idx = np.stack([rng.integers(0, n, nnz), rng.integers(0, m, nnz)])  # duplicates included
    return idx, rng.standard_normal(nnz)


@pytest.mark.parametrize("n,m,f,nnz,view", [(3, 3, 4, 5, "c"), (5, 4, 2, 12, "T"),
                                            (4, 6, 3, 0, "c"), (6, 2, 5, 9, "s")])
def test_mm_values_and_gradients(n, m, f, nnz, view):
    rng = np.random.default_rng(n * 10 + m)
    idx, vals = _coo(rng, n, m, nnz)
    dense = {"c": rng.standard_normal((m, f)), "T": rng.standard_normal((f, m)).T,
             "s": rng.standard_normal((m, 2 * f))[:, ::2]}[view]
    av = axonal.tensor(vals, requires_grad=True)
    tv = torch.tensor(vals, requires_grad=True)
    ad = axonal.from_numpy(dense).requires_grad_()
    td = torch.tensor(np.ascontiguousarray(dense), requires_grad=True)
    a_s = axonal.sparse_coo_tensor(idx, av, (n, m))
    t_s = torch.sparse_coo_tensor(torch.tensor(idx), tv, (n, m))
    np.testing.assert_allclose(a_s.to_dense().detach().numpy(), t_s.to_dense().detach().numpy())
    for a_out, t_out in ((axonal.sparse.mm(a_s, ad), torch.sparse.mm(t_s, td)),
                         (axonal.spmm(a_s, ad), torch.spmm(t_s, td)), (a_s @ ad, t_s @ td)):
        np.testing.assert_allclose(a_out.detach().numpy(), t_out.detach().numpy(), atol=1e-12)
    g = rng.standard_normal((n, f))
    a_grads = axonal.autograd.grad([axonal.sparse.mm(a_s, ad)], [ad, av], [axonal.tensor(g)],
                                   allow_unused=True)
    t_grads = torch.autograd.grad([torch.sparse.mm(t_s, td)], [td, tv], [torch.tensor(g)],
                                  allow_unused=True)
    for a, t in zip(a_grads, t_grads):
        t = np.zeros(a.shape) if t is None else t.numpy()
        np.testing.assert_allclose(a.numpy(), t, atol=1e-12)


def test_coalesce_transpose_and_attributes():
    rng = np.random.default_rng(0)
    idx, vals = _coo(rng, 4, 5, 10)
    a_s = axonal.sparse_coo_tensor(idx, vals)  # the size from the largest index, as PyTorch
    t_s = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(vals))
    assert tuple(a_s.shape) == tuple(t_s.shape) and a_s._nnz() == t_s._nnz()
    a_c, t_c = a_s.coalesce(), t_s.coalesce()
    assert a_c.is_coalesced() and a_c.indices().tolist() == t_c.indices().tolist()
    np.testing.assert_allclose(a_c.values().numpy(), t_c.values().numpy())
    np.testing.assert_allclose(a_s.t().to_dense().numpy(), t_s.t().to_dense().numpy())
    assert a_s.is_sparse and not axonal.ones(2).is_sparse and not torch.ones(2).is_sparse
    assert a_s.dtype == axonal.float64 and a_s.dim() == 2


def test_checks():
    with pytest.raises(axonal.ShapeError):
        axonal.sparse_coo_tensor(np.array([[0, 3]]), [1.0, 2.0])
    with pytest.raises(axonal.ShapeError, match="out of bounds"):
        axonal.sparse_coo_tensor(np.array([[0, 3], [0, 0]]), [1.0, 2.0], (2, 2))
    s = axonal.sparse_coo_tensor(np.array([[0], [1]]), [1.0], (2, 2))
    with pytest.raises(axonal.ShapeError):
        axonal.sparse.mm(s, axonal.ones(3, 2))


def test_legacy_sparse_float_tensor():
    idx, vals = np.array([[0, 1, 1], [1, 0, 1]]), np.array([1.0, 2.0, 3.0])
    a = axonal.sparse.FloatTensor(axonal.tensor(idx), axonal.tensor(vals), (2, 3))
    t = torch.sparse.FloatTensor(torch.tensor(idx), torch.tensor(vals, dtype=torch.float32),
                                 torch.Size([2, 3]))
    assert a.dtype == axonal.float32 and t.dtype == torch.float32
    np.testing.assert_array_equal(a.to_dense().numpy(), t.to_dense().numpy())
