"""lenet: LeNet-5 on MNIST, >= 99% test accuracy.

Layer 9. The conv-pool stack that started it all (LeCun et al. 1998), in its modern form:

* data: the official 60k training images split once into 55k train / 5k validation by a fixed
  permutation (as mnist-mlp; the split never depends on --seed), the official 10k test set.
  Training images are augmented on the fly: RandomCrop(28, padding=2), i.e. shifted by up to 2
  pixels (LeCun's distortions did the same job); then standardized with MNIST's mean and std.
* model (`axonal.models.cnn.LeNet5`): conv 6@5x5 (padding 2) - ReLU - max pool - conv 16@5x5 -
  ReLU - max pool - fc 120 - fc 84 - fc 10; 61,706 parameters.
* training: cross-entropy, SGD with Nesterov momentum 0.9 and weight decay 5e-4, batch 128, the
  one-cycle schedule (lr warms up to 0.05 over the first 20% of the steps, then cosine-anneals to
  ~0), stepped per batch; 12 epochs.
* also written: filters.png (the 6 first-layer filters) and features_*.png (the feature maps of the
  first test image), ZFNet-style pictures of what the network learned.

The helpers here (`image_splits`, `cnn_pictures`) are shared with the resnet recipe.
"""
import os
from typing import ClassVar

import numpy as np

from .base import Recipe
from .mnist_mlp import _N_VAL, _SPLIT_SEED, _standardize, _tensors
from .registry import recipe


def image_splits(dataset_cls, data_dir=None, limit_train=None, augment=()):
    """(train, val, test) datasets of 28x28 images (N, 1, 28, 28): 55k/5k split of the training
    file by the fixed permutation, the official test set. Training images go through `augment`
    (transforms on [0, 1] pixels) and then standardization, one vectorized call per batch;
    validation and test images are only standardized."""
    from ..utils.data import TensorDataset
    from ..utils.transforms import AugmentedDataset, Compose, Normalize

    x, y = dataset_cls(root=data_dir, train=True).arrays()
    order = np.random.default_rng(_SPLIT_SEED).permutation(len(x))
    val_idx, train_idx = order[:_N_VAL], order[_N_VAL:]
    if limit_train is not None:
        train_idx = train_idx[:limit_train]
    mean, std = dataset_cls.mean, dataset_cls.std
    transform = Compose([*augment, Normalize([mean], [std])])
    train = AugmentedDataset(np.ascontiguousarray(x[train_idx]), y[train_idx], transform)
    val = TensorDataset(*_tensors(_standardize(x[val_idx], mean, std), y[val_idx]))
    return train, val, test_split(dataset_cls, data_dir)


def test_split(dataset_cls, data_dir=None):
    from ..utils.data import TensorDataset

    x, y = dataset_cls(root=data_dir, train=False).arrays()
    return TensorDataset(*_tensors(_standardize(x, dataset_cls.mean, dataset_cls.std), y))


def cnn_pictures(model, first_conv, test_ds, out, layers, log):
    """Write filters.png (the first conv layer's filters) and features_*.png (the feature maps of
    the first test image at `layers`) into `out`; returns the file names."""
    from ..utils.visualize import save_feature_maps, save_filters

    save_filters(first_conv, os.path.join(out, "filters.png"), scale=10)
    image = test_ds[0][0]
    paths = save_feature_maps(model, image, os.path.join(out, "features"), layers=layers)
    names = ["filters.png"] + [os.path.basename(p) for p in paths]
    log(f"pictures: {', '.join(names)}")
    return names


def one_cycle(optimizer, lr, epochs, steps_per_epoch, pct_start=0.2):
    """OneCycleLR stepped per batch: a warm-up lets SGD use a large rate without the first,
    badly-conditioned steps blowing up, and the long cosine decay settles into a good minimum."""
    from ..optim.lr_scheduler import OneCycleLR
    from ..train import LRSchedulerCallback

    total = max(int(epochs) * int(steps_per_epoch), 1)
    return LRSchedulerCallback(OneCycleLR(optimizer, max_lr=lr, total_steps=total,
                                          pct_start=pct_start), interval="step")


@recipe("lenet")
class LeNet(Recipe):
    description = ("LeNet-5 (conv-pool-conv-pool-fc) on MNIST with shift augmentation; >= 99% "
                   "test accuracy")
    defaults: ClassVar[dict] = {"epochs": 12, "lr": 0.05, "batch_size": 128, "seed": 0}
    metrics = ("accuracy",)

    def model_config(self):
        return {"classes": 10, "in_channels": 1, "input_size": 28, "activation": "relu",
                "pool": "max"}

    def build_model(self, config):
        from ..models.cnn import LeNet5

        return LeNet5(int(config["classes"]), int(config["in_channels"]), int(config["input_size"]),
                      config["activation"], config["pool"])

    def datasets(self, data_dir=None, limit_train=None):
        from ..datasets import MNIST
        from ..utils.transforms import RandomCrop

        return image_splits(MNIST, data_dir, limit_train, [RandomCrop(28, padding=2)])

    def test_dataset(self, data_dir=None):
        from ..datasets import MNIST

        return test_split(MNIST, data_dir)

    def optimizer(self, model, lr):
        from ..optim import SGD

        return SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)

    def scheduler(self, optimizer, epochs, steps_per_epoch):
        return one_cycle(optimizer, optimizer.param_groups[0]["lr"], epochs, steps_per_epoch)

    def report(self, model, trainer, datasets, out, log):
        return {}, cnn_pictures(model, model.conv1, datasets[2], out, ["conv1", "conv2"], log)
