"""Datasets: real ones read from their canonical files, and the 2-D teaching sets.

Layer 5. Files are looked up in `root`, else $AXONAL_DATA, else ~/.cache/axonal (one folder per
dataset), verified by SHA-256 and downloaded when missing. MNIST is also shipped in the package, so it
works offline. Nothing is ever unpickled.

    from axonal.datasets import MNIST, make_spiral
    train = MNIST(train=True)            # (image (1, 28, 28) float32 in [0, 1], label int)
    X, y = make_spiral(500, noise=0.1, seed=0)
"""
from ._resource import ENV_VAR, ChecksumError, DatasetError, DownloadError, data_dir
from ._idx import IDXError, read_idx
from .banknote import Banknote, load_banknote
from .mnist import MNIST, FashionMNIST
from .shakespeare import TinyShakespeare, bptt_batches
from .toy import (
                  PLAYGROUND,
                  mackey_glass,
                  make_circle,
                  make_gauss,
                  make_moons,
                  make_playground,
                  make_regress_gauss,
                  make_regress_plane,
                  make_spiral,
                  make_xor,
)

__all__ = [
    "Banknote", "ChecksumError", "DatasetError", "DownloadError", "ENV_VAR", "FashionMNIST", "IDXError",
    "MNIST", "PLAYGROUND", "TinyShakespeare", "bptt_batches", "data_dir", "load_banknote",
    "mackey_glass", "make_circle", "make_gauss", "make_moons", "make_playground", "make_regress_gauss",
    "make_regress_plane", "make_spiral", "make_xor", "read_idx",
]
