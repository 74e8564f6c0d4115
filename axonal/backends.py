"""`axonal.backends`: the torch.backends switches scripts set, with a CPU-only PyTorch's defaults.

They are flags only: Axonal does not call cuDNN (convolutions are matmuls through CuPy / NumPy),
has no MPS backend, and computes float32 matmuls in full float32 (TF32 off), so setting them
changes nothing; they exist so that code written for PyTorch runs unchanged.
"""
import types

from . import cuda as _cuda

__all__ = ["cuda", "cudnn", "mps"]

cudnn = types.SimpleNamespace(
    enabled=True, benchmark=False, deterministic=False, allow_tf32=True,
    is_available=lambda: False, version=lambda: None)

mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)

cuda = types.SimpleNamespace(
    matmul=types.SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True),
    is_built=lambda: _cuda.is_available())
