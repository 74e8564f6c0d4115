"""Starting the processes: `axonal train NAME --nproc N` runs itself again under `mpiexec -n N`.

Layer 6. The parent process only launches: it finds mpiexec, removes `--nproc N` from its own command
line and runs `mpiexec -n N python -m axonal <the same arguments>`, then returns mpiexec's exit
status. Each child sees the MPI environment (PMI_RANK/PMI_SIZE from MPICH's launcher, OMPI_* from Open
MPI's), joins the process group and trains its share; the child for rank 0 prints and writes files.

Which mpiexec: it must belong to the MPI library that mpi4py loads, otherwise each child starts as
its own 1-process world. In order: $AXONAL_MPIEXEC; the one the `mpich` wheel installed next to this
Python (`pip install mpi4py mpich` puts it in the environment's bin/); mpiexec on PATH. The parent
passes N in AXONAL_NPROC so that a child can detect the mismatch and say so instead of training alone.

Threads: N processes share the machine's cores, so unless AXONAL_NUM_THREADS is already set each child
gets cores // N threads (at least 1); N ranks with all cores each would oversubscribe the CPU with
N x cores busy-waiting BLAS/numba threads.

Failures: `abort_on_error()` wraps a child's work; any exception prints, prefixed with the rank, and
aborts the whole MPI job (mpiexec then kills the other ranks and exits non-zero).
"""
import contextlib
import os
import shutil
import subprocess
import sys

from .. import _threads
from . import process_group as _pg
from .init import init_process_group

ENV_NPROC = "AXONAL_NPROC"
ENV_MPIEXEC = "AXONAL_MPIEXEC"
_LAUNCHER_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE")


def find_mpiexec():
    """Path of the mpiexec matching mpi4py's MPI (see the module docstring), or a clear error."""
    given = os.environ.get(ENV_MPIEXEC)
    if given:
        if not (os.path.isfile(given) and os.access(given, os.X_OK)):
            raise FileNotFoundError(f"{ENV_MPIEXEC}={given} is not an executable file")
        return given
    from importlib import metadata
    try:
        wheel = metadata.distribution("mpich")
    except metadata.PackageNotFoundError:  # a system MPI or Open MPI wheels: look further
        wheel = None
    files = (wheel.files or ()) if wheel is not None else ()
    candidates = [str(wheel.locate_file(f)) for f in files
                  if str(f).replace("\\", "/").endswith("bin/mpiexec")]
    candidates.append(os.path.join(os.path.dirname(sys.executable), "mpiexec"))
    for c in candidates:
        c = os.path.realpath(c)
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    found = shutil.which("mpiexec")
    if found:
        return found
    raise FileNotFoundError(f"mpiexec not found (needed to start several processes). Install an MPI "
                            f"with: {_pg._INSTALL_HINT}; or point {ENV_MPIEXEC} at your mpiexec")


def under_mpiexec():
    """True in a process started by an MPI launcher (mpiexec, mpirun, srun with PMI)."""
    return any(os.environ.get(v) for v in _LAUNCHER_VARS) or bool(os.environ.get(ENV_NPROC))


def threads_per_rank(nproc):
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, cores // int(nproc))


def strip_nproc(argv):
    """argv without `--nproc N` / `--nproc=N`."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def mpiexec_command(nproc, args, mpiexec=None):
    """The command line that runs `python <args>` as `nproc` MPI processes."""
    nproc = int(nproc)
    if nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {nproc}")
    return [mpiexec or find_mpiexec(), "-n", str(nproc), sys.executable, *args]


def launch(nproc, args, env=None, timeout=None):
    """Run `python <args>` as `nproc` MPI processes; returns the exit status (non-zero if any rank
    failed). The children inherit this environment plus AXONAL_NPROC and a thread count."""
    if not _pg.is_available():
        raise ImportError(f"--nproc needs mpi4py and an MPI library: {_pg._INSTALL_HINT}")
    cmd = mpiexec_command(nproc, args)
    # each rank applies the thread policy for its own share of the cores (not the parent's count)
    child_env = _threads.child_environment(os.environ if env is None else env)
    child_env[ENV_NPROC] = str(int(nproc))
    child_env.setdefault("AXONAL_NUM_THREADS", str(threads_per_rank(nproc)))
    try:
        return subprocess.run(cmd, env=child_env, timeout=timeout, check=False).returncode
    except KeyboardInterrupt:  # mpiexec forwards the interrupt to the ranks itself
        return 130


def relaunch_cli(nproc, argv):
    """`axonal <argv> --nproc N` -> `mpiexec -n N python -m axonal <argv without --nproc>`."""
    return launch(nproc, ["-m", "axonal", *strip_nproc(argv)])


def init_from_launcher(backend=None, **kwargs):
    """In a child: join the process group and check that mpiexec really started AXONAL_NPROC
    processes in one world (a foreign mpiexec starts N separate 1-process worlds)."""
    group = init_process_group(backend, **kwargs)
    want = os.environ.get(ENV_NPROC)
    if want and int(want) != group.size():
        library = _pg.mpi().Get_library_version().splitlines()[0].strip()
        raise _pg.DistError(
            f"asked for {want} processes but this one is in a world of {group.size()}: the mpiexec "
            f"used does not belong to the MPI library mpi4py loaded ({library}). Set {ENV_MPIEXEC} "
            f"to the matching mpiexec, or install the pair with: {_pg._INSTALL_HINT}")
    return group


@contextlib.contextmanager
def abort_on_error(brief=()):
    """Inside: any exception (SystemExit with a non-zero status included) prints its traceback with
    this rank's number and aborts the MPI job, so no rank is left waiting in a collective. Exceptions
    of the types in `brief` (a user's mistake rather than a bug) print one line instead."""
    try:
        yield
    except SystemExit as e:
        if e.code not in (None, 0):
            _pg.abort_job(RuntimeError(f"the process called sys.exit({e.code!r})"),
                          code=e.code if isinstance(e.code, int) else 1, brief=True)
        raise
    except BaseException as e:  # noqa: BLE001 - every failure must end the whole job
        _pg.abort_job(e, brief=isinstance(e, tuple(brief)) and not os.environ.get("AXONAL_DEBUG"))
