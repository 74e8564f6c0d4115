"""cblas_sgemm of the OpenBLAS that NumPy itself loaded, callable from numba kernels.

Why: a convolution on the GEMM path is many small steps per chunk of the batch (im2col, GEMM,
layout change). Driving them from Python costs a fork-join of numba's threads and another of
OpenBLAS's threads per step, hundreds per training step; on a busy machine each one waits until
every thread of the pool has been scheduled again, which made a 2-thread CNN step several times
slower than a 1-thread one. Calling sgemm from inside one parallel numba kernel, each thread on
its own chunk with OpenBLAS single-threaded, needs one fork-join per op, and each thread's chunk
stays in its core's cache from im2col to GEMM to the layout change.

The function is found by name in the loaded OpenBLAS (Linux: /proc/self/maps), for the symbol
spellings of NumPy's wheels (scipy-openblas, ILP64 `..64_`) and of system OpenBLAS. numba calls it
as a first-class function argument (typed from the ctypes prototype), so kernels stay cacheable.
Pointers are passed as uint64 (the same registers as `float*` on every 64-bit ABI). `SGEMM` is
None when no OpenBLAS is found (e.g. NumPy on MKL or Accelerate); callers then use np.matmul.
"""
import contextlib
import ctypes

import numpy as np  # noqa: F401  (NumPy must be loaded: its OpenBLAS is what we look for)

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

# (cblas_sgemm, set_num_threads, get_num_threads, 64-bit integers)
_NAMES = [("scipy_cblas_sgemm64_", "scipy_openblas_set_num_threads64_",
           "scipy_openblas_get_num_threads64_", True),
          ("cblas_sgemm64_", "openblas_set_num_threads64_", "openblas_get_num_threads64_", True),
          ("scipy_cblas_sgemm", "scipy_openblas_set_num_threads",
           "scipy_openblas_get_num_threads", False),
          ("cblas_sgemm", "openblas_set_num_threads", "openblas_get_num_threads", False)]


def _openblas_paths():
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            return sorted({line.split(None, 5)[5].strip() for line in f
                           if "openblas" in line.lower() and len(line.split(None, 5)) == 6})
    except OSError:
        return []


def _find():
    for path in _openblas_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for gemm, setter, getter, ilp64 in _NAMES:
            if all(hasattr(lib, n) for n in (gemm, setter, getter)):
                i, c, u, f = (ctypes.c_int64 if ilp64 else ctypes.c_int), ctypes.c_int, \
                    ctypes.c_uint64, ctypes.c_float
                proto = ctypes.CFUNCTYPE(None, c, c, c, i, i, i, f, u, i, u, i, f, u, i)
                set_n, get_n = getattr(lib, setter), getattr(lib, getter)
                set_n.argtypes, set_n.restype = [ctypes.c_int], None
                get_n.argtypes, get_n.restype = [], ctypes.c_int
                return proto((gemm, lib)), set_n, get_n
    return None, None, None


SGEMM, _set_threads, _get_threads = _find()


@contextlib.contextmanager
def single_threaded_blas():
    """OpenBLAS runs single-threaded inside (its thread count is process-wide): numba's threads
    each call sgemm on their own data, so OpenBLAS must not start its own workers as well."""
    if _get_threads is None:
        yield
        return
    prev = _get_threads()
    if prev != 1:
        _set_threads(1)
    try:
        yield
    finally:
        if prev != 1:
            _set_threads(prev)
