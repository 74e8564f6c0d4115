"""The process group: which processes train together, and how they talk (MPI).

Layer 6, the bottom of `distributed/`: this file knows nothing of NCCL (`init.py` builds the group
and, for backend='nccl', its NCCL communicator on top). One process per worker, started by `mpiexec -n N` (or by `axonal train --nproc N`, which
runs mpiexec for you). `init_process_group()` joins MPI's world: rank = MPI rank, world size = the
number of processes. mpi4py is imported only here and only when a process group is created, so
`import axonal.distributed` costs nothing on a machine without MPI.

Why MPI: it is the one runtime that starts processes on one machine and on many with the same
command, and mpi4py reads NumPy buffers directly (no pickling), which is what ChainerMN built on.
Install it with `pip install mpi4py mpich` (MPICH's wheels need no system package; Open MPI refuses to
run as root without extra flags).

Failure behaviour. A collective blocks until every rank has joined it, so one rank that dies, hangs or
raises would leave the others waiting forever. Two guards:
  * `init_process_group` installs an excepthook: an uncaught exception prints its traceback prefixed
    with the rank and calls `MPI_Abort`, which makes mpiexec kill every rank (exit status non-zero).
    Without it, the failing rank would wait in `MPI_Finalize` and the others in their collective.
  * a watchdog thread times every collective call (`timeout`, default 10 minutes, or the
    AXONAL_DIST_TIMEOUT environment variable in seconds). When one lasts longer, the rank prints what
    it was waiting for and aborts the job: the guard against ranks that hang without dying.
"""
import sys
import time
import traceback

_INSTALL_HINT = ("pip install mpi4py mpich  (MPICH wheels: no system MPI needed; Open MPI also works "
                 "but refuses to run as root without --allow-run-as-root)")


class DistError(RuntimeError):
    """A distributed setup or communication error (PyTorch's DistBackendError family)."""


def mpi():
    """The `mpi4py.MPI` module, or a clear error saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"axonal.distributed needs mpi4py and an MPI library ({e}); install them "
                          f"with: {_INSTALL_HINT}") from e
    return MPI


def is_available() -> bool:
    """True when mpi4py can be imported (PyTorch: torch.distributed.is_available)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


is_mpi_available = is_available


def is_nccl_available() -> bool:
    try:
        from cupy.cuda import nccl  # noqa: F401
    except Exception:  # noqa: BLE001 - no CuPy, no CUDA or a CuPy built without NCCL
        return False
    return True


class ProcessGroup:
    """The world: an MPI communicator (a private duplicate of COMM_WORLD, so user MPI traffic never
    matches ours), this process's rank, the size, the backend and the collective timeout."""

    def __init__(self, comm, backend, timeout):
        self.comm, self.backend, self.timeout = comm, backend, timeout
        self._rank, self._size = comm.Get_rank(), comm.Get_size()
        self.nccl = None  # a nccl.NcclGroup when backend == 'nccl'
        self.watchdog = None  # started by the first collective (see _Watchdog)

    def rank(self):
        return self._rank

    def size(self):
        return self._size

    def __repr__(self):
        return f"<ProcessGroup backend={self.backend} rank={self._rank} size={self._size}>"


_state = {"group": None, "hook": None}


def destroy_process_group(group=None):
    """Leave the default group (collective: every rank calls it). MPI itself stays initialized
    until the process exits, so a new group can be created afterwards."""
    g = _state["group"]
    if g is None:
        raise DistError("destroy_process_group: no process group has been initialized")
    if g.nccl is not None:
        g.nccl.comm.destroy()
    g.comm.Free()
    _state["group"] = None
    if _state["hook"] is not None and sys.excepthook is _state["hook"][1]:
        sys.excepthook = _state["hook"][0]
    _state["hook"] = None


def is_initialized() -> bool:
    return _state["group"] is not None


def set_default_group(group):
    """Make `group` the default (world) group: called once by `init.init_process_group`."""
    _state["group"] = group


def default_group(group=None):
    """The group to use (only the default world exists); a clear error before init."""
    g = _state["group"]
    if g is None:
        raise DistError("Default process group has not been initialized, please make sure to call "
                        "axonal.distributed.init_process_group() (and start the processes with "
                        "mpiexec -n N, or `axonal train --nproc N`)")
    if group is not None and group is not g and group is not WORLD:
        raise NotImplementedError("axonal.distributed supports only the default (world) group")
    return g


