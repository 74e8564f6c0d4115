"""The one thread policy for every thread pool Axonal runs on: BLAS (GEMMs) and numba (kernels).

Opt-in. A plain `import axonal` writes no environment variable: the variables below apply to every
library loaded after them (PyTorch included), so only the user turns them on, in one of two ways:

    AXONAL_THREADS=auto       in the environment: `axonal/__init__.py` applies the whole policy
                              first, before NumPy loads (benchmarks/ and the tests run this way).
    axonal.configure_threads()  in a program (the CLI's `main` calls it first): the same variables
                              (for the libraries not loaded yet and for child processes), and the
                              thread counts of the libraries already loaded, set at run time.

`axonal.set_num_threads(n)` changes only the thread counts, at run time. The library defaults
apply otherwise. This module imports only the standard library, and finds MKL on disk only when
the policy is applied or the kernels load.

The policy (all set with `os.environ.setdefault`, so a value the user exported wins):

    AXONAL_NUM_THREADS        threads per pool. Default: OMP_NUM_THREADS if set, else the number
                              of cores this process may run on (sched_getaffinity).
    NUMBA_NUM_THREADS,        = AXONAL_NUM_THREADS.
    MKL_NUM_THREADS
    MKL_THREADING_LAYER       = GNU: MKL, when installed (kernels._sgemm), threads on GNU OpenMP,
                              i.e. on the same workers as numba's kernels.
    OPENBLAS_NUM_THREADS      = 1 with MKL (Axonal's GEMMs go to MKL; OpenBLAS then starts no pool
                              of its own), else AXONAL_NUM_THREADS.
    OPENBLAS_THREAD_TIMEOUT   = 4 (OpenBLAS workers spin 2**4 cycles, not 2**28, after a GEMM).
    GOMP_SPINCOUNT            = 100000 with MKL, else 10000 (iterations an idle OpenMP worker spins
                              before it sleeps; the OpenMP default is 300k).
    NUMBA_THREADING_LAYER_PRIORITY = "omp tbb workqueue".

and, not an environment variable: glibc's malloc keeps freed memory for reuse (see
`keep_freed_memory`), so arrays freed during backward do not come back as fresh pages.

Why (measured on a 2-core VM, see shared/research/KERNELS.md and BENCHMARKS.md): with two pools
(OpenBLAS's pthreads and numba's OpenMP workers), each one's spinning workers steal the cores the
other one needs next; an MLP step mixing GEMMs and parallel numba kernels ran 20x slower with
library defaults (22 ms against 1.1 ms with both spins shortened), hence the short spins without
MKL. With MKL there is a single pool: MKL's GEMMs and numba's kernels run on the same GNU OpenMP
workers, and OpenBLAS starts none, so the workers can spin longer between the ops of a step
without taking cores from another pool; MKL needs that: the MLP step took 6.8 ms with a 100k spin
and 13.3 ms (with outliers of 86 and 317 ms) with 10k, measured side by side on a 2-core VM.
The `workqueue` layer wakes its threads ~10x slower than OpenMP (30 us against 3 us), hence the
priority.

If NumPy (or numba) was loaded before the policy was applied, its libraries have already read the
environment: `configure()` then sets their thread counts at run time instead (the spin settings
cannot change any more). Nothing is printed.
"""
import ctypes
import functools
import os
import sys

ENV_VAR = "AXONAL_NUM_THREADS"
OPT_IN_VAR = "AXONAL_THREADS"  # "auto": apply the policy when axonal is imported

_state = {"configured": False, "num_threads": None, "late": False}


def _usable_cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _positive_int(text):
    try:
        n = int(str(text).strip())
    except (TypeError, ValueError):
        return None
    return n if n >= 1 else None


def _default_num_threads():
    for var in (ENV_VAR, "OMP_NUM_THREADS"):
        n = _positive_int(os.environ.get(var))
        if n is not None:
            return n
    return _usable_cores()


def requested():
    """True when the environment asks for the policy at import: AXONAL_THREADS=auto."""
    value = os.environ.get(OPT_IN_VAR, "").strip().lower()
    if value in ("", "0", "off", "none"):
        return False
    if value != "auto":
        import warnings

        warnings.warn(f"{OPT_IN_VAR}={value!r} is not understood (use 'auto'); the thread "
                      "policy is not applied", RuntimeWarning, stacklevel=3)
        return False
    return True


