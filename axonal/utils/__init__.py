"""Utilities with PyTorch's import paths (`axonal.utils.data`). Layer 5."""
from . import data

__all__ = ["data"]
