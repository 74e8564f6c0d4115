"""`axonal.vision.datasets`: torchvision.datasets' MNIST, FashionMNIST, KMNIST, EMNIST, CIFAR10/100
(binary archives), ImageFolder/DatasetFolder and FakeData."""
from .cifar import CIFAR10, CIFAR100
from .fakedata import FakeData
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, pil_loader
from .mnist import EMNIST, KMNIST, MNIST, FashionMNIST
from .vision import StandardTransform, VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "EMNIST", "IMG_EXTENSIONS", "DatasetFolder", "FakeData",
           "FashionMNIST", "ImageFolder", "KMNIST", "MNIST", "StandardTransform", "VisionDataset",
           "default_loader", "pil_loader"]