def configure():
    """Apply the thread policy (idempotent): write it into the environment, for the libraries not
    loaded yet and for child processes (values already present are kept), and set the thread counts
    of numba and the BLAS when they are loaded already. Returns the number of threads per pool."""
    if _state["configured"]:
        return _state["num_threads"]
    n = _default_num_threads()
    mkl = expects_mkl()
    policy = {"MKL_NUM_THREADS": str(n), "NUMBA_NUM_THREADS": str(n),
              "OPENBLAS_NUM_THREADS": "1" if mkl else str(n), "OPENBLAS_THREAD_TIMEOUT": "4",
              "MKL_THREADING_LAYER": "GNU", "GOMP_SPINCOUNT": "100000" if mkl else "10000",
              "NUMBA_THREADING_LAYER_PRIORITY": "omp tbb workqueue"}
    _state["written"] = {k: v for k, v in policy.items() if k not in os.environ}
    os.environ.update(_state["written"])  # a value already in the environment wins
    # Too late for the libraries already loaded: they read the environment at load time.
    _state["late"] = "numpy" in sys.modules or "numba" in sys.modules
    _state["num_threads"] = n
    _state["configured"] = True
    keep_freed_memory()
    if _state["late"]:
        _set_loaded_threads(n)
    return n


def keep_freed_memory():
    """Part of the policy: glibc's malloc keeps freed memory for reuse instead of returning it.

    By default glibc serves blocks above a moving threshold with mmap and gives the top of the heap
    back to the OS once more than a threshold is free there. A training step frees its saved arrays
    node by node during backward and allocates the same sizes again in the next step, so those
    pages come back from the OS, each one faulted in and zeroed again: a ResNet-20 step (batch 128,
    2 cores) took 14,050 minor faults and 353 ms, against 1 fault and 292 ms with fixed thresholds
    (mmap only above 256 MiB, trim only above 1 GiB free), at the same peak RSS (413 MB). Setting
    only the trim threshold is worse (it freezes the mmap threshold at its 128 KiB start: 105k
    faults). A no-op where the C library has no `mallopt` (musl, macOS, Windows)."""
    if _state.get("malloc") is not None:
        return _state["malloc"]
    ok = False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's C library
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is not None:
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
        ok = bool(mallopt(m_mmap_threshold, 256 << 20)) and bool(mallopt(m_trim_threshold, 1 << 30))
    _state["malloc"] = ok
    return ok


def child_environment(env):
    """`env` (a copy of this process's environment) for child processes that choose their own
    thread count (e.g. MPI ranks sharing the cores): the values this process's policy wrote are
    removed, and the opt-in is passed on, so each child applies the policy for itself."""
    env = dict(env)
    for var, value in _state.get("written", {}).items():
        if env.get(var) == value:
            del env[var]
    if _state["configured"]:
        env.setdefault(OPT_IN_VAR, "auto")
    return env


def configure_if_requested():
    """`axonal/__init__.py` calls this first, before NumPy loads: the policy on AXONAL_THREADS=auto."""
    if requested():
        configure()


def _policy_threads():
    """The thread count of the policy (configured, set, or the default it would pick), without
    writing anything."""
    if _state["num_threads"] is None:
        _state["num_threads"] = _default_num_threads()
    return _state["num_threads"]


