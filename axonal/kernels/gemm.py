"""2-D matrix products for the autograd ops: C = op(A) op(B) through the BLAS of kernels._sgemm.

With MKL (`pip install axonal[mkl]`), float32 products of at least THRESHOLDS["matmul"][0]
multiply-adds call its cblas_sgemm directly. A transposed operand is passed as a transpose flag,
never copied: the backward of y = x W^T needs dW = dy^T x, whose A operand is a transposed view, and
MKL threads on the GNU OpenMP workers that numba's kernels use (axonal._threads: one pool).
Everything else goes to `xp.matmul`: NumPy's OpenBLAS with its own threads when MKL is absent
(its 2-thread split of these products measured faster than splitting them over numba's workers
with single-threaded OpenBLAS calls: MLP step 7.0 against 7.4 ms), and float64, batched or strided
operands, CuPy arrays and small products (where a ctypes call costs more than it saves). Results
agree up to float rounding.
"""
import numpy as np

from ..backend import xp_of
from . import _sgemm
from ._thresholds import THRESHOLDS

_F32 = np.dtype(np.float32)


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
    """(ta, lda, tb, ldb, out) when a @ b goes to MKL's sgemm by pointer, else None."""
    if not _sgemm.THREADS_ITSELF or type(a) is not np.ndarray or type(b) is not np.ndarray:
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
    _sgemm.SGEMM(_sgemm.ROW_MAJOR, ta, tb, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb,
                 0.0, out.ctypes.data, n)
    return out
