"""PyTorch's `torch.nn.parallel` paths. `DataParallel` runs the wrapped module on its one device
(Axonal does not split a batch across devices in one process); `DistributedDataParallel` is
`axonal.distributed.DistributedDataParallel`, attached here by the package namespace
(`axonal/__init__.py`), because `axonal.distributed` sits above `axonal.nn` in the layers."""
from .data_parallel import DataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
