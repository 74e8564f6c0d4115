"""Map-style and iterable datasets, with PyTorch's names and behaviour.

A map-style dataset is anything with `__getitem__(i)` and `__len__()`. Datasets whose samples are rows
of a few big arrays (TensorDataset, MNIST, Subsets of those) may also define `_get_batch(indices)`:
given an int64 index array it returns the batch that `default_collate` would build from
`[ds[i] for i in indices]`, but with one fancy-indexing gather per array instead of one `__getitem__`
and one copy per sample. The DataLoader uses it only when the collate function is the default one, so
the two paths give identical batches; `_get_batch` may return `NotImplemented` to decline.
"""
import bisect
import itertools
import math
import numbers
import warnings

import numpy as np

from ...backend import xp_of
from . import _bridge


class Dataset:
    """Base class of map-style datasets: subclasses define `__getitem__` and usually `__len__`."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses define `__iter__`. The DataLoader batches what it yields
    in order; samplers and shuffling do not apply (as in PyTorch)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterate several IterableDatasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got {type(d).__name__}")

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


def _row_count(t) -> int:
    shape = t.shape
    if len(shape) == 0:
        raise ValueError("TensorDataset needs tensors with a first (sample) dimension, got a 0-d tensor")
    return int(shape[0])


def _index_on(array, indices: np.ndarray):
    """Gather rows `indices` of `array`; CuPy arrays need the index array on the GPU too."""
    xp = xp_of(array)
    return array[indices if xp is np else xp.asarray(indices)]


class TensorDataset(Dataset):
    """Samples are rows of equally long tensors: `TensorDataset(X, y)[i] == (X[i], y[i])`.

    NumPy arrays are accepted too and wrapped (without a copy) as Tensors.
    """

    def __init__(self, *tensors):
        self.tensors = tuple(t if _bridge.is_tensor(t) else _bridge.wrap(np.asarray(t)) for t in tensors)
        sizes = [_row_count(t) for t in self.tensors]
        if len(set(sizes)) > 1:
            raise ValueError(f"Size mismatch between tensors: first dimensions are {tuple(sizes)}")

    def __getitem__(self, index):
        if any(getattr(t, "requires_grad", False) for t in self.tensors):
            return tuple(t[index] for t in self.tensors)  # keep the graph, as torch's indexing does
        # `asarray` turns the NumPy scalar that indexing a 1-d array gives back into a 0-d array
        return tuple(_bridge.wrap(xp_of(t._data).asarray(t._data[index])) for t in self.tensors)

    def __len__(self):
        return _row_count(self.tensors[0]) if self.tensors else 0

    def _get_batch(self, indices):
        if any(getattr(t, "requires_grad", False) for t in self.tensors):
            return NotImplemented
        # default_collate turns a batch of tuples into a *list* (PyTorch's backwards-compatible choice)
        return [_bridge.wrap(_index_on(t._data, indices)) for t in self.tensors]


class Subset(Dataset):
    """The samples `indices` of `dataset`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices
        self._index_array = None

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return [self.dataset[self.indices[i]] for i in idx]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        # PyTorch's batched-fetch hook; forwarded when the wrapped dataset has it
        inner = getattr(self.dataset, "__getitems__", None)
        if callable(inner):
            return inner([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)

    def _get_batch(self, indices):
        inner = getattr(self.dataset, "_get_batch", None)
        if inner is None:
            return NotImplemented
        if self._index_array is None:  # built once; indices are fixed for the life of a Subset
            self._index_array = np.asarray(self.indices, dtype=np.int64).reshape(-1)
        return inner(self._index_array[indices])


class ConcatDataset(Dataset):
    """Several map-style datasets one after another: sample i comes from the dataset whose running
    length first exceeds i (binary search on the cumulative sizes)."""

    @staticmethod
    def cumsum(sequence):
        return list(itertools.accumulate(len(d) for d in sequence))

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset, got an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset (use ChainDataset)")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError(f"absolute value of index {idx} should not exceed dataset length "
                                 f"{len(self)}")
            idx = len(self) + idx
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        if dataset_idx == len(self.datasets):
            raise IndexError(f"index {idx} is out of range for ConcatDataset of length {len(self)}")
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class StackDataset(Dataset):
    """Several map-style datasets of one length side by side: sample i is the tuple (positional
    datasets) or the dict (keyword datasets) of their samples i, as PyTorch's StackDataset."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        self.datasets = args if args else kwargs
        sizes = [len(d) for d in (args or kwargs.values())]
        if any(n != sizes[0] for n in sizes):
            raise ValueError(f"StackDataset: size mismatch between datasets ({sizes})")
        self._length = sizes[0]

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices):
        """A batch of samples; a dataset with its own `__getitems__` fetches its part at once."""
        named = isinstance(self.datasets, dict)
        batch = [{} if named else [] for _ in indices]
        for key, d in (self.datasets.items() if named else enumerate(self.datasets)):
            fetch = getattr(d, "__getitems__", None)
            items = fetch(indices) if callable(fetch) else [d[i] for i in indices]
            if len(items) != len(indices):
                raise ValueError(f"Nested dataset's output size mismatch. Expected "
                                 f"{len(indices)}, got {len(items)}")
            for sample, item in zip(batch, items):
                if named:
                    sample[key] = item
                else:
                    sample.append(item)
        return batch if named else [tuple(s) for s in batch]

    def __len__(self):
        return self._length


def _fractions_to_lengths(n: int, fractions) -> list:
    """floor(frac * n) per split, then the remainder handed out one by one from the first split
    (PyTorch's round-robin rule), so the lengths always sum to n."""
    lengths = []
    for i, frac in enumerate(fractions):
        if frac < 0 or frac > 1:
            raise ValueError(f"Fraction at index {i} is not between 0 and 1: {frac}")
        lengths.append(math.floor(n * frac))
    for i in range(n - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, length in enumerate(lengths):
        if length == 0:
            warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                          stacklevel=3)
    return lengths


def random_split(dataset, lengths, generator=None):
    """Split `dataset` into non-overlapping random Subsets of the given lengths.

    `lengths` are ints that sum to `len(dataset)`, or fractions that sum to 1. The permutation is drawn
    from `generator` (default: axonal's default generator), so `axonal.manual_seed` or an explicit
    `axonal.Generator().manual_seed(s)` makes the split reproducible.
    """
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split needs at least one length")
    n = len(dataset)
    total = sum(lengths)
    all_ints = all(isinstance(x, numbers.Integral) for x in lengths)
    if math.isclose(total, 1) and total <= 1 and not all_ints:
        lengths = _fractions_to_lengths(n, lengths)
    else:
        for i, length in enumerate(lengths):
            if not isinstance(length, numbers.Integral) or length < 0:
                raise ValueError(f"random_split: lengths must be non-negative ints summing to "
                                 f"len(dataset) = {n}, or fractions summing to 1; got {lengths} "
                                 f"(sum {total}, bad entry at index {i})")
        if total != n:
            raise ValueError(f"Sum of input lengths ({total}) does not equal the length of the input "
                             f"dataset ({n})!")
    perm = _bridge.randperm(n, generator).tolist()
    return [Subset(dataset, perm[end - length:end])
            for end, length in zip(itertools.accumulate(lengths), lengths)]
