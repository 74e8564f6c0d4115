"""`Recipe`: what a named training job must say; the runner does the rest.

Layer 9. A recipe describes one reproducible experiment: the data (train / validation / test
splits), the model and the JSON-able config that rebuilds it (stored in every checkpoint, so
`axonal evaluate CHECKPOINT` needs nothing else), the loss and metrics, and the optimizer and LR
schedule. `axonal.recipes.runner` turns that into a run with progress, checkpoints, metrics.json and
curves; nothing in a recipe prints or writes files.
"""
from typing import ClassVar


class Recipe:
    name = ""            # set by @recipe
    description = ""     # one line for `axonal train --list`
    # CLI defaults; each can be overridden by --epochs/--lr/--batch-size/--seed
    defaults: ClassVar[dict] = {"epochs": 10, "lr": 0.01, "batch_size": 128, "seed": 0}
    metrics = ("accuracy",)
    eval_batch_size = 1000  # evaluation holds no graph, so larger batches are cheap and faster

    def model_config(self) -> dict:
        """The config passed to build_model: plain numbers/strings/lists (it goes into checkpoints)."""
        return {}

    def build_model(self, config):
        raise NotImplementedError(f"recipe {self.name!r} must implement build_model(config)")

    def check_resume(self, config):
        """Called with a checkpoint's model config before a resumed run loads any data: raise a
        ValueError when this recipe, as configured, cannot continue it. Default: nothing."""

    def datasets(self, data_dir=None, limit_train=None):
        """(train, val, test) Datasets; `limit_train` keeps only the first N training samples (for
        smoke runs). The validation and test sets never change with the seed."""
        raise NotImplementedError(f"recipe {self.name!r} must implement datasets()")

    def test_dataset(self, data_dir=None):
        """The test split alone (what `axonal evaluate` needs); override when that is cheaper."""
        return self.datasets(data_dir)[2]

    def loss_fn(self):
        from ..nn.functional import cross_entropy
        return cross_entropy

    def optimizer(self, model, lr):
        from ..optim import Adam
        return Adam(model.parameters(), lr=lr)

    def scheduler(self, optimizer, epochs, steps_per_epoch):
        """An LR scheduler (or an axonal.train.LRSchedulerCallback), or None."""
        return None  # noqa: RET501 - the documented "no scheduler" value

    def make_trainer(self, model, optimizer, loss_fn, **kwargs):
        """The Trainer that runs the recipe (kwargs: metrics, callbacks, scheduler, device); override
        to return a Trainer subclass with its own train_step (a GAN's two players, a VAE's ELBO)."""
        from ..train import Trainer
        return Trainer(model, optimizer, loss_fn, **kwargs)

    def report(self, model, trainer, datasets, out, log):
        """Called after training and testing with the (train, val, test) datasets: returns
        ({name: number} added to metrics.json, [files written into `out`]) for baselines, sample
        quality and plots. Default: nothing."""
        return {}, []

    def __repr__(self):
        return f"<recipe {self.name!r}: {self.description}>"
