"""rbm / dbn: restricted Boltzmann machines on MNIST, and a pre-trained deep belief net classifier.

Layer 9 (recipes). Models and learning rules are in axonal.models.rbm and axonal.models.dbn.

rbm: a Bernoulli-Bernoulli RBM 784-256 trained by CD-1 on MNIST binarized at 0.5, SGD(lr 0.05,
momentum 0.5, weight decay 1e-4), batch 64. The CD statistics go into `.grad` and SGD applies them.
Each epoch logs the training reconstruction error and, on the 5k validation images, the
reconstruction error, the mean free energy and the stochastic pseudo-log-likelihood (same bit flips
every epoch). Report: recon_error_by_epoch / pll_by_epoch (validation), recon_error_falls and
pll_rises (last epoch vs first), test_pll_exact (all 784 conditionals, 500 test images). PNGs:
filters.png (the weights of 100 hidden units as images), samples.png (Gibbs chains started at test
digits after 1, 10, 100 and 1000 steps), reconstructions.png.

dbn: greedy layer-wise pre-training of RBMs 784-500-500 (CD-1, 5 epochs each, on the grey-level
training images, no labels), unrolled into a sigmoid MLP 784-500-500-10 and fine-tuned with
cross-entropy, SGD(lr 0.1, momentum 0.9, cosine schedule), batch 100 (target >= 98% test accuracy).
Report: the semi-supervised comparison with only 1,000 labels (the first 1,000 training images): the
same network fine-tuned from the pre-trained RBMs (pre-trained without labels on all training
images) and from random init, identical optimizer and 50 epochs each: labels1000_pretrained_accuracy
and labels1000_random_init_accuracy on the test set.
"""
import os
from typing import ClassVar

import numpy as np

from ..train import Trainer
from ._common import (
    figure,
    apply_batched,
    arrays_of,
    fit_classifier,
    mnist_arrays,
    plots_available,
    save_image_rows,
)
from .base import Recipe
from .registry import recipe


def save_filters(path, weight, n=100, title=None):
    """The first n rows of a (hidden, 784) weight matrix as 28x28 images, each scaled to [0, 1]."""
    w = np.asarray(weight[:n], np.float64)
    lo, hi = w.min(1, keepdims=True), w.max(1, keepdims=True)
    w = (w - lo) / np.maximum(hi - lo, 1e-12)
    side = int(np.ceil(np.sqrt(len(w))))
    fig = figure(0.55 * side, 0.55 * side + 0.4)
    for i, img in enumerate(w):
        ax = fig.add_subplot(side, side, i + 1)
        ax.imshow(img.reshape(28, 28), cmap="gray", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, format="png")
    return path


@recipe("rbm")
class MnistRBM(Recipe):
    description = "Bernoulli RBM 784-256 by CD-1 on binarized MNIST (reconstruction, PLL, filters)"
    defaults: ClassVar[dict] = {"epochs": 10, "lr": 0.05, "batch_size": 64, "seed": 0}
    metrics = ()
    def __init__(self):  # options: train(..., options={...}) overrides them (smoke runs)
        self.options = {"gibbs_steps": 1000, "pll_exact_samples": 500}

    def model_config(self):
        return {"n_visible": 784, "n_hidden": 256, "k": 1, "persistent": False}

    def build_model(self, config):
        from ..models.rbm import RBM

        return RBM(int(config["n_visible"]), int(config["n_hidden"]), k=int(config["k"]),
                   persistent=bool(config["persistent"]))

    def datasets(self, data_dir=None, limit_train=None):
        from ..utils.data import TensorDataset

        return tuple(TensorDataset((x > 0.5).astype(np.float32), y)
                     for x, y in mnist_arrays(data_dir, limit_train))

    def loss_fn(self):
        return None

    def optimizer(self, model, lr):
        from ..optim import SGD

        return SGD(model.parameters(), lr=lr, momentum=0.5, weight_decay=1e-4)

    def make_trainer(self, model, optimizer, loss_fn, **kwargs):
        from ..models.rbm import RBMTrainer

        return RBMTrainer(model, optimizer, **kwargs)

    def report(self, model, trainer, datasets, out, log):
        h = trainer.history.history
        m = {}
        for key, name in (("val_recon_error", "recon_error"), ("val_pll", "pll"),
                          ("recon_error", "train_recon_error")):
            if h.get(key):
                m[f"{name}_by_epoch"] = [float(v) for v in h[key]]
        if m.get("recon_error_by_epoch"):
            m["recon_error_falls"] = m["recon_error_by_epoch"][-1] < m["recon_error_by_epoch"][0]
            m["pll_rises"] = m["pll_by_epoch"][-1] > m["pll_by_epoch"][0]
        xte, yte = arrays_of(datasets[2])
        n = min(int(self.options["pll_exact_samples"]), len(xte))
        from ..ops import from_numpy

        m["test_pll_exact"] = model.pseudo_log_likelihood(from_numpy(xte[:n]), exact=True)
        m["test_pll_exact_samples"] = n
        files = []
        if plots_available():
            save_filters(os.path.join(out, "filters.png"), model.weight.detach().numpy(),
                         title="RBM filters (weights of 100 hidden units)")
            pick = np.concatenate([np.flatnonzero(yte == c)[:1] for c in range(10)])
            v = from_numpy(xte[pick])
            rows, labels, done = [xte[pick]], ["test digit"], 0
            gen = _generator(0)
            last = int(self.options["gibbs_steps"])
            for steps in sorted({s for s in (1, 10, 100, last) if s <= last}):
                v = model.gibbs(v, steps - done, generator=gen)
                done = steps
                rows.append(model.visible_mean(model.sample_h(v, gen)).detach().numpy())
                labels.append(f"{steps} Gibbs steps")
            save_image_rows(os.path.join(out, "samples.png"), rows, labels,
                            title="Gibbs chains started at test digits (visible means)")
            rec = apply_batched(model.reconstruct, xte[pick])
            save_image_rows(os.path.join(out, "reconstructions.png"), [xte[pick], rec],
                            ["binarized test", "one-step reconstruction"])
            files += ["filters.png", "samples.png", "reconstructions.png"]
        if "recon_error_falls" in m:
            log(f"{self.name}: validation recon error {m['recon_error_by_epoch'][0]:.4f} -> "
                f"{m['recon_error_by_epoch'][-1]:.4f}, PLL {m['pll_by_epoch'][0]:.2f} -> "
                f"{m['pll_by_epoch'][-1]:.2f}; exact test PLL {m['test_pll_exact']:.2f}")
        return m, files


