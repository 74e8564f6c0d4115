"""Collective operations on Tensors, with torch.distributed's names, arguments and in-place results.

Layer 6. Every rank calls the same collectives in the same order with tensors of the same shape and
dtype (that is the contract of MPI and of torch.distributed alike). Results are written into the
given tensors' `.data`, in place, like PyTorch: all_reduce(t) leaves the reduced values in t.

How a tensor reaches MPI. mpi4py's upper-case calls (Allreduce, Bcast, ...) read and write NumPy
buffers directly: no pickling, no copy when the array is already contiguous. A non-contiguous view
(t.T, t[:, ::2]) is first copied into a contiguous buffer and the result copied back through the view,
so the caller sees exactly what a contiguous tensor would. Zero-size tensors skip MPI altogether (every
rank has the same shape, so every rank skips). CuPy arrays go through NCCL when the group's backend is
'nccl', else through host memory (correct with any MPI, at the price of two PCIe copies).

Dtypes: all of axonal's. Reductions run in the array's own dtype except two cases MPI does not cover
portably: float16 is reduced in float32 (then rounded once: more accurate than half-precision partial
sums, and MPICH is the only MPI with a half type), and bool is reduced as uint8 with SUM meaning "any"
and PRODUCT meaning "all" (PyTorch's rule for bool). AVG divides the sum by the world size; on
integers it truncates toward zero like NCCL's integer average.
"""
import numpy as np

from .. import backend
from ..tensor import Tensor
from . import process_group as _pg


class ReduceOp:
    """Reduction operators: ReduceOp.SUM, AVG (alias MEAN), PRODUCT, MIN, MAX, BAND, BOR, BXOR."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<ReduceOp.{self.name}>"


for _name in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"):
    setattr(ReduceOp, _name, ReduceOp(_name))
ReduceOp.MEAN = ReduceOp.AVG
_BY_NAME = {n: getattr(ReduceOp, n) for n in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR",
                                               "BXOR")}


def _op(op):
    if isinstance(op, ReduceOp):
        return op
    if isinstance(op, str) and op.upper() in _BY_NAME:
        return _BY_NAME[op.upper()]
    if isinstance(op, str) and op.upper() == "MEAN":
        return ReduceOp.AVG
    raise ValueError(f"unknown reduce op {op!r}; use axonal.distributed.ReduceOp.SUM/AVG/PRODUCT/"
                     "MIN/MAX/BAND/BOR/BXOR")


_MPI_OPS = {}


def _mpi_op(op, kind):
    """The MPI operator for `op` on arrays of dtype kind `kind` ('b' for bool, 'f', 'i', 'u')."""
    name = op.name
    if kind == "b":
        if name == "AVG":
            raise TypeError("all_reduce: ReduceOp.AVG is not defined for bool tensors")
        name = {"SUM": "MAX", "PRODUCT": "MIN"}.get(name, name)  # any / all
    elif kind == "f" and name in ("BAND", "BOR", "BXOR"):
        raise TypeError(f"all_reduce: ReduceOp.{name} needs an integer or bool tensor")
    if not _MPI_OPS:
        MPI = _pg.mpi()
        _MPI_OPS.update(SUM=MPI.SUM, AVG=MPI.SUM, PRODUCT=MPI.PROD, MIN=MPI.MIN, MAX=MPI.MAX,
                        BAND=MPI.BAND, BOR=MPI.BOR, BXOR=MPI.BXOR)
    return _MPI_OPS[name]


class Work:
    """What `async_op=True` returns: `wait()` blocks until the result is in the tensor."""

    def __init__(self, g, what, request=None, finish=None):
        self.g, self.what, self.request, self.finish = g, what, request, finish
        self._done = request is None and finish is None

    def is_completed(self):
        if self._done:
            return True
        return self.request is None or bool(self.request.Test())

    def wait(self, timeout=None):
        if not self._done:
            if self.request is not None:
                _pg.wait_all(self.g, [self.request], self.what)
            if self.finish is not None:
                self.finish()
            self._done = True
        return True


def _check_tensor(t, what):
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: expected an axonal Tensor, got {type(t).__name__}")
    return t._data


class _Staged:
    """A contiguous host buffer standing for an array, and the copy back into it afterwards.

    `flat` is a 1-d NumPy view in the dtype MPI will use (float16 -> float32, bool -> uint8 when
    `for_reduce`). `write_back()` stores `flat` into the original array when `flat` is not already
    a view of it.
    """

    def __init__(self, arr, for_reduce=True):
        self.arr = arr
        if backend.is_cupy_array(arr):
            host, self.aliased = backend.to_numpy(arr), False  # a fresh host copy
        elif arr.flags.c_contiguous and arr.flags.writeable:
            host, self.aliased = arr, True  # MPI reads and writes the tensor's own memory
        else:
            host, self.aliased = np.array(arr, order="C"), False  # non-contiguous: a packed copy
        buf = host.reshape(-1)
        if for_reduce and buf.dtype == np.float16:
            buf, self.aliased = buf.astype(np.float32), False
        elif buf.dtype == np.bool_:
            buf = buf.view(np.uint8)
        self.flat = buf

    def write_back(self):
        if self.aliased:
            return
        vals = self.flat.reshape(self.arr.shape)
        if vals.dtype != self.arr.dtype:
            vals = vals.view(np.bool_) if self.arr.dtype == np.bool_ else vals.astype(self.arr.dtype)
        if backend.is_cupy_array(self.arr):
            vals = backend._cupy.asarray(vals)
        self.arr[...] = vals


def _finish_avg(flat, n):
    if flat.dtype.kind == "f":
        flat /= n
    else:  # integer average: truncate toward zero (NCCL); floor division alone rounds down
        np.copyto(flat, np.sign(flat) * (np.abs(flat) // n), casting="unsafe")


def _nccl_or_none(g, arr):
    if g.backend == "nccl" and backend.is_cupy_array(arr):
        return g.nccl
    return None


def _done(async_op, g, what):
    return Work(g, what) if async_op else None


# -- the collectives -------------------------------------------------------------------------------
def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce `tensor` over all ranks; every rank ends with the result in `tensor` (in place)."""
    g = _pg.default_group(group)
    arr, op = _check_tensor(tensor, "all_reduce"), _op(op)
    if arr.size == 0:
        return _done(async_op, g, "all_reduce")
    nccl = _nccl_or_none(g, arr)
    if nccl is not None:
        nccl.all_reduce(arr, op)
        return _done(async_op, g, "all_reduce")
    s = _Staged(arr)
    mpi_op = _mpi_op(op, arr.dtype.kind)
    MPI = _pg.mpi()

    def finish():
        if op is ReduceOp.AVG:
            _finish_avg(s.flat, g.size())
        s.write_back()

    if async_op:
        return Work(g, "all_reduce", g.comm.Iallreduce(MPI.IN_PLACE, s.flat, op=mpi_op), finish)
    with _pg.watch(g, "all_reduce"):
        g.comm.Allreduce(MPI.IN_PLACE, s.flat, op=mpi_op)
    finish()
    return None


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank `src`'s `tensor` into `tensor` on every other rank (in place)."""
    g = _pg.default_group(group)
    arr = _check_tensor(tensor, "broadcast")
    if not 0 <= int(src) < g.size():
        raise ValueError(f"broadcast: src={src} is not a rank of a world of size {g.size()}")
    if arr.size == 0:
        return _done(async_op, g, "broadcast")
    nccl = _nccl_or_none(g, arr)
    if nccl is not None:
        nccl.broadcast(arr, int(src))
        return _done(async_op, g, "broadcast")
    s = _Staged(arr, for_reduce=False)
    raw = s.flat.view(np.uint8)
    if async_op:
        return Work(g, "broadcast", g.comm.Ibcast(raw, root=int(src)), s.write_back)
    with _pg.watch(g, "broadcast"):
        g.comm.Bcast(raw, root=int(src))
    s.write_back()
    return None


