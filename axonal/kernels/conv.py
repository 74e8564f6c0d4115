"""2-D convolution of NCHW arrays: numba kernels around OpenBLAS GEMMs for float32 (rank 0).

The wrappers `conv2d`, `conv2d_input_grad`, `conv2d_weight_grad` and `conv2d_backward` take any
arrays and choose: the kernels below (`forward`, `backward`: float32 C-contiguous, groups == 1; a
few groups are split into calls) for float32 NumPy arrays, else the NumPy/CuPy maps of _conv_numpy.

Notation. x (N, C, H, W), weight (CO, C, KH, KW), y (N, CO, HO, WO); geometry `geo` = (sh, sw, pt,
pb, pl, pr, dh, dw): strides, paddings (top, bottom, left, right) and dilations. A negative padding
crops the input instead (the transposed convolution with output_padding > padding needs it). Output
position (oh, ow), kernel tap (i, j) reads input pixel (oh*sh + i*dh - pt, ow*sw + j*dw - pl);
pixels outside the input read 0.

Two im2col + GEMM layouts (shared/research/KERNELS.md motivates the first; the second replaced
the direct convolution it recommends for few channels, after measuring both):

* NHWC spans, for any geometry. For each output pixel, one row of `cols` holds the KH*KW*C inputs
  it reads, in (i, j, c) order. Copying the sample into a zero-padded NHWC scratch first makes
  each kernel row (i) one contiguous span of KW*C floats, so a row of cols is KH span copies
  instead of KH*KW*C scattered loads. Then, with the weight permuted to Wp (CO, KH*KW*C):
      forward       Y^T (rows, CO) = cols @ Wp^T    (one tall GEMM, then to NCHW with the bias)
      weight grad   dWp^T (K, CO) += cols^T @ G     (G = dY as (rows, CO))
      input grad    dcols          = G @ Wp, scattered back (col2im, the adjoint of im2col)
  Each thread takes a block of the batch and runs the whole pipeline on chunks of ~1.5 MB of
  `cols`, calling OpenBLAS's sgemm itself (single-threaded, see _sgemm): one parallel region per
  op, and each chunk is still in the core's L2 cache when the GEMM reads what im2col wrote. Without a usable OpenBLAS the same steps run one at a time with
  np.matmul (`_forward_matmul`, `_backward_matmul`).
* wide rows, for stride 1 and few input channels (C <= 8, e.g. an RGB or grey image): the columns
  of a sample are contiguous slices of its padded NCHW planes and the GEMM writes NCHW directly
  (see _conv_wide). Measured against a direct convolution kernel (numba loops over the taps,
  vectorized along the output row), its forward was 2x (LeNet conv1) and 2.8x (3->32 channels,
  32x32) faster, and its backward faster too: the GEMM keeps its accumulators in registers,
  numba loops cannot.

Which sgemm: the library's (kernels._sgemm: MKL when installed, else NumPy's OpenBLAS), except on
AMD CPUs with AVX-512, where MKL runs at about half the speed of NumPy's OpenBLAS on these GEMM
shapes and OpenBLAS is called instead (`_conv_sgemm` has the measurements; AXONAL_CONV_BLAS=default
turns this off). `CONV_BLAS` names the library the kernels call.
"""
import contextlib
import os

import numpy as np

from .. import _threads
from . import _conv_loops as _loops
from . import _conv_numpy as _numpy
from . import _conv_wide as _wide
from . import _sgemm
from ._conv_numpy import col2im, im2col, out_hw  # noqa: F401 - the geometry, for unfold / fold
from ._jit import parallel_blocks
from ._sgemm import single_threaded_blas

F32 = np.float32
CHUNK_FLOATS = 3 << 17  # ~1.5 MB of im2col rows per thread and chunk (L2-resident)
WIDE_MAX_C = 8  # input channels up to which stride-1 convolutions use wide rows
PAR_MIN_FLOPS = 1 << 21  # multiply-adds per thread below which a kernel runs serially
MAX_KERNEL_GROUPS = 16  # grouped convolutions up to this many groups run the kernels per group


def _host_cpu():
    """(LLVM's name of this CPU, e.g. 'znver5' or 'sapphirerapids', its feature flags)."""
    import llvmlite.binding as ll  # numba's dependency

    return ll.get_host_cpu_name(), ll.get_host_cpu_features()


