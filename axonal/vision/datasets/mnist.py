"""MNIST, FashionMNIST, KMNIST and EMNIST as torchvision has them: samples are (PIL Image "L",
int), `.data` is a uint8 Tensor (N, 28, 28) and `.targets` an int64 Tensor (N,).

Files: torchvision's layout `<root>/MNIST/raw/train-images-idx3-ubyte[.gz]` (`FashionMNIST/raw/`,
`KMNIST/raw/`, `EMNIST/raw/emnist-<split>-train-images-idx3-ubyte`) is read when present. Otherwise
MNIST and FashionMNIST use axonal's reader (axonal/datasets/mnist.py: `<root>/mnist/`, the copy of
MNIST shipped with axonal, or a download checked by SHA-256); KMNIST and EMNIST download their
canonical archives (with `download=True`) into the raw folder, check the published MD5 and
decompress them there, as torchvision does (mnist_download.py).
"""
import os
import string

from PIL import Image

from ...datasets import mnist as _axonal_mnist
from ...datasets._idx import read_idx
from ...utils.data import _bridge
from . import mnist_download as _download
from .vision import VisionDataset


class MNIST(VisionDataset):
    _source = _axonal_mnist.MNIST
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        names = self._file_names()
        found = [self._raw(n) for n in names]
        if not all(found) and self._source is None:  # KMNIST, EMNIST: torchvision's download
            if download:
                _download.download(self)
                found = [self._raw(n) for n in names]
            if not all(found):
                raise RuntimeError("Dataset not found. You can use download=True to download it "
                                   f"(looked for {names[0]} in {self.raw_folder})")
        if all(found):
            data, targets = read_idx(found[0], 3), read_idx(found[1], 1)
        else:
            src = self._source(root=self.root, train=train, download=download)
            data, targets = src.data, src.targets
        self.data = _bridge.wrap(data.astype("uint8", copy=True))
        self.targets = _bridge.wrap(targets.astype("int64"))

    def _file_names(self):
        prefix = "train" if self.train else "t10k"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    @property
    def raw_folder(self):
        return os.path.join(self.root, type(self).__name__, "raw")

    def _raw(self, name):
        for candidate in (name, name + ".gz"):
            path = os.path.join(self.raw_folder, candidate)
            if os.path.isfile(path):
                return path
        return None

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __getitem__(self, index):
        img = Image.fromarray(self.data._data[index], mode="L")
        target = int(self.targets._data[index])
        return self._transformed(img, target)

    def __len__(self):
        return len(self.data)

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"


class FashionMNIST(MNIST):
    _source = _axonal_mnist.FashionMNIST
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST (Clanuwat et al. 2018): ten cursive hiragana, MNIST's format and sizes."""
    _source = None
    # https://github.com/rois-codh/kmnist (files at the mirror below); the MD5s are the ones that
    # torchvision.datasets.KMNIST checks
    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """EMNIST (Cohen et al. 2017): NIST SD-19 characters in MNIST's format, in six splits.
    `EMNIST(root, split, train=True, ...)`; the images are stored as NIST wrote them (transposed
    with respect to MNIST's), exactly as torchvision returns them."""
    _source = None
    # https://www.nist.gov/itl/products-and-services/emnist-dataset: one archive, gzip.zip, holding
    # gzip/emnist-<split>-<train|test>-<images-idx3|labels-idx1>-ubyte.gz; the MD5 is the one that
    # torchvision.datasets.EMNIST checks
    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    # the merged classes (bymerge, balanced) fold these lower-case letters into their upper case
    _merged_classes = set("cijklmopsuvwxyz")
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root, split, **kwargs):
        if split not in self.splits:
            raise ValueError(f'Unknown value \'{split}\' for argument split. Valid values are '
                             f'{{{", ".join(repr(s) for s in self.splits)}}}.')
        self.split = split
        self.classes = self.classes_split_dict[split]
        super().__init__(root, **kwargs)

    def _file_names(self):
        prefix = f"emnist-{self.split}-{'train' if self.train else 'test'}"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
