"""MNIST and FashionMNIST as torchvision has them: samples are (PIL Image "L", int), `.data` is a
uint8 Tensor (N, 28, 28) and `.targets` an int64 Tensor (N,).

Files: torchvision's layout `<root>/MNIST/raw/train-images-idx3-ubyte[.gz]` (`FashionMNIST/raw/`)
is read when present; otherwise axonal's reader (axonal/datasets/mnist.py) finds them: `<root>/mnist/`,
the copy of MNIST shipped with axonal, or a download (SHA-256 checked) when `download=True`.
"""
import os

from PIL import Image

from ...datasets import mnist as _axonal_mnist
from ...datasets._idx import read_idx
from ...utils.data import _bridge
from .vision import VisionDataset


class MNIST(VisionDataset):
    _source = _axonal_mnist.MNIST
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        prefix = "train" if train else "t10k"
        names = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
        found = [self._raw(n) for n in names]
        if all(found):
            data, targets = read_idx(found[0], 3), read_idx(found[1], 1)
        else:
            src = self._source(root=self.root, train=train, download=download)
            data, targets = src.data, src.targets
        self.data = _bridge.wrap(data.astype("uint8", copy=True))
        self.targets = _bridge.wrap(targets.astype("int64"))

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