def _conv_sgemm():
    """(sgemm, name, OpenBLAS's (set, get) thread functions or None) for the convolution kernels:
    the library's choice (_sgemm.SGEMM) except on AMD CPUs with AVX-512 when it is MKL, whose
    dispatcher gives AMD CPUs code that reaches about half of the core's peak there, while NumPy's
    OpenBLAS (DYNAMIC_ARCH) picks its SkylakeX (AVX-512) kernels. Measured on the 2-core AMD EPYC
    (znver5, 2026-12-08, single-threaded, process CPU time, best of 5), GFLOP/s of ResNet-20's
    convolution GEMMs, MKL / OpenBLAS's SkylakeX kernels (its own choice) / OpenBLAS forced to
    its Haswell (AVX2) kernels by OPENBLAS_CORETYPE=Haswell (as this machine's environment sets):
    forward with 16 output channels (K = 144) 65 / 141 / 82, its weight gradient 61 / 108 / 77,
    its input gradient (K = 16) 69 / 148 / 93, 32 channels 78 / 171 / 84, 64 channels
    70-82 / 159-202 / 72-84; a 1024^3 GEMM 91 / 197 / 105. The ResNet-20 training step (1 thread,
    CPU time) took 575-620 ms with MKL, 505-535 ms with Haswell OpenBLAS, 335-375 ms with
    SkylakeX OpenBLAS. AXONAL_CONV_BLAS=default keeps the library's choice."""
    sgemm, name = _sgemm.SGEMM, _sgemm.BLAS
    if sgemm is None or not (name or "").startswith("mkl") or \
            os.environ.get("AXONAL_CONV_BLAS", "auto") == "default":
        return sgemm, name, None
    cpu, features = _host_cpu()
    if cpu.startswith("znver") and features.get("avx512f"):
        found = _sgemm._find_openblas()
        if found is not None:
            return found[0], found[3], found[1:3]
    return sgemm, name, None


SGEMM, CONV_BLAS, _OPENBLAS_THREADS = _conv_sgemm()


@contextlib.contextmanager
def _blas_one_thread():
    """The sgemm of the kernels runs single-threaded inside: each of numba's threads calls it on
    its own rows. With the library's BLAS that is _sgemm.single_threaded_blas; with OpenBLAS in
    place of MKL, OpenBLAS's own count (1 under the thread policy, but a program may have raised
    it) is set to 1 for the call, so it starts no pool of its own."""
    if _OPENBLAS_THREADS is None:
        with single_threaded_blas():
            yield
        return
    set_n, get_n = _OPENBLAS_THREADS
    prev = get_n()
    if prev != 1:
        set_n(1)
    try:
        yield
    finally:
        if prev != 1:
            set_n(prev)


def _serial_blas():
    """Context of a serial kernel call: the library's BLAS may use its own threads there;
    OpenBLAS in place of MKL runs single-threaded (its pool would spin against OpenMP's)."""
    return contextlib.nullcontext() if _OPENBLAS_THREADS is None else _blas_one_thread()


# -- the wrappers: kernels for float32 NumPy arrays, NumPy/CuPy otherwise ------------------------
def _kernel_ok(groups, *arrays):
    return groups <= MAX_KERNEL_GROUPS and all(
        type(a) is np.ndarray and a.dtype == F32 and a.size for a in arrays)


