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
"""
from typing import ClassVar


from ._common import cnn_pictures, image_splits, one_cycle, test_split
from .base import Recipe
from .registry import recipe


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
