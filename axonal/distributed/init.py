"""`init_process_group`: join the default process group, with MPI or with NCCL on top of MPI.

Above both `process_group.py` (the MPI group, its state and failure guards) and `nccl.py` (the NCCL
communicator, which needs a group to exchange its id): the one file that knows both.
"""
import datetime
import os

from . import nccl
from . import process_group as _pg

DEFAULT_TIMEOUT = 600.0
BACKENDS = ("mpi", "nccl")


def _timeout_seconds(timeout):
    if timeout is None:
        env = os.environ.get("AXONAL_DIST_TIMEOUT")
        return float(env) if env else DEFAULT_TIMEOUT
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise ValueError(f"init_process_group: timeout must be a positive number of seconds or a "
                         f"datetime.timedelta, got {timeout!r}")
    return float(timeout)


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None, *,
                       abort_on_exception=True):
    """Join the default process group (every process of the MPI job).

    backend: 'mpi' (default; NumPy buffers, CuPy arrays staged through host memory) or 'nccl'
    (CuPy arrays reduced on the GPU by NCCL; MPI still starts the processes and exchanges the NCCL
    id). `world_size` and `rank`, when given, must agree with MPI's. `init_method` and `store` are
    accepted for PyTorch compatibility: MPI needs no rendezvous address.
    """
    if _pg.is_initialized():
        raise _pg.DistError("trying to initialize the default process group twice; call "
                            "destroy_process_group() first")
    backend = "mpi" if backend in (None, "gloo", "cpu:gloo,cuda:nccl") else str(backend).lower()
    if backend not in BACKENDS:
        raise ValueError(f"init_process_group: unknown backend {backend!r}; axonal supports "
                         f"{BACKENDS} ('gloo' is mapped to 'mpi')")
    seconds = _timeout_seconds(timeout)
    MPI = _pg.mpi()
    world = MPI.COMM_WORLD
    for name, given, actual in (("world_size", world_size, world.Get_size()),
                                ("rank", rank, world.Get_rank())):
        if given is not None and given != -1 and int(given) != actual:
            raise _pg.DistError(f"init_process_group: {name}={given} but MPI started this "
                                f"process as {name} {actual} (mpiexec -n decides the world size)")
    group = _pg.ProcessGroup(world.Dup(), backend, seconds)
    if backend == "nccl":
        group.nccl = nccl.NcclGroup(group)
    _pg.set_default_group(group)
    if abort_on_exception and group.size() > 1:
        _pg.install_excepthook()
    return group
