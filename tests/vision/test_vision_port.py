"""A torchvision-style program end to end: FakeData with augmenting transforms, two worker
processes, a CNN trained a few steps, `save(model)` and `load` of the whole module."""
import numpy as np

import axonal
from axonal import nn, serialization
from axonal import vision as torchvision
from axonal.nn import functional as F
from axonal.utils.data import DataLoader
from axonal.vision import transforms


class SmallCNN(nn.Module):
    def __init__(self, num_classes=4):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 4 * 4, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


def test_cnn_with_workers_transforms_and_whole_module_save(tmp_path):
    axonal.manual_seed(0)
    augment = transforms.Compose([transforms.RandomCrop(16, padding=2),
                                  transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                                  transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    data = torchvision.datasets.FakeData(size=48, image_size=(3, 16, 16), num_classes=4,
                                         transform=augment)
    loader = DataLoader(data, batch_size=16, shuffle=True, num_workers=2,
                        persistent_workers=True)
    model = SmallCNN()
    opt = axonal.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(4):
        for images, labels in loader:
            assert tuple(images.shape[1:]) == (3, 16, 16) and labels.dtype == axonal.int64
            loss = F.cross_entropy(model(images), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert np.mean(losses[-3:]) < np.mean(losses[:3])  # it learns (memorizes) the 48 images
    torchvision.utils.save_image(images[:4] * 0.5 + 0.5, tmp_path / "batch.png")
    model.eval()
    axonal.save(model, tmp_path / "model.pt")
    with serialization.safe_globals([SmallCNN]):
        back = axonal.load(tmp_path / "model.pt")
    with axonal.no_grad():
        np.testing.assert_array_equal(back(images).numpy(), model(images).numpy())
