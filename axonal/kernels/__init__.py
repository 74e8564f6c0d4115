"""axonal.kernels: numba kernels on raw float32 arrays (rank 0: imports only NumPy, numba,
axonal.backend and axonal._threads; it never sees a Tensor).

Every public function takes and returns plain arrays, and it alone decides how to compute: a
compiled kernel when the inputs are NumPy float32, C-contiguous (aligned, writeable) arrays of at
least THRESHOLDS[name][0] elements, and otherwise the same result with NumPy (or CuPy, for CuPy
arrays), so callers pass any array and never re-check; results agree up to float rounding (see the
functions' notes for NaN, denormals and edge values). Functions return new arrays, except *_inplace
and *_update, which modify their first arguments.

Families load on first use. `import axonal` imports neither numba nor any family: the names below
(and the family modules, `kernels.conv`, `kernels.rnn`, ...) are resolved by the module
`__getattr__` on first access, which imports the family and stores the name in this module, so
later accesses are plain attribute reads.

Kernels are compiled on first call for one fixed signature each and cached on disk; `warmup()` (or
`python -m axonal.kernels`) compiles them all ahead of time. Inside the kernels, subnormal floats
are flushed to zero (FTZ/DAZ, see `_jit`); outside them the floating-point environment is untouched.
"""
import importlib
import pkgutil
import time

from ._thresholds import THRESHOLDS

# public name -> the family module that defines it (what the rest of the package calls)
_EXPORTS = {
    "BLAS": "_sgemm", "mm": "gemm", "matmul": "gemm",
    "relu": "elementwise", "relu_backward": "elementwise", "sigmoid": "elementwise",
    "sigmoid_backward": "elementwise", "tanh_backward": "elementwise",
    "add_rowvec_inplace": "elementwise", "erf": "elementwise", "gelu": "elementwise",
    "gelu_backward": "elementwise", "where_rows": "elementwise",
    "sum_rows": "reductions", "index_add_rows": "reductions", "log_softmax": "reductions",
    "softmax": "attention", "softmax_backward": "attention",
    "softmax_cross_entropy": "reductions", "softmax_cross_entropy_backward": "reductions",
    "sgd_update": "optim", "sgd_momentum_update": "optim", "adam_update": "optim",
}
_FAMILIES = ("attention", "conv", "elementwise", "gemm", "gru", "layer_norm", "norm", "optim",
             "pool", "reductions", "rnn")

__all__ = [  # noqa: RUF022 - grouped: helpers, names, families
    "THRESHOLDS", "flush_denormals_active", "warmup",
    "BLAS", "mm", "matmul", "relu", "relu_backward", "sigmoid", "sigmoid_backward", "tanh_backward",
    "add_rowvec_inplace", "erf", "gelu", "gelu_backward", "where_rows", "sum_rows", "index_add_rows",
    "log_softmax", "softmax", "softmax_backward", "softmax_cross_entropy",
    "softmax_cross_entropy_backward", "sgd_update", "sgd_momentum_update", "adam_update",
    "attention", "conv", "elementwise", "gemm", "gru", "layer_norm", "norm", "optim", "pool",
    "reductions", "rnn",
]


def __getattr__(name):
    """First access to a kernel name or family: import the family and keep the name here."""
    family = _EXPORTS.get(name)
    if family is not None:
        value = getattr(importlib.import_module(f"{__name__}.{family}"), name)
    elif name in _FAMILIES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


def flush_denormals_active():
    """True if kernels run with FTZ and DAZ set (False on CPUs other than x86)."""
    from ._jit import FTZ_SUPPORTED, mxcsr_inside_kernel  # numba loads on first use only

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
