"""Shared machinery of the kernel layer: compile options, the floating-point environment (FTZ/DAZ),
float<->int bit casts, and the checks that route a call to a kernel or to the NumPy fallback.

Compile options. Every kernel is `njit(fastmath=FASTMATH, error_model='numpy', cache=True)`.
`error_model='numpy'` lets LLVM vectorize divisions (the Python error model adds a zero check).
FASTMATH is every LLVM fast-math flag except `nnan` and `ninf`: reassociation (vectorized reductions),
contraction (FMA), reciprocal and no-signed-zero stay, but NaN and inf keep their IEEE meaning, so a
NaN in the input is a NaN in the output, as with NumPy (with `fastmath=True` LLVM may fold NaN checks
away and the result of a NaN input is undefined).

Denormals. Saturated sigmoid/tanh gates and decaying optimizer state produce subnormal floats, and
every operation on one costs ~100 cycles (a 20x slowdown of an LSTM cell backward, KERNELS.md). The
x86 MXCSR register has two bits for this: FTZ (results that would be subnormal become 0) and DAZ
(subnormal inputs are read as 0). MXCSR is per thread. Each kernel sets both bits on entry in the
thread that runs it (the caller for serial kernels, every worker block of a parallel kernel) and
restores the previous value on exit. So kernels never see denormals, while NumPy, torch and user code
in the same threads keep IEEE semantics: a process-wide FTZ would break, e.g., Hypothesis, which
refuses to run when it detects flushed subnormals. On non-x86 CPUs these helpers compile to nothing.
"""
import os
import platform
import threading

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .. import _threads
from ._cache import drop_stale_cache

drop_stale_cache()  # before any kernel of this package is compiled or loaded from the disk cache

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
JIT = {"fastmath": set(FASTMATH), "error_model": "numpy", "cache": True}
PJIT = {**JIT, "parallel": True}

F32 = np.dtype(np.float32)
I64 = np.dtype(np.int64)
FTZ_SUPPORTED = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")
_FTZ_DAZ = 0x8040  # MXCSR bit 15 = flush to zero, bit 6 = denormals are zero

# ---------------------------------------------------------------------------------------------
# intrinsics (numba @intrinsic: a few lines of LLVM IR spliced into the caller, so they inline)


def _mxcsr_call(builder, name, slot):
    fnty = ir.FunctionType(ir.VoidType(), [slot.type])
    builder.call(builder.module.declare_intrinsic(name, fnty=fnty), [slot])


@intrinsic
def _read_mxcsr(typingctx):
    """stmxcsr: the calling thread's MXCSR (0 on non-x86)."""
    def codegen(context, builder, signature, args):
        if not FTZ_SUPPORTED:
            return ir.Constant(ir.IntType(32), 0)
        slot = builder.alloca(ir.IntType(32))
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
        return builder.load(slot)
    return types.uint32(), codegen


@intrinsic
def _write_mxcsr(typingctx, value):
    """ldmxcsr. The LLVM intrinsic counts as a memory side effect, so loads and stores of the kernel
    are not moved across it."""
    def codegen(context, builder, signature, args):
        if FTZ_SUPPORTED:
            slot = builder.alloca(ir.IntType(32))
            builder.store(args[0], slot)
            _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()
    return types.void(types.uint32), codegen


@intrinsic
def f32_as_i32(typingctx, x):
    """Reinterpret the bits of a float32 as int32 (no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@intrinsic
def i32_as_f32(typingctx, x):
    """Reinterpret the bits of an int32 as float32."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@njit(inline="always", **JIT)
def ftz_enter():
    """Turn FTZ and DAZ on in this thread; returns the old MXCSR for `ftz_exit`."""
    old = _read_mxcsr()
    _write_mxcsr(old | np.uint32(_FTZ_DAZ))
    return old


@njit(inline="always", **JIT)
def ftz_exit(old):
    _write_mxcsr(old)


@njit(inline="always", **JIT)
def block_bounds(b, nb, n):
    """[lo, hi) of block b of nb over n items, cut at multiples of 16 floats (64-byte cache lines),
    so two threads never write the same cache line."""
    lo = (b * n // nb) // 16 * 16
    hi = n if b == nb - 1 else ((b + 1) * n // nb) // 16 * 16
    return lo, hi


@njit(**JIT)
def mxcsr_inside_kernel():
    """(MXCSR inside a kernel, MXCSR after it) in the calling thread, for tests and diagnostics."""
    old = ftz_enter()
    inside = _read_mxcsr()
    ftz_exit(old)
    return inside, _read_mxcsr()


# ---------------------------------------------------------------------------------------------
# dispatch helpers (plain Python, run on every call: keep them cheap)


def is_f32c(a):
    """A NumPy float32 C-contiguous, aligned, writeable array (flags.carray): the only kind the
    kernels are compiled for (any other kind would trigger a new ~1 s compilation)."""
    return type(a) is np.ndarray and a.dtype == F32 and a.flags.carray


def is_i64c(a):
    return type(a) is np.ndarray and a.dtype == I64 and a.flags.carray


_FORKED = [False]


def _after_fork_in_child():
    # GNU OpenMP is not fork-safe: a parallel region in a child forked after the parent used the
    # OpenMP pool aborts the child. Children (e.g. data-loader workers) use serial kernels only.
    _FORKED[0] = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


_MAIN_THREAD = threading.main_thread().ident


def parallel_blocks(n, per_block_min):
    """How many parallel blocks to cut `n` work items into: 0 means run the serial kernel.
    Parallel only if every thread gets at least `per_block_min` items, and only when called from
    the main thread: kernels called from other threads (data loading) would oversubscribe the
    cores, and numba's fallback `workqueue` layer aborts on concurrent parallel calls."""
    if n < 2 * per_block_min or _FORKED[0] or threading.get_ident() != _MAIN_THREAD:
        return 0
    nt = _threads.num_threads_hint()
    return min(nt, n // per_block_min) if nt >= 2 else 0


def warmup_cases():
    return [(mxcsr_inside_kernel, ())]
