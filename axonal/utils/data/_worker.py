"""The worker side of `DataLoader(num_workers=N)`: what runs inside each worker process.

A worker receives `(task_number, indices)` on its own pipe, fetches and collates that batch, and
sends `(task_number, batch)` back on its result pipe; `None` stops it. Worker `i` of an epoch whose
base seed is `s` seeds Python's `random` and axonal's generator with `s + i` and NumPy's legacy
global generator with PyTorch's `_generate_state(s, i)` (so workers never share a stream), then sets
its `WorkerInfo` (what `get_worker_info()` returns there; None in the main process) and calls
`worker_init_fn(i)`. An IterableDataset is iterated by every worker on its own copy: the dataset
splits itself with `get_worker_info()`, as in PyTorch; when its stream ends the worker answers the
task with `_StreamEnd`. A `_Resume` task (persistent workers, new epoch) restarts the stream.
An exception in the dataset or collate function travels back as `ExceptionWrapper` (type, message
and the worker's traceback) and is raised again in the main process. A worker whose parent
disappears exits within a second.
"""
import os
import random
import sys
import traceback

import numpy as np

from .collate import default_collate

_INFO = None  # this process's WorkerInfo


class WorkerInfo:
    """`id`, `num_workers`, `seed`, `dataset` (this worker's copy), read-only like PyTorch's."""

    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self):
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{type(self).__name__}({items})"


def get_worker_info():
    """In a DataLoader worker: its WorkerInfo; in the main process: None."""
    return _INFO


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process (PyTorch's message)."""

    def __init__(self, exc_info, where):
        self.exc_type = exc_info[0]
        self.msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.msg}"
        if self.exc_type is KeyError:  # KeyError would print the message as a quoted repr
            msg = KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:  # a type whose constructor needs other arguments
            raise RuntimeError(msg) from None
        raise exc


class KeyErrorMessage(str):
    def __repr__(self):
        return self


class _StreamEnd:
    """An IterableDataset worker's stream is exhausted."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


class _Resume:
    """Persistent workers: start a new epoch (restart the IterableDataset stream)."""


def _generate_state(base_seed, worker_id):
    """PyTorch's seed for NumPy in worker `worker_id` (torch/utils/data/_utils/worker.py): four
    32-bit words hashed from the worker id and the 64-bit base seed."""
    mask = 0xFFFFFFFF
    entropy = [worker_id, base_seed & mask, base_seed >> 32, 0]
    hash_a = [0x43b0d7e5]

    def hash32(value):
        value = (value ^ hash_a[0]) & mask
        hash_a[0] = (hash_a[0] * 0x931e8875) & mask
        value = (value * hash_a[0]) & mask
        return (value ^ (value >> 16)) & mask

    def mix(x, y):
        r = (((0xca01f9dd * x) & mask) - ((0x4973f715 * y) & mask)) & mask
        return (r ^ (r >> 16)) & mask

    pool = [hash32(e) for e in entropy]
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hash32(pool[src]))
    hash_b, state = 0x8b51f9dd, []
    for value in pool:
        value = (value ^ hash_b) & mask
        hash_b = (hash_b * 0x58f38ded) & mask
        value = (value * hash_b) & mask
        state.append((value ^ (value >> 16)) & mask)
    return state


class _MapFetcher:
    def __init__(self, dataset, collate_fn, auto_collation, drop_last):
        self.dataset, self.collate_fn, self.auto = dataset, collate_fn, auto_collation
        getter = getattr(dataset, "_get_batch", None)
        self.fast = getter if callable(getter) and collate_fn is default_collate else None

    def fetch(self, index):
        if not self.auto:
            return self.collate_fn(self.dataset[index])
        if self.fast is not None:
            batch = self.fast(np.asarray(index, dtype=np.int64))
            if batch is not NotImplemented:
                return batch
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(list(index)) if callable(getitems) else [self.dataset[i] for i in index]
        return self.collate_fn(samples)


class _StreamFetcher:
    def __init__(self, dataset, collate_fn, auto_collation, drop_last):
        self.dataset, self.collate_fn, self.auto, self.drop_last = (dataset, collate_fn,
                                                                    auto_collation, drop_last)
        self.it, self.ended = iter(dataset), False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto:
            return self.collate_fn(next(self.it))
        batch = []
        for _ in index:  # index: [None] * batch_size
            try:
                batch.append(next(self.it))
            except StopIteration:
                self.ended = True
                break
        if not batch or (self.drop_last and len(batch) < len(index)):
            raise StopIteration
        return self.collate_fn(batch)


def worker_loop(iterable, dataset, index_conn, result_conn, collate_fn, auto_collation, drop_last,
                base_seed, init_fn, worker_id, num_workers, parent_pid, forked):
    """The body of worker process `worker_id` (its target)."""
    global _INFO
    if not forked:  # one thread, as PyTorch's workers (a forked child's kernels are serial already)
        try:
            from ..._threads import set_num_threads
            set_num_threads(1)
        except Exception:
            pass
    seed = base_seed + worker_id
    random.seed(seed)
    from ... import random as axonal_random
    axonal_random.manual_seed(seed)
    np.random.seed(_generate_state(base_seed, worker_id))
    _INFO = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
    kind = _StreamFetcher if iterable else _MapFetcher
    where = f"in DataLoader worker process {worker_id}"
    fetcher, init_error = None, None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = kind(dataset, collate_fn, auto_collation, drop_last)
    except Exception:
        init_error = ExceptionWrapper(sys.exc_info(), where)
    try:
        while True:
            while not index_conn.poll(0.5):
                if os.getppid() != parent_pid:  # the main process is gone
                    return
            task = index_conn.recv()
            if task is None:
                return
            number, index = task
            if isinstance(number, _Resume):
                if init_error is None and iterable:
                    try:
                        fetcher = kind(dataset, collate_fn, auto_collation, drop_last)
                    except Exception:
                        init_error = ExceptionWrapper(sys.exc_info(), where)
                result_conn.send((number, None))
                continue
            if init_error is not None:  # every batch of this worker reports it, none is skipped
                data = init_error
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    data = _StreamEnd(worker_id)
                except Exception:
                    data = ExceptionWrapper(sys.exc_info(), where)
            result_conn.send((number, data))
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        return  # the main process closed the pipes (shutdown) or was interrupted
