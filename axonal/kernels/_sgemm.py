"""The BLAS single-precision GEMM that Axonal calls itself: Intel oneMKL's when it is installed
(`pip install axonal[mkl]`), otherwise the OpenBLAS that NumPy loaded.

Why call a BLAS directly at all: a convolution on the GEMM path is many small steps per chunk of the
batch (im2col, GEMM, layout change), and an LSTM is 2 x T small GEMMs per layer. Driving them from
Python costs a fork-join of numba's threads and another of the BLAS threads per step; calling sgemm
from inside one parallel numba kernel, each thread on its own rows with the BLAS single-threaded,
needs one fork-join per op. `SGEMM` is that function, a ctypes function pointer that numba kernels
take as a first-class argument (typed from the prototype, so kernels stay cacheable). Pointers are
passed as uint64 (the same registers as `float*` on every 64-bit ABI).

Why prefer MKL: NumPy's pip wheels ship OpenBLAS, which is 1.2-1.6x slower than MKL for the
GEMM shapes of training on this class of machine (batch-sized M of 32-128; weight gradients, whose
A operand is transposed, gain most; numbers in BENCHMARKS.md). PyTorch links MKL for the same
reason; a conda NumPy links it too. MKL is asked for GNU OpenMP threading
(`MKL_Set_Threading_Layer(GNU)`, called right after it loads, before any other MKL call): the same
libgomp thread pool
that numba's kernels run on, so the two never spin against each other for the cores. MKL's ILP64
entry point `cblas_sgemm_64` has the same prototype as the ILP64 OpenBLAS of NumPy's wheels, so
kernels compile once for either.

Selection: environment variable AXONAL_BLAS = "auto" (default: MKL if found, else OpenBLAS),
"mkl" (the same, but a warning when MKL is not found) or "openblas" (never load MKL). MKL is found
as libmkl_rt.so.* in the lib/ folders where pip, conda and a system install put it (Linux;
`axonal._threads.mkl_library_paths`; the thread policy for either case is `axonal._threads`).
`SGEMM` is None when neither library is found (e.g. NumPy on Accelerate); callers then use
np.matmul. `BLAS` names the library in use ("mkl 2026.2", "openblas", or None).
"""
import contextlib
import ctypes
import os
import warnings

import numpy as np  # noqa: F401  (NumPy must be loaded: its OpenBLAS is what the fallback looks for)

from .. import _threads

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
MKL_THREADING_GNU = 3

_I64, _I32, _C, _U, _F = ctypes.c_int64, ctypes.c_int, ctypes.c_int, ctypes.c_uint64, ctypes.c_float


def _prototype(int_t):
    """cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)."""
    return ctypes.CFUNCTYPE(None, _C, _C, _C, int_t, int_t, int_t, _F, _U, int_t, _U, int_t, _F,
                            _U, int_t)


# ----------------------------------------------------------------------------------------- OpenBLAS
# (cblas_sgemm, set_num_threads, get_num_threads, 64-bit integers)
_OPENBLAS_NAMES = [("scipy_cblas_sgemm64_", "scipy_openblas_set_num_threads64_",
                    "scipy_openblas_get_num_threads64_", True),
                   ("cblas_sgemm64_", "openblas_set_num_threads64_", "openblas_get_num_threads64_",
                    True),
                   ("scipy_cblas_sgemm", "scipy_openblas_set_num_threads",
                    "scipy_openblas_get_num_threads", False),
                   ("cblas_sgemm", "openblas_set_num_threads", "openblas_get_num_threads", False)]


def _find_openblas():
    for path in _threads.loaded_library_paths("openblas"):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for gemm, setter, getter, ilp64 in _OPENBLAS_NAMES:
            if all(hasattr(lib, n) for n in (gemm, setter, getter)):
                set_n, get_n = getattr(lib, setter), getattr(lib, getter)
                set_n.argtypes, set_n.restype = [ctypes.c_int], None
                get_n.argtypes, get_n.restype = [], ctypes.c_int
                return _prototype(_I64 if ilp64 else _I32)((gemm, lib)), set_n, get_n, "openblas"
    return None


