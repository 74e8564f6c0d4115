"""DataLoader: combine a dataset, a sampler and a collate function into an iterable of batches.

PyTorch's constructor, argument checks and iteration semantics. With `num_workers=0` batches are
built in the calling process; with `num_workers=N` in N worker processes (`_multiprocess.py`, the
main side, and `_worker.py`, the worker side). One addition is a fast path: when the batch sampler is a built-in one and the collate function is
`default_collate`, a dataset with `_get_batch` (TensorDataset, MNIST, their Subsets) is read with one
fancy-indexing gather per array per batch. For a TensorDataset of MNIST that removes about 2 µs of
Python per sample, which is the difference between feeding a small MLP at NumPy speed or not.
"""
import multiprocessing
import numbers
import warnings

import numpy as np

from ... import accelerator as _accelerator
from ._bridge import numpy_rng
from ._multiprocess import MultiProcessIter
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


class DataLoader:
    """Iterate over `dataset` in batches.

    Args:
        dataset: map-style (`__getitem__`/`__len__`) or an IterableDataset.
        batch_size: samples per batch; None turns automatic batching off (each sample goes through
            `default_convert` instead of `default_collate`).
        shuffle: reshuffle every epoch (RandomSampler); exclusive with `sampler`.
        sampler / batch_sampler: custom index orders; `batch_sampler` excludes batch_size, shuffle,
            sampler and drop_last.
        num_workers: worker processes that build the batches (0: this process). Each worker seeds
            `random`, axonal's and NumPy's generators from the epoch's base seed + its id, then
            calls `worker_init_fn(id)`; `get_worker_info()` tells the dataset which worker it is.
        collate_fn: list of samples -> batch (default `default_collate`).
        drop_last: drop the last incomplete batch.
        generator: axonal.Generator for the shuffle; without it each epoch draws a seed from axonal's
            default generator, so runs repeat after `axonal.manual_seed`.
        timeout: seconds to wait for one batch from the workers (0: forever); RuntimeError after.
        prefetch_factor: batches in flight per worker (default 2). persistent_workers: keep the
            workers between epochs. multiprocessing_context: 'fork', 'spawn', 'forkserver' or a
            context (default fork on Linux, spawn elsewhere). in_order=False yields batches as
            they come. pin_memory: warns like PyTorch without an accelerator, otherwise a no-op.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="", in_order=True):
        if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(f"num_workers option should be a non-negative int, but got "
                             f"num_workers={num_workers!r}; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError(f"timeout option should be non-negative, but got timeout={timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing; "
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError(f"prefetch_factor option should be non-negative, but got "
                             f"{prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError("multiprocessing_context can only be used with multi-process loading "
                             f"(num_workers > 0), but got num_workers={num_workers}")
        if isinstance(multiprocessing_context, str):
            valid = multiprocessing.get_all_start_methods()
            if multiprocessing_context not in valid:
                raise ValueError(f"multiprocessing_context option should specify a valid start "
                                 f"method in {valid!r}, but got "
                                 f"multiprocessing_context={multiprocessing_context!r}")
            multiprocessing_context = multiprocessing.get_context(multiprocessing_context)
        if multiprocessing_context is not None and not isinstance(
                multiprocessing_context, multiprocessing.context.BaseContext):
            raise TypeError("multiprocessing_context option should be a valid context object or a "
                            "string specifying the start method, but got "
                            f"multiprocessing_context={multiprocessing_context}")

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            # a stream has no keys, so there is nothing to sample or shuffle (PyTorch's rule)
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler "
                                 f"option, but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")

        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is mutually "
                                 "exclusive with drop_last")
        else:
            # the same check BatchSampler makes, raised here too for iterable datasets (no BatchSampler)
            if (not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool)
                    or batch_size <= 0):
                raise ValueError(f"batch_size should be a positive integer value, but got "
                                 f"batch_size={batch_size!r}")
            if not isinstance(drop_last, bool):
                raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last!r}")

        if sampler is None and not iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, int(batch_size), drop_last)

        self._iterable = iterable
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else default_convert)
        self.pin_memory, self.pin_memory_device = pin_memory, pin_memory_device
        self.timeout, self.worker_init_fn = timeout, worker_init_fn
        self.multiprocessing_context, self.prefetch_factor = multiprocessing_context, prefetch_factor
        self.persistent_workers, self.in_order = persistent_workers, in_order
        self._iterator = None  # the persistent workers' iterator
        self._initialized = True

    def __setattr__(self, name, value):
        # changing these after construction would silently desynchronize sampler and batch_sampler
        if getattr(self, "_initialized", False) and name in _FROZEN:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} "
                             "is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # TypeError if the stream has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self):
        if self.pin_memory and not _accelerator.is_available():
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then "
                          "device pinned memory won't be used.", stacklevel=2)
        if self.num_workers > 0 and self.persistent_workers and self._iterator is not None \
                and not self._iterator._shutdown:
            self._iterator._reset()  # persistent workers keep their base seed
            return self._iterator
        if self.num_workers > 0:
            # the workers' base seed, one draw per new iterator before the sampler draws, as in
            # PyTorch. PyTorch draws it with num_workers=0 too; axonal does not (runs without
            # workers keep the streams they always had), so a shuffle with the same generator
            # orders the data alike for every num_workers > 0, not for 0 (docs/data.md)
            base_seed = int(numpy_rng(self.generator).integers(0, 2**63 - 1))
            it = MultiProcessIter(self, base_seed)
            if self.persistent_workers:
                self._iterator = it
            return it
        if self._iterable:
            return _IterableIter(self)
        return _MapIter(self)


class _MapIter:
    """One epoch over a map-style dataset. The index order is fixed when the epoch starts."""

    def __init__(self, loader: DataLoader):
        self._loader = loader
        self._dataset = loader.dataset
        self._collate = loader.collate_fn
        self._length = len(loader)
        batches = None
        if loader.batch_sampler is not None:
            if isinstance(loader.batch_sampler, BatchSampler):
                batches = loader.batch_sampler._index_batches()
            if batches is None:
                batches = iter(loader.batch_sampler)
        else:
            batches = iter(loader.sampler)
        self._batches = batches
        getter = getattr(self._dataset, "_get_batch", None)
        self._fast = getter if (callable(getter) and self._collate is default_collate) else None
        getitems = getattr(self._dataset, "__getitems__", None)
        self._getitems = getitems if callable(getitems) else None

    def __iter__(self):
        return self

    def __len__(self):
        return self._length

    def _fetch(self, indices):
        if self._fast is not None:
            batch = self._fast(np.asarray(indices, dtype=np.int64))
            if batch is not NotImplemented:
                return batch
        if isinstance(indices, np.ndarray):
            indices = indices.tolist()
        if self._getitems is not None:
            samples = self._getitems(indices)
        else:
            samples = [self._dataset[i] for i in indices]
        return self._collate(samples)

    def __next__(self):
        indices = next(self._batches)  # StopIteration ends the epoch
        if self._loader.batch_sampler is None:  # no auto-collation: one sample, converted
            return self._collate(self._dataset[indices])
        return self._fetch(indices)


class _IterableIter:
    """One pass over an IterableDataset, grouping what it yields into batches."""

    def __init__(self, loader: DataLoader):
        self._loader = loader
        self._it = iter(loader.dataset)

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def __next__(self):
        loader = self._loader
        if loader.batch_size is None:
            return loader.collate_fn(next(self._it))
        batch = []
        for sample in self._it:
            batch.append(sample)
            if len(batch) == loader.batch_size:
                break
        if not batch or (loader.drop_last and len(batch) < loader.batch_size):
            raise StopIteration
        return loader.collate_fn(batch)
