"""Samplers: the order in which a DataLoader visits the indices of a map-style dataset.

Each built-in sampler computes one epoch's indices as a single int64 array (`_epoch_indices`) and its
`__iter__` yields from that array, so iterating a sampler by hand and the DataLoader's fast path (which
slices the array into batches without a Python loop over samples) consume the random stream identically
and give the same order.
"""
import numbers

import numpy as np

from . import _bridge


def _check_positive_int(name: str, value) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")


class Sampler:
    """Base class: subclasses define `__iter__` (indices) and, when they know it, `__len__`."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _epoch_indices(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random order, without replacement (a permutation, repeated if num_samples > len) or with it.

    With `generator=None` every epoch seeds a private generator from one draw of axonal's default
    generator (PyTorch's rule), so runs repeat exactly after `axonal.manual_seed(s)`. With a generator,
    draws come from it, and successive epochs continue its stream (different orders, reproducible).
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        _check_positive_int("num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        # the data source may grow or shrink between epochs, so its length is read each time
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _epoch_indices(self) -> np.ndarray:
        n = len(self.data_source)
        rng = _bridge.fresh_rng() if self.generator is None else _bridge.numpy_rng(self.generator)
        m = self.num_samples
        if self.replacement:
            return rng.integers(0, n, size=m, dtype=np.int64)
        # whole permutations, then the head of one more: each index appears floor(m/n) or ceil(m/n)
        # times
        parts = [rng.permutation(n) for _ in range(m // n)]
        if m % n:
            parts.append(rng.permutation(n)[: m % n])
        return np.concatenate(parts).astype(np.int64, copy=False)

    def __iter__(self):
        return iter(self._epoch_indices().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in random order (without replacement)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def _epoch_indices(self) -> np.ndarray:
        # like torch: with no generator the default generator is used directly (no per-epoch seed)
        order = _bridge.randperm(len(self.indices), self.generator)
        return np.asarray(self.indices, dtype=np.int64).reshape(-1)[order]

    def __iter__(self):
        return iter(self._epoch_indices().tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Index i drawn with probability weights[i] / sum(weights)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        _check_positive_int("num_samples", num_samples)
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement!r}")
        w = np.asarray(weights.numpy() if _bridge.is_tensor(weights) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {w.shape}")
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"cannot draw {num_samples} samples without replacement from "
                             f"{np.count_nonzero(w)} indices with non-zero weight")
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def _epoch_indices(self) -> np.ndarray:
        rng = _bridge.numpy_rng(self.generator)
        return rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                          p=self.weights / self.weights.sum()).astype(np.int64)

    def __iter__(self):
        return iter(self._epoch_indices().tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of `sampler` into lists of `batch_size` (the last one shorter unless
    `drop_last`)."""

    def __init__(self, sampler, batch_size, drop_last):
        _check_positive_int("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _index_batches(self):
        """One epoch of batches as int64 arrays, or None if the sampler is not one of ours (then the
        DataLoader iterates `self` the ordinary way)."""
        if type(self).__iter__ is not BatchSampler.__iter__:
            return None
        indices = epoch_indices(self.sampler)
        if indices is None:
            return None
        n, b = len(indices), self.batch_size
        stop = n - n % b if self.drop_last else n
        return (indices[i:i + b] for i in range(0, stop, b))


_BUILTIN = (SequentialSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler)


def epoch_indices(sampler):
    """The sampler's next epoch as an int64 array if it is a built-in sampler whose `__iter__` was not
    overridden by a subclass; otherwise None."""
    for cls in _BUILTIN:
        if isinstance(sampler, cls):
            kind = type(sampler)
            if kind.__iter__ is cls.__iter__ and kind._epoch_indices is cls._epoch_indices:
                return sampler._epoch_indices()
            return None
    return None
