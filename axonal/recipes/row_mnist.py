"""row-mnist: MNIST read row by row - 28 steps of 28 pixels - by a recurrent classifier.

Layer 9. `axonal train row-mnist --cell lstm|gru|irnn` (default lstm). The image becomes a sequence:
at step t the network sees row t, and it must carry what it saw in the first rows through up to 27
state updates to classify from the last hidden state. Targets: LSTM >= 98%, IRNN >= 95% test accuracy.

* data: as mnist-mlp (55k train / 5k validation by a fixed permutation, the official 10k test set;
  pixels standardized with MNIST's mean and std).
* model (`axonal.models.irnn.SequenceClassifier`): one recurrent layer of 128 units -> Linear(128, 10)
  on the last step. 'irnn' is a ReLU RNN with identity recurrent init (Le et al. 2015).
* training: cross-entropy, Adam (lr 1e-3; 3e-4 for the IRNN), global gradient norm clipped to 1.0
  before every step (a ReLU recurrence can blow up early in training), cosine LR decay per epoch,
  batch 128, 10 epochs.
"""

from ._common import clipped_adam, cosine, split_datasets, standardize, tensors
from .base import Recipe
from .registry import recipe

CELLS = ("lstm", "gru", "irnn", "rnn")


@recipe("row-mnist")
class RowMNIST(Recipe):
    description = ("MNIST as 28 steps of 28 pixels, --cell lstm|gru|irnn; LSTM >= 98%, "
                   "IRNN >= 95% test accuracy")
    metrics = ("accuracy",)

    def __init__(self):
        self.options = {"cell": "lstm"}

    @property
    def defaults(self):
        lr = 3e-4 if self.options["cell"] == "irnn" else 1e-3
        return {"epochs": 10, "lr": lr, "batch_size": 128, "seed": 0}

    def model_config(self):
        cell = self.options["cell"]
        if cell not in CELLS:
            raise ValueError(f"row-mnist: --cell must be one of {', '.join(CELLS)}, got {cell!r}")
        return {"cell": cell, "input_size": 28, "hidden_size": 128, "num_layers": 1, "classes": 10}

    def build_model(self, config):
        from ..models.irnn import SequenceClassifier

        return SequenceClassifier(config["input_size"], config["hidden_size"], config["classes"],
                                  config["cell"], config["num_layers"])

    def _arrays(self, data_dir, train):
        from ..datasets import MNIST

        ds = MNIST(root=data_dir, train=train)
        x, y = ds.arrays()
        x = standardize(x.reshape(len(x), 28, 28), MNIST.mean, MNIST.std)
        return x, y

    def datasets(self, data_dir=None, limit_train=None):
        return (*split_datasets(*self._arrays(data_dir, True), limit_train),
                self.test_dataset(data_dir))

    def test_dataset(self, data_dir=None):
        from ..utils.data import TensorDataset

        return TensorDataset(*tensors(*self._arrays(data_dir, False)))

    def optimizer(self, model, lr):
        return clipped_adam(model, lr, 1.0)

    def scheduler(self, optimizer, epochs, steps_per_epoch):
        return cosine(optimizer, epochs)
