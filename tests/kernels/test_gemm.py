"""kernels.mm and the BLAS behind it (kernels._sgemm): every transpose layout against a float64
NumPy product, for both libraries when MKL is installed; the fallbacks; the thread policy."""
import multiprocessing as mp
import os
import subprocess
import sys

import numpy as np
import pytest

import axonal._threads as threads
import axonal.kernels as K
from axonal.kernels import _sgemm, gemm

OPENBLAS = _sgemm._find_openblas()
MKL = _sgemm._find_mkl()  # tested when installed, whichever library AXONAL_BLAS chose
LIBS = [pytest.param(OPENBLAS, id="openblas",
                     marks=pytest.mark.skipif(OPENBLAS is None, reason="no OpenBLAS found")),
        pytest.param(MKL, id="mkl", marks=pytest.mark.skipif(MKL is None,
                                                             reason="MKL not installed"))]
SHAPES = [(128, 784, 512), (512, 128, 784), (300, 100, 70), (33, 257, 129), (1, 4096, 300),
          (2048, 256, 1), (16, 1 << 12, 16)]


def _operands(rng, m, k, n, ta, tb):
    a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
    return (a.T if ta else a), (b.T if tb else b)


def _close(got, a, b):
    want = a.astype(np.float64) @ b.astype(np.float64)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.sqrt(a.shape[1]))


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("ta,tb", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_sgemm_by_pointer_matches_float64(lib, m, k, n, ta, tb):
    """The call kernels.mm makes (MKL) and the numba kernels make (either library): transposed
    operands passed as flags with their leading dimensions."""
    sg = lib[0]
    rng = np.random.default_rng(m * 7 + n)
    a, b = _operands(rng, m, k, n, ta, tb)
    (fa, lda), (fb, ldb) = gemm._layout(a), gemm._layout(b)
    if min(a.shape) > 1:  # a single row or column is both layouts at once
        assert fa == (_sgemm.TRANS if ta else _sgemm.NO_TRANS)
    c = np.full((m, n), np.nan, np.float32)
    with _sgemm.single_threaded_blas():
        sg(_sgemm.ROW_MAJOR, fa, fb, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, 0.0,
           c.ctypes.data, n)
    _close(c, a, b)
    if lib is MKL:  # and threaded, as kernels.mm runs it
        c[...] = np.nan
        sg(_sgemm.ROW_MAJOR, fa, fb, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, 0.0,
           c.ctypes.data, n)
        _close(c, a, b)


@pytest.mark.parametrize("ta,tb", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_mm_matches_float64_and_writes_out(ta, tb):
    rng = np.random.default_rng(3)
    a, b = _operands(rng, 128, 784, 512, ta, tb)
    # big enough: straight to MKL's sgemm when MKL is in use, else numpy.matmul (OpenBLAS)
    assert (gemm._direct(a, b, None) is not None) == _sgemm.THREADS_ITSELF
    _close(K.mm(a, b), a, b)
    out = np.empty((128, 512), np.float32)
    assert K.mm(a, b, out=out) is out
    _close(out, a, b)


def test_mm_falls_back_to_numpy():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((64, 96), dtype=np.float32)
    b = rng.standard_normal((96, 200), dtype=np.float32)
    small = rng.standard_normal((8, 8), dtype=np.float32)
    cases = [(small, small),                             # below the size threshold
             (a[:, ::2], b[::2]),                        # strided views: no leading dimension
             (a.astype(np.float64), b.astype(np.float64)),
             (a, b[:, :100].astype(np.float64))]         # mixed dtypes: NumPy's promotion
    for x, y in cases:
        assert gemm._direct(x, y, None) is None
        np.testing.assert_allclose(K.mm(x, y), x @ y, rtol=1e-5, atol=1e-5)
    out = np.empty((64, 200), np.float32)
    bad_out = np.empty((200, 64), np.float32).T                   # not C-contiguous
    assert gemm._direct(a, b, bad_out) is None
    np.testing.assert_allclose(K.mm(a, b, out=bad_out), a @ b, rtol=1e-5, atol=1e-4)
    assert K.mm(a, b, out=out) is out
    with pytest.raises(ValueError):
        K.mm(a, a)                                      # (64, 96) @ (64, 96): NumPy's error


def test_openblas_threads_follow_the_policy():
    """With MKL doing the GEMMs OpenBLAS starts no pool of its own; otherwise it has the pool's."""
    if OPENBLAS is None:
        pytest.skip("no OpenBLAS found")
    want = 1 if _sgemm.THREADS_ITSELF else threads.num_threads_hint()
    assert OPENBLAS[2]() == want


def _child_product(q):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((256, 512), dtype=np.float32)
    b = rng.standard_normal((512, 256), dtype=np.float32)
    q.put(float(np.abs(K.mm(a, b) - a @ b).max()))


def test_mm_in_a_forked_child_does_not_hang():
    K.mm(np.ones((256, 512), np.float32), np.ones((512, 256), np.float32))  # parent's pool is up
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_product, args=(q,))
    p.start()
    p.join(60)
    if p.is_alive():
        p.kill()
        pytest.fail("kernels.mm hung in a forked child")
    assert p.exitcode == 0 and q.get(timeout=5) < 1e-2


def _blas_in_fresh_process(value):
    env = dict(os.environ, AXONAL_BLAS=value)
    return subprocess.run([sys.executable, "-c", "import axonal.kernels as K; print(K.BLAS)"],
                          env=env, capture_output=True, text=True, check=False)


def test_axonal_blas_selects_the_library():
    out = _blas_in_fresh_process("openblas")
    assert out.returncode == 0 and out.stdout.strip() == "openblas"
    out = _blas_in_fresh_process("auto")
    assert out.returncode == 0
    assert out.stdout.strip().startswith("mkl" if MKL is not None else "openblas")
    out = _blas_in_fresh_process("atlas")
    assert out.returncode != 0 and "AXONAL_BLAS must be" in out.stderr