def _set_loaded_threads(n):
    """numba's and the BLAS's thread counts, for the libraries already loaded only."""
    numba = sys.modules.get("numba")
    if numba is not None and n < int(numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(n)  # (its default is the pool size: no call, no pool started)
    if "numpy" in sys.modules:
        _set_blas_threads(n)


BLAS_CHOICES = ("auto", "mkl", "openblas")


def blas_choice():
    """AXONAL_BLAS: "auto" (default: MKL if installed, else OpenBLAS), "mkl" or "openblas"."""
    choice = os.environ.get("AXONAL_BLAS", "auto").strip().lower() or "auto"
    if choice not in BLAS_CHOICES:
        raise ValueError(f"AXONAL_BLAS must be 'auto', 'mkl' or 'openblas', got {choice!r}")
    return choice


@functools.lru_cache(maxsize=1)
def mkl_library_paths():
    """libmkl_rt.so.* where pip (prefix/lib, user base/lib), conda and oneAPI installs put it, then
    the dynamic linker's search (Linux). Paths only: nothing is loaded here. Computed once."""
    import ctypes.util
    import glob
    import site
    import sysconfig

    # pip puts a wheel's data files under the install scheme's "data" path (sys.prefix in a venv,
    # /usr/local for Debian's system pip), or under the user base with --user
    dirs = [os.path.join(p, "lib") for p in (sysconfig.get_paths().get("data"), sys.prefix,
                                             sys.base_prefix, site.USER_BASE,
                                             os.environ.get("CONDA_PREFIX"),
                                             os.environ.get("MKLROOT")) if p]
    found = []
    for d in dict.fromkeys(dirs):
        found += sorted(glob.glob(os.path.join(d, "libmkl_rt.so*")), reverse=True)
    name = ctypes.util.find_library("mkl_rt") if not found else None
    return tuple(found + ([name] if name else []))


def expects_mkl():
    """True when Axonal's GEMMs go to MKL: it is installed and AXONAL_BLAS is not "openblas"."""
    if "mkl" not in _state:
        _state["mkl"] = blas_choice() != "openblas" and bool(mkl_library_paths())
    return _state["mkl"]


def mkl_not_loaded():
    """Called by kernels._sgemm when MKL was found on disk but could not be loaded: the GEMMs go
    to OpenBLAS after all, which then gets the pool's thread count back."""
    _state["mkl"] = False


def configured_too_late():
    """True when the policy was applied after NumPy or numba loaded, so its environment variables
    did not reach them (their thread counts were set at run time instead)."""
    return _state["late"]


def get_num_threads():
    """Threads the kernel layer uses in the calling thread (numba's per-thread setting once numba is
    loaded, else the configured policy)."""
    numba = sys.modules.get("numba")
    if numba is not None:
        return int(numba.get_num_threads())
    return _policy_threads()


def num_threads_hint():
    """The thread count set by the policy or `set_num_threads`, without asking numba (which costs
    ~2-5 us per query): the kernel layer cuts its parallel work into this many blocks."""
    return _policy_threads()


def set_num_threads(n):
    """Use `n` threads in numba kernels and BLAS from now on.

    numba: `numba.set_num_threads(min(n, NUMBA_NUM_THREADS))`. numba keeps this setting per calling
    thread, and cannot go above the pool size fixed at its import (NUMBA_NUM_THREADS).
    BLAS (process-wide), through the functions of the loaded libraries found with ctypes (Linux):
    MKL gets `n` threads (`MKL_Set_Num_Threads`); OpenBLAS (`openblas_set_num_threads`) gets `n`,
    or stays at 1 when the GEMMs go to MKL. Returns the libraries set ("openblas", "mkl",
    "openblas+mkl" or "none").
    """
    n = _positive_int(n)
    if n is None:
        raise ValueError("set_num_threads expects an integer >= 1")
    _state["num_threads"] = n
    import numba  # loaded on demand: this module must import before NumPy
    numba.set_num_threads(min(n, int(numba.config.NUMBA_NUM_THREADS)))
    return _set_blas_threads(n)


def _set_blas_threads(n):
    routes = []
    openblas_n = 1 if expects_mkl() else n
    setters = (("openblas", _openblas_setter(), openblas_n), ("mkl", _mkl_setter(), n))
    for name, fn, count in setters:
        if fn is not None:
            fn(count)
            routes.append(name)
    return "+".join(routes) or "none"


_OPENBLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads")


def _openblas_setter():
    """`openblas_set_num_threads` of the OpenBLAS that NumPy loaded (its symbol names depend on the
    wheel: scipy-openblas prefixes and suffixes them), or None."""
    return _loaded_function("openblas", _OPENBLAS_SETTERS)


def _mkl_setter():
    """`MKL_Set_Num_Threads` of a loaded libmkl_rt (kernels._sgemm loads it), or None."""
    return _loaded_function("libmkl_rt", ("MKL_Set_Num_Threads",))


def loaded_library_paths(lib_substring):
    """Sorted paths of the shared libraries loaded in this process whose path contains
    `lib_substring` (case-insensitive; Linux: /proc/self/maps; [] elsewhere)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            fields = [line.split(None, 5) for line in f]
    except OSError:
        return []
    return sorted({p[5].strip() for p in fields if len(p) == 6 and lib_substring in p[5].lower()})


def _loaded_function(lib_substring, names):
    """The first of `names` exported by a loaded shared library whose path contains
    `lib_substring`, typed as void f(int); or None."""
    import ctypes

    for path in loaded_library_paths(lib_substring):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                fn.restype = None
                return fn
    return None