WORLD = None  # PyTorch's group.WORLD: None means the default group here


def get_rank(group=None) -> int:
    return default_group(group).rank()


def get_world_size(group=None) -> int:
    return default_group(group).size()


def get_backend(group=None) -> str:
    return default_group(group).backend


def is_main_process() -> bool:
    """True on rank 0, and in a process that is not part of a group (a plain single run): the
    process that prints, writes checkpoints and metrics."""
    g = _state["group"]
    return g is None or g.rank() == 0


def is_distributed() -> bool:
    """True when a process group with more than one process is active."""
    g = _state["group"]
    return g is not None and g.size() > 1


def barrier(group=None, async_op=False, device_ids=None):
    """Block until every rank has reached the barrier (with the collective timeout)."""
    g = default_group(group)
    with watch(g, "barrier"):
        g.comm.Barrier()


# -- the watchdog ----------------------------------------------------------------------------------
class _Watchdog:
    """A daemon thread that aborts the job when one collective call lasts longer than the timeout.

    The collectives themselves stay blocking MPI calls (mpi4py releases the GIL inside them), so
    they run at MPI's full speed: polling MPI_Test in a Python loop would either burn a core or, if
    it slept, stall MPI's progress engine between polls (a 64 MB all-reduce advances chunk by chunk
    only while some MPI call is running). The thread wakes every min(1 s, timeout / 10) and reads one
    tuple, set before and cleared after each call: a few hundred nanoseconds per collective.
    MPI_Abort from this thread is allowed because mpi4py initializes MPI with MPI_THREAD_MULTIPLE.
    """

    def __init__(self, g):
        self.g, self.current, self.thread = g, None, None

    def __call__(self, what):
        self.what_next = what
        return self

    def __enter__(self):
        self.current = (self.what_next, time.monotonic())
        if self.thread is None:
            import threading
            self.thread = threading.Thread(target=self._run, name="axonal-dist-watchdog",
                                           daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.current = None
        return False

    def _run(self):
        g = self.g
        while _state["group"] is g:
            time.sleep(min(1.0, g.timeout / 10))
            cur = self.current
            if cur is not None and time.monotonic() - cur[1] > g.timeout:
                _abort_on_timeout(g, cur[0], time.monotonic() - cur[1])


def watch(g, what):
    """Context manager around one blocking collective: `with watch(g, 'all_reduce'): ...`."""
    if g.watchdog is None:
        g.watchdog = _Watchdog(g)
    return g.watchdog(what)


def wait_all(g, requests, what):
    """MPI_Waitall on non-blocking requests, under the watchdog."""
    if requests:
        with watch(g, what):
            mpi().Request.Waitall(requests)


def _abort_on_timeout(g, what, waited):
    sys.stderr.write(
        f"[axonal.distributed rank {g.rank()}/{g.size()}] {what} did not complete within the "
        f"{g.timeout:g} s timeout (waited {waited:.1f} s): another rank has probably died, hung, or "
        "called a different sequence of collectives. Aborting the job (MPI_Abort). Raise the limit "
        "with init_process_group(timeout=...) or AXONAL_DIST_TIMEOUT=seconds.\n")
    sys.stderr.flush()
    g.comm.Abort(3)


# -- aborting on an uncaught exception -------------------------------------------------------------
def abort_job(exc=None, code=1, brief=False):
    """Print `exc` prefixed with this rank (its traceback, or one line when `brief`) and abort
    every rank of the MPI job."""
    MPI = mpi()
    world = MPI.COMM_WORLD
    prefix = f"[rank {world.Get_rank()}/{world.Get_size()}] "
    if exc is not None:
        lines = [f"axonal: error: {exc}"] if brief else \
            traceback.format_exception(type(exc), exc, exc.__traceback__)
        text = "".join(lines).rstrip("\n")
        sys.stderr.write("".join(prefix + line + "\n" for line in text.split("\n")))
    sys.stderr.write(f"{prefix}aborting the MPI job so the other ranks do not wait forever\n")
    sys.stderr.flush()
    sys.stdout.flush()
    world.Abort(code)


def install_excepthook():
    """Make an uncaught exception on any rank abort the whole job (idempotent)."""
    if _state["hook"] is not None:
        return
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if exc is not None and exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        abort_job(exc)

    _state["hook"] = (previous, hook)
    sys.excepthook = hook
