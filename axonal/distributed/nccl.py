"""The GPU path: collectives on CuPy arrays through NCCL, set up over MPI (ChainerMN's `pure_nccl`).

Layer 6. Used when `init_process_group('nccl')` was called and a collective receives a CuPy array;
with the 'mpi' backend CuPy arrays are staged through host memory instead (correct with any MPI, but
two PCIe copies per call).

Set-up: each process picks the GPU `local_rank % device_count` (local rank = rank among the processes
on the same machine, from MPI_Comm_split_type(SHARED)); rank 0 creates the NCCL unique id, MPI
broadcasts it, and every rank joins `NcclCommunicator(world_size, id, rank)`. Collectives are then
enqueued on the current CuPy stream, so later CuPy work on that stream sees the result without a host
synchronization; NCCL itself picks ring or tree algorithms over NVLink, PCIe or InfiniBand.

Dtypes: NCCL has no int16 and no bool: int16 is reduced as int32, bool as uint8 with SUM = any and
PRODUCT = all (the MPI path's rule); float16 is reduced in float16 (NCCL's native half sums, unlike
the MPI path's float32). AVG is a SUM followed by a division on the GPU (ncclAvg needs
NCCL >= 2.10 and integer averages must truncate like the MPI path).

VERIFICATION STATUS: this file was written without a GPU. It is imported and its pure-Python parts
(dtype and operator tables) are exercised by the tests only when CuPy is installed; the NCCL calls
themselves have not been run. The call signatures follow cupy.cuda.nccl (cupy_backends/cuda/libs/
nccl.pyx): allReduce(sendbuf, recvbuf, count, datatype, op, stream), bcast(buf, count, datatype,
root, stream), allGather(sendbuf, recvbuf, count, datatype, stream), reduceScatter(sendbuf, recvbuf,
recvcount, datatype, op, stream).
"""
import numpy as np

from . import process_group as _pg


def _nccl():
    try:
        import cupy
        from cupy.cuda import nccl
    except ImportError as e:
        raise ImportError(f"the 'nccl' backend needs CuPy built with NCCL ({e}); install "
                          "cupy-cuda12x (pip install 'axonal[gpu]') or use backend='mpi'") from e
    return cupy, nccl


def nccl_dtype(dtype, nccl):
    """(NCCL datatype, dtype to reduce in) for a NumPy/CuPy dtype."""
    dtype = np.dtype(dtype)
    table = {"int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32",
             "int64": "NCCL_INT64", "float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32",
             "float64": "NCCL_FLOAT64"}
    if dtype == np.bool_:
        return nccl.NCCL_UINT8, np.dtype(np.uint8)
    if dtype == np.int16:
        return nccl.NCCL_INT32, np.dtype(np.int32)
    if dtype.name not in table:
        raise TypeError(f"NCCL collectives do not support dtype {dtype}")
    return getattr(nccl, table[dtype.name]), dtype


def nccl_op(op_name, is_bool, nccl):
    if is_bool:
        if op_name == "AVG":
            raise TypeError("all_reduce: ReduceOp.AVG is not defined for bool tensors")
        op_name = {"SUM": "MAX", "PRODUCT": "MIN"}.get(op_name, op_name)
    ops = {"SUM": nccl.NCCL_SUM, "AVG": nccl.NCCL_SUM, "PRODUCT": nccl.NCCL_PROD,
           "MIN": nccl.NCCL_MIN, "MAX": nccl.NCCL_MAX}
    if op_name not in ops:
        raise TypeError(f"NCCL has no ReduceOp.{op_name} (bitwise operators need the 'mpi' backend)")
    return ops[op_name]


def local_rank(comm):
    """Rank of this process among the processes of the same machine."""
    MPI = _pg.mpi()
    node = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
    try:
        return node.Get_rank()
    finally:
        node.Free()


class NcclGroup:
    """An NCCL communicator spanning the process group, on this process's GPU."""

    def __init__(self, group):
        cupy, nccl = _nccl()
        self.cupy, self.nccl, self.group = cupy, nccl, group
        ndev = cupy.cuda.runtime.getDeviceCount()
        if ndev == 0:
            raise _pg.DistError("backend='nccl' but no CUDA device is visible to this process")
        self.device = local_rank(group.comm) % ndev
        cupy.cuda.Device(self.device).use()
        uid = nccl.get_unique_id() if group.rank() == 0 else None
        with _pg.watch(group, "NCCL id broadcast"):
            uid = group.comm.bcast(uid, root=0)
        self.comm = nccl.NcclCommunicator(group.size(), uid, group.rank())

    def _stream(self):
        return self.cupy.cuda.get_current_stream().ptr

    def _staged(self, arr):
        """(contiguous buffer in the reduction dtype, write-back function)."""
        cp = self.cupy
        _, work = nccl_dtype(arr.dtype, self.nccl)
        buf = cp.ascontiguousarray(arr)
        if buf.dtype != work:
            buf = buf.astype(work)
        if buf is arr:
            return buf, lambda: None

        def back():
            arr[...] = buf.astype(arr.dtype) if buf.dtype != arr.dtype else buf
        return buf, back

    def all_reduce(self, arr, op):
        buf, back = self._staged(arr)
        dt, _ = nccl_dtype(buf.dtype, self.nccl)
        code = nccl_op(op.name, arr.dtype == np.bool_, self.nccl)
        self.comm.allReduce(buf._data.ptr, buf._data.ptr, buf.size, dt, code, self._stream())
        if op.name == "AVG":
            _average(buf, self.group.size(), self.cupy)
        back()

    def broadcast(self, arr, root):
        buf, back = self._staged(arr)
        dt, _ = nccl_dtype(buf.dtype, self.nccl)
        self.comm.bcast(buf._data.ptr, buf.size, dt, int(root), self._stream())
        back()

    def all_gather(self, arr):
        """A new (size, *arr.shape) array holding every rank's `arr`."""
        cp = self.cupy
        raw = cp.ascontiguousarray(arr).reshape(-1).view(np.uint8)  # any dtype travels as bytes
        recv = cp.empty((self.group.size(), raw.size), np.uint8)
        self.comm.allGather(raw.data.ptr, recv.data.ptr, raw.size, self.nccl.NCCL_UINT8,
                            self._stream())
        return recv.view(arr.dtype).reshape((self.group.size(),) + tuple(arr.shape))

    def reduce_scatter(self, send_flat, op):
        """This rank's block of the reduction of `send_flat` (size * block elements)."""
        cp = self.cupy
        buf, _ = self._staged(send_flat)
        dt, _ = nccl_dtype(buf.dtype, self.nccl)
        block = buf.size // self.group.size()
        out = cp.empty(block, buf.dtype)
        code = nccl_op(op.name, send_flat.dtype == np.bool_, self.nccl)
        self.comm.reduceScatter(buf._data.ptr, out._data.ptr, block, dt, code, self._stream())
        if op.name == "AVG":
            _average(out, self.group.size(), cp)
        return out.astype(send_flat.dtype) if out.dtype != send_flat.dtype else out


def _average(buf, n, cp):
    if buf.dtype.kind == "f":
        buf /= n
    else:
        buf[...] = cp.sign(buf) * (cp.abs(buf) // n)