# ----------------------------------------------------------------------------------------- MKL
def _find_mkl():
    for path in _threads.mkl_library_paths():
        try:
            lib = ctypes.CDLL(path)  # RTLD_LOCAL: no clash with an MKL linked into another library
        except OSError:
            continue
        if not all(hasattr(lib, n) for n in ("MKL_Set_Threading_Layer", "MKL_Set_Num_Threads",
                                             "MKL_Get_Max_Threads", "cblas_sgemm")):
            continue
        lib.MKL_Set_Threading_Layer.argtypes = [ctypes.c_int]
        lib.MKL_Set_Threading_Layer.restype = ctypes.c_int
        lib.MKL_Set_Threading_Layer(MKL_THREADING_GNU)  # before any other MKL call
        set_n, get_n = lib.MKL_Set_Num_Threads, lib.MKL_Get_Max_Threads
        set_n.argtypes, set_n.restype = [ctypes.c_int], None
        get_n.argtypes, get_n.restype = [], ctypes.c_int
        if hasattr(lib, "cblas_sgemm_64"):
            gemm = _prototype(_I64)(("cblas_sgemm_64", lib))
        else:
            gemm = _prototype(_I32)(("cblas_sgemm", lib))
        return gemm, set_n, get_n, f"mkl {_mkl_version(lib)}"
    return None


def _mkl_version(lib):
    buf = ctypes.create_string_buffer(256)
    try:
        lib.MKL_Get_Version_String(buf, len(buf))
    except AttributeError:
        return "?"
    words = buf.value.decode(errors="replace").split()
    return next((w.split("-")[0] for w in words if w[:1].isdigit()), "?")


def _find():
    choice = _threads.blas_choice()
    if choice != "openblas":
        mkl = _find_mkl()
        if mkl is not None:
            return mkl
        if choice == "mkl":
            warnings.warn("AXONAL_BLAS=mkl but no libmkl_rt was found (pip install axonal[mkl]); "
                          "using NumPy's OpenBLAS", RuntimeWarning, stacklevel=2)
    return _find_openblas() or (None, None, None, None)


SGEMM, _set_threads, _get_threads, BLAS = _find()
THREADS_ITSELF = (BLAS or "").startswith("mkl")  # MKL threads on the OpenMP workers by itself
if not THREADS_ITSELF and _threads.expects_mkl():  # on disk, but it would not load
    _threads.mkl_not_loaded()
    if _set_threads is not None:
        _set_threads(_threads.num_threads_hint())  # OpenBLAS does the GEMMs after all
if THREADS_ITSELF and hasattr(os, "register_at_fork"):
    # GNU OpenMP's thread pool does not survive fork(): a forked child (a DataLoader worker) that
    # entered a parallel region would wait forever for the parent's workers. MKL with one thread
    # never enters one; the numba kernels go serial in a child for the same reason (_jit).
    os.register_at_fork(after_in_child=lambda: _set_threads(1))


# The sgemm for many small products, one per thread (the matrices of batched attention products,
# 128 x 64 x 128): OpenBLAS's, also when MKL does the large GEMMs. Single-threaded, MKL took
# 1.1-1.25x OpenBLAS's time on each of the six products of the GPT block's attention (forward and
# backward, 64 matrices each; process time, AMD EPYC AVX2, 2026-12-07).
_SMALL = _find_openblas() if THREADS_ITSELF else None
if _SMALL is None:
    SGEMM_SMALL, _set_small, _get_small = SGEMM, _set_threads, _get_threads
else:
    SGEMM_SMALL, _set_small, _get_small = _SMALL[:3]


@contextlib.contextmanager
def _single_threaded(get_threads, set_threads):
    if get_threads is None:
        yield
        return
    prev = get_threads()
    if prev != 1:
        set_threads(1)
    try:
        yield
    finally:
        if prev != 1:
            set_threads(prev)


def single_threaded_blas():
    """The BLAS runs single-threaded inside (its thread count is process-wide): numba's threads
    each call sgemm on their own data, so the BLAS must not start its own workers as well."""
    return _single_threaded(_get_threads, _set_threads)


def single_threaded_small():
    """The same for SGEMM_SMALL's library."""
    return _single_threaded(_get_small, _set_small)