def _gather_bytes(g, arr, what, async_op, store):
    """Allgather `arr` from every rank as raw bytes into a (size, nbytes) buffer, then `store(buf)`."""
    if arr.size == 0:
        store(None)
        return _done(async_op, g, what)
    send = _Staged(arr, for_reduce=False).flat.view(np.uint8)
    recv = np.empty((g.size(), send.size), np.uint8)
    if async_op:
        return Work(g, what, g.comm.Iallgather(send, recv), lambda: store(recv))
    with _pg.watch(g, what):
        g.comm.Allgather(send, recv)
    store(recv)
    return None


def _host_or_device(vals, like):
    return backend._cupy.asarray(vals) if backend.is_cupy_array(like) else vals


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[r] <- rank r's `tensor`, on every rank (the list's tensors are written in place)."""
    g = _pg.default_group(group)
    arr = _check_tensor(tensor, "all_gather")
    if len(tensor_list) != g.size():
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors, the world has "
                         f"{g.size()} ranks")
    for k, out in enumerate(tensor_list):
        o = _check_tensor(out, "all_gather")
        if o.shape != arr.shape or o.dtype != arr.dtype:
            raise ValueError(f"all_gather: tensor_list[{k}] has shape {o.shape} and dtype "
                             f"{o.dtype}, the input {arr.shape} and {arr.dtype}")
    nccl = _nccl_or_none(g, arr)
    if nccl is not None and arr.size:
        full = nccl.all_gather(arr)
        for r, out in enumerate(tensor_list):
            out._data[...] = full[r]
        return _done(async_op, g, "all_gather")

    def store(recv):
        if recv is None:
            return
        for r, out in enumerate(tensor_list):
            out._data[...] = _host_or_device(recv[r].view(arr.dtype).reshape(arr.shape), out._data)

    return _gather_bytes(g, arr, "all_gather", async_op, store)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Rank r's input lands in output[r * n:(r + 1) * n] (output of shape (size * d0, ...) or
    (size, *input.shape)); written in place."""
    g = _pg.default_group(group)
    arr = _check_tensor(input_tensor, "all_gather_into_tensor")
    out = _check_tensor(output_tensor, "all_gather_into_tensor")
    if out.size != arr.size * g.size() or out.dtype != arr.dtype:
        raise ValueError(f"all_gather_into_tensor: output has {out.size} elements of {out.dtype}; "
                         f"it needs world_size * input = {g.size()} * {arr.size} of {arr.dtype}")
    nccl = _nccl_or_none(g, arr)
    if nccl is not None and arr.size:
        out[...] = nccl.all_gather(arr).reshape(out.shape)
        return _done(async_op, g, "all_gather_into_tensor")

    def store(recv):
        if recv is not None:
            out[...] = _host_or_device(recv.reshape(-1).view(arr.dtype).reshape(out.shape), out)

    return _gather_bytes(g, arr, "all_gather_into_tensor", async_op, store)


