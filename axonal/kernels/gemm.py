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
import math

import numpy as np
from numba import njit, prange

from ..backend import xp_of
from . import _sgemm
from ._jit import JIT, PJIT, parallel_blocks
from ._thresholds import THRESHOLDS

_F32 = np.dtype(np.float32)
_ONE, _ZERO = np.float32(1.0), np.float32(0.0)
_ROW_MAJOR = _sgemm.ROW_MAJOR


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


# -- batched products ----------------------------------------------------------------------------
# numpy.matmul loops over the batch in C and calls sgemm per matrix, but on NumPy's OpenBLAS, which
# the thread policy makes single-threaded when MKL is loaded (and which, without MKL, splits each
# small product of attention, 128x64x128, over its threads: a fork-join per matrix). Here every
# matrix of the batch is one sgemm call by pointer (_sgemm.SGEMM_SMALL: OpenBLAS's), with the
# transpose flags and leading dimensions read off the strides, and the batch is cut into one block
# per thread: one fork-join per product, the BLAS single-threaded inside. The operands of attention are views (q = qkv.view(...)
# .transpose(1, 2): rows 3d floats apart, heads d/h floats apart) and are never copied.

def _matrix_layout(a):
    """(transpose flag, leading dimension) of the last two dims of a float32 array; None if the
    matrices are not BLAS matrices (row-major with a leading dimension, or the transpose of one)."""
    rows, cols = a.shape[-2:]
    s0, s1 = a.strides[-2:]
    if s1 == 4 and s0 % 4 == 0 and (s0 >= 4 * cols or rows == 1):
        return _sgemm.NO_TRANS, max(s0 // 4, cols, 1)
    if s0 == 4 and s1 % 4 == 0 and (s1 >= 4 * rows or cols == 1):
        return _sgemm.TRANS, max(s1 // 4, rows, 1)
    return None


def _batch_strides(a, batch):
    """a's byte strides over the broadcast batch shape (0 along the dims it is broadcast on)."""
    lead = len(batch) - (a.ndim - 2)
    out = [0] * len(batch)
    for i, (size, stride) in enumerate(zip(a.shape[:-2], a.strides[:-2])):
        if size > 1:
            out[lead + i] = stride
    return out


def _batched_plan(a, b):
    """(batch shape, count, m, n, k, a's and b's layouts, blocks) when a @ b runs on the batched
    sgemm loop, else None. Only in parallel: on one thread the loop measured no faster than
    numpy.matmul (the same sgemm calls, and ~13 us more of Python around them)."""
    if _sgemm.SGEMM_SMALL is None or type(a) is not np.ndarray or type(b) is not np.ndarray:
        return None
    if a.dtype != _F32 or b.dtype != _F32 or a.ndim < 2 or b.ndim < 2 or a.ndim + b.ndim < 5:
        return None
    (m, k), n = a.shape[-2:], b.shape[-1]
    if b.shape[-2] != k or m * n * k == 0 or not (a.flags.aligned and b.flags.aligned):
        return None
    batch = a.shape[:-2]
    if batch != b.shape[:-2]:
        try:
            batch = np.broadcast_shapes(batch, b.shape[:-2])
        except ValueError:
            return None  # numpy.matmul raises the error
    count = math.prod(batch)
    if count < 2 or count * m * n * k < THRESHOLDS["bmm"][0]:
        return None
    nb = _blocks(count, m * n * k)
    if not nb:
        return None
    la, lb = _matrix_layout(a), _matrix_layout(b)
    if la is None or lb is None:
        return None
    return batch, count, m, n, k, la, lb, nb


def matmul(a, b):
    """a @ b with numpy.matmul's semantics (batch dims broadcast, operands of >= 2 dims)."""
    if a.ndim == 2 and b.ndim == 2:
        return mm(a, b)
    plan = _batched_plan(a, b)
    if plan is None:
        return xp_of(a).matmul(a, b)
    batch, count, m, n, k, (ta, lda), (tb, ldb), nb = plan
    out = np.empty(batch + (m, n), np.float32)
    # batch shape, then a's and b's byte strides over it: the kernel finds each matrix's address
    meta = np.array(list(batch) + _batch_strides(a, batch) + _batch_strides(b, batch), np.int64)
    with _sgemm.single_threaded_small():
        _bmm_par(a.ctypes.data, b.ctypes.data, out.ctypes.data, meta, count, m, n, k, ta, lda, tb,
                 ldb, _sgemm.SGEMM_SMALL, nb)
    return out


def _blocks(count, per_matrix):
    """Parallel blocks for `count` products of `per_matrix` multiply-adds each (0: one thread)."""
    return min(parallel_blocks(count * per_matrix, THRESHOLDS["bmm"][1]), count)


@njit(**JIT)
def _bmm_core(a0, b0, c0, meta, lo, hi, m, n, k, ta, lda, tb, ldb, sgemm):
    """Products lo..hi of the batch (C order): the batch index is unravelled over the batch shape
    meta[:nd] and dotted with the byte strides meta[nd:2nd] (a) and meta[2nd:] (b)."""
    nd = meta.shape[0] // 3
    for i in range(lo, hi):
        rest = i
        oa = 0
        ob = 0
        for j in range(nd - 1, -1, -1):
            idx = rest % meta[j]
            rest //= meta[j]
            oa += idx * meta[nd + j]
            ob += idx * meta[2 * nd + j]
        sgemm(_ROW_MAJOR, ta, tb, m, n, k, _ONE, np.uint64(a0 + oa), lda, np.uint64(b0 + ob), ldb,
              _ZERO, np.uint64(c0 + i * m * n * 4), n)


@njit(**PJIT)
def _bmm_par(a0, b0, c0, meta, count, m, n, k, ta, lda, tb, ldb, sgemm, nb):
    for blk in prange(nb):
        _bmm_core(a0, b0, c0, meta, blk * count // nb, (blk + 1) * count // nb, m, n, k, ta, lda,
                  tb, ldb, sgemm)


def warmup_cases():
    if _sgemm.SGEMM_SMALL is None:
        return []
    a = np.ones((2, 2, 2), np.float32)
    out = np.empty_like(a)
    meta = np.array([2, 16, 16], np.int64)
    ptrs = (a.ctypes.data, a.ctypes.data, out.ctypes.data, meta)
    args = (2, 2, 2, _sgemm.NO_TRANS, 2, _sgemm.NO_TRANS, 2, _sgemm.SGEMM_SMALL)
    return [(_bmm_core, ptrs + (0, 2) + args), (_bmm_par, ptrs + (2,) + args + (1,))]
