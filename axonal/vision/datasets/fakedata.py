"""`FakeData`: random images, the same for the same index, as torchvision's (no files)."""
import numpy as np

from ... import random as _random
from ...utils.data import _bridge
from .. import transforms
from .vision import VisionDataset


class FakeData(VisionDataset):
    """Image `i` is `randn(*image_size)` from a generator seeded with `i + random_offset` (the
    global generator is untouched), turned into a PIL Image by ToPILImage; its label is a draw
    from the same generator. As torchvision's, `target_transform` receives the label as a 0-d
    Tensor and the sample's label is `.item()` of what it returns."""

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.size, self.num_classes = size, num_classes
        self.image_size, self.random_offset = image_size, random_offset

    def __getitem__(self, index):
        if index >= len(self):
            raise IndexError(f"{type(self).__name__} index out of range")
        rng = _random.Generator().manual_seed(index + self.random_offset).np
        img = rng.standard_normal(self.image_size).astype(_bridge.default_float())
        target = _bridge.wrap(np.asarray(rng.integers(0, self.num_classes), dtype=np.int64))
        img = transforms.ToPILImage()(_bridge.wrap(img))
        img, target = self._transformed(img, target)
        return img, target.item()

    def __len__(self):
        return self.size