def _reduce_scatter(g, send_arr, out, op, what, async_op):
    """Reduce `send_arr` (size * out.size elements, rank-major) and keep block `rank` in `out`."""
    op = _op(op)
    if out.size == 0:
        return _done(async_op, g, what)
    nccl = _nccl_or_none(g, out)
    if nccl is not None:
        out[...] = nccl.reduce_scatter(send_arr, op).reshape(out.shape)
        return _done(async_op, g, what)
    send = _Staged(send_arr).flat
    s_out = _Staged(out)
    mpi_op = _mpi_op(op, out.dtype.kind)

    def finish():
        if op is ReduceOp.AVG:
            _finish_avg(s_out.flat, g.size())
        s_out.write_back()

    if async_op:
        return Work(g, what, g.comm.Ireduce_scatter_block(send, s_out.flat, op=mpi_op), finish)
    with _pg.watch(g, what):
        g.comm.Reduce_scatter_block(send, s_out.flat, op=mpi_op)
    finish()
    return None


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """output on rank r <- the reduction over ranks of input_list[r] (in place)."""
    g = _pg.default_group(group)
    out = _check_tensor(output, "reduce_scatter")
    if len(input_list) != g.size():
        raise ValueError(f"reduce_scatter: input_list has {len(input_list)} tensors, the world has "
                         f"{g.size()} ranks")
    arrays = [_check_tensor(t, "reduce_scatter") for t in input_list]
    for k, a in enumerate(arrays):
        if a.shape != out.shape or a.dtype != out.dtype:
            raise ValueError(f"reduce_scatter: input_list[{k}] has shape {a.shape} and dtype "
                             f"{a.dtype}, the output {out.shape} and {out.dtype}")
    xp = backend.xp_of(*arrays) if arrays else np
    send = xp.concatenate([a.reshape(-1) for a in arrays]) if out.size else out.reshape(-1)
    return _reduce_scatter(g, send, out, op, "reduce_scatter", async_op)


def reduce_scatter_tensor(output, input, group=None, op=ReduceOp.SUM, async_op=False):
    """output on rank r <- the reduction of block r of `input` (size * output.numel() elements)."""
    g = _pg.default_group(group)
    out, arr = _check_tensor(output, "reduce_scatter_tensor"), _check_tensor(input, "reduce_scatter")
    if arr.size != out.size * g.size() or arr.dtype != out.dtype:
        raise ValueError(f"reduce_scatter_tensor: input has {arr.size} elements of {arr.dtype}; it "
                         f"needs world_size * output = {g.size()} * {out.size} of {out.dtype}")
    return _reduce_scatter(g, arr.reshape(-1) if arr.size else arr, out, op,
                           "reduce_scatter_tensor", async_op)


# -- Python objects (small metadata only: these pickle) -------------------------------------------
def all_gather_object(object_list, obj, group=None):
    """object_list[r] <- rank r's `obj` (pickled; for small metadata, not for tensors)."""
    g = _pg.default_group(group)
    if len(object_list) != g.size():
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries, it "
                         f"needs world_size={g.size()}")
    with _pg.watch(g, "all_gather_object"):
        object_list[:] = g.comm.allgather(obj)


def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Replace object_list's entries by rank `src`'s (pickled)."""
    g = _pg.default_group(group)
    with _pg.watch(g, "broadcast_object_list"):
        got = g.comm.bcast(list(object_list) if g.rank() == src else None, root=int(src))
    object_list[:] = got


def average_logs(sums, counts):
    """{key: sum over ranks of sums[key] / sum over ranks of counts[key]}: per-sample averages of
    training logs over the whole world (what the Trainer reports at the end of an epoch). Keys seen by
    only some ranks are averaged over the ranks that have them. One small pickled all-gather."""
    g = _pg.default_group()
    with _pg.watch(g, "average_logs"):
        parts = g.comm.allgather((dict(sums), dict(counts)))
    total_s, total_c = {}, {}
    for s, c in parts:
        for k, v in s.items():
            total_s[k] = total_s.get(k, 0.0) + float(v)
            total_c[k] = total_c.get(k, 0) + c[k]
    return {k: total_s[k] / total_c[k] for k in sorted(total_s) if total_c[k]}
