"""resnet: ResNet-20 on Fashion-MNIST (or MNIST), >= 92% Fashion-MNIST test accuracy.

Layer 9. `axonal train resnet --dataset fashion-mnist|mnist` (default fashion-mnist).

* data: 55k train / 5k validation by the fixed permutation of mnist-mlp, the official 10k test set.
  Training images are augmented on the fly, one vectorized call per batch: RandomCrop(28,
  padding=2) (shifts of up to 2 pixels) and, for Fashion-MNIST only, RandomHorizontalFlip (a
  mirrored shirt is still a shirt; a mirrored digit is not a digit); then standardized with the
  dataset's mean and std.
* model (`axonal.models.resnet.resnet20`): the CIFAR ResNet of He et al. 2015 with one input
  channel: 3x3 conv stem at full resolution, three stages of 3 BasicBlocks with 16, 32, 64 channels
  (28x28, 14x14, 7x7), projection shortcuts where the shape changes, global average pooling, fc 10;
  272k parameters. (zero_init_residual, which starts every block as the identity, is off: on a
  short schedule it slows the start a lot - ResNet-8 on Fashion-MNIST: loss 1.68 instead of 1.01
  after 60 steps - because the blocks' last BN scales first have to grow out of zero.)
* training: cross-entropy, SGD with Nesterov momentum 0.9 and weight decay 5e-4, batch 128, the
  one-cycle schedule to lr 0.1 (20% warm-up, cosine decay), stepped per batch; 10 epochs
  (93.4% Fashion-MNIST test accuracy, BENCHMARKS.md).
* also written: filters.png (the 16 first-layer filters) and features_*.png (the feature maps of the
  first test image after the stem and after each stage).

Python callers can also set the depth (6n + 2) and the stem width:
`train("resnet", options={"dataset": "mnist", "depth": 14, "width": 8})`.
"""
from .base import Recipe
from ._common import cnn_pictures, image_splits, one_cycle, test_split
from .registry import recipe

DATASETS = ("fashion-mnist", "mnist")


def _dataset_class(name):
    from ..datasets import MNIST, FashionMNIST

    if name not in DATASETS:
        raise ValueError(f"resnet: --dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    return FashionMNIST if name == "fashion-mnist" else MNIST


@recipe("resnet")
class ResNetRecipe(Recipe):
    description = ("ResNet-20 with augmentation, --dataset fashion-mnist|mnist; >= 92% "
                   "Fashion-MNIST test accuracy")
    metrics = ("accuracy",)

    def __init__(self):
        self.options = {"dataset": "fashion-mnist", "depth": 20, "width": 16}

    @property
    def defaults(self):
        return {"epochs": 10, "lr": 0.1, "batch_size": 128, "seed": 0}

    def model_config(self):
        _dataset_class(self.options["dataset"])  # fail early on a bad name
        return {"arch": "cifar_resnet", "depth": int(self.options["depth"]),
                "width": int(self.options["width"]), "in_channels": 1, "classes": 10,
                "zero_init_residual": False, "dataset": self.options["dataset"]}

    def check_resume(self, config):
        trained_on = config.get("dataset", "fashion-mnist")
        if self.options["dataset"] != trained_on:
            raise ValueError(f"resnet: the checkpoint was trained on {trained_on}; resume it with "
                             f"--dataset {trained_on} (got --dataset {self.options['dataset']})")

    def build_model(self, config):
        from ..models.resnet import cifar_resnet

        self._evaluate_on = config.get("dataset", "fashion-mnist")  # `axonal evaluate` then tests on the right dataset
        return cifar_resnet(int(config["depth"]), int(config["classes"]),
                            int(config["in_channels"]), int(config["width"]),
                            zero_init_residual=bool(config.get("zero_init_residual", False)))

    def datasets(self, data_dir=None, limit_train=None):
        from ..utils.transforms import RandomCrop, RandomHorizontalFlip

        name = self.options["dataset"]
        augment = [RandomCrop(28, padding=2)]
        if name == "fashion-mnist":
            augment.append(RandomHorizontalFlip(0.5))
        return image_splits(_dataset_class(name), data_dir, limit_train, augment)

    def test_dataset(self, data_dir=None):
        name = getattr(self, "_evaluate_on", None) or self.options["dataset"]
        return test_split(_dataset_class(name), data_dir)

    def optimizer(self, model, lr):
        from ..optim import SGD

        return SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)

    def scheduler(self, optimizer, epochs, steps_per_epoch):
        return one_cycle(optimizer, optimizer.param_groups[0]["lr"], epochs, steps_per_epoch)

    def report(self, model, trainer, datasets, out, log):
        layers = ["conv1"] + [f"layer{i + 1}" for i in range(model.num_stages)]
        return {}, cnn_pictures(model, model.conv1, datasets[2], out, layers, log)
