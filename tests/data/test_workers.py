"""DataLoader(num_workers=N): real worker processes with PyTorch's semantics (seeds, worker_init_fn,
get_worker_info, persistent_workers, iterable datasets split by worker, order, timeout, errors and
dead workers reported by name), and no leaked file descriptors or /dev/shm entries."""
import gc
import os
import random
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import axonal
from axonal.utils.data import (
    DataLoader,
    Dataset,
    IterableDataset,
    TensorDataset,
    WorkerInfo,
    get_worker_info,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Pids(Dataset):
    """Sample i: [i, pid of the process that built it]."""

    def __init__(self, n=24, delay=0.0):
        self.n, self.delay = n, delay

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.delay:
            time.sleep(self.delay)
        return axonal.tensor([i, os.getpid()])


class Seeds(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return {"id": info.id, "seed": info.seed, "py": random.random(), "np": np.random.rand(),
                "ax": axonal.rand(1).item(), "init": INIT_CALLS[:]}


INIT_CALLS = []


def record_init(worker_id):
    INIT_CALLS.append(worker_id)


class Stream(IterableDataset):
    """0..n-1, each worker taking every num_workers-th item (PyTorch's documented idiom)."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


class Failing(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 7:
            raise ValueError(f"sample {i} is broken")
        if i == 9:
            raise KeyError("missing-key")
        return i


def test_batches_come_from_worker_processes_in_order():
    ds = Pids()
    serial = [b[:, 0].tolist() for b in DataLoader(ds, batch_size=5)]
    batches = list(DataLoader(ds, batch_size=5, num_workers=2))
    assert [b[:, 0].tolist() for b in batches] == serial
    pids = {int(p) for b in batches for p in b[:, 1].tolist()}
    assert len(pids) == 2 and os.getpid() not in pids
    # the workers' base seed is drawn first, then the permutation (PyTorch's order of draws)
    g1, g2 = axonal.Generator().manual_seed(5), axonal.Generator().manual_seed(5)
    g1.np.integers(0, 2**63 - 1)
    shuffled = [b[:, 0].tolist() for b in DataLoader(ds, 4, shuffle=True, generator=g1)]
    assert [b[:, 0].tolist() for b in DataLoader(ds, 4, shuffle=True, generator=g2,
                                                 num_workers=3, prefetch_factor=1)] == shuffled


def test_out_of_order_and_unbatched():
    ds = Pids(12, delay=0.002)
    got = [b[:, 0].tolist() for b in DataLoader(ds, batch_size=3, num_workers=2, in_order=False)]
    assert sorted(got) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    single = list(DataLoader(ds, batch_size=None, num_workers=2))
    assert [s[0].item() for s in single] == list(range(12))


def test_seeds_worker_init_fn_and_worker_info():
    assert get_worker_info() is None
    axonal.manual_seed(0)
    rows = list(DataLoader(Seeds(), batch_size=None, num_workers=2, worker_init_fn=record_init))
    by_worker = {r["id"]: r for r in rows}
    assert set(by_worker) == {0, 1}
    assert by_worker[1]["seed"] == by_worker[0]["seed"] + 1  # base seed + worker id
    assert by_worker[0]["init"] == [0] and by_worker[1]["init"] == [1]
    for key in ("py", "np", "ax"):  # no two workers share a random stream
        assert by_worker[0][key] != by_worker[1][key]
    assert INIT_CALLS == []  # worker_init_fn ran in the workers only
    axonal.manual_seed(0)
    again = list(DataLoader(Seeds(), batch_size=None, num_workers=2, worker_init_fn=record_init))
    assert [r["seed"] for r in again] == [r["seed"] for r in rows]  # repeatable after manual_seed
    info = WorkerInfo(id=0, num_workers=1, seed=3, dataset=None)
    with pytest.raises(RuntimeError, match="Cannot assign attributes"):
        info.id = 2


def test_iterable_dataset_split_by_worker_info_as_in_pytorch():
    # recorded from PyTorch 2.13 with the same dataset (torch's workers take 4 s to start here):
    # the workers' streams are interleaved batch by batch; a short last batch ends a stream
    want = [[0, 2], [1, 3], [4, 6], [5, 7], [8, 10], [9]]
    assert [b.tolist() for b in DataLoader(Stream(11), batch_size=2, num_workers=2)] == want
    assert [b.tolist() for b in DataLoader(Stream(11), batch_size=2, num_workers=2,
                                           drop_last=True)] == want[:-1]
    assert list(DataLoader(Stream(5), batch_size=None, num_workers=2)) == [0, 1, 2, 3, 4]
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2)] == [[0, 1], [2, 3], [4]]


def test_a_workers_exception_reaches_the_main_process():
    it = iter(DataLoader(Failing(), batch_size=None, num_workers=2))
    assert [next(it) for _ in range(7)] == list(range(7))
    with pytest.raises(ValueError, match=r"(?s)Caught ValueError in DataLoader worker process 1.*"
                                         r"sample 7 is broken"):
        next(it)
    assert next(it) == 8  # the iterator goes on, as PyTorch's
    with pytest.raises(KeyError, match="missing-key"):
        next(it)


def test_timeout_names_the_limit():
    loader = DataLoader(Pids(4, delay=5), batch_size=2, num_workers=1, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.5 seconds"):
        next(iter(loader))
    assert time.monotonic() - start < 3


def test_a_killed_worker_is_reported_by_name():
    """In a subprocess (60 s limit): SIGKILL worker 1 mid-epoch; next() must raise, naming it,
    within timeout + 5 s."""
    script = textwrap.dedent("""
        import os, signal, sys, time
        sys.path.insert(0, {tests!r})
        from test_workers import Pids
        from axonal.utils.data import DataLoader
        loader = DataLoader(Pids(40, delay=0.05), batch_size=2, num_workers=2, timeout=10)
        it = iter(loader)
        next(it)
        victim = it._workers[1].pid
        os.kill(victim, signal.SIGKILL)
        start = time.monotonic()
        try:
            for _ in it:
                pass
        except RuntimeError as e:
            print("RAISED", round(time.monotonic() - start, 2), victim, e)
    """).format(tests=os.path.join(ROOT, "tests", "data"))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip().splitlines()[-1]
    _, elapsed, pid, message = line.split(" ", 3)
    assert float(elapsed) < 10 + 5
    assert f"DataLoader worker 1 (pid {pid}) exited unexpectedly (killed by signal SIGKILL)" \
        in message


def _fds():
    gc.collect()  # an iterator kept alive by an earlier test's traceback closes its pipes now
    return sorted(os.listdir("/proc/self/fd"))


def _shm():
    """This process's /dev/shm: what it maps, and the entries Python's multiprocessing names
    (psm_* shared memory, sem.mp-* semaphores). Other processes on the machine (MPI tests...)
    create and remove their own entries meanwhile, so the whole folder cannot be compared."""
    names = os.listdir("/dev/shm") if os.path.isdir("/dev/shm") else []
    with open("/proc/self/maps") as f:
        mapped = {line.split()[-1] for line in f if "/dev/shm/" in line}
    return sorted(n for n in names if n.startswith(("psm_", "sem.mp", "mp-"))) + sorted(mapped)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_persistent_workers_leak_nothing_over_many_epochs():
    ds = TensorDataset(axonal.arange(12.0))
    fds, shm = _fds(), _shm()
    loader = DataLoader(ds, batch_size=4, num_workers=2, persistent_workers=True)
    first = [b[0].tolist() for b in loader]
    pids = [w.pid for w in loader._iterator._workers]
    during_fds = _fds()
    for epoch in range(1000):
        it = iter(loader)
        if epoch % 100 == 7:  # an abandoned epoch: the next one must start clean
            next(it)
            continue
        assert [b[0].tolist() for b in it] == first
    assert [w.pid for w in loader._iterator._workers] == pids and _fds() == during_fds
    assert _shm() == shm
    del loader, it
    assert _fds() == fds and _shm() == shm


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_workers_end_with_the_epoch_or_the_iterator():
    fds = _fds()
    for _ in range(5):
        assert len(list(DataLoader(Pids(6), batch_size=2, num_workers=2))) == 3
    it = iter(DataLoader(Pids(6), batch_size=2, num_workers=2))
    next(it)
    procs = list(it._workers)
    del it  # abandoned mid-epoch: its workers are stopped
    assert all(p._closed for p in procs)
    assert _fds() == fds


def test_spawn_context_and_pin_memory_warning():
    ds = TensorDataset(axonal.arange(6.0), axonal.arange(6))
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator"):
        got = list(DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn",
                              pin_memory=True))
    assert [b[1].tolist() for b in got] == [[0, 1, 2, 3], [4, 5]]


def failing_init(worker_id):
    raise OSError(f"cannot open the shard of worker {worker_id}")


def test_bad_context_and_a_failing_worker_init_fn():
    with pytest.raises(ValueError, match="should specify a valid start method"):
        DataLoader(Pids(4), num_workers=1, multiprocessing_context="teleport")
    with pytest.raises(TypeError, match="valid context object"):
        DataLoader(Pids(4), num_workers=1, multiprocessing_context=3)
    it = iter(DataLoader(Pids(4), batch_size=2, num_workers=1, worker_init_fn=failing_init))
    for _ in range(2):  # every batch of that worker reports it: none is skipped silently
        with pytest.raises(OSError, match=r"(?s)process 0.*cannot open the shard of worker 0"):
            next(it)
