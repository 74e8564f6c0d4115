"""PyTorch's `torch.utils.data.distributed` path: `DistributedSampler` is
`axonal.distributed.DistributedSampler`, attached here by the package namespace
(`axonal/__init__.py`), because `axonal.distributed` sits above `axonal.utils` in the layers.
Importing `axonal.utils.data.distributed` runs `axonal/__init__.py` first, so the name is there."""

__all__ = ["DistributedSampler"]  # noqa: F822  (attached by axonal/__init__.py)
