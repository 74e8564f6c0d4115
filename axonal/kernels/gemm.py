"""2-D matrix products for the autograd ops: C = op(A) op(B), float32, on the one thread pool.

Axonal runs every parallel loop on one thread pool, numba's OpenMP workers (axonal._threads), so
that no second pool's threads spin or sleep against it. GEMMs follow that policy in one of two
ways, chosen by the BLAS that kernels._sgemm found:

  * MKL: its cblas_sgemm is called directly; MKL threads on GNU OpenMP, i.e. on the same workers.
  * OpenBLAS (NumPy's, kept single-threaded): `gemm_par` cuts C into one block per thread (rows
    when C is at least as tall as it is wide, else columns; the cut on 8-row / 16-column
    boundaries, the register tiles of the sgemm kernels) and every worker calls sgemm on its block.
    For batch-sized products (M = 128, K and N 512-784) this measured as fast as OpenBLAS's own
    2-thread split, and faster for weight gradients, whose A operand is a transposed view.

A transposed operand is passed to sgemm as a transpose flag, never copied. Products with fewer
than THRESHOLDS["matmul"][0] multiply-adds, other dtypes, strided operands and CuPy arrays go to
`xp.matmul`, which gives the same result up to float rounding.
"""
import numpy as np
from numba import njit, prange

from . import _sgemm
from ._jit import JIT, PJIT, parallel_blocks, xp_of
from ._thresholds import THRESHOLDS

_F32 = np.dtype(np.float32)
_ONE, _ZERO = np.float32(1.0), np.float32(0.0)
ROW_MAJOR, NO_TRANS = _sgemm.ROW_MAJOR, _sgemm.NO_TRANS


@njit(**JIT)
def gemm_core(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, sgemm):
    """C (m, n) = op(A) op(B) in the calling thread (a, b, c: any float32 arrays, by pointer)."""
    sgemm(ROW_MAJOR, ta, tb, m, n, k, _ONE, a.ctypes.data, lda, b.ctypes.data, ldb, _ZERO,
          c.ctypes.data, ldc)


@njit(**PJIT)
def gemm_par(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, sgemm, nb):
    """C = op(A) op(B) with C cut into nb blocks of rows (m >= n) or of columns, one per thread.
    Row i of op(A) starts at element i*lda of A untransposed, at element i when transposed;
    column j of op(B) at element j untransposed, at j*ldb when transposed."""
    by_rows = m >= n
    total, tile = (m, 8) if by_rows else (n, 16)
    step = ((total + nb - 1) // nb + tile - 1) // tile * tile
    for t in prange(nb):
        lo = t * step
        hi = min(total, lo + step)
        if hi > lo:
            if by_rows:
                off = lo * lda if ta == NO_TRANS else lo
                sgemm(ROW_MAJOR, ta, tb, hi - lo, n, k, _ONE, a.ctypes.data + 4 * off, lda,
                      b.ctypes.data, ldb, _ZERO, c.ctypes.data + 4 * lo * ldc, ldc)
            else:
                off = lo if tb == NO_TRANS else lo * ldb
                sgemm(ROW_MAJOR, ta, tb, m, hi - lo, k, _ONE, a.ctypes.data, lda,
                      b.ctypes.data + 4 * off, ldb, _ZERO, c.ctypes.data + 4 * lo, ldc)


def _layout(a):
    """(transpose flag, leading dimension) of a row-major float32 matrix or of the transposed view
    of one; None for any other strides."""
    rows, cols = a.shape
    s0, s1 = a.strides
    if s1 == 4 and (s0 == 4 * cols or rows == 1):
        return _sgemm.NO_TRANS, max(cols, 1)
    if s0 == 4 and (s1 == 4 * rows or cols == 1):
        return _sgemm.TRANS, max(rows, 1)
    return None


def _direct(a, b, out):
    """(ta, lda, tb, ldb, out) when a @ b can go to sgemm by pointer, else None."""
    if _sgemm.SGEMM is None or type(a) is not np.ndarray or type(b) is not np.ndarray:
        return None
    if a.ndim != 2 or b.ndim != 2 or a.dtype != _F32 or b.dtype != _F32:
        return None
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or m * n * k < THRESHOLDS["matmul"][0]:
        return None
    if not (a.flags.aligned and b.flags.aligned):
        return None
    la, lb = _layout(a), _layout(b)
    if la is None or lb is None:
        return None
    if out is None:
        out = np.empty((m, n), np.float32)
    elif not (type(out) is np.ndarray and out.dtype == _F32 and out.shape == (m, n)
              and out.flags.c_contiguous and out.flags.writeable and out.flags.aligned):
        return None
    return la[0], la[1], lb[0], lb[1], out


def mm(a, b, out=None):
    """a @ b for 2-D arrays (out: optional C-contiguous result array of the right shape/dtype)."""
    plan = _direct(a, b, out)
    if plan is None:
        xp = xp_of(a)
        return xp.matmul(a, b) if out is None else xp.matmul(a, b, out=out)
    ta, lda, tb, ldb, out = plan
    (m, k), n = a.shape, b.shape[1]
    if _sgemm.THREADS_ITSELF:  # MKL: threads on the OpenMP workers by itself
        _sgemm.SGEMM(ROW_MAJOR, ta, tb, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb,
                     0.0, out.ctypes.data, n)
        return out
    nb = parallel_blocks(max(m // 8, n // 16), 4)
    if nb:
        gemm_par(ta, tb, m, n, k, a, lda, b, ldb, out, n, _sgemm.SGEMM, nb)
    else:
        gemm_core(ta, tb, m, n, k, a, lda, b, ldb, out, n, _sgemm.SGEMM)
    return out


def warmup_cases():
    if _sgemm.SGEMM is None:
        return []
    a, b, c = np.ones((16, 8), np.float32), np.ones((8, 32), np.float32), \
        np.empty((16, 32), np.float32)
    args = (NO_TRANS, NO_TRANS, 16, 32, 8, a, 8, b, 32, c, 32, _sgemm.SGEMM)
    return [(gemm_core, args), (gemm_par, args + (2,))]
