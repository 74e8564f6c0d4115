"""`axonal.vision`: torchvision's API for what programs use (datasets, transforms, utils, models,
ops). `from axonal import vision as torchvision` ports `import torchvision`.

Layer 8 (beside `models/`): built on nn, utils.data, datasets and Pillow (a dependency).
"""
from . import datasets, models, ops, transforms, utils

__version__ = "0.28.0"  # the torchvision whose API this follows

__all__ = ["datasets", "models", "ops", "transforms", "utils"]
