"""When a wrapper calls a kernel instead of NumPy, and when the kernel runs on several threads.

THRESHOLDS[name] = (min_size, par_block):
    min_size   arrays with fewer elements go to NumPy: below it the call overhead of the kernel path
               (~1 us: numba dispatch, flattening, the type checks) costs more than the kernel saves.
    par_block  the kernel runs in parallel only when every thread gets at least this many elements;
               otherwise the serial kernel runs in the calling thread.

Measured with `benchmarks/bench_kernels.py --sweep` on the 2-core Sapphire Rapids machine (NumPy 2.4
with AVX-512 ufuncs), calling-thread CPU time, best of 7 rounds:
  * fused kernels win at every size: softmax cross-entropy 3-14x, log-softmax ~3x, Adam and SGD with
    momentum 2-6x, sigmoid ~2x, relu_backward 2-14x (NumPy's `where` is slow), sum_rows ~3x;
  * a single NumPy ufunc is as fast as a numba loop once the array is large (relu, add, mul, exp):
    the kernels only win between ~8k and ~1M elements (cache-resident, one pass instead of two), so
    plain arithmetic, exp and tanh have no wrapper of their own (NumPy's AVX-512 tanh is ~2x faster
    than tanh32, which numba vectorizes with 256-bit registers only); exp32 and tanh32 live on
    inside the fused kernels.
gelu / gelu_backward (measured on the 2-core AMD EPYC, AVX2, 2026-12-07, calling-thread CPU time,
best of 7, the NumPy path being the erfc ufunc plus the arithmetic passes): the fused kernel wins at
every size, 3.6 vs 1.0 us (forward) and 6.3 vs 1.3 us (backward) at 16 elements, 10x at 1M.
Parallel: waking the second thread costs ~3 us when the machine is idle, and on 2 cores element-wise
loops are memory bound (2 threads: 1.2-1.7x at 1M elements). When other processes keep the cores
busy, a parallel region waits for a time slice (0.5-3 ms measured): hence high par_block values
(1M elements for memory-bound loops, 256k for transcendental or divide-heavy ones).
Transformer kernels (measured on the 2-core AMD EPYC, AVX2, 2026-12-07/08, 1 thread, calling-thread
CPU time, best of 7, kernel vs the NumPy path; /work/wt/_notes/speed16/sweep.py; the machine was
shared, load 7-10, so parallel thresholds are set by reasoning, not measured):
  * softmax forward (rows of 64): the kernel wins from 64 elements (2.5 vs 3.7 us) to 64k (33 vs
    157 us); its backward loses below ~1k (2.9 vs 2.5 us at 64) and wins above (4.1 vs 7.7 us at 8k).
  * layer_norm (F.layer_norm forward + backward, rows of 64): equal at 256 elements (157 us, Python
    overhead), kernel ahead from 1k (128 vs 157 us) and 2.5x at 64k (208 vs 521 us).
  * where_rows: 4.1 vs 6.0 us at 8k elements, 124 vs 633 us at 1M.
  * bmm: the per-matrix sgemm loop runs only in parallel: on one thread it was no faster than
    numpy.matmul (same sgemm calls; 54 vs 40 us for 8 products of 64^3, equal at attention's
    64 x 128x64x128), so below 2 x par_block multiply-adds (~20 us of work per thread at 90 GFLOP/s)
    numpy.matmul runs.
Changing an entry at run time takes effect on the next call.
"""
_NEVER = 1 << 62
_MEM = 1 << 19     # per-thread block: memory-bound loops go parallel from 1M elements
_CPU = 1 << 17     # compute-bound loops (exp, divide, sqrt) from 256k

THRESHOLDS = {
    "relu": (8192, _MEM),
    "sigmoid": (64, _CPU),
    "relu_backward": (256, _MEM),
    "tanh_backward": (2048, _MEM),
    "sigmoid_backward": (2048, _MEM),
    "gelu": (64, _CPU),
    "gelu_backward": (64, _CPU),
    "add_rowvec_inplace": (8192, _MEM),
    "where_rows": (8192, _MEM),          # masked_fill with a mask broadcast over rows (see above)
    "sum_rows": (512, _MEM),
    "softmax_cross_entropy": (64, _CPU),
    "softmax_cross_entropy_backward": (64, _MEM),
    "log_softmax": (64, _CPU),
    "softmax": (64, _CPU),              # kernels.softmax (and its causal variant), see below
    "softmax_backward": (1024, _MEM),
    "sgd_update": (128, _MEM),
    "sgd_momentum_update": (64, _MEM),
    "adam_update": (64, _CPU),
    "channel_moments": (1024, _CPU),    # batch norm: moments, affine map, backward (kernels.norm)
    "channel_affine": (1024, _MEM),
    "batch_norm_backward": (1024, _CPU),
    "layer_norm": (1024, _CPU),          # kernels.layer_norm: moments and forward (rows of D >= 8)
    "layer_norm_backward": (1024, _CPU),
    "matmul": (1 << 20, _NEVER),        # multiply-adds m*n*k from which kernels.mm calls MKL itself
    "bmm": (1 << 18, 1 << 20),          # batched: multiply-adds in all, and per thread (see above)
}
