"""Utilities with PyTorch's import paths (`axonal.utils.data`, `axonal.utils.checkpoint`).
Layer 5."""
from . import checkpoint, data

__all__ = ["checkpoint", "data"]
