"""UCI Banknote Authentication: 1,372 banknote images reduced to 4 wavelet features, 2 classes.

The CSV has no header; columns are variance, skewness, curtosis and entropy of the wavelet-transformed
image, then the class (0 genuine, 1 forged; 762 / 610). A small, nearly linearly separable set for
logistic regression and first MLPs.
"""
import numpy as np

from ..utils.data import Dataset, _bridge
from ._resource import DatasetError, Resource

RESOURCE = Resource(
    "banknote", "data_banknote_authentication.txt",
    "d0539aaed2139ba7a587b3e34fb345ce503ff7d5d33dbf9912d8e195ce425cb9", 46400,
    ("https://archive.ics.uci.edu/ml/machine-learning-databases/00267/"
     "data_banknote_authentication.txt",))
FEATURES = ("variance", "skewness", "curtosis", "entropy")
N_ROWS = 1372


def load_banknote(root=None, download=True):
    """All 1,372 rows in file order: X float32 (1372, 4), y int64 (1372,)."""
    from ._download import fetch  # the network code loads only when a file is looked up
    path = fetch(RESOURCE, root, download)
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as e:
        raise DatasetError(f"{path}: not a 5-column numeric CSV ({e})") from e
    if table.shape != (N_ROWS, 5):
        raise DatasetError(f"{path}: expected {N_ROWS} rows x 5 columns, found {table.shape}")
    labels = table[:, 4]
    if not np.isin(labels, (0, 1)).all():
        raise DatasetError(f"{path}: class column must hold 0 or 1")
    return table[:, :4].astype(np.float32), labels.astype(np.int64)


def split_indices(n: int, split: float, seed: int):
    """A fixed shuffle of range(n) cut at floor(split * n): (train indices, test indices)."""
    if not 0 < split < 1:
        raise ValueError(f"split must be a fraction strictly between 0 and 1, got {split}")
    order = np.random.default_rng(seed).permutation(n)
    cut = int(np.floor(split * n))
    return np.sort(order[:cut]), np.sort(order[cut:])


class Banknote(Dataset):
    """Banknote Authentication as a map-style dataset.

    Args:
        root: data directory (default $AXONAL_DATA, else ~/.cache/axonal); file in `<root>/banknote/`.
        train: the training part of the split (True) or the held-out part.
        split: fraction of rows in the training part (default 0.8: 1,097 train / 275 test).
        seed: seed of the fixed shuffle that assigns rows to parts; the default 0 gives everyone the
            same split.
        standardize: subtract the training part's per-feature mean and divide by its std (the same
            statistics for both parts, so the test part is not peeked at).
        transform / target_transform: applied to the (4,) float32 Tensor / the int label.
        download: fetch the file if missing (SHA-256 verified).

    Samples are `(features Tensor float32 (4,), label int)`.
    """

    features = FEATURES
    classes = ["genuine", "forged"]

    def __init__(self, root=None, train=True, split=0.8, seed=0, standardize=False,
                 transform=None, target_transform=None, download=True):
        x, y = load_banknote(root, download)
        train_idx, test_idx = split_indices(len(x), split, seed)
        if standardize:
            mean = x[train_idx].mean(axis=0)
            std = x[train_idx].std(axis=0)
            x = ((x - mean) / std).astype(np.float32)
        idx = train_idx if train else test_idx
        self.train = bool(train)
        self.data = np.ascontiguousarray(x[idx])
        self.targets = y[idx]
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        features = _bridge.wrap(self.data[index])
        target = int(self.targets[index])
        if self.transform is not None:
            features = self.transform(features)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return features, target

    def _get_batch(self, indices):
        if self.transform is not None or self.target_transform is not None:
            return NotImplemented
        return [_bridge.wrap(self.data[indices]), _bridge.wrap(self.targets[indices])]

    def arrays(self):
        """(X float32 (N, 4), y int64 (N,)) of this part."""
        return self.data, self.targets

    def as_tensors(self):
        return _bridge.wrap(self.data), _bridge.wrap(self.targets)
