"""The main-process side of `DataLoader(num_workers=N)`: N worker processes, batches in order.

PyTorch's protocol (torch/utils/data/dataloader.py, `_MultiProcessingDataLoaderIter`), on pipes:

* Each worker has an index pipe (main -> worker) and a result pipe (worker -> main); no queue,
  hence no feeder thread and no lock. Pipes are created per worker and closed at shutdown, so an
  epoch leaves no file descriptor and no /dev/shm entry behind.
* Task `k` (a batch of indices; for an IterableDataset `[None] * batch_size`) goes to the next
  worker still running, round robin; `prefetch_factor * num_workers` tasks are outstanding. Results
  arriving early wait in `task_info` until their turn (`in_order=False` yields them at once).
* The main process waits on the result pipes and the workers' process sentinels together
  (`multiprocessing.connection.wait`), so a worker that dies (SIGKILL, segfault, OOM killer) is
  reported at once, naming it, instead of hanging; `timeout` > 0 bounds each wait.
* `persistent_workers`: the iterator is kept by the loader; a new epoch sends `_Resume` to every
  worker and drops what an abandoned epoch left in flight until every worker has acknowledged.

Start method: `multiprocessing_context` when given; otherwise fork on Linux (fast, no pickling of
the dataset; axonal's kernels switch to serial code in a forked child, see kernels/_jit.py), and
spawn where fork is unsafe (macOS, Windows, or CuPy already imported: CUDA does not survive fork).
"""
import itertools
import multiprocessing as mp
import os
import signal
import sys
import time
import weakref
from multiprocessing.connection import wait

from ._worker import ExceptionWrapper, _Resume, _StreamEnd, worker_loop


def _context(spec):
    if spec is None:
        fork_ok = sys.platform.startswith("linux") and "cupy" not in sys.modules
        return mp.get_context("fork" if fork_ok else "spawn")
    return mp.get_context(spec) if isinstance(spec, str) else spec


def _stream_tasks(batch_size):
    """The index sampler of an IterableDataset: no keys, only how many samples per batch."""
    while True:
        yield None if batch_size is None else [None] * batch_size


def _death(worker_id, proc):
    proc.join(timeout=1)  # its pipes close as it dies, a moment before it can be reaped
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            how = f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    return (f"DataLoader worker {worker_id} (pid {proc.pid}) exited unexpectedly ({how}); if it "
            "ran out of memory, lower batch_size or num_workers")


class MultiProcessIter:
    def __init__(self, loader, base_seed):
        # no reference to the loader (it holds persistent workers' iterator: a cycle would keep
        # the workers alive until a garbage collection)
        self._loader, self._n = weakref.ref(loader), loader.num_workers
        self._index_sampler = (_stream_tasks, loader.batch_size) if loader._iterable else (
            iter, loader.batch_sampler if loader.batch_sampler is not None else loader.sampler)
        self._prefetch = 2 if loader.prefetch_factor is None else loader.prefetch_factor
        self._timeout, self._persistent = loader.timeout, loader.persistent_workers
        self._in_order, self._iterable = loader.in_order, loader._iterable
        self._shutdown, self._workers, self._index_conns, self._result_conns = False, [], [], []
        ctx = _context(loader.multiprocessing_context)
        child_ends = []
        try:
            for i in range(self._n):
                index_r, index_w = ctx.Pipe(duplex=False)
                result_r, result_w = ctx.Pipe(duplex=False)
                child_ends = [index_r, result_w]
                proc = ctx.Process(target=worker_loop, daemon=True, args=(
                    self._iterable, loader.dataset, index_r, result_w, loader.collate_fn,
                    loader._auto_collation, loader.drop_last, base_seed, loader.worker_init_fn, i,
                    self._n, os.getpid(), ctx.get_start_method() == "fork"))
                self._index_conns.append(index_w)
                self._result_conns.append(result_r)
                proc.start()
                self._workers.append(proc)
                for c in child_ends:  # the worker holds them now
                    c.close()
        except BaseException:
            for c in child_ends:
                c.close()
            self._shutdown_workers()
            raise
        self._reset(first=True)

    def _reset(self, first=False):
        make, source = self._index_sampler
        self._tasks = make(source)
        self._send = self._rcvd = self._outstanding = 0
        self._task_info = {}  # task number -> (worker,) sent, or (worker, data) arrived early
        self._status = [True] * self._n  # False: this worker's stream has ended for this epoch
        self._cycle = itertools.cycle(range(self._n))
        if not first:  # persistent workers: a new epoch; drop what the last one left in flight
            for conn in self._index_conns:
                conn.send((_Resume(), None))
            pending = self._n
            while pending:
                number, _ = self._get()
                pending -= isinstance(number, _Resume)
        for _ in range(self._prefetch * self._n):
            self._put()

    def _put(self):
        try:
            index = next(self._tasks)
        except StopIteration:
            return
        for _ in range(self._n):
            worker = next(self._cycle)
            if self._status[worker]:
                break
        else:
            return  # every worker's stream has ended
        try:
            self._index_conns[worker].send((self._send, index))
        except OSError:  # its pipe is broken: the worker died
            message = _death(worker, self._workers[worker])
            self._shutdown_workers()
            raise RuntimeError(message) from None
        self._task_info[self._send] = (worker,)
        self._outstanding += 1
        self._send += 1

    def _get(self):
        """The next (task number, data) from any worker, watching for deaths and the timeout."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            watched = {w.sentinel: i for i, w in enumerate(self._workers) if self._status[i]}
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:  # the workers live on: next() may try again
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            ready = wait(self._result_conns + list(watched), left)
            dead = [watched[s] for s in ready if s in watched]
            for i, conn in enumerate(self._result_conns):
                if conn in ready:
                    try:
                        return conn.recv()
                    except (EOFError, OSError):  # it died while sending (or before)
                        dead = [i]
                        break
            if dead:
                message = "; ".join(_death(i, self._workers[i]) for i in dead)
                self._shutdown_workers()
                raise RuntimeError(message)

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader())

    def __next__(self):
        if self._shutdown:
            raise StopIteration
        while True:
            while self._rcvd < self._send:
                info = self._task_info.get(self._rcvd)
                if info is not None and (len(info) == 2 or self._status[info[0]]):
                    break
                self._task_info.pop(self._rcvd, None)  # a task of a worker whose stream ended
                self._rcvd += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            info = self._task_info[self._rcvd]
            if len(info) == 2:
                del self._task_info[self._rcvd]
                self._rcvd += 1
                return self._process(info[1])
            number, data = self._get()
            self._outstanding -= 1
            if isinstance(data, _StreamEnd):
                self._status[data.worker_id] = False
                self._put()
                continue
            if number == self._rcvd or not self._in_order:
                del self._task_info[number]
                self._rcvd += number == self._rcvd
                return self._process(data)
            self._task_info[number] += (data,)

    def _process(self, data):
        self._put()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    def _shutdown_workers(self):
        if self._shutdown:
            return
        self._shutdown = True
        for conn in self._index_conns:
            try:
                conn.send(None)
            except OSError:
                pass
            conn.close()
        for conn in self._result_conns:  # a worker blocked sending a batch gets EPIPE and exits
            conn.close()
        deadline = time.monotonic() + 1.0  # an idle worker exits at once; a busy one is stopped
        for proc in self._workers:
            proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()
                proc.join()
            proc.close()

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:
            pass

