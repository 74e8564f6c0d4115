"""PyTorch's `torch.utils.data.distributed` path: `DistributedSampler` is
`axonal.distributed.DistributedSampler`, attached here by the package namespace
(`axonal/__init__.py`), because `axonal.distributed` sits above `axonal.utils` in the layers.
`import axonal.utils.data.distributed` always runs `axonal/__init__.py` first, so the name is there."""

__all__ = ["DistributedSampler"]
