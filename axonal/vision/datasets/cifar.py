"""CIFAR-10 and CIFAR-100 from their *binary* archives, never from the python (pickled) ones.

torchvision reads `cifar-10-python.tar.gz`, whose batches are Python pickles: loading one can run
arbitrary code, and axonal never unpickles. The same images are published as binary archives
(https://www.cs.toronto.edu/~kriz/cifar.html), read here:

    cifar-10-binary.tar.gz   md5 c32a1d4ab5d03f1284b67883e8d87530 (published on that page)
        cifar-10-batches-bin/data_batch_1.bin .. data_batch_5.bin, test_batch.bin,
        batches.meta.txt (the 10 class names, one a line); each record is 1 label byte and
        3072 pixel bytes: the 1024 red, then green, then blue values of a 32x32 image, row-major
    cifar-100-binary.tar.gz  md5 03b5dce01913d631647c71ecec9e9cb8 (published on that page)
        cifar-100-binary/train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt;
        records are a coarse label byte, a fine label byte, 3072 pixel bytes (targets: fine)

As torchvision's: `.data` is a uint8 ndarray (N, 32, 32, 3) (HWC), `.targets` a list of ints,
samples are (PIL RGB Image, int). `download=True` fetches the archive to `root`, checks its MD5 and
extracts it (tarfile's "data" filter: no absolute paths, links or devices).
"""
import hashlib
import os
import tarfile
import urllib.request

import numpy as np
from PIL import Image

from .vision import VisionDataset


def _md5(path):
    h = hashlib.md5()  # noqa: S324 - the checksum the dataset's page publishes
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class CIFAR10(VisionDataset):
    base_folder = "cifar-10-batches-bin"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    filename = "cifar-10-binary.tar.gz"
    tgz_md5 = "c32a1d4ab5d03f1284b67883e8d87530"
    train_list = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_list = ["test_batch.bin"]
    meta_file, label_bytes = "batches.meta.txt", 1

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               f"download it (looked for {self._folder()})")
        parts = [self._read(name) for name in (self.train_list if train else self.test_list)]
        self.data = np.concatenate([p[0] for p in parts])
        self.targets = [int(t) for p in parts for t in p[1]]
        with open(os.path.join(self._folder(), self.meta_file), encoding="utf-8") as f:
            self.classes = [line.strip() for line in f if line.strip()]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def _folder(self):
        return os.path.join(self.root, self.base_folder)

    def _read(self, name):
        raw = np.fromfile(os.path.join(self._folder(), name), dtype=np.uint8)
        rec = raw.reshape(-1, self.label_bytes + 3072)
        images = rec[:, self.label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(images), rec[:, self.label_bytes - 1]

    def _check_integrity(self):
        for name in self.train_list + self.test_list:
            path = os.path.join(self._folder(), name)
            if not os.path.isfile(path) or os.path.getsize(path) % (self.label_bytes + 3072):
                return False
        return os.path.isfile(os.path.join(self._folder(), self.meta_file))

    def download(self):
        if self._check_integrity():
            return
        os.makedirs(self.root, exist_ok=True)
        archive = os.path.join(self.root, self.filename)
        if not os.path.isfile(archive) or _md5(archive) != self.tgz_md5:
            tmp = archive + ".part"
            with urllib.request.urlopen(self.url, timeout=60) as r, open(tmp, "wb") as f:  # noqa: S310
                for chunk in iter(lambda: r.read(1 << 20), b""):
                    f.write(chunk)
            os.replace(tmp, archive)
        got = _md5(archive)
        if got != self.tgz_md5:
            raise RuntimeError(f"{archive}: MD5 {got} is not the published {self.tgz_md5} "
                               "(a damaged or different file)")
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(self.root, filter="data")

    def __getitem__(self, index):
        img, target = Image.fromarray(self.data[index]), self.targets[index]
        return self._transformed(img, target)

    def __len__(self):
        return len(self.data)

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"


class CIFAR100(CIFAR10):
    base_folder = "cifar-100-binary"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
    filename = "cifar-100-binary.tar.gz"
    tgz_md5 = "03b5dce01913d631647c71ecec9e9cb8"
    train_list, test_list = ["train.bin"], ["test.bin"]
    meta_file, label_bytes = "fine_label_names.txt", 2
