"""Data-parallel training across processes and machines: torch.distributed's API on MPI (and NCCL).

Layer 6 (like optim: may import nn, tensor, ops, utils.data). mpi4py is imported only when a process
group is created, so importing this package needs no MPI. Install one with `pip install mpi4py mpich`.

    # train.py, started with:  mpiexec -n 4 python train.py   (or: axonal train NAME --nproc 4)
    import axonal.distributed as dist
    dist.init_process_group("mpi")
    model = dist.DistributedDataParallel(build_model())          # rank 0's weights everywhere
    sampler = dist.DistributedSampler(train_set, seed=0)         # each rank its own share
    loader = DataLoader(train_set, batch_size=global_batch // dist.get_world_size(), sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()               # gradients averaged here
            opt.step()

Pieces: `process_group` (the MPI group: rank, size, barrier, the watchdog and abort-on-error),
`init` (init_process_group: the MPI group, then NCCL on top when asked), `collectives`
(all_reduce, broadcast, all_gather, reduce_scatter on Tensors, in place), `ddp`
(DistributedDataParallel), `sampler` (DistributedSampler), `launch` (re-running a command under
mpiexec), `nccl` (the CuPy/NCCL path). docs/distributed.md has the usage and the scaling model.
"""
from . import launch
from .collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    average_logs,
    broadcast,
    broadcast_object_list,
    reduce_scatter,
    reduce_scatter_tensor,
)
from .ddp import DistributedDataParallel, broadcast_coalesced, unwrap_model
from .init import init_process_group
from .process_group import (
    WORLD,
    DistError,
    ProcessGroup,
    barrier,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    is_available,
    is_distributed,
    is_initialized,
    is_main_process,
    is_mpi_available,
    is_nccl_available,
)
from .sampler import DistributedSampler, sharded_loader

__all__ = [
    "WORLD", "DistError", "DistributedDataParallel", "DistributedSampler", "ProcessGroup",
    "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce",
    "average_logs", "barrier", "broadcast", "broadcast_coalesced", "broadcast_object_list",
    "destroy_process_group", "get_backend", "get_rank", "get_world_size", "init_process_group",
    "is_available", "is_distributed", "is_initialized", "is_main_process", "is_mpi_available",
    "is_nccl_available", "launch", "reduce_scatter", "reduce_scatter_tensor", "sharded_loader",
    "unwrap_model",
]