def _group_slices(groups, *dims):
    return [[slice(g * d // groups, (g + 1) * d // groups) for d in dims] for g in range(groups)]


def _c(a):
    return np.ascontiguousarray(a)


def conv2d(x, w, b, geo, groups):
    """conv(x, w) + b for x (N, C, H, W), w (O, C/groups, KH, KW), b (O,) or None."""
    if not _kernel_ok(groups, x, w):
        return _numpy.conv_forward(x, w, b, geo, groups)
    if groups == 1:
        return forward(_c(x), _c(w), b, geo)
    return np.concatenate([forward(_c(x[:, sc]), _c(w[so]), None if b is None else b[so], geo)
                           for sc, so in _group_slices(groups, x.shape[1], w.shape[0])], axis=1)


def conv2d_input_grad(g, w, geo, groups, x_shape):
    """conv_t(g, w): the x-shaped adjoint of conv(., w) applied to g (N, O, HO, WO)."""
    if not _kernel_ok(groups, g, w):
        return _numpy.conv_input_grad(g, w, geo, groups, x_shape)
    parts = []
    for sc, so in _group_slices(groups, x_shape[1], w.shape[0]):
        shape = (x_shape[0], sc.stop - sc.start) + tuple(x_shape[2:])
        parts.append(backward(None, _c(w[so]), _c(g[:, so]), geo, True, False, x_shape=shape)[0])
    return parts[0] if groups == 1 else np.concatenate(parts, axis=1)


def conv2d_weight_grad(x, g, geo, groups, w_shape):
    """conv_w(x, g): the w-shaped adjoint of conv(x, .) applied to g."""
    if not _kernel_ok(groups, x, g):
        return _numpy.conv_weight_grad(x, g, geo, groups, w_shape)
    parts = []
    for sc, so in _group_slices(groups, x.shape[1], w_shape[0]):
        shape = (so.stop - so.start,) + tuple(w_shape[1:])
        parts.append(backward(_c(x[:, sc]), None, _c(g[:, so]), geo, False, True,
                              w_shape=shape)[1])
    return parts[0] if groups == 1 else np.concatenate(parts, axis=0)


def conv2d_backward(x, w, g, geo, groups, need_x, need_w):
    """(conv_t(g, w), conv_w(x, g)), None where not needed; one pass over g on the kernel path."""
    if groups == 1 and need_x and need_w and _kernel_ok(groups, x, w, g):
        return backward(_c(x), _c(w), _c(g), geo, True, True)
    gx = conv2d_input_grad(g, w, geo, groups, x.shape) if need_x else None
    gw = conv2d_weight_grad(x, g, geo, groups, w.shape) if need_w else None
    return gx, gw


# -- drivers (plain Python) --------------------------------------------------------------------
def _num_threads():
    return max(1, _threads.get_num_threads())


def out_size(geo, h, w, kh, kw):
    sh, sw, pt, pb, pl, pr, dh, dw = geo
    return (h + pt + pb - dh * (kh - 1) - 1) // sh + 1, (w + pl + pr - dw * (kw - 1) - 1) // sw + 1


def _pad_planes(x, geo, kh, kw, ho, wo):
    """x zero-padded (or cropped, for negative paddings) to exactly the rows/cols windows read."""
    sh, sw, pt, pb, pl, pr, dh, dw = geo
    N, C, H, W = x.shape
    hp, wp = (ho - 1) * sh + (kh - 1) * dh + 1, (wo - 1) * sw + (kw - 1) * dw + 1
    if pt == 0 and pl == 0 and hp == H and wp == W:
        return x
    xp = np.zeros((N, C, hp, wp), F32)
    r0, r1 = max(0, -pt), min(H, hp - pt)
    c0, c1 = max(0, -pl), min(W, wp - pl)
    if r1 > r0 and c1 > c0:
        xp[:, :, r0 + pt:r1 + pt, c0 + pl:c1 + pl] = x[:, :, r0:r1, c0:c1]
    return xp


def _blocks(n_items, flops_per_item):
    """Parallel blocks over n_items (0: run the serial core): every thread must get whole items
    and at least PAR_MIN_FLOPS multiply-adds, else waking the pool costs more than it saves (on a
    busy machine each parallel region waits until all its threads have been scheduled)."""
    return parallel_blocks(n_items, max(1, -(-PAR_MIN_FLOPS // max(flops_per_item, 1))))


def use_wide(c_in, geo):
    """Wide rows for stride 1 and few input channels; NHWC spans otherwise (measured: for 32 or
    more channels the span path's backward is faster and the forwards are even)."""
    return SGEMM is not None and c_in <= WIDE_MAX_C and geo[0] == 1 and geo[1] == 1


def _unpermute(dwt, kh, kw, c):
    """(K, CO) weight gradient in the span (i, j, c) order -> (CO, C, KH, KW)."""
    return np.ascontiguousarray(dwt.reshape(kh, kw, c, -1).transpose(3, 2, 0, 1))


def _loop_args(geo, kh, kw):
    sh, sw, pt, pb, pl, pr, dh, dw = geo
    return kh, kw, sh, sw, pt, pl, dh, dw


def _permuted(w):
    """Wp (CO, KH*KW*C): the weight in the (i, j, c) order of the span im2col rows."""
    co = w.shape[0]
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(co, -1)


_DUMMY = np.zeros((1, 1, 1, 1), F32)


def forward(x, w, bias, geo):
    """y = conv2d(x, w) + bias for float32 C-contiguous x (N, C, H, W), w (CO, C, KH, KW)."""
    N, C, H, W = x.shape
    CO, _, kh, kw = w.shape
    ho, wo = out_size(geo, H, W, kh, kw)
    bias = np.zeros(CO, F32) if bias is None else np.ascontiguousarray(bias, F32)
    y = np.empty((N, CO, ho, wo), F32)
    nb = _blocks(N, ho * wo * kh * kw * C * CO)
    if use_wide(C, geo):
        xp = _pad_planes(x, geo, kh, kw, ho, wo)
        wm = np.ascontiguousarray(w).reshape(CO, -1)
        if not nb:  # serial: run it here (the BLAS may use its own threads)
            with _serial_blas():
                _wide.wide_fwd_core(xp, wm, bias, y, 0, N, kh, kw, geo[6], geo[7], SGEMM)
        else:
            with _blas_one_thread():
                _wide.wide_fwd_par(xp, wm, bias, y, kh, kw, geo[6], geo[7], SGEMM, nb)
        return y
    wp = _permuted(w)
    if SGEMM is None:
        return _forward_matmul(x, wp, bias, y, geo, kh, kw)
    cs = max(1, CHUNK_FLOATS // (ho * wo * wp.shape[1]))
    if not nb:
        with _serial_blas():
            _loops.gemm_fwd_core(x, wp, bias, y, 0, N, cs, *_loop_args(geo, kh, kw), SGEMM)
    else:
        with _blas_one_thread():
            _loops.gemm_fwd_par(x, wp, bias, y, cs, *_loop_args(geo, kh, kw), SGEMM, nb)
    return y


def backward(x, w, g, geo, need_x=True, need_w=True, x_shape=None, w_shape=None):
    """(dL/dx, dL/dw) of y = conv2d(x, w) given g = dL/dy (float32 C-contiguous arrays). `x` may be
    None when only the input gradient is wanted (then x_shape gives its shape), `w` may be None when
    only the weight gradient is wanted (w_shape)."""
    N, CO, ho, wo = g.shape
    N, C, H, W = x.shape if x is not None else x_shape
    CO, _, kh, kw = w.shape if w is not None else w_shape
    K = kh * kw * C
    nb = _blocks(N, ho * wo * K * CO * (need_x + need_w))
    gx = np.empty((N, C, H, W), F32) if need_x else _DUMMY
    wide = use_wide(C, geo)
    if wide:
        wmat = np.ascontiguousarray(w).reshape(CO, K) if need_x else np.zeros((CO, K), F32)
    else:
        wmat = _permuted(w) if need_x else np.zeros((CO, K), F32)
    if SGEMM is None:
        xx = x if need_w else _DUMMY
        gx, dwt = _backward_matmul(xx, wmat, g, gx, geo, kh, kw, need_x, need_w)
        return (gx if need_x else None), (_unpermute(dwt, kh, kw, C) if need_w else None)
    part = np.empty((max(nb, 1),) + ((CO, K) if wide else (K, CO)), F32)
    if wide:
        hp, wp = (ho - 1) + (kh - 1) * geo[6] + 1, (wo - 1) + (kw - 1) * geo[7] + 1
        xp = _pad_planes(x, geo, kh, kw, ho, wo) if need_w else _DUMMY
        args = (kh, kw, geo[6], geo[7], geo[2], geo[4], hp, wp, SGEMM, need_x, need_w)
        core, par = _wide.wide_bwd_core, _wide.wide_bwd_par
        xin = xp
    else:
        cs = max(1, CHUNK_FLOATS // (ho * wo * K))
        args = (cs,) + _loop_args(geo, kh, kw) + (SGEMM, need_x, need_w)
        core, par = _loops.gemm_bwd_core, _loops.gemm_bwd_par
        xin = x if need_w else _DUMMY
    if not nb:
        part[0] = 0.0
        with _serial_blas():
            core(xin, wmat, g, gx, part[0], 0, N, *args)
    else:
        with _blas_one_thread():
            par(xin, wmat, g, gx, part, *args, nb)
    gw = None
    if need_w:
        acc = part.sum(axis=0)
        gw = acc.reshape(CO, C, kh, kw) if wide else _unpermute(acc, kh, kw, C)
    return (gx if need_x else None), gw


# -- fallback without a callable sgemm: the same steps, chunk by chunk, with np.matmul ----------
def _chunk(n, per_sample):
    """Samples per chunk: CHUNK_FLOATS of im2col rows per thread, a whole number of samples."""
    nt = _num_threads()
    return min(n, max(1, CHUNK_FLOATS // max(per_sample, 1)) * nt)


def _forward_matmul(x, wp, bias, y, geo, kh, kw):
    N, (CO, K) = x.shape[0], wp.shape
    ho, wo = y.shape[2:]
    L = ho * wo
    cs = _chunk(N, L * K)
    cols, t = np.empty((cs * L, K), F32), np.empty((cs * L, CO), F32)
    args = _loop_args(geo, kh, kw) + (ho, wo)
    for b0 in range(0, N, cs):
        n = min(cs, N - b0)
        nb = max(1, min(_num_threads(), n))
        _loops.im2col_par(x, cols[:n * L], b0, n, *args, nb)
        np.matmul(cols[:n * L], wp.T, out=t[:n * L])
        _loops.rows_to_nchw_par(t[:n * L], y, b0, n, bias, nb)
    return y


def _backward_matmul(x, wp, g, gx, geo, kh, kw, need_x, need_w):
    N, CO, ho, wo = g.shape
    L, K = ho * wo, wp.shape[1]
    cs = _chunk(N, L * K)
    rows, cols = np.empty((cs * L, CO), F32), np.empty((cs * L, K), F32)
    dwt, tmp = np.zeros((K, CO), F32), np.empty((K, CO), F32)
    args = _loop_args(geo, kh, kw) + (ho, wo)
    for b0 in range(0, N, cs):
        n = min(cs, N - b0)
        nb = max(1, min(_num_threads(), n))
        r, c = rows[:n * L], cols[:n * L]
        _loops.nchw_to_rows_par(g, r, b0, n, nb)
        if need_w:  # dWp^T (K, CO) += cols^T @ rows
            _loops.im2col_par(x, c, b0, n, *args, nb)
            np.matmul(c.T, r, out=tmp)
            dwt += tmp
        if need_x:
            np.matmul(r, wp, out=c)
            _loops.col2im_par(c, gx, b0, n, *args, nb)
    return gx, dwt


def warmup_cases():
    """(kernel, args) pairs compiling every kernel of this module once (see kernels.warmup)."""
    x = np.ones((2, 3, 5, 5), F32)
    y = np.empty((2, 2, 3, 3), F32)
    dx = np.empty_like(x)
    cols, t = np.empty((18, 27), F32), np.empty((18, 2), F32)
    wp, b = np.ones((2, 27), F32), np.zeros(2, F32)
    geo = (3, 3, 1, 1, 0, 0, 1, 1)
    out = [(_loops.im2col_par, (x, cols, 0, 2) + geo + (3, 3, 1)),
           (_loops.col2im_par, (cols, dx, 0, 2) + geo + (3, 3, 1)),
           (_loops.rows_to_nchw_par, (t, y, 0, 2, b, 1)),
           (_loops.nchw_to_rows_par, (y, t, 0, 2, 1))]
    if SGEMM is not None:
        part, wpart = np.empty((1, 27, 2), F32), np.empty((1, 2, 27), F32)
        wide = (3, 3, 1, 1, 0, 0, 5, 5, SGEMM, True, True)
        out += [(_loops.gemm_fwd_par, (x, wp, b, y, 2) + geo + (SGEMM, 1)),
                (_loops.gemm_fwd_core, (x, wp, b, y, 0, 2, 2) + geo + (SGEMM,)),
                (_loops.gemm_bwd_par, (x, wp, y, dx, part, 2) + geo + (SGEMM, True, True, 1)),
                (_loops.gemm_bwd_core,
                 (x, wp, y, dx, part[0], 0, 2, 2) + geo + (SGEMM, True, True)),
                (_wide.wide_fwd_par, (x, wp, b, y, 3, 3, 1, 1, SGEMM, 1)),
                (_wide.wide_fwd_core, (x, wp, b, y, 0, 2, 3, 3, 1, 1, SGEMM)),
                (_wide.wide_bwd_par, (x, wp, y, dx, wpart) + wide + (1,)),
                (_wide.wide_bwd_core, (x, wp, y, dx, wpart[0], 0, 2) + wide)]
    return out
