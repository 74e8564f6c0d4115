"""axonal.kernels: numba kernels on raw float32 arrays (rank 0: imports only NumPy, numba and
axonal._threads; it never sees a Tensor).

Every public function takes and returns plain arrays. It runs a compiled kernel when the inputs are
NumPy float32, C-contiguous (aligned, writeable) arrays of at least THRESHOLDS[name][0] elements,
and otherwise computes the same result with NumPy (or CuPy, for CuPy arrays), so any input works;
results agree up to float rounding (see the functions' notes for NaN, denormals and edge values).
Functions return new arrays, except *_inplace and *_update, which modify their first arguments.

Kernels are compiled on first use for one fixed signature each and cached on disk; `warmup()` (or
`python -m axonal.kernels`) compiles them all ahead of time. Inside the kernels, subnormal floats
are flushed to zero (FTZ/DAZ, see `_jit`); outside them the floating-point environment is untouched.
"""
import importlib
import os
import pkgutil
import time

import numpy as np

_SHARED = ("_jit.py", "_math.py")


def _drop_stale_cache():
    """numba's on-disk cache checks only the source file of each cached function, not the files of
    the functions it inlines from other modules: the shared helpers in _jit.py (intrinsics, FTZ,
    block_bounds) and _math.py (exp32, ...). After an edit of one of those two, kernels would
    silently keep running the old code. So this package stamps those two files (mtime and size)
    and deletes every cache file in its __pycache__ when the stamp changes. Kernel modules
    themselves import only from these two (never from each other), so numba's own per-file check
    covers the rest. (A NUMBA_CACHE_DIR set by the user is left alone; an installed copy is
    re-stamped by reinstalling, which rewrites every file.)"""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = os.path.dirname(os.path.abspath(__file__))
    cache = os.path.join(here, "__pycache__")
    stamp_path = os.path.join(cache, "axonal_kernels.stamp")
    try:
        stamp = ";".join(f"{name}:{st.st_mtime_ns}:{st.st_size}" for name in _SHARED
                         for st in [os.stat(os.path.join(here, name))])
        if os.path.exists(stamp_path):
            with open(stamp_path, encoding="utf-8") as f:
                if f.read() == stamp:
                    return
        os.makedirs(cache, exist_ok=True)
        for name in os.listdir(cache):
            if name.endswith((".nbi", ".nbc")):
                os.remove(os.path.join(cache, name))
        with open(stamp_path, "w", encoding="utf-8") as f:
            f.write(stamp)
    except OSError:  # read-only install or a concurrent import: numba's own checks still apply
        pass


_drop_stale_cache()

from ._jit import FASTMATH, FTZ_SUPPORTED, mxcsr_inside_kernel  # noqa: I001 - after the cache check
from ._thresholds import THRESHOLDS
from .elementwise import (add, add_rowvec_inplace, exp, mul, relu, relu_backward, sigmoid,
                          sigmoid_backward, sub, tanh, tanh_backward)
from ._sgemm import BLAS
from .gemm import mm
from .optim import adam_update, sgd_momentum_update, sgd_update
from .reductions import log_softmax, softmax_cross_entropy, softmax_cross_entropy_backward, sum_rows

__all__ = [  # noqa: RUF022 - grouped by family
    "FASTMATH", "FTZ_SUPPORTED", "THRESHOLDS", "BLAS", "flush_denormals_active", "warmup", "mm",
    "relu", "relu_backward", "exp", "tanh", "tanh_backward", "sigmoid", "sigmoid_backward",
    "add", "sub", "mul", "add_rowvec_inplace", "sum_rows",
    "softmax_cross_entropy", "softmax_cross_entropy_backward", "log_softmax",
    "sgd_update", "sgd_momentum_update", "adam_update",
]


def flush_denormals_active():
    """True if kernels run with FTZ and DAZ set (False on CPUs other than x86)."""
    inside, _ = mxcsr_inside_kernel()
    return FTZ_SUPPORTED and (int(inside) & 0x8040) == 0x8040


def _kernels(modules=None):
    """(kernel, args) for every compiled function: each serial core and each parallel driver, as
    listed by `warmup_cases()` in each module of this package (all modules, or those named)."""
    if modules is None:
        modules = sorted(m.name for m in pkgutil.iter_modules(__path__)
                         if not m.name.startswith("__"))
    cases = []
    for name in modules:
        mod = importlib.import_module(f"{__name__}.{name}")
        if hasattr(mod, "warmup_cases"):
            cases.extend(mod.warmup_cases())
    return cases


def warmup(verbose=False, modules=None):
    """Compile (or load from the on-disk cache) every kernel for its one signature: those of each
    module of this package that defines `warmup_cases()` (or of the named modules only).
    Returns {kernel name: seconds}."""
    times = {}
    for fn, args in _kernels(modules):
        t0 = time.perf_counter()
        fn(*args)
        times[fn.__name__] = time.perf_counter() - t0
        if verbose:
            print(f"{fn.__name__:24s} {times[fn.__name__]:7.3f} s")
    return times
