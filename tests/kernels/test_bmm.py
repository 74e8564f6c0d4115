"""kernels.matmul: batched products as one sgemm call per matrix (kernels.gemm), against a float64
NumPy product and PyTorch, for every layout attention produces (views of a fused qkv projection,
transposed views, broadcast batch dims), both BLAS libraries, serial and parallel blocks, and the
numpy.matmul fallbacks."""
import numpy as np
import pytest

import axonal
import axonal.kernels as K
from axonal.kernels import _sgemm, gemm

OPENBLAS = _sgemm._find_openblas()
MKL = _sgemm._find_mkl()
LIBS = [pytest.param(OPENBLAS, id="openblas",
                     marks=pytest.mark.skipif(OPENBLAS is None, reason="no OpenBLAS found")),
        pytest.param(MKL, id="mkl", marks=pytest.mark.skipif(MKL is None,
                                                             reason="MKL not installed"))]
pytestmark = pytest.mark.skipif(_sgemm.SGEMM_SMALL is None, reason="no BLAS to call by pointer")


def _close(got, a, b):
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.sqrt(a.shape[-1]))


def _attention_operands(rng, B=3, T=20, d=24, H=4):
    """q, k^T, v as the GPT block makes them: views into one (B, T, 3d) array, heads split."""
    qkv = rng.standard_normal((B, T, 3 * d), dtype=np.float32)
    heads = [qkv[..., i * d:(i + 1) * d].reshape(B, T, H, d // H).transpose(0, 2, 1, 3)
             for i in range(3)]
    return heads[0], heads[1].swapaxes(-1, -2), heads[2]


def _cases(rng):
    q, kt, v = _attention_operands(rng)
    s = rng.standard_normal((3, 4, 20, 20), dtype=np.float32)
    yield "q@kT", q, kt
    yield "att@v", s, v
    yield "attT@g", s.swapaxes(-1, -2), v                                # dV = att^T dY
    yield "g@vT", rng.standard_normal((3, 4, 20, 6), dtype=np.float32), v.swapaxes(-1, -2)
    yield "3d", rng.standard_normal((5, 7, 9), dtype=np.float32), \
        rng.standard_normal((5, 9, 11), dtype=np.float32)
    yield "3d@2d", rng.standard_normal((5, 7, 9), dtype=np.float32), \
        rng.standard_normal((9, 11), dtype=np.float32)
    yield "2d@4d", rng.standard_normal((7, 9), dtype=np.float32), \
        rng.standard_normal((2, 3, 9, 11), dtype=np.float32)
    yield "bcast", rng.standard_normal((2, 1, 7, 9), dtype=np.float32), \
        rng.standard_normal((1, 3, 9, 11), dtype=np.float32).swapaxes(-1, -2).copy().swapaxes(-1, -2)
    yield "row", rng.standard_normal((6, 1, 9), dtype=np.float32), \
        rng.standard_normal((6, 9, 5), dtype=np.float32)
    yield "col", rng.standard_normal((6, 4, 9), dtype=np.float32), \
        rng.standard_normal((6, 9, 1), dtype=np.float32)
    yield "every-other-batch", rng.standard_normal((8, 7, 9), dtype=np.float32)[::2], \
        rng.standard_normal((4, 9, 5), dtype=np.float32)


@pytest.fixture(params=[1, 2])
def blocks(request, monkeypatch):
    """Route every product (however small) to the sgemm loop, on one block or on two."""
    monkeypatch.setitem(K.THRESHOLDS, "bmm", (1, 1))
    monkeypatch.setattr(gemm, "_blocks", lambda count, per: min(request.param, count))
    return request.param


@pytest.mark.parametrize("lib", LIBS)
def test_batched_layouts_match_float64(lib, blocks, monkeypatch):
    monkeypatch.setattr(_sgemm, "SGEMM_SMALL", lib[0])
    rng = np.random.default_rng(0)
    for name, a, b in _cases(rng):
        assert gemm._batched_plan(a, b) is not None, name  # the loop, not the fallback, ran
        _close(K.matmul(a, b), a, b)


def test_layout_flags_and_leading_dimensions():
    q, kt, v = _attention_operands(np.random.default_rng(1), B=2, T=5, d=8, H=2)
    assert gemm._matrix_layout(q) == (_sgemm.NO_TRANS, 24)     # rows 3d apart
    assert gemm._matrix_layout(kt) == (_sgemm.TRANS, 24)
    assert gemm._matrix_layout(np.zeros((3, 4, 5), np.float32)[..., ::2]) is None
    assert gemm._matrix_layout(np.zeros((3, 4, 5), np.float32)[:, ::-1]) is None


def test_batch_strides_follow_broadcast_batch_dims():
    a = np.zeros((2, 1, 3, 3), np.float32)
    assert gemm._batch_strides(a, (2, 4)) == [36, 0]
    assert gemm._batch_strides(a[:, 0], (5, 2)) == [0, 36]   # 3-D against a 4-D operand


@pytest.mark.parametrize("a,b", [
    (np.ones((2, 3, 4)), np.ones((2, 4, 5))),                              # float64
    (np.ones((2, 3, 4), np.float32)[..., ::2], np.ones((2, 2, 5), np.float32)),  # strided
    (np.ones((2, 0, 4), np.float32), np.ones((2, 4, 5), np.float32)),      # empty
    (np.ones((2, 3, 0), np.float32), np.ones((2, 0, 5), np.float32)),      # k = 0
])
def test_fallbacks_are_numpy_matmul(a, b, monkeypatch):
    monkeypatch.setitem(K.THRESHOLDS, "bmm", (1, 1))
    monkeypatch.setattr(gemm, "_blocks", lambda count, per: 2)
    assert gemm._batched_plan(a, b) is None
    got = K.matmul(a, b)
    assert got.dtype == np.matmul(a, b).dtype
    np.testing.assert_array_equal(got, np.matmul(a, b))


def test_one_thread_goes_to_numpy(monkeypatch):
    """On one thread the loop is no faster than numpy.matmul, which then runs."""
    monkeypatch.setitem(K.THRESHOLDS, "bmm", (1, 1))
    a = np.ones((4, 8, 8), np.float32)
    monkeypatch.setattr(gemm, "parallel_blocks", lambda n, per: 0)
    assert gemm._batched_plan(a, a) is None
    monkeypatch.setattr(gemm, "parallel_blocks", lambda n, per: 2)
    assert gemm._batched_plan(a, a)[-1] == 2


def test_batch_mismatch_still_raises():
    with pytest.raises(ValueError):
        K.matmul(np.ones((2, 3, 4), np.float32), np.ones((3, 4, 5), np.float32))


def test_attention_products_and_grads_match_torch(blocks):
    """axonal.matmul on the GPT block's views, forward and both gradients, against PyTorch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    qkv = rng.standard_normal((3, 20, 72), dtype=np.float32)
    w = rng.standard_normal((3, 4, 20, 6), dtype=np.float32)
    outs = []
    for lib in (axonal, torch):
        x = lib.tensor(qkv, requires_grad=True)
        q, k, v = (t.reshape(3, 20, 4, 6).transpose(1, 2) for t in x.split(24, dim=2))
        att = q @ k.transpose(-2, -1)
        y = att @ v
        (y * lib.tensor(w)).sum().backward()
        outs.append((att.detach().numpy(), y.detach().numpy(), x.grad.numpy()))
    for mine, ref in zip(*outs):
        np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-4)