def _generator(seed):
    from ..random import Generator

    return Generator().manual_seed(seed)


class PretrainThenFineTune(Trainer):
    """Trainer that runs the DBN's greedy pre-training before the first fine-tuning epoch (not on a
    resumed run: the checkpoint already holds the pre-trained RBMs)."""

    def __init__(self, model, optimizer=None, loss_fn=None, pretrain=None, **kwargs):
        super().__init__(model, optimizer, loss_fn, **kwargs)
        self.pretrain, self.pretrain_history = dict(pretrain or {}), []

    def fit(self, train_loader, epochs, val_loader=None, initial_epoch=0, verbose="auto"):
        if initial_epoch == 0 and self.pretrain.get("epochs", 0) > 0:
            x = train_loader.dataset.tensors[0].numpy()
            self.pretrain_history = self.model.dbn.pretrain(
                x, log=print if verbose else None, **self.pretrain)
            self.model.load_pretrained()
        return super().fit(train_loader, epochs, val_loader, initial_epoch, verbose)


@recipe("dbn")
class MnistDBN(Recipe):
    description = ("DBN 784-500-500 (greedy CD-1 pre-training) fine-tuned as a classifier on "
                   "MNIST; 1,000-label comparison with random init")
    defaults: ClassVar[dict] = {"epochs": 20, "lr": 0.1, "batch_size": 100, "seed": 0}
    metrics = ("accuracy",)
    def __init__(self):  # options: train(..., options={...}) overrides them (smoke runs)
        self.options = {"few_labels": 1000, "few_label_epochs": 50}

    def model_config(self):
        return {"sizes": [784, 500, 500], "classes": 10,
                "pretrain": {"epochs": 5, "lr": 0.05, "batch_size": 100, "momentum": 0.5,
                             "weight_decay": 2e-4}}

    def build_model(self, config):
        from ..models.dbn import DBNClassifier

        return DBNClassifier(config["sizes"], int(config["classes"]))

    def datasets(self, data_dir=None, limit_train=None):
        from ..utils.data import TensorDataset

        return tuple(TensorDataset(x, y) for x, y in mnist_arrays(data_dir, limit_train))

    def optimizer(self, model, lr):
        from ..optim import SGD

        return SGD(model.net.parameters(), lr=lr, momentum=0.9, weight_decay=1e-5)

    def scheduler(self, optimizer, epochs, steps_per_epoch):
        from ..optim.lr_scheduler import CosineAnnealingLR

        return CosineAnnealingLR(optimizer, T_max=max(int(epochs), 1))

    def make_trainer(self, model, optimizer, loss_fn, **kwargs):
        pre = self.model_config()["pretrain"]
        return PretrainThenFineTune(model, optimizer, loss_fn, pretrain=pre, **kwargs)

    def report(self, model, trainer, datasets, out, log):
        (xtr, ytr), _, (xte, yte) = (arrays_of(d) for d in datasets)
        m = {}
        if trainer.pretrain_history:
            m["pretrain_recon_error"] = [h["recon_error"] for h in trainer.pretrain_history]
        n = min(int(self.options["few_labels"]), len(xtr))
        m["labels_few"] = n
        for name, net in (("pretrained", model.dbn.to_classifier(10)),
                          ("random_init", _fresh(model))):
            m[f"labels1000_{name}_accuracy"] = _fine_tune(
                net, xtr[:n], ytr[:n], xte, yte, epochs=int(self.options["few_label_epochs"]))
        files = []
        if plots_available():
            save_filters(os.path.join(out, "filters.png"),
                         model.dbn.rbms[0].weight.detach().numpy(),
                         title="first-layer RBM filters after pre-training")
            files.append("filters.png")
        log(f"{self.name}: with {n} labels: pre-trained {m['labels1000_pretrained_accuracy']:.4f} "
            f"vs random init {m['labels1000_random_init_accuracy']:.4f} test accuracy")
        return m, files


def _fresh(model):
    from ..models.dbn import DBNClassifier

    return DBNClassifier(model.dbn.sizes, 10).net


def _fine_tune(net, x, y, x_test, y_test, epochs=50, batch=50, lr=0.1, seed=0):
    from ..optim import SGD

    opt = SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=1e-5)
    fit_classifier(net, opt, x, y, epochs, batch, seed)
    return float((apply_batched(net, x_test).argmax(1) == y_test).mean())
