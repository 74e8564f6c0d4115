"""MNIST and Fashion-MNIST: 28x28 grey images in ten classes, 60,000 train and 10,000 test.

Differences from torchvision, because Axonal has no PIL: a sample's image is a float32 Tensor of shape
(1, 28, 28) with values in [0, 1] (pixel / 255), i.e. what torchvision gives after `ToTensor()`.
`transform` receives that Tensor. The label is a Python int (as in torchvision), so the DataLoader's
`default_collate` makes an int64 Tensor of labels. `.data` (uint8, (N, 28, 28)) and `.targets` (int64,
(N,)) are NumPy arrays.

For trainers that want the whole split at once, `arrays()` / `as_tensors()` return the images as one
float32 block, (N, 1, 28, 28) or flattened to (N, 784), and the labels as int64.
"""
import os
from pathlib import Path

import numpy as np

from ..utils.data import Dataset, _bridge
from ._resource import Resource
from ._idx import IDXError, read_idx

# uint8 -> float32 in [0, 1] by table lookup: one gather per pixel, and the per-sample path and the
# batched path produce bit-identical values (both are the same table entries)
_TO_UNIT = (np.arange(256, dtype=np.float32) / np.float32(255)).astype(np.float32)

_MNIST_HASHES = {
    "train-images-idx3-ubyte.gz":
        ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
    "train-labels-idx1-ubyte.gz":
        ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
    "t10k-images-idx3-ubyte.gz":
        ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
    "t10k-labels-idx1-ubyte.gz":
        ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
}
_FASHION_HASHES = {
    "train-images-idx3-ubyte.gz":
        ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
    "train-labels-idx1-ubyte.gz":
        ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
    "t10k-images-idx3-ubyte.gz":
        ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
    "t10k-labels-idx1-ubyte.gz":
        ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148),
}
# canonical site first, then the S3 mirror torchvision uses (the canonical one often refuses bots)
_MNIST_MIRRORS = ("http://yann.lecun.com/exdb/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/")
_FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)


def _resources(folder, hashes, mirrors, packaged):
    return {name: Resource(folder, name, sha, size, tuple(m + name for m in mirrors), packaged)
            for name, (sha, size) in hashes.items()}


MNIST_RESOURCES = _resources("mnist", _MNIST_HASHES, _MNIST_MIRRORS, packaged=True)
FASHION_MNIST_RESOURCES = _resources("fashion-mnist", _FASHION_HASHES, _FASHION_MIRRORS, packaged=False)

_DECODED = {}  # (path, size, mtime_ns) -> read-only array; decoding 47 MB of gzip costs ~0.3 s


def _load_idx(path: Path, ndim: int) -> np.ndarray:
    st = os.stat(path)
    key = (str(path), st.st_size, st.st_mtime_ns)
    arr = _DECODED.get(key)
    if arr is None:
        arr = read_idx(path, expect_ndim=ndim, expect_dtype=np.uint8)
        arr.flags.writeable = False
        _DECODED[key] = arr
    return arr


class MNIST(Dataset):
    """MNIST handwritten digits.

    Args:
        root: data directory (default $AXONAL_DATA, else ~/.cache/axonal); files in `<root>/mnist/`.
            When they are not there the copy shipped with Axonal is used, then a download.
        train: the 60,000-image training split (True) or the 10,000-image test split.
        transform: applied to the (1, 28, 28) float32 image Tensor.
        target_transform: applied to the int label.
        download: fetch missing files (SHA-256 verified); if False a missing file is an error.
    """

    resources = MNIST_RESOURCES
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    mean, std = 0.1307, 0.3081  # of the training pixels in [0, 1], for `(x - mean) / std`

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=True):
        self.root = root
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if self.train else "t10k"
        from ._download import fetch_all  # the network code loads only when a file is looked up
        mine = [self.resources[f"{prefix}-{k}-idx{d}-ubyte.gz"] for k, d in (("images", 3),
                                                                                  ("labels", 1))]
        images, labels = fetch_all(mine, root, download, dataset=list(self.resources.values()))
        data = _load_idx(images, 3)
        targets = _load_idx(labels, 1)
        if data.shape[1:] != (28, 28):
            raise IDXError(f"{images}: expected 28x28 images, file holds {data.shape[1:]}")
        if len(data) != len(targets):
            raise IDXError(f"{images} has {len(data)} images but {labels} has {len(targets)} labels")
        if targets.size and targets.max() >= len(self.classes):
            raise IDXError(f"{labels}: label {int(targets.max())} is outside 0..{len(self.classes) - 1}")
        self.data = data.copy()  # the decoded cache stays read-only; this copy is the user's
        self.targets = targets.astype(np.int64)
        self.files = (images, labels)
        self._float = None

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        image = _bridge.wrap(_TO_UNIT[self.data[index]][None])
        target = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def _get_batch(self, indices):
        # same values as default_collate([self[i] for i in indices]), gathered in one go
        if self.transform is not None or self.target_transform is not None:
            return NotImplemented
        if self._float is not None:  # arrays() already built the float block: one gather, not two
            images = self._float[indices][:, None]
        else:
            images = _TO_UNIT[self.data[indices]][:, None]
        return [_bridge.wrap(images), _bridge.wrap(self.targets[indices])]

    def arrays(self, flatten=False):
        """(X, y): X float32 in [0, 1], (N, 1, 28, 28) or (N, 784) with `flatten`; y int64 (N,).

        X is computed once and cached; both shapes are views of the same block.
        """
        if self._float is None:
            self._float = _TO_UNIT[self.data]
        x = self._float.reshape(len(self.data), -1) if flatten else self._float[:, None]
        return x, self.targets

    def as_tensors(self, flatten=False):
        """`arrays()` wrapped as Tensors: (X float32, y int64)."""
        x, y = self.arrays(flatten)
        return _bridge.wrap(x), _bridge.wrap(y)

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self):
        split = "Train" if self.train else "Test"
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Files: {self.files[0].parent}\n    Split: {split}")


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): same layout and API as MNIST, clothing classes. Not shipped in the
    package; files in `<data dir>/fashion-mnist/` or downloaded."""

    resources = FASHION_MNIST_RESOURCES
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    mean, std = 0.2860, 0.3530
