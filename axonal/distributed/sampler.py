"""DistributedSampler: each rank reads its own share of a dataset, the shares of equal size.

Layer 6. PyTorch's index assignment exactly, including the shuffle. The permutation is a function of
`seed + epoch` only, so every rank computes the same one without communicating; rank r then takes
every num_replicas-th index starting at r. To make the shares equal, the permuted list is padded with
its own head (drop_last=False: a few samples are seen twice per epoch) or cut (drop_last=True).

Bit-for-bit the same indices as torch.utils.data.DistributedSampler, shuffle included: PyTorch's
permutation is `torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch))`, which is a
Fisher-Yates shuffle driven by the 32-bit outputs of an MT19937 seeded with the low 32 bits of the
seed (classic `init_genrand`). NumPy's MT19937 with `_legacy_seeding` produces that same stream, so
we replay the shuffle here (tests/distributed/test_distributed.py compares against torch). Same order means a run
can be checked against a PyTorch DDP run, and a checkpointed run resumed with any number of processes
continues through the same epoch permutations.

Call `sampler.set_epoch(epoch)` before each epoch (the Trainer does it for you), otherwise every
epoch repeats the first one's order, as in PyTorch.
"""
import math
import numbers

import numpy as np

from ..utils.data import DataLoader, Sampler
from . import process_group as _pg

# PyTorch switches to 64-bit draws from this size on (aten randperm_cpu); we do not replay that path
_TORCH_SMALL_N = (2**32 - 1) // 20


def torch_randperm(n, seed):
    """`torch.randperm(n, generator=torch.Generator().manual_seed(seed))` as an int64 array."""
    n = int(n)
    if n <= 1:
        return np.arange(n, dtype=np.int64)
    if n >= _TORCH_SMALL_N:  # > 200M samples: a NumPy permutation (order differs from PyTorch's)
        return np.random.default_rng(seed).permutation(n).astype(np.int64)
    bits = np.random.MT19937(0)
    bits._legacy_seeding(int(seed) & 0xFFFFFFFF)  # torch's CPU generator: init_genrand(seed)
    raw = bits.random_raw(n - 1)  # the generator's 32-bit outputs, one per swap
    steps = np.arange(n - 1, dtype=np.uint64)
    swap_with = (raw % (np.uint64(n) - steps) + steps).tolist()  # z = random() % (n - i) + i
    r = list(range(n))
    for i, z in enumerate(swap_with):  # the swaps depend on each other: a plain loop (~1 us each)
        r[i], r[z] = r[z], r[i]
    return np.asarray(r, dtype=np.int64)


class DistributedSampler(Sampler):
    """Indices of `dataset` for rank `rank` of `num_replicas` (defaults: the process group's).

    Args:
        shuffle: a new permutation each epoch, from `seed + epoch` (same on every rank).
        seed: must be the same on every rank.
        drop_last: cut the tail so that every rank gets floor(n / replicas) samples; otherwise pad by
            repeating the first indices so that every rank gets ceil(n / replicas).
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None:
            num_replicas = _pg.get_world_size()
        if rank is None:
            rank = _pg.get_rank()
        if not isinstance(num_replicas, numbers.Integral) or num_replicas < 1:
            raise ValueError(f"num_replicas should be a positive integer, got {num_replicas!r}")
        if not isinstance(rank, numbers.Integral) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.epoch = 0
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def _epoch_indices(self) -> np.ndarray:
        n = len(self.dataset)
        if self.shuffle:
            indices = torch_randperm(n, self.seed + self.epoch)
        else:
            indices = np.arange(n, dtype=np.int64)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:  # repeat the list as often as needed (a tiny dataset may need it twice)
                indices = np.concatenate([indices, np.tile(indices, math.ceil(pad / n))[:pad]])
        else:
            indices = indices[:self.total_size]
        if len(indices) != self.total_size:
            raise RuntimeError(f"DistributedSampler: the dataset changed size (now {n} samples, "
                               f"{self.total_size // self.num_replicas} per rank were planned)")
        return indices[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self._epoch_indices().tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Choose the permutation of epoch `epoch` (call before iterating each epoch)."""
        self.epoch = int(epoch)

    def state_dict(self):
        return {"epoch": self.epoch, "seed": self.seed}

    def load_state_dict(self, state):
        self.epoch, self.seed = int(state["epoch"]), int(state["seed"])


def sharded_loader(dataset, global_batch, seed=0, shuffle=True, drop_last=False, **loader_kwargs):
    """A DataLoader over this rank's share of `dataset`: `global_batch // world_size` samples per
    step, so that one step of all ranks together sees `global_batch` samples (the same optimization
    as one process with that batch: DDP averages the ranks' gradients of their local means)."""
    world = _pg.get_world_size()
    if global_batch % world:
        raise ValueError(f"the batch size {global_batch} is the global batch of all {world} "
                         f"processes together and must be divisible by {world}")
    sampler = DistributedSampler(dataset, shuffle=shuffle, seed=seed, drop_last=drop_last)
    return DataLoader(dataset, batch_size=global_batch // world, sampler=sampler, **loader_kwargs)
